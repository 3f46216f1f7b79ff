// Package deployhook is the optional deploy hook: an HTTP server that takes
// signed deploy requests and GitHub webhooks and runs the deploys as jobs,
// one at a time per target, through internal/ecsdeploy.
package deployhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/go-chi/httprate"

	"github.com/google/go-github/v62/github"
)

// Deps are what the server needs. Config, Runner and at least one kind of
// secret are required; the rest have defaults.
type Deps struct {
	Config *Config
	Runner Runner
	// Secrets sign requests to /v1/deployments (DEPLOY_HOOK_SECRETS) for
	// every target without secrets of its own.
	Secrets []stdwebhook.Secret
	// TargetSecrets are the secrets of the targets that have their own
	// (secrets-env): each opens its target only.
	TargetSecrets map[string][]stdwebhook.Secret
	// GitHubSecrets sign GitHub's webhooks (GITHUB_WEBHOOK_SECRET, one per
	// line: several while rotating).
	GitHubSecrets [][]byte
	// GitHub reports deployment statuses; nil reports none.
	GitHub *github.Client
	// PublicURL is where the hook is reached, for status URLs; default: the request's host.
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time
	// RateLimit is how many authenticated requests a client may make a
	// minute; 0 means 600. Refused requests cost less than a 429 would.
	RateLimit int
	// RequestTimeout bounds a handler; 0 means 10s.
	RequestTimeout time.Duration
	// Store is shared by the replicas of the hook; nil keeps everything in
	// this process, which is right for one replica.
	Store Store
	// ReplicaID names this replica in the shared store; default: the
	// host name and process id.
	ReplicaID string
	// LockPoll is how often a job waiting for another replica's deploy of
	// its target asks again; 0 means 2s.
	LockPoll time.Duration
	// LockTTL is how long a replica's hold on a target lasts unless renewed
	// (every third of it); a replica that dies frees its targets after it.
	// 0 means a minute.
	LockTTL time.Duration
}

// Server is the deploy hook's HTTP handler and its job queue.
type Server struct {
	deps     Deps
	queue    *Queue
	metrics  *metrics
	ready    atomic.Bool
	handler  http.Handler
	requests *requestLog
	keys     keyring
	limiter  *httprate.RateLimiter
}

// NewServer returns the hook's handler, ready to serve.
func NewServer(d Deps) (*Server, error) {
	switch {
	case d.Config == nil:
		return nil, errors.New("no config")
	case d.Runner == nil:
		return nil, errors.New("no runner")
	case len(d.Secrets) == 0 && len(d.TargetSecrets) == 0 && len(d.GitHubSecrets) == 0:
		return nil, errors.New("no secrets: set DEPLOY_HOOK_SECRETS (whsec_...) for signed deploy requests, GITHUB_WEBHOOK_SECRET for GitHub webhooks, or both")
	}
	for name, t := range d.Config.Targets {
		if t.SecretsEnv != "" && len(d.TargetSecrets[name]) == 0 {
			return nil, fmt.Errorf("target %s names secrets-env %s, which holds no whsec_ secret", name, t.SecretsEnv)
		}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.RateLimit <= 0 {
		d.RateLimit = 600
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 10 * time.Second
	}
	s := &Server{deps: d, metrics: newMetrics(), requests: newRequestLog(d.Log, d.Now), keys: newKeyring(d), limiter: newLimiter(d.RateLimit)}
	var sh sharing
	if d.Store != nil {
		if d.ReplicaID == "" {
			host, _ := os.Hostname()
			d.ReplicaID = fmt.Sprintf("%s-%d", host, os.Getpid())
		}
		sh = sharing{shared: d.Store, holder: d.ReplicaID, lockWait: cmp.Or(d.LockPoll, 2*time.Second), lockTTL: cmp.Or(d.LockTTL, time.Minute)}
	}
	s.queue = newQueue(d.Runner, d.Log, d.Now, s.metrics, sh)
	s.handler = s.routes()
	s.ready.Store(true)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Metrics is the Prometheus handler of the hook's metrics. It is served
// apart from the hook's routes (cmd/deploy-hook's -metrics-addr, loopback
// by default): what the hook counts is not for the internet to read.
func (s *Server) Metrics() http.Handler { return s.metrics.handler() }

// Queue is the server's job queue, for shutdown.
func (s *Server) Queue() *Queue { return s.queue }

// SetReady sets what /readyz answers; a server going down says no first,
// and logs the counts of the requests it refused since it last did.
func (s *Server) SetReady(ready bool) {
	s.ready.Store(ready)
	if !ready {
		s.requests.flush(context.Background(), true)
	}
}

func (s *Server) jobURL(r *http.Request, id string) string {
	base := s.deps.PublicURL
	if base == "" {
		// Behind a proxy that ends TLS, its X-Forwarded-Proto says https: the
		// URL only goes back to this caller, so the header gains it nothing.
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/v1/deployments/" + id
}
