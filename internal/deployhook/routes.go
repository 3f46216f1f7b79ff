package deployhook

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"
)

// routes is every route of the hook, in one place.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.observe)
	r.Get("/healthz", s.handleHealth())
	r.Get("/readyz", s.handleReady())
	r.Method(http.MethodPost, "/v1/deployments", s.handleCreateDeployment())
	r.Method(http.MethodGet, "/v1/deployments/{id}", s.handleGetDeployment())
	r.Method(http.MethodGet, "/v1/targets", s.handleTargets())
	r.Method(http.MethodPost, "/github", s.handleGitHub())
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, hookapi.Error{Error: r.Method + " is not allowed on " + r.URL.Path})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, hookapi.Error{Error: "no route " + r.URL.Path})
	})
	return r
}

func (s *Server) handleHealth() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (s *Server) handleReady() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// observe is the one middleware every request passes: it counts the
// request by route and status, logs a signed one that was served (any
// other only in the counts of requestLog: no sender without a secret can
// write a line each), and turns a panic into a 500. It is kept to one wrapper
// so that refusing a forged request costs little more than net/http does.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.opts.log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				rec.WriteHeader(http.StatusInternalServerError)
			}
			s.metrics.count(r, rec.code)
			if probe := r.URL.Path == "/healthz" || r.URL.Path == "/readyz"; probe && rec.code < 400 {
				return // counted in /metrics: a probe every few seconds is no news
			}
			if !rec.signed || (rec.code >= 400 && rec.code < 500) {
				s.requests.tally(r.Context(), rec.code)
				return
			}
			s.requests.served(r.Context(), r, rec.code, s.opts.now().Sub(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// authenticated admits a request that proved who sent it to the work it
// asks for: within its client's rate limit (else it answers 429 and ok is
// false) and a timeout. A forged request never gets this far: refusing it
// costs no more than the limiter's own 429 would, and no timer.
func (s *Server) authenticated(w http.ResponseWriter, r *http.Request) (_ *http.Request, cancel context.CancelFunc, ok bool) {
	if rec, isRec := w.(*statusRecorder); isRec {
		rec.signed = true
	}
	key, _ := clientKey(r)
	if s.limiter.RespondOnLimit(w, r, key) {
		return r, func() {}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.requestTimeout)
	return r.WithContext(ctx), cancel, true
}

// admit lets a signed request at target do its work: its key must open the
// target (else 403) and its client be within its rate (else 429).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, k key, target string) (*http.Request, context.CancelFunc, bool) {
	if err := s.keys.authorize(k, target); err != nil {
		writeError(w, err)
		return r, func() {}, false
	}
	return s.authenticated(w, r)
}

// newLimiter limits each client (TCP peer) to rate authenticated requests a
// minute, answering 429 with only Retry-After: the X-RateLimit-* headers
// would tell a flooder its budget.
func newLimiter(rate int) *httprate.RateLimiter {
	return httprate.NewRateLimiter(rate, time.Minute,
		httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusTooManyRequests, hookapi.Error{Error: "rate limit exceeded: slow down"})
		}))
}

// clientKey keys the rate limit on the TCP peer: it cannot be spoofed with
// a header. Behind a proxy every client shares the proxy's bucket; put the
// limit on the proxy then.
func clientKey(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}
