// Command deploy-hook is the optional deploy hook: it takes signed deploy
// requests and GitHub webhooks and runs the deploys as jobs.
//
//	deploy-hook -config FILE [-addr 127.0.0.1:8080]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/autonote/deploy-action/internal/cli"
	"github.com/autonote/deploy-action/internal/deployhook"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// clock is the hook's time: a test's replica may run ahead.
var clock = time.Now

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
	var c deployhook.Command
	fs := flag.NewFlagSet("deploy-hook", flag.ContinueOnError)
	fs.StringVar(&c.ConfigFile, "config", "", "config file (YAML): targets and what GitHub may trigger")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9090", "address of /metrics (Prometheus), apart from the hook's routes; empty: no metrics")
	fs.StringVar(&c.PublicURL, "public-url", "", "URL the hook is reached at, for job status URLs (default: from each request's host)")
	fs.DurationVar(&c.Grace, "grace", 10*time.Minute, "how long running deploys may finish after SIGTERM")
	fs.IntVar(&c.Rate, "rate", 600, "requests a client may make a minute")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "how long a client may take to send its headers")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "CIDRs, comma-separated, of the proxies in front of the hook (a load balancer's subnets): a request from one is rate-limited as the client its X-Forwarded-For names")
	fs.IntVar(&c.MaxConns, "max-connections", deployhook.DefaultMaxConns, "open connections the hook takes at once; past it, a new one is closed at once")
	fs.IntVar(&c.MaxConnsPerPeer, "max-connections-per-peer", deployhook.DefaultMaxConnsPerPeer, "open connections the hook takes at once from one address (behind a proxy, from the proxy)")
	fs.StringVar(&c.Table, "dynamodb-table", "", "DynamoDB table the replicas share (dedupe ids, jobs, per-target locks); empty: keep state in memory (one replica)")
	fs.StringVar(&c.ReplicaID, "replica-id", "", "this replica's name in the shared table (default: host name and pid)")
	fs.DurationVar(&c.Lease, "lease", time.Minute, "with -dynamodb-table: how long a replica's hold on a job or a target lasts unless renewed; another replica takes over the jobs of one that stopped after it")
	fs.DurationVar(&c.Heartbeat, "heartbeat", 0, "with -dynamodb-table: how often a replica renews its leases and looks for jobs to take over, at most a third of -lease (default: a third of -lease)")
	fs.DurationVar(&c.QueuedExpiry, "queued-expiry", 30*time.Minute, "with -dynamodb-table: a job taken over while still queued runs only if accepted less than this ago, else it ends expired")
	fs.DurationVar(&c.RunningExpiry, "running-expiry", 2*time.Hour, "with -dynamodb-table: a job taken over while running is carried on only if its deploy began less than this ago, else it ends interrupted")
	if done, err := cli.Parse(fs, args, version, "usage: deploy-hook -config FILE [-addr 127.0.0.1:8080] [-metrics-addr 127.0.0.1:9090] [flags]", stdout); done || err != nil {
		return err
	}
	c.Version, c.Now = version, clock
	return deployhook.Serve(ctx, c, getenv, stdout)
}
