// Command action is the deploy-action GitHub Action: it rolls an ECS
// service onto a commit's image, watches the rollout and rolls back when it
// fails. It reads its inputs from the environment the runner sets.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/action"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		fmt.Fprintln(stdout, version)
		return nil
	}
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout))
	return action.Run(ctx, a, action.Options{Version: version})
}
