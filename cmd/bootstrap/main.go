// Command bootstrap makes AutoNote's AWS baseline, idempotently:
//
//	bootstrap plan|apply|destroy [-config FILE] [-region R] [-output FILE] [-summary FILE] [-yes] [-force-delete-secrets]
//
// plan exits 2 when there is something to do. Secret values come from the
// environment (APP_SECRET_JSON) or the config's app-secret-file, never
// from the command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/cli"
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

const usage = "usage: bootstrap plan|apply|destroy [-config FILE] [-region R] [-output FILE] [-summary FILE] [-yes] [-force-delete-secrets]"

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
	if len(args) == 0 || (args[0] != "plan" && args[0] != "apply" && args[0] != "destroy") {
		return errors.New(usage)
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
	yes := fs.Bool("yes", false, "destroy: really delete what the bootstrap made")
	forceSecrets := fs.Bool("force-delete-secrets", false, "destroy: delete the secrets at once instead of after a 7-day recovery window")
	summary := fs.String("summary", "", "append the plan and the network diagram (Markdown) to this file")
	if done, err := cli.Parse(fs, args[1:], version, usage, stdout); done || err != nil {
		return err
	}
	if arg := fs.Arg(0); strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return fmt.Errorf("unexpected argument %s: give the config file with -config, e.g. bootstrap %s -config %s", arg, verb, arg)
	}
	if fs.NArg() > 0 {
		// Not repeated: an argument where flags belong may be a secret value.
		return fmt.Errorf("unexpected argument (%d characters) after the flags: flags only (and no secret values: they come from APP_SECRET_JSON or app-secret-file)", len(fs.Arg(0)))
	}
	if verb == "destroy" && !*yes {
		return errors.New("destroy deletes what the bootstrap made (the service, its images, its secrets; secrets stay recoverable for 7 days unless -force-delete-secrets): run it again with -yes")
	}
	return bootstrap.RunCommand(ctx, bootstrap.CommandLine{Verb: bootstrap.Verb(verb), ConfigFile: *configFile, Region: *region,
		Output: *output, Summary: *summary, ForceDeleteSecrets: *forceSecrets, Version: version}, getenv, stdout, stderr)
}
