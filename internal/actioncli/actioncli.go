// Package actioncli is the action's binary: inside a runner it reads its
// inputs from the environment; from a terminal it takes a command and one
// flag per input ("deploy-action rollback -sha 3484a3f"), and prints what a
// person reads instead of workflow commands. cmd/action (the container's
// entry point) and cmd/deploy-action (the name go install gives a
// terminal) both call Run.
package actioncli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/action"
)

// UsageError is a command line the binary cannot run: its main exits 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Run runs the action. Its error has been printed already (an annotation,
// or a line for the terminal) unless it is a UsageError, which the caller
// prints.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, version string) error {
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		fmt.Fprintln(stdout, version)
		return nil
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 && getenv("GITHUB_ACTIONS") != "true" && getenv("INPUT_COMMAND") == "" {
		// Not a runner, and no command: a person typed the bare name.
		return UsageError{errors.New("no command: " + strings.TrimRight(usage, "\n"))}
	}
	var opts []action.Option
	if len(args) > 0 {
		env, done, err := terminalEnv(args, getenv, stdout, version)
		if done {
			return nil
		}
		if err != nil {
			return UsageError{err}
		}
		term := &terminal{w: stdout}
		if env(outputFormat) == "json" {
			// Only the JSON, or an error, reaches a script.
			opts = append(opts, action.WithStatusJSON(stdout))
			term.errorsOnly = true
		}
		getenv, stdout = env, term
	}
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout))
	opts = append(opts, action.WithVersion(version), action.WithTerminal(len(args) > 0))
	if len(args) == 0 {
		// In a runner, every input of with: is an INPUT_ variable of the
		// step's environment: one the action does not declare is refused.
		opts = append(opts, action.WithEnviron(os.Environ))
	}
	return action.Run(ctx, a, opts...)
}

// ExitCode is the exit code of a run that ended with err: 2 for a command
// line the binary cannot run (printed to stderr, with the program's name),
// 1 for a run that failed (already reported), 0 otherwise.
func ExitCode(err error, stderr io.Writer) int {
	var usage UsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "deploy-action:", err)
		return 2
	case err != nil:
		return 1
	}
	return 0
}

// Main is the binaries' main: it runs the action with the process's
// arguments and environment, Ctrl-C and SIGTERM ending the run, and exits
// with its exit code.
func Main(version string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ExitCode(Run(ctx, os.Args[1:], os.Getenv, os.Stdout, version), os.Stderr)
	stop()
	os.Exit(code)
}
