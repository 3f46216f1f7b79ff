// Command bootstrap makes AutoNote's AWS baseline, idempotently:
//
//	bootstrap plan|apply|destroy [-config FILE] [-region R] [-output FILE] [-summary FILE] [-yes] [-force-delete-secrets]
//
// plan exits 2 when there is something to do. Secret values come from the
// environment (APP_SECRET_JSON) or the config's app-secret-file, never
// from the command line.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errChanges is plan's answer when there is something to do: exit code 2.
var errChanges = errors.New("the plan has changes")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errChanges):
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
	if fs.NArg() > 0 {
		// Not repeated: an argument where flags belong may be a secret value.
		return fmt.Errorf("unexpected argument (%d characters) after the flags: flags only (and no secret values: they come from APP_SECRET_JSON or app-secret-file)", len(fs.Arg(0)))
	}
	if verb == "destroy" && !*yes {
		return errors.New("destroy deletes what the bootstrap made (the service, its images, its secrets; secrets stay recoverable for 7 days unless -force-delete-secrets): run it again with -yes")
	}
	cfg, err := bootstrap.LoadConfig(*configFile)
	if err != nil {
		return err
	}
	cfg.Region = cmp.Or(*region, cfg.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	secret, err := appSecret(cfg, getenv)
	if err != nil {
		return err
	}
	if err := bootstrap.CheckAppSecret(secret); err != nil {
		return fmt.Errorf("APP_SECRET_JSON or app-secret-file: %w; nothing was changed", err)
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	if cfg.OpenToTheWorld() {
		log.Warn(fmt.Sprintf("the service's port %d is open to the whole internet (ingress-cidrs: 0.0.0.0/0), the seed's development setting; narrow it with ingress-cidrs in the config, e.g. [203.0.113.0/24], or put a load balancer in front", cfg.ContainerPort))
	}
	clients, err := awsClients(ctx, cfg.Region, getenv)
	if err != nil {
		return err
	}
	stack, err := bootstrap.New(clients, cfg, bootstrap.WithLogger(log), bootstrap.WithAppSecret(secret), bootstrap.WithForceDeleteSecrets(*forceSecrets))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bootstrap %s: %s stack %s in %s\n", version, verb, cfg.Name, cfg.Region)
	progress := func(s bootstrap.Step) { fmt.Fprintln(stdout, s.Line()) }
	writeSummary := func(title string, steps []bootstrap.Step) error {
		if *summary == "" {
			return nil
		}
		f, err := os.OpenFile(*summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%s\n%s", bootstrap.PlanTable(title, steps), bootstrap.NetworkDiagram(cfg, stack.Outputs()))
		return err
	}

	switch verb {
	case "plan":
		steps, err := stack.Plan(ctx)
		if err != nil {
			return err
		}
		for _, s := range steps {
			progress(s)
		}
		printAdvice(stdout, steps)
		if err := writeSummary("Bootstrap plan", steps); err != nil {
			return err
		}
		n := bootstrap.Changes(steps)
		fmt.Fprintf(stdout, "%d of %d resources to create or change\n", n, len(steps))
		if n > 0 {
			return errChanges
		}
		return nil
	case "apply":
		steps, err := stack.Apply(ctx, progress)
		if werr := writeOutputs(*output, stack.Outputs()); werr != nil && err == nil {
			err = werr
		}
		if err != nil && bootstrap.Changes(steps) > 0 {
			return fmt.Errorf("%w (what was made is tagged: run apply again to finish, or destroy to remove it)", err)
		}
		if err != nil {
			return err
		}
		printAdvice(stdout, steps)
		fmt.Fprintf(stdout, "done: %d resources, %d created or changed\n", len(steps), bootstrap.Changes(steps))
		return writeSummary("Bootstrap apply", steps)
	default:
		steps, err := stack.Destroy(ctx, progress)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "done: %d resources handled\n", len(steps))
		return nil
	}
}

// printAdvice lists what the bootstrap advises on adopted resources and
// leaves as it is.
func printAdvice(w io.Writer, steps []bootstrap.Step) {
	advice := bootstrap.Advice(steps)
	if len(advice) == 0 {
		return
	}
	fmt.Fprintf(w, "\nadvice (adopted resources are left as they are):\n")
	for _, a := range advice {
		fmt.Fprintf(w, "  - %s\n", a)
	}
	fmt.Fprintln(w)
}

// appSecret reads the app's environment: APP_SECRET_JSON, else the file the
// config names, else nothing.
func appSecret(cfg bootstrap.Config, getenv func(string) string) ([]byte, error) {
	if v := getenv("APP_SECRET_JSON"); v != "" {
		return []byte(v), nil
	}
	if cfg.AppSecretFile != "" {
		b, err := os.ReadFile(cfg.AppSecretFile)
		if err != nil {
			return nil, fmt.Errorf("read app-secret-file: %w", err)
		}
		return b, nil
	}
	return nil, nil
}

func writeOutputs(file string, o bootstrap.Outputs) error {
	if file == "" {
		return nil
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// awsClients builds the clients from the environment given, the way the
// action does: keys and endpoints from it, the default chain for the rest.
func awsClients(ctx context.Context, region string, getenv func(string) string) (bootstrap.Clients, error) {
	cfg, err := awsenv.Load(ctx, region, getenv)
	if err != nil {
		return bootstrap.Clients{}, err
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return bootstrap.Clients{}, fmt.Errorf("no AWS credentials: %w (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run in the action with role-to-assume)", err)
	}
	return bootstrap.NewClients(cfg, awsenv.Endpoint(getenv, "ECS")), nil
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
