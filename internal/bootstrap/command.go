package bootstrap

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

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
	// PlanOut (plan) is where the plan is saved; PlanFile (apply) is a
	// saved plan to carry out exactly, its config in place of ConfigFile.
	PlanOut, PlanFile string
	// AutoApprove applies or destroys without asking. Without it, apply
	// and destroy show what they will do and ask on Terminal (nil: there
	// is no terminal, and they refuse): only "yes" goes on.
	AutoApprove bool
	Terminal    io.Reader
}

// ErrPlanHasChanges is plan's answer when there is something to do: the
// command exits 2, as terraform plan -detailed-exitcode does.
var ErrPlanHasChanges = errors.New("the plan has changes")

// ErrCancelled is the answer of an apply or a destroy the person did not
// confirm: nothing was changed.
var ErrCancelled = errors.New("cancelled: nothing was changed")

// RunCommand runs the bootstrap command: every input checked (Prepare),
// then the verb, printing each step to stdout and warnings to stderr. An
// apply shows its plan first and carries out exactly that plan, once
// confirmed (or saved by plan -out); a destroy shows what it deletes and
// what it leaves, and whose.
func RunCommand(ctx context.Context, c CommandLine, getenv func(string) string, stdout, stderr io.Writer) error {
	inv := Invocation{Verb: c.Verb, ConfigFile: c.ConfigFile, Region: c.Region, RegionWords: "-region", Getenv: getenv, ForceDeleteSecrets: c.ForceDeleteSecrets}
	var saved *SavedPlan
	if c.PlanFile != "" {
		var err error
		if saved, err = ReadPlan(c.PlanFile); err != nil {
			return err
		}
		inv.Config = &saved.Config
	}
	prep, err := Prepare(inv)
	if err != nil {
		return err
	}
	asks := !c.AutoApprove && saved == nil && prep.Verb != VerbPlan
	if asks && c.Terminal == nil {
		return fmt.Errorf("%s shows what it will do and asks before it changes anything, and there is no terminal to ask in: pass -auto-approve (scripts), or save a plan and apply it (bootstrap plan -out FILE, then bootstrap apply FILE); nothing was changed", prep.Verb)
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
	opts := []Option{WithLogger(log)}
	switch {
	case prep.Verb == VerbApply && (saved != nil || asks):
		planned, err := prep.planFirst(ctx, clients, opts)
		if err != nil {
			return err
		}
		if saved != nil {
			if d := changed(saved.Steps, planned.Steps); d != "" {
				return fmt.Errorf("%w (%s was made against what the account held then): %s; nothing was changed: run bootstrap plan -out %s again", ErrPlanChanged, c.PlanFile, d, c.PlanFile)
			}
			fmt.Fprintf(stdout, "the account is as the plan %s saw it: applying its %d changes\n", c.PlanFile, planned.Changes())
		} else {
			for _, s := range planned.Steps {
				progress(s)
			}
			printAdvice(stdout, planned.Steps)
			if n := planned.Changes(); n > 0 && !confirm(c.Terminal, stdout, fmt.Sprintf("apply these %d changes to stack %s in %s?", n, prep.Config.Name, prep.Config.Region)) {
				return ErrCancelled
			}
			fmt.Fprintln(stdout, "applying:")
		}
		opts = append(opts, WithPlan(planned.Steps))
	case prep.Verb == VerbDestroy && asks:
		steps, err := prep.DestroyPlan(ctx, clients, opts...)
		if err != nil {
			return err
		}
		for _, s := range steps {
			progress(s)
		}
		if !confirm(c.Terminal, stdout, fmt.Sprintf("delete what stack %s made in %s, as above?", prep.Config.Name, prep.Config.Region)) {
			return ErrCancelled
		}
		fmt.Fprintln(stdout, "destroying:")
	}
	out, err := prep.Run(ctx, clients, progress, opts...)
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
		if c.PlanOut != "" {
			if err := WritePlan(c.PlanOut, c.Version, prep.Config, out.Steps); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "saved the plan to %s: bootstrap apply %s carries out exactly it, and refuses if the account changed since\n", c.PlanOut, c.PlanOut)
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
			return fmt.Errorf("%w (what this apply made carries the stack's tags: fix what the error names and run apply again, which finishes from where it stopped)", err)
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

// planFirst plans the run's config, as apply will see it.
func (p *Prepared) planFirst(ctx context.Context, c Clients, opts []Option) (Outcome, error) {
	plan := *p
	plan.Verb = VerbPlan
	return plan.Run(ctx, c, nil, opts...)
}

// confirm asks question on the terminal; only "yes" agrees.
func confirm(terminal io.Reader, stdout io.Writer, question string) bool {
	fmt.Fprintf(stdout, "\n%s Only 'yes' goes on: ", question)
	line, _ := bufio.NewReader(terminal).ReadString('\n')
	fmt.Fprintln(stdout)
	return strings.TrimSpace(line) == "yes"
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
