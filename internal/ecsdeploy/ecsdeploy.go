// Package ecsdeploy rolls an ECS service onto a new image: it registers a
// task definition revision that differs from the running one only in the
// image of one container, updates the service, watches the rollout, and
// rolls back when the rollout fails. It knows nothing of GitHub or HTTP;
// every front end translates its input into a Request.
package ecsdeploy

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// ECSAPI is the part of the ECS API the engine calls, with the SDK's own
// signatures so that *ecs.Client satisfies it.
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opts ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, opts ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, opts ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListClusters(ctx context.Context, in *ecs.ListClustersInput, opts ...func(*ecs.Options)) (*ecs.ListClustersOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, opts ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	ListServices(ctx context.Context, in *ecs.ListServicesInput, opts ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, opts ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, opts ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, opts ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
	RunTask(ctx context.Context, in *ecs.RunTaskInput, opts ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	StopTask(ctx context.Context, in *ecs.StopTaskInput, opts ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
}

// Reporter hears about a deploy as it happens. The action turns phases into
// log groups; the deploy hook records them on the job.
type Reporter interface {
	// Phase says a new phase begins; the previous one, if any, has ended.
	Phase(name string)
	// PhaseFailed says the phase under way went wrong, though the run goes
	// on (a failed rollout, then its rollback).
	PhaseFailed()
	// ServiceEvent is a service event ECS wrote, each reported once, oldest first.
	ServiceEvent(at time.Time, message string)
}

// Clock is the time the engine waits on.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

type nopReporter struct{}

func (nopReporter) Phase(string)                   {}
func (nopReporter) PhaseFailed()                   {}
func (nopReporter) ServiceEvent(time.Time, string) {}

// Deployer runs deploys and rollbacks against one ECS API.
type Deployer struct {
	ecs      ECSAPI
	ec2      EC2API    // nil: no addresses
	logs     LogsAPI   // nil: a pre-deploy task's lines are not shown
	alarms   AlarmsAPI // nil: a failure by alarm is not explained
	elb      ELBAPI    // nil: the URL is a task's address
	log      *slog.Logger
	reporter Reporter
	clock    Clock
	poll     Polling
}

// Polling paces DescribeServices while a rollout is watched: Fast while the
// new tasks run and ECS may report COMPLETED at any moment, Slow while they
// start, and never more than one call per Average over the whole watch
// (after a first call that is always allowed).
type Polling struct {
	Fast, Average, Slow time.Duration
	// Progress is how often a watch with nothing new to report says where
	// the rollout stands; zero: every 15 s.
	Progress time.Duration
}

// defaultProgress is how long a watch stays silent at most.
const defaultProgress = 15 * time.Second

// ProgressReporter, when the Reporter is one too, hears where a rollout
// stands while ECS writes nothing: each deployment's running, pending and
// desired tasks, and what the watch waits for.
type ProgressReporter interface {
	Progress(at time.Time, line string)
}

// DefaultPolling keeps detection under 2s once the tasks run, at no more than
// one DescribeServices per 2s on average.
func DefaultPolling() Polling {
	return Polling{Fast: time.Second, Average: 2 * time.Second, Slow: 4 * time.Second}
}

// Option configures a Deployer.
type Option func(*Deployer) error

// WithLogger sets the logger. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(d *Deployer) error {
		if l == nil {
			return fmt.Errorf("logger is nil")
		}
		d.log = l
		return nil
	}
}

// WithReporter sets who hears phases and service events. The default is nobody.
func WithReporter(r Reporter) Option {
	return func(d *Deployer) error {
		if r == nil {
			return fmt.Errorf("reporter is nil")
		}
		d.reporter = r
		return nil
	}
}

// WithClock sets the clock. The default is the system clock.
func WithClock(c Clock) Option {
	return func(d *Deployer) error {
		if c == nil {
			return fmt.Errorf("clock is nil")
		}
		d.clock = c
		return nil
	}
}

// Check says whether the pace can be kept: 0 < Fast <= Average, Fast <= Slow.
func (p Polling) Check() error {
	if p.Fast <= 0 || p.Average < p.Fast || p.Slow < p.Fast {
		return fmt.Errorf("polling %+v: want 0 < Fast <= Average and Fast <= Slow", p)
	}
	return nil
}

// WithPolling sets the pace of the watch. The default is DefaultPolling().
func WithPolling(p Polling) Option {
	return func(d *Deployer) error {
		if err := p.Check(); err != nil {
			return err
		}
		d.poll = p
		return nil
	}
}

// New returns a Deployer that calls client.
func New(client ECSAPI, opts ...Option) (*Deployer, error) {
	if client == nil {
		return nil, fmt.Errorf("ecs client is nil")
	}
	d := &Deployer{
		ecs:      client,
		log:      slog.New(slog.DiscardHandler),
		reporter: nopReporter{},
		clock:    realClock{},
		poll:     DefaultPolling(),
	}
	for _, opt := range opts {
		if err := opt(d); err != nil {
			return nil, err
		}
	}
	return d, nil
}
