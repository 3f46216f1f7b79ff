package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/autonote/deploy-action/internal/awsenv"
)

// CommandLine is the bootstrap command's verb and flags.
type CommandLine struct {
	Verb               Verb
	ConfigFile         string
	Region             string
	Output             string // apply: where the IDs and ARNs (JSON) go
	Summary            string // where the plan and the network diagram (Markdown) are appended
	ForceDeleteSecrets bool
	Version            string
}

// ErrPlanHasChanges is plan's answer when there is something to do: the
// command exits 2, as terraform plan -detailed-exitcode does.
var ErrPlanHasChanges = errors.New("the plan has changes")

// RunCommand runs the bootstrap command: every input checked (Prepare),
// then the verb, printing each step to stdout and warnings to stderr.
func RunCommand(ctx context.Context, c CommandLine, getenv func(string) string, stdout, stderr io.Writer) error {
	prep, err := Prepare(Invocation{Verb: c.Verb, ConfigFile: c.ConfigFile, Region: c.Region, RegionWords: "-region", Getenv: getenv, ForceDeleteSecrets: c.ForceDeleteSecrets})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	for _, w := range prep.Warnings {
		log.Warn(w)
	}
	clients, err := awsClients(ctx, prep.Config.Region, getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bootstrap %s: %s stack %s in %s\n", c.Version, c.Verb, prep.Config.Name, prep.Config.Region)
	progress := func(s Step) { fmt.Fprintln(stdout, s.Line()) }
	out, err := prep.Run(ctx, clients, progress, WithLogger(log))
	writeSummary := func(title string) error {
		if c.Summary == "" {
			return nil
		}
		f, err := os.OpenFile(c.Summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%s\n%s", PlanTable(title, out.Steps), NetworkDiagram(prep.Config, out.Outputs))
		return err
	}
	switch prep.Verb {
	case VerbPlan:
		if err != nil {
			return err
		}
		printAdvice(stdout, out.Steps)
		if err := writeSummary("Bootstrap plan"); err != nil {
			return err
		}
		n := out.Changes()
		if n > 0 {
			fmt.Fprintf(stdout, "%d of %d resources to create or change: exit code 2 (the plan has changes; apply makes them)\n", n, len(out.Steps))
			return ErrPlanHasChanges
		}
		fmt.Fprintf(stdout, "%d of %d resources to create or change\n", n, len(out.Steps))
		return nil
	case VerbApply:
		if werr := writeOutputs(c.Output, out.Outputs); werr != nil && err == nil {
			err = werr
		}
		if err != nil && out.Changes() > 0 {
			return fmt.Errorf("%w (what was made is tagged: run apply again to finish, or destroy to remove it)", err)
		}
		if err != nil {
			return err
		}
		printAdvice(stdout, out.Steps)
		fmt.Fprintf(stdout, "done: %d resources, %d created or changed\n", len(out.Steps), out.Changes())
		return writeSummary("Bootstrap apply")
	default:
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "done: %d resources handled\n", len(out.Steps))
		return nil
	}
}

// printAdvice lists what the bootstrap advises on adopted resources and
// leaves as it is.
func printAdvice(w io.Writer, steps []Step) {
	advice := Advice(steps)
	if len(advice) == 0 {
		return
	}
	fmt.Fprintf(w, "\nadvice (adopted resources are left as they are):\n")
	for _, a := range advice {
		fmt.Fprintf(w, "  - %s\n", a)
	}
	fmt.Fprintln(w)
}

func writeOutputs(file string, o Outputs) error {
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
func awsClients(ctx context.Context, region string, getenv func(string) string) (Clients, error) {
	cfg, err := awsenv.Load(ctx, region, getenv)
	if err != nil {
		return Clients{}, err
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return Clients{}, fmt.Errorf("no AWS credentials: %w (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run in the action with role-to-assume)", err)
	}
	return NewClients(cfg, getenv), nil
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
