package deployhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/deployspec"
	"github.com/autonote/deploy-action/internal/ghdeploy"
	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/google/go-github/v62/github"
)

// Command is the deploy hook's command line: everything it serves with.
type Command struct {
	ConfigFile        string
	Addr              string
	MetricsAddr       string // empty: no metrics
	PublicURL         string
	Grace             time.Duration
	Rate              int
	ReadHeaderTimeout time.Duration
	// TrustedProxies are CIDRs, comma-separated, of the proxies in front
	// of the hook, whose X-Forwarded-For names the client.
	TrustedProxies string
	// MaxConns and MaxConnsPerPeer cap the open connections, in all and
	// from one address (0: DefaultMaxConns, DefaultMaxConnsPerPeer).
	MaxConns, MaxConnsPerPeer int
	Table                     string // DynamoDB table; empty: state in memory
	ReplicaID                 string
	// Lease and Heartbeat: how long a replica's hold on a job or target
	// lasts unless renewed, and how often it renews them (and looks for
	// jobs to take over); QueuedExpiry and RunningExpiry: how old a job
	// taken over, queued or running, may be and still be run or carried on.
	Lease, Heartbeat, QueuedExpiry, RunningExpiry time.Duration
	Version                                       string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// maxHeaderBytes bounds a request's headers (Go's default is 1 MiB): the
// hook's own need a few hundred bytes, GitHub's a few KiB.
const maxHeaderBytes = 32 << 10

// Serve runs the hook as c says until ctx ends, then lets running deploys
// finish within c.Grace. Secrets come from getenv only: DEPLOY_HOOK_SECRETS,
// each target's secrets-env, GITHUB_WEBHOOK_SECRET, GITHUB_TOKEN and
// DEPLOY_HOOK_TABLE_KEYS.
func Serve(ctx context.Context, c Command, getenv func(string) string, stdout io.Writer) error {
	if c.ConfigFile == "" {
		return errors.New("-config is required: the YAML file that names the targets")
	}
	if c.MaxConns < 0 || c.MaxConnsPerPeer < 0 {
		return fmt.Errorf("-max-connections %d, -max-connections-per-peer %d: give how many connections the hook takes at once (positive)", c.MaxConns, c.MaxConnsPerPeer)
	}
	proxies, err := parsePrefixes(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	cfg, err := LoadConfig(c.ConfigFile)
	if err != nil {
		return err
	}
	secrets, err := stdwebhook.ParseSecrets(getenv("DEPLOY_HOOK_SECRETS"))
	if err != nil {
		return fmt.Errorf("DEPLOY_HOOK_SECRETS: %w", err)
	}
	targetSecrets := map[string][]stdwebhook.Secret{}
	for name, t := range cfg.Targets {
		if t.SecretsEnv == "" {
			continue
		}
		own, err := stdwebhook.ParseSecrets(getenv(t.SecretsEnv))
		switch {
		case err != nil:
			return fmt.Errorf("target %s: %s (its secrets-env): %w", name, t.SecretsEnv, err)
		case len(own) == 0:
			return fmt.Errorf("target %s: %s (its secrets-env) is empty or unset: put the target's whsec_ secrets in it, space-separated", name, t.SecretsEnv)
		}
		targetSecrets[name] = own
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil)).With("service", "deploy-hook", "version", c.Version)
	if gc := cfg.GitHub; getenv("GITHUB_WEBHOOK_SECRET") == "" && (len(gc.Environments) > 0 || gc.Workflow != "" || len(gc.Repositories) > 0) {
		log.Warn("the config has a github block but GITHUB_WEBHOOK_SECRET is not set: POST /github answers 404 until it is")
	}

	var gh *github.Client
	if tok := getenv("GITHUB_TOKEN"); tok != "" {
		if gh, err = ghdeploy.Client(tok, getenv("GITHUB_API_URL")); err != nil {
			return err
		}
	}
	tableKeys, err := ParseTableKeys(getenv("DEPLOY_HOOK_TABLE_KEYS"))
	if err != nil {
		return fmt.Errorf("DEPLOY_HOOK_TABLE_KEYS: %w", err)
	}
	var store Store
	if c.Table != "" {
		region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
		for _, t := range cfg.Targets {
			region = cmp.Or(region, t.Region)
		}
		awsCfg, err := awsenv.Load(ctx, region, getenv)
		if err != nil {
			return err
		}
		store = NewDynamoStore(awsenv.NewSDK(awsCfg, getenv).DynamoDB, c.Table).WithClock(c.Now).WithLogger(log)
	}
	lease := cmp.Or(c.Lease, time.Minute)
	newServer := func() (*Server, error) {
		return NewServer(cfg, &ECSRunner{Config: cfg, Clients: deployspec.RegionalClients(getenv), Log: log},
			WithStore(store, c.ReplicaID),
			WithLockTTL(lease),
			WithQueuedExpiry(cmp.Or(c.QueuedExpiry, 30*time.Minute)),
			WithRunningExpiry(cmp.Or(c.RunningExpiry, 2*time.Hour)),
			withHeartbeatIfSet(c.Heartbeat),
			WithSecrets(secrets...),
			WithTargetSecrets(targetSecrets),
			WithGitHubSecrets(githubSecrets(getenv("GITHUB_WEBHOOK_SECRET"))...),
			WithGitHub(gh),
			WithPublicURL(strings.TrimSuffix(c.PublicURL, "/")),
			WithLogger(log),
			WithClock(c.Now),
			WithTrustedProxies(proxies...),
			WithTableKeys(tableKeys...),
			WithRateLimit(c.Rate))
	}
	srv, err := newServer()
	// A replica restarted under its name finds it held until its lease
	// runs out: it waits that long. A live replica keeps it.
	for deadline := time.Now().Add(lease + lease/3 + time.Second); errors.Is(err, ErrReplicaTaken) && time.Now().Before(deadline); {
		log.Warn("the replica id is held by a live replica, or one that stopped less than a lease ago: waiting for it to free", "replica", c.ReplicaID, "lease", lease.String())
		select {
		case <-ctx.Done():
			return err
		case <-time.After(cmp.Or(c.Heartbeat, lease/3)):
		}
		srv, err = newServer()
	}
	if errors.Is(err, ErrReplicaTaken) {
		return fmt.Errorf("%w, and it stayed taken for the whole -lease (%v): give each replica its own -replica-id (the default, host name and pid, is unique per host)", err, lease)
	}
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	l = srv.Listen(l, cmp.Or(c.MaxConns, DefaultMaxConns), cmp.Or(c.MaxConnsPerPeer, DefaultMaxConnsPerPeer))
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", l.Addr().String(), "targets", len(cfg.Targets))
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	if c.MetricsAddr != "" {
		ml, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("listen on %s for metrics: %w (set -metrics-addr to a free address, or to \"\" for no metrics)", c.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.Metrics())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: c.ReadHeaderTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: hs.ErrorLog}
		defer ms.Close()
		log.Info("metrics", "addr", ml.Addr().String())
		go func() { _ = ms.Serve(ml) }()
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: no new requests; running deploys may finish", "grace", c.Grace.String())
	srv.SetReady(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), c.Grace)
	defer cancelGrace()
	for _, j := range srv.Queue().Shutdown(graceCtx) {
		log.Warn("left job", "job", j.ID, "target", j.Target, "sha", j.SHA, "state", j.State, "error", j.Error)
	}
	log.Info("stopped")
	return nil
}

// githubSecrets are the GitHub webhook secrets, one per line (a secret may
// hold spaces): the next beside the current one while rotating.
func githubSecrets(v string) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimRight(line, "\r"); line != "" {
			out = append(out, []byte(line))
		}
	}
	return out
}

// withHeartbeatIfSet is WithHeartbeat for a flag whose 0 means the default.
func withHeartbeatIfSet(d time.Duration) Option {
	if d == 0 {
		return func(*options) error { return nil }
	}
	return WithHeartbeat(d)
}

// parsePrefixes reads comma-separated CIDRs (an address alone is itself).
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR: give the proxies' ranges separated by commas, e.g. 10.0.0.0/16,10.1.0.0/16", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
