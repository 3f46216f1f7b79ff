// Command action is the deploy-action GitHub Action: it rolls an ECS
// service onto a commit's image, watches the rollout and rolls back when it
// fails. It reads its inputs from the environment the runner sets.
package main

import (
	"context"
	"errors"
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
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "deploy-action:", err)
		os.Exit(2)
	case err != nil:
		os.Exit(1)
	}
}

// usageError is a command line the binary cannot run (exit code 2).
type usageError struct{ error }

// run runs the action: inside a runner with no arguments (its inputs in the
// environment), or from a terminal as "deploy-action COMMAND -input value".
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		fmt.Fprintln(stdout, version)
		return nil
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if len(args) > 0 {
		env, done, err := terminalEnv(args, getenv, stdout)
		if done {
			return nil
		}
		if err != nil {
			return usageError{err}
		}
		getenv, stdout = env, &terminal{w: stdout}
	}
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout))
	return action.Run(ctx, a, action.WithVersion(version), action.WithTerminal(len(args) > 0))
}
