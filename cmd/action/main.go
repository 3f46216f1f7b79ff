// Command action is the deploy-action GitHub Action's entry point in its
// container: it rolls an ECS service onto a commit's image, watches the
// rollout and rolls back when it fails, reading its inputs from the
// environment the runner sets. The same binary, named deploy-action, runs
// from a terminal (cmd/deploy-action).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/autonote/deploy-action/internal/actioncli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := actioncli.ExitCode(actioncli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, version), os.Stderr)
	stop()
	os.Exit(code)
}
