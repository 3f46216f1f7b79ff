package deployhook

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/autonote/deploy-action/internal/deployspec"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Clients are the AWS clients of one region: the deploy spec's, which
// the action uses too.
type Clients = deployspec.Clients

// ECSRunner runs jobs through ecsdeploy: it checks that the image of the
// job's SHA is in the target's repository, then deploys it, watches the
// rollout and rolls back when it fails, as the target's spec says. A job
// carried on from another replica goes through ecsdeploy's CarryOn.
type ECSRunner struct {
	Config  *Config
	Clients func(ctx context.Context, region string) (Clients, error)
	Log     *slog.Logger
	Polling ecsdeploy.Polling // zero: ecsdeploy.DefaultPolling()
}

// Run deploys the job's SHA to its target. Secret values read for the
// deploy (the smoke header's) never reach the job's events or its error.
func (e *ECSRunner) Run(ctx context.Context, j Job, report func(string)) (Outcome, error) {
	events := &redactor{report: report}
	out, err := e.run(ctx, j, events)
	words := deployspec.HookWords(j.Target) // the settings a hint names, as the target's keys
	err = ecsdeploy.WordHints(err, func(n string) string { return words(deployspec.SettingNamed(n)) })
	return out, events.scrub(err)
}

func (e *ECSRunner) run(ctx context.Context, j Job, events *redactor) (Outcome, error) {
	t, ok := e.Config.Targets[j.Target]
	if !ok {
		return Outcome{State: StateFailed}, fmt.Errorf("%w %q", ErrUnknownTarget, j.Target)
	}
	c, err := e.Clients(ctx, t.Region)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	req, err := t.Request(ctx, c.Secrets, events.mask)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	// The job never runs its pre-deploy command twice, on whichever
	// replica carries it on.
	req.Run = "hook-job/" + j.ID
	_, repo, err := c.Repository(ctx, t.Target)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	img, err := repo.Head(ctx, j.SHA)
	if err != nil {
		return Outcome{State: StateFailed}, fmt.Errorf("no image for sha %s: %w", j.SHA, err)
	}
	events.line(fmt.Sprintf("image %s (%s)", img.URI(), img.Digest))

	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []ecsdeploy.Option{ecsdeploy.WithLogger(log.With("job", j.ID)), ecsdeploy.WithReporter(jobReporter(events.line))}
	if j.guard != nil { // a replica that lost the job changes nothing more
		opts = append(opts, ecsdeploy.WithGuard(j.Guard))
	}
	if e.Polling != (ecsdeploy.Polling{}) {
		opts = append(opts, ecsdeploy.WithPolling(e.Polling))
	}
	d, err := c.Deployer(opts...)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	req.Image = img.URI()
	var res *ecsdeploy.Result
	if j.CarriedOn() {
		events.line("carrying on the deploy that replica's run began at " + j.Started.UTC().Format(time.RFC3339) + ": from what ECS shows of it")
		res, err = d.CarryOn(ctx, req, j.Started)
	} else {
		res, err = d.Deploy(ctx, req)
	}
	out := Outcome{State: StateFailed, Image: img.URI(), Digest: img.Digest}
	if res != nil {
		out.TaskDefinition, out.DeploymentID = res.TaskDefinitionARN, res.DeploymentID
		out.PreviousTaskDefinition, out.URL = res.PreviousTaskDefinitionARN, res.URL
		switch res.Status {
		case ecsdeploy.StatusSucceeded, ecsdeploy.StatusUnchanged:
			out.State = StateSucceeded
		case ecsdeploy.StatusStarted:
			out.State = StateSucceeded
			events.line("the service was updated and the rollout is not watched (the target's wait is false)")
		case ecsdeploy.StatusRolledBack:
			out.State = StateRolledBack
		}
		if res.Status == ecsdeploy.StatusFailed && res.DeploymentID == "" {
			out.TaskDefinition = "" // it failed before it changed anything
		}
	}
	return out, err
}

// redactor passes a job's event lines on with every masked value replaced.
type redactor struct {
	mu     sync.Mutex
	values []string
	report func(string)
}

func (r *redactor) mask(v string) {
	if v == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
}

func (r *redactor) line(s string) { r.report(r.redact(s)) }

func (r *redactor) redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// scrub is err with every masked value replaced in its text (an answer
// of the smoke check may echo the header's value), still matching what
// err matches; nil stays nil.
func (r *redactor) scrub(err error) error {
	if err == nil {
		return nil
	}
	if msg := r.redact(err.Error()); msg != err.Error() {
		return &scrubbed{msg: msg, err: err}
	}
	return err
}

// scrubbed is an error whose text had secret values masked.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// jobReporter writes phases and service events into the job's events.
type jobReporter func(string)

func (r jobReporter) Phase(name string) { r("phase: " + name) }
func (r jobReporter) PhaseFailed()      { r("phase failed") }

// TaskLine records a line of the pre-deploy task.
func (r jobReporter) TaskLine(at time.Time, line string) {
	r(at.UTC().Format(time.TimeOnly) + " task: " + line)
}

// Progress records where the rollout stands, while ECS writes nothing.
func (r jobReporter) Progress(at time.Time, line string) {
	r(at.UTC().Format(time.TimeOnly) + " " + line)
}

func (r jobReporter) ServiceEvent(at time.Time, msg string) {
	r(at.UTC().Format(time.TimeOnly) + " " + msg)
}
