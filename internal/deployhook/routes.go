package deployhook

import (
	"net"
	"net/http"
	"time"

	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
)

// routes is every route of the hook, in one place.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requests.middleware)
	r.Use(middleware.Recoverer)
	r.Use(s.metrics.count)
	r.Use(httprate.LimitBy(s.deps.RateLimit, time.Minute, clientKey,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusTooManyRequests, hookapi.Error{Error: "rate limit exceeded: slow down"})
		})))
	r.Use(middleware.Timeout(s.deps.RequestTimeout))

	r.Get("/healthz", s.handleHealth())
	r.Get("/readyz", s.handleReady())
	r.Method(http.MethodPost, "/v1/deployments", s.handleCreateDeployment())
	r.Method(http.MethodGet, "/v1/deployments/{id}", s.handleGetDeployment())
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
