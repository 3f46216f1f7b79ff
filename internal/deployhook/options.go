package deployhook

import (
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// options are what a Server may be given besides its config and runner.
type options struct {
	secrets        []stdwebhook.Secret
	targetSecrets  map[string][]stdwebhook.Secret
	githubSecrets  [][]byte
	github         *github.Client
	publicURL      string
	log            *slog.Logger
	now            func() time.Time
	rateLimit      int
	requestTimeout time.Duration
	store          Store
	replicaID      string
	lockPoll       time.Duration
	lockTTL        time.Duration
	heartbeat      time.Duration // 0: a third of lockTTL
	maxQueued      time.Duration
	maxRunning     time.Duration
	trustedProxies []netip.Prefix
	tableKeys      [][]byte
}

// defaults are the options a Server has unless told otherwise.
func defaults() options {
	return options{
		log:            slog.New(slog.DiscardHandler),
		now:            time.Now,
		rateLimit:      600,
		requestTimeout: 10 * time.Second,
		lockPoll:       2 * time.Second,
		lockTTL:        time.Minute,
		maxQueued:      30 * time.Minute,
		maxRunning:     2 * time.Hour,
	}
}

// Option configures a Server.
type Option func(*options) error

// WithSecrets sets the secrets that sign requests to /v1/deployments
// (DEPLOY_HOOK_SECRETS) for every target without secrets of its own.
// Default: none.
func WithSecrets(s ...stdwebhook.Secret) Option {
	return func(o *options) error {
		o.secrets = append(o.secrets, s...)
		return nil
	}
}

// WithTargetSecrets sets the secrets of the targets that have their own
// (secrets-env): each opens its target only. Default: none.
func WithTargetSecrets(m map[string][]stdwebhook.Secret) Option {
	return func(o *options) error {
		for name, s := range m {
			if len(s) == 0 {
				return fmt.Errorf("target %s: no secrets given for it", name)
			}
		}
		o.targetSecrets = m
		return nil
	}
}

// WithGitHubSecrets sets the secrets that sign GitHub's webhooks
// (GITHUB_WEBHOOK_SECRET, several while rotating). Default: none, and
// POST /github answers 404.
func WithGitHubSecrets(s ...[]byte) Option {
	return func(o *options) error {
		for _, v := range s {
			if len(v) == 0 {
				return fmt.Errorf("a GitHub webhook secret is empty")
			}
		}
		o.githubSecrets = append(o.githubSecrets, s...)
		return nil
	}
}

// WithGitHub sets the client that reports deployment statuses. Default
// (or nil): none are reported.
func WithGitHub(c *github.Client) Option {
	return func(o *options) error {
		o.github = c
		return nil
	}
}

// WithPublicURL sets where the hook is reached, for job status URLs.
// Default (or ""): each request's own host.
func WithPublicURL(u string) Option {
	return func(o *options) error {
		if u == "" {
			return nil
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("public URL %q: give the hook's address, e.g. https://deploy.autonote.example", u)
		}
		o.publicURL = u
		return nil
	}
}

// WithLogger sets the logger. Default (or nil): nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithClock sets the time the server reads. Default (or nil): time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now != nil {
			o.now = now
		}
		return nil
	}
}

// WithRateLimit sets how many authenticated requests a client may make a
// minute. Default: 600. Refused requests cost less than a 429 would.
func WithRateLimit(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("rate limit %d: give how many requests a client may make a minute", n)
		}
		o.rateLimit = n
		return nil
	}
}

// WithRequestTimeout bounds a handler. Default: 10s.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("request timeout %v is not positive", d)
		}
		o.requestTimeout = d
		return nil
	}
}

// WithStore shares the hook's state with other replicas through s, this
// replica named replicaID (default: the host name and process id).
// Default (or nil): everything stays in this process, right for one replica.
func WithStore(s Store, replicaID string) Option {
	return func(o *options) error {
		o.store, o.replicaID = s, replicaID
		if s != nil && replicaID == "" {
			host, _ := os.Hostname()
			o.replicaID = fmt.Sprintf("%s-%d", host, os.Getpid())
		}
		return nil
	}
}

// WithLockPoll sets how often a job waiting for another replica's deploy
// of its target asks again. Default: 2s.
func WithLockPoll(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("lock poll %v is not positive", d)
		}
		o.lockPoll = d
		return nil
	}
}

// WithLockTTL sets the lease: how long a replica's hold on a target, and
// on a job, lasts unless renewed (every heartbeat): a replica that dies
// frees its targets after it, and another takes its jobs over. Default: a
// minute.
func WithLockTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("lock TTL %v is not positive", d)
		}
		o.lockTTL = d
		return nil
	}
}

// WithHeartbeat sets how often a replica renews its leases and looks for
// jobs other replicas left. Default: a third of the lease, which is also
// the most it may be.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("heartbeat %v is not positive", d)
		}
		o.heartbeat = d
		return nil
	}
}

// WithQueuedExpiry sets how long after it was accepted a job another
// replica left queued may still run when taken over; past it, it ends
// expired and nothing is deployed. Default: 30 minutes.
func WithQueuedExpiry(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("queued expiry %v is not positive", d)
		}
		o.maxQueued = d
		return nil
	}
}

// WithRunningExpiry sets how long after its deploy began a job another
// replica left running may still be carried on when taken over; past it,
// it ends interrupted, saying what the service runs, and nothing more is
// done. Default: 2 hours.
func WithRunningExpiry(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("running expiry %v is not positive", d)
		}
		o.maxRunning = d
		return nil
	}
}

// WithTrustedProxies names the proxies in front of the hook (a load
// balancer's subnets): a request from one is the client's that its
// X-Forwarded-For names, for the rate limit and the places for large
// bodies. Default: none, every client is its TCP peer (behind a proxy,
// all share the proxy's bucket).
func WithTrustedProxies(p ...netip.Prefix) Option {
	return func(o *options) error {
		o.trustedProxies = append(o.trustedProxies, p...)
		return nil
	}
}

// WithTableKeys signs each job written to the shared store with the first
// key, and takes over only jobs one of the keys signed
// (DEPLOY_HOOK_TABLE_KEYS; the others verify while a key is rotated).
// Default: none, and a job in the table is acted on as it is, so whoever
// may write the table may make the hook deploy.
func WithTableKeys(keys ...[]byte) Option {
	return func(o *options) error {
		for _, k := range keys {
			if len(k) < 32 {
				return fmt.Errorf("a table key of %d bytes: give 32 or more", len(k))
			}
		}
		o.tableKeys = append(o.tableKeys, keys...)
		return nil
	}
}
