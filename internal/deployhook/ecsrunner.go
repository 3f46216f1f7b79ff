package deployhook

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Clients are the AWS clients of one region.
type Clients struct {
	ECS  ecsdeploy.ECSAPI
	ECR  ecrimage.ECRAPI
	EC2  ecsdeploy.EC2API  // optional: where the tasks answer
	Logs ecsdeploy.LogsAPI // optional: a pre-deploy task's log lines
	// Alarms is optional: it names the deployment alarm that failed a rollout.
	Alarms ecsdeploy.AlarmsAPI
	// ELB is optional: it names the service's load balancer as its URL.
	ELB ecsdeploy.ELBAPI
}

// ECSRunner runs jobs through ecsdeploy: it checks that the image of the
// job's SHA is in the target's repository, then deploys it, watches the
// rollout and rolls back when it fails.
type ECSRunner struct {
	Config  *Config
	Clients func(ctx context.Context, region string) (Clients, error)
	Log     *slog.Logger
	Polling ecsdeploy.Polling // zero: ecsdeploy.DefaultPolling()
	Timeout time.Duration     // zero: 15m
}

// Run deploys the job's SHA to its target.
func (e *ECSRunner) Run(ctx context.Context, j Job, report func(string)) (Outcome, error) {
	t, ok := e.Config.Targets[j.Target]
	if !ok {
		return Outcome{State: StateFailed}, fmt.Errorf("%w %q", ErrUnknownTarget, j.Target)
	}
	c, err := e.Clients(ctx, t.Region)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	reg, err := ecrimage.Login(ctx, c.ECR, t.Registry)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	repo, err := reg.Repository(t.ECRRepository)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	img, err := repo.Head(ctx, j.SHA)
	if err != nil {
		return Outcome{State: StateFailed}, fmt.Errorf("no image for sha %s: %w", j.SHA, err)
	}
	report(fmt.Sprintf("image %s (%s)", img.URI(), img.Digest))

	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []ecsdeploy.Option{ecsdeploy.WithLogger(log.With("job", j.ID)), ecsdeploy.WithReporter(jobReporter(report))}
	if c.EC2 != nil {
		opts = append(opts, ecsdeploy.WithEC2(c.EC2))
	}
	if c.Logs != nil {
		opts = append(opts, ecsdeploy.WithLogs(c.Logs))
	}
	if c.Alarms != nil {
		opts = append(opts, ecsdeploy.WithAlarms(c.Alarms))
	}
	if c.ELB != nil {
		opts = append(opts, ecsdeploy.WithLoadBalancers(c.ELB))
	}
	if e.Polling != (ecsdeploy.Polling{}) {
		opts = append(opts, ecsdeploy.WithPolling(e.Polling))
	}
	d, err := ecsdeploy.New(c.ECS, opts...)
	if err != nil {
		return Outcome{State: StateFailed}, err
	}
	timeout := e.Timeout
	if timeout == 0 {
		timeout = 15 * time.Minute
	}
	req := ecsdeploy.Request{
		Target: ecsdeploy.Target{Cluster: t.Cluster, Service: t.Service, Container: t.Container, Repository: t.ECRRepository},
		Image:  img.URI(),
		Wait:   true, Timeout: timeout, RollbackOnFailure: true,
		KeepRevisions: t.KeepRevisions,
	}
	if len(t.PreDeployCommand) > 0 {
		req.PreDeploy = &ecsdeploy.PreDeploy{Command: t.PreDeployCommand, Timeout: time.Duration(t.PreDeployTimeout)}
	}
	if t.SmokePath != "" {
		req.Smoke = &ecsdeploy.Smoke{Path: t.SmokePath, Timeout: time.Duration(t.SmokeTimeout)}
	}
	res, err := d.Deploy(ctx, req)
	out := Outcome{State: StateFailed, Image: img.URI(), Digest: img.Digest}
	if res != nil {
		out.TaskDefinition, out.DeploymentID = res.TaskDefinitionARN, res.DeploymentID
		switch res.Status {
		case ecsdeploy.StatusSucceeded, ecsdeploy.StatusUnchanged:
			out.State = StateSucceeded
		case ecsdeploy.StatusRolledBack:
			out.State = StateRolledBack
		}
		if res.Status == ecsdeploy.StatusFailed && res.DeploymentID == "" {
			out.TaskDefinition = "" // it failed before it changed anything
		}
	}
	return out, err
}

// jobReporter writes phases and service events into the job's events.
type jobReporter func(string)

func (r jobReporter) Phase(name string) { r("phase: " + name) }
func (r jobReporter) PhaseFailed()      { r("phase failed") }

// TaskLine records a line of the pre-deploy task.
func (r jobReporter) TaskLine(at time.Time, line string) {
	r(at.UTC().Format(time.TimeOnly) + " task: " + line)
}
func (r jobReporter) ServiceEvent(at time.Time, msg string) {
	r(at.UTC().Format(time.TimeOnly) + " " + msg)
}
