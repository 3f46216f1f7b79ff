// Command bootstrap makes AutoNote's AWS baseline, idempotently:
//
//	bootstrap plan [-config FILE] [-region R] [-out PLANFILE] [-summary FILE]
//	bootstrap apply [-config FILE] [-region R] [-output FILE] [-summary FILE] [-auto-approve]
//	bootstrap apply PLANFILE [-output FILE] [-summary FILE]
//	bootstrap destroy [-config FILE] [-region R] [-auto-approve] [-force-delete-secrets]
//
// plan exits 2 when there is something to do. apply and destroy show what
// they will do and ask, in a terminal; a script passes -auto-approve, or
// applies a plan saved with -out. Secret values come from the environment
// (APP_SECRET_JSON) or the config's app-secret-file, never from the
// command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/cli"
	"github.com/autonote/deploy-action/internal/textdist"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, bootstrap.ErrPlanHasChanges):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
}

const usage = `usage: bootstrap plan|apply|destroy [-config FILE] [-region R] [flags]
       bootstrap plan -out PLANFILE ...   then   bootstrap apply PLANFILE
apply and destroy ask before they change anything (-auto-approve for scripts)`

// errSecretOnCommandLine refuses a secret value as a flag, without
// repeating the value (the flag package's own error would).
var errSecretOnCommandLine = errors.New("secret values never come from the command line, where shells and process lists keep them: put the app's keys (JSON) in APP_SECRET_JSON, or in a file named by app-secret-file in the config")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if len(args) > 0 && (args[0] == "-version" || args[0] == "--version") {
		fmt.Fprintln(stdout, version)
		return nil
	}
	verbs := []string{"plan", "apply", "destroy"}
	switch {
	case len(args) == 0:
		return errors.New(usage)
	case strings.HasPrefix(args[0], "-"):
		return fmt.Errorf("%s comes after the verb: bootstrap plan %s ...\n%s", args[0], args[0], usage)
	case !slices.Contains(verbs, args[0]):
		if near := textdist.Nearest(args[0], verbs); near != "" {
			return fmt.Errorf("unknown verb %q: did you mean %s?\n%s", args[0], near, usage)
		}
		return fmt.Errorf("unknown verb %q: use plan, apply or destroy\n%s", args[0], usage)
	}
	for _, a := range args[1:] {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && name == "app-secret" {
			return errSecretOnCommandLine
		}
	}
	verb := args[0]
	fs := flag.NewFlagSet("bootstrap "+verb, flag.ContinueOnError)
	configFile := fs.String("config", "", "config file (YAML) over the seed's defaults")
	region := fs.String("region", "", "AWS region (default: the config's, then AWS_REGION)")
	output := fs.String("output", "", "apply: write the IDs and ARNs (JSON) to this file")
	yes := fs.Bool("yes", false, "destroy: the same as -auto-approve")
	autoApprove := fs.Bool("auto-approve", false, "apply, destroy: do not show the plan and ask (scripts)")
	planOut := fs.String("out", "", "plan: save the plan to this file, for apply PLANFILE")
	forceSecrets := fs.Bool("force-delete-secrets", false, "destroy: delete the secrets at once instead of after a 7-day recovery window")
	summary := fs.String("summary", "", "append the plan and the network diagram (Markdown) to this file")
	rest := args[1:]
	var planFile string
	if verb == "apply" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && !strings.HasSuffix(rest[0], ".yaml") && !strings.HasSuffix(rest[0], ".yml") {
		if _, err := os.Stat(rest[0]); err == nil { // a saved plan (anything else stays an unexpected argument, not repeated)
			planFile, rest = rest[0], rest[1:]
		}
	}
	if done, err := cli.Parse(fs, rest, version, usage, stdout); done || err != nil {
		return err
	}
	if arg := fs.Arg(0); strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return fmt.Errorf("unexpected argument %s: give the config file with -config, e.g. bootstrap %s -config %s", arg, verb, arg)
	}
	switch {
	case fs.NArg() > 0:
		// Not repeated: an argument where flags belong may be a secret value.
		return fmt.Errorf("unexpected argument (%d characters) after the flags: flags only, or apply PLANFILE (a plan saved with plan -out); and no secret values: they come from APP_SECRET_JSON or app-secret-file", len(fs.Arg(0)))
	case planFile != "" && (*configFile != "" || *region != ""):
		return fmt.Errorf("apply %s: a saved plan carries its config and region: drop -config and -region", planFile)
	case *planOut != "" && verb != "plan":
		return fmt.Errorf("-out saves a plan: bootstrap plan -out %s, then bootstrap apply %s", *planOut, *planOut)
	}
	approve := *autoApprove || *yes
	var terminal io.Reader
	if in, ok := stdinTerminal(); ok && !approve {
		terminal = in
	}
	if verb == "destroy" && !approve && terminal == nil {
		return errors.New("destroy deletes what the bootstrap made (the service, its images, its secrets; secrets stay recoverable for 7 days unless -force-delete-secrets): in a terminal it shows what it deletes and asks; in a script, run it again with -auto-approve (or -yes)")
	}
	return bootstrap.RunCommand(ctx, bootstrap.CommandLine{Verb: bootstrap.Verb(verb), ConfigFile: *configFile, Region: *region,
		Output: *output, Summary: *summary, ForceDeleteSecrets: *forceSecrets, Version: version,
		PlanOut: *planOut, PlanFile: planFile, AutoApprove: approve, Terminal: terminal}, getenv, stdout, stderr)
}

// stdinTerminal is standard input when it is a terminal, to ask on.
var stdinTerminal = func() (io.Reader, bool) {
	return os.Stdin, term.IsTerminal(int(os.Stdin.Fd()))
}
