// Command demo runs deploy-action's main job end to end on the local test
// bed (make demo): deploys, a failed rollout rolled back, a rollback by SHA.
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

	"github.com/autonote/deploy-action/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	out := fs.String("out", "demo-out", "directory for the job summaries")
	rollout := fs.Duration("rollout", 2*time.Second, "how long the simulated ECS takes per rollout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return demo.Run(ctx, stdout, demo.Options{OutDir: *out, Rollout: *rollout})
}
