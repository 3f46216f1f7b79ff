package ecsdeploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// WithGuard makes every change the engine asks of ECS (a revision
// registered or deregistered, the service updated, a task run or stopped,
// a service deployment continued or stopped) wait for guard first, and
// not happen when guard fails: the deploy hook's guard renews the job's
// lease under its own token, so a replica that lost a job to another
// changes nothing more beside the new holder. Reads are not guarded.
func WithGuard(guard func(context.Context) error) Option {
	return func(d *Deployer) error {
		if guard == nil {
			return fmt.Errorf("guard is nil")
		}
		d.ecs = guarded{ECSAPI: d.ecs, guard: guard}
		return nil
	}
}

// guarded is an ECSAPI whose writes pass a guard first.
type guarded struct {
	ECSAPI
	guard func(context.Context) error
}

func (g guarded) check(ctx context.Context, what string) error {
	if err := g.guard(ctx); err != nil {
		return fmt.Errorf("not calling %s: %w", what, err)
	}
	return nil
}

func (g guarded) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	if err := g.check(ctx, "RegisterTaskDefinition"); err != nil {
		return nil, err
	}
	return g.ECSAPI.RegisterTaskDefinition(ctx, in, opts...)
}

func (g guarded) DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	if err := g.check(ctx, "DeregisterTaskDefinition"); err != nil {
		return nil, err
	}
	return g.ECSAPI.DeregisterTaskDefinition(ctx, in, opts...)
}

func (g guarded) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opts ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	if err := g.check(ctx, "UpdateService"); err != nil {
		return nil, err
	}
	return g.ECSAPI.UpdateService(ctx, in, opts...)
}

func (g guarded) RunTask(ctx context.Context, in *ecs.RunTaskInput, opts ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	if err := g.check(ctx, "RunTask"); err != nil {
		return nil, err
	}
	return g.ECSAPI.RunTask(ctx, in, opts...)
}

func (g guarded) StopTask(ctx context.Context, in *ecs.StopTaskInput, opts ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	if err := g.check(ctx, "StopTask"); err != nil {
		return nil, err
	}
	return g.ECSAPI.StopTask(ctx, in, opts...)
}

func (g guarded) ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error) {
	if err := g.check(ctx, "ContinueServiceDeployment"); err != nil {
		return nil, err
	}
	return g.ECSAPI.ContinueServiceDeployment(ctx, in, opts...)
}

func (g guarded) StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	if err := g.check(ctx, "StopServiceDeployment"); err != nil {
		return nil, err
	}
	return g.ECSAPI.StopServiceDeployment(ctx, in, opts...)
}
