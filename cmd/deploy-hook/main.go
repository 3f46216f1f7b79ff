// Command deploy-hook is the optional deploy hook: it takes signed deploy
// requests and GitHub webhooks and runs the deploys as jobs.
//
//	deploy-hook -config FILE [-addr 127.0.0.1:8080]
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-github/v62/github"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/cli"
	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/ghdeploy"
	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// maxHeaderBytes bounds a request's headers (Go's default is 1 MiB): the
// hook's own need a few hundred bytes, GitHub's a few KiB.
const maxHeaderBytes = 32 << 10

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy-hook:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deploy-hook", flag.ContinueOnError)
	configFile := fs.String("config", "", "config file (YAML): targets and what GitHub may trigger")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9090", "address of /metrics (Prometheus), apart from the hook's routes; empty: no metrics")
	publicURL := fs.String("public-url", "", "URL the hook is reached at, for job status URLs (default: from each request's host)")
	grace := fs.Duration("grace", 10*time.Minute, "how long running deploys may finish after SIGTERM")
	rate := fs.Int("rate", 600, "requests a client may make a minute")
	headerTimeout := fs.Duration("read-header-timeout", 5*time.Second, "how long a client may take to send its headers")
	table := fs.String("dynamodb-table", "", "DynamoDB table the replicas share (dedupe ids, jobs, per-target locks); empty: keep state in memory (one replica)")
	replica := fs.String("replica-id", "", "this replica's name in the shared table (default: host name and pid)")
	if done, err := cli.Parse(fs, args, version, "usage: deploy-hook -config FILE [-addr 127.0.0.1:8080] [-metrics-addr 127.0.0.1:9090] [flags]", stdout); done || err != nil {
		return err
	}
	if *configFile == "" {
		return errors.New("-config is required: the YAML file that names the targets")
	}
	cfg, err := deployhook.LoadConfig(*configFile)
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
		if err != nil || len(own) == 0 {
			return fmt.Errorf("target %s: %s (its secrets-env) holds no whsec_ secret: %v", name, t.SecretsEnv, err)
		}
		targetSecrets[name] = own
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil)).With("service", "deploy-hook", "version", version)

	var gh *github.Client
	if tok := getenv("GITHUB_TOKEN"); tok != "" {
		if gh, err = ghdeploy.Client(tok, getenv("GITHUB_API_URL")); err != nil {
			return err
		}
	}
	var store deployhook.Store
	if *table != "" {
		region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
		for _, t := range cfg.Targets {
			region = cmp.Or(region, t.Region)
		}
		awsCfg, err := awsenv.Load(ctx, region, getenv)
		if err != nil {
			return err
		}
		store = deployhook.NewDynamoStore(dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			if u := awsenv.Endpoint(getenv, "DYNAMODB"); u != nil {
				o.BaseEndpoint = u
			}
		}), *table)
	}
	srv, err := deployhook.NewServer(deployhook.Deps{
		Store:         store,
		ReplicaID:     *replica,
		Config:        cfg,
		Runner:        &deployhook.ECSRunner{Config: cfg, Clients: awsClients(getenv), Log: log},
		Secrets:       secrets,
		TargetSecrets: targetSecrets,
		GitHubSecrets: githubSecrets(getenv("GITHUB_WEBHOOK_SECRET")),
		GitHub:        gh,
		PublicURL:     strings.TrimSuffix(*publicURL, "/"),
		Log:           log,
		RateLimit:     *rate,
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: *headerTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", l.Addr().String(), "targets", len(cfg.Targets))
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	if *metricsAddr != "" {
		ml, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("listen on %s for metrics: %w (set -metrics-addr to a free address, or to \"\" for no metrics)", *metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.Metrics())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: *headerTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: hs.ErrorLog}
		defer ms.Close()
		log.Info("metrics", "addr", ml.Addr().String())
		go func() { _ = ms.Serve(ml) }()
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: no new requests; running deploys may finish", "grace", grace.String())
	srv.SetReady(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), *grace)
	defer cancelGrace()
	for _, j := range srv.Queue().Shutdown(graceCtx) {
		log.Warn("left job", "job", j.ID, "target", j.Target, "sha", j.SHA, "state", j.State, "error", j.Error)
	}
	log.Info("stopped")
	return nil
}

// awsClients loads one aws.Config per region, from the environment the
// hook was given: keys, endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECS,
// AWS_ENDPOINT_URL_ECR) and the default chain for the rest.
func awsClients(getenv func(string) string) func(context.Context, string) (deployhook.Clients, error) {
	var mu sync.Mutex
	cache := map[string]deployhook.Clients{}
	return func(ctx context.Context, region string) (deployhook.Clients, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := cache[region]; ok {
			return c, nil
		}
		cfg, err := awsenv.Load(ctx, region, getenv)
		if err != nil {
			return deployhook.Clients{}, err
		}
		c := deployhook.Clients{
			ECS: ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = awsenv.EndpointOr(getenv, "ECS", o.BaseEndpoint) }),
			ECR: ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = awsenv.EndpointOr(getenv, "ECR", o.BaseEndpoint) }),
			EC2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = awsenv.EndpointOr(getenv, "EC2", o.BaseEndpoint) }),
			ELB: elb.NewFromConfig(cfg, func(o *elb.Options) {
				o.BaseEndpoint = awsenv.EndpointOr(getenv, "ELASTIC_LOAD_BALANCING_V2", o.BaseEndpoint)
			}),
			Alarms: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = awsenv.EndpointOr(getenv, "CLOUDWATCH", o.BaseEndpoint) }),
			Logs: cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
				o.BaseEndpoint = awsenv.EndpointOr(getenv, "CLOUDWATCH_LOGS", o.BaseEndpoint)
			}),
		}
		cache[region] = c
		return c, nil
	}
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
