// Command deploy-action runs the action from a terminal, as
//
//	deploy-action deploy|rollback|redeploy|status|bootstrap [-input value ...]
//
// with the shell's credentials; it is cmd/action under the name the docs
// and the release use (go install names a binary after its folder).
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
