// Package deployhook is the optional deploy hook: an HTTP server that takes
// signed deploy requests and GitHub webhooks and runs the deploys as jobs,
// one at a time per target, through internal/ecsdeploy.
package deployhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/go-chi/httprate"
)

// Server is the deploy hook's HTTP handler and its job queue.
type Server struct {
	config   *Config
	runner   Runner
	opts     options
	queue    *Queue
	metrics  *metrics
	ready    atomic.Bool
	handler  http.Handler
	requests *requestLog
	keys     keyring
	limiter  *httprate.RateLimiter
	// largeBodies are the places for GitHub bodies over smallGitHubBody.
	largeBodies *bodyPlaces
	reads       readIDs
}

// NewServer returns the hook's handler for the targets of cfg, running jobs
// with runner, ready to serve. At least one kind of secret is required.
func NewServer(cfg *Config, runner Runner, opts ...Option) (*Server, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg == nil:
		return nil, errors.New("no config")
	case runner == nil:
		return nil, errors.New("no runner")
	case len(o.secrets) == 0 && len(o.targetSecrets) == 0 && len(o.githubSecrets) == 0:
		return nil, errors.New("no secrets: set DEPLOY_HOOK_SECRETS (whsec_...) for signed deploy requests, GITHUB_WEBHOOK_SECRET for GitHub webhooks, or both")
	}
	for name, t := range cfg.Targets {
		if t.SecretsEnv != "" && len(o.targetSecrets[name]) == 0 {
			return nil, fmt.Errorf("target %s names secrets-env %s, which holds no whsec_ secret", name, t.SecretsEnv)
		}
	}
	s := &Server{config: cfg, runner: runner, opts: o, metrics: newMetrics(), requests: newRequestLog(o.log, o.now), keys: newKeyring(o), limiter: newLimiter(o.rateLimit),
		largeBodies: newBodyPlaces()}
	heartbeat := cmp.Or(o.heartbeat, o.lockTTL/3)
	if heartbeat > o.lockTTL/3 {
		return nil, fmt.Errorf("heartbeat %v is more than a third of the lease %v: a replica that stops renewing must stop its deploys before another replica may take them", heartbeat, o.lockTTL)
	}
	sh := sharing{holder: o.replicaID}
	if o.store != nil {
		// The replica's name is its own while it lives: two replicas of
		// one name would both pass for the holder of its targets.
		sh = sharing{shared: o.store, holder: o.replicaID, lockWait: o.lockPoll, lockTTL: o.lockTTL, heartbeat: heartbeat, replicaToken: newToken(), tableKeys: o.tableKeys}
		if len(o.tableKeys) == 0 {
			o.log.Warn("the jobs in the shared table are not signed: whoever may write the table may make the hook deploy; set DEPLOY_HOOK_TABLE_KEYS (docs/deploy-hook.md)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), o.requestTimeout)
		defer cancel()
		if err := o.store.Register(ctx, o.replicaID, sh.replicaToken, o.lockTTL); err != nil {
			return nil, err
		}
	}
	s.queue = newQueue(runner, o.log, o.now, s.metrics, sh, queueSetup{hooksFor: s.statusHooks, maxQueued: o.maxQueued, maxRunning: o.maxRunning})
	s.handler = s.routes()
	s.ready.Store(true)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Metrics is the Prometheus handler of the hook's metrics. It is served
// apart from the hook's routes (cmd/deploy-hook's -metrics-addr, loopback
// by default): what the hook counts is not for the internet to read.
func (s *Server) Metrics() http.Handler { return s.metrics.handler() }

// Listen wraps l in the caps on open connections (in all, and from one
// peer address), counting those it closes in /metrics.
func (s *Server) Listen(l net.Listener, max, perPeer int) net.Listener {
	return LimitListener(l, max, perPeer, s.metrics.refusedConns.Inc)
}

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
	base := s.opts.publicURL
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
