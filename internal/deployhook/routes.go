package deployhook

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
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
//
// Signed GitHub deliveries share a bucket of their own (bucket
// "github"): no holder of a deploy secret can get them answered 429, which
// GitHub does not retry. Every other client has its own, by address.
func (s *Server) authenticated(w http.ResponseWriter, r *http.Request, bucket string) (_ *http.Request, cancel context.CancelFunc, ok bool) {
	if rec, isRec := w.(*statusRecorder); isRec {
		rec.signed = true
	}
	key := bucket
	if key == "" {
		key = "client:" + s.clientAddr(r)
	}
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
	return s.authenticated(w, r, "")
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

// clientAddr is the address of the request's client: its TCP peer, which
// a header cannot spoof, unless the peer is a proxy the hook trusts
// (-trusted-proxies): then the address that proxy saw, the last one of
// X-Forwarded-For that is not itself a trusted proxy.
func (s *Server) clientAddr(r *http.Request) string {
	peer := peerOf(r.RemoteAddr)
	if len(s.opts.trustedProxies) == 0 || !s.trusted(peer) {
		return httprate.CanonicalizeIP(peer)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break // not an address: the proxy's own view stops here
		}
		if !s.trusted(hop) {
			return httprate.CanonicalizeIP(hop)
		}
	}
	return httprate.CanonicalizeIP(peer)
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, p := range s.opts.trustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}
