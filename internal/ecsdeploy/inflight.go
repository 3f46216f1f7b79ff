package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// InProgress says what a deploy does when it meets another build's rollout.
type InProgress string

// What a deploy does about another build's rollout.
const (
	// Wait for it to complete or fail, within the request's timeout, then deploy.
	Wait InProgress = "wait"
	// Supersede it at once.
	Supersede InProgress = "supersede"
)

// ErrRolloutInProgress is returned when another build's rollout did not
// settle in time: nothing was changed.
var ErrRolloutInProgress = errors.New("another rollout is in progress")

// errNoStable is why a failed rollout could not be rolled back.
var errNoStable = errors.New("no deployment of this service has completed, so there is no stable revision to return to")

// rolloutState is what a deploy meets when it reads the service.
type rolloutState struct {
	// stable is the newest deployment that completed: the revision a
	// failed rollout returns to. nil when none did.
	stable *types.Deployment
	// rolling is the PRIMARY deployment when it has not completed: a
	// rollout in progress (or one that failed and was not rolled back).
	rolling *types.Deployment
}

// readRollout finds the last stable deployment and the one in flight. The
// PRIMARY is stable once it completed; otherwise the stable one is the
// newest other deployment that had completed, never one still rolling out
// or one that failed.
func readRollout(svc *types.Service) rolloutState {
	var st rolloutState
	// The bootstrap's service waits at zero tasks for its first deploy:
	// its placeholder deployment has nothing to roll out.
	placeholder := firstDeployCount(svc) != nil
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		switch {
		case aws.ToString(d.Status) == "PRIMARY" && (completed(d) || placeholder && d.DesiredCount == 0 && d.RunningCount == 0 && d.PendingCount == 0):
			return rolloutState{stable: d}
		case aws.ToString(d.Status) == "PRIMARY":
			st.rolling = d
		case completed(d) && (st.stable == nil || aws.ToTime(d.CreatedAt).After(aws.ToTime(st.stable.CreatedAt))):
			st.stable = d
		}
	}
	return st
}

// completed reports whether a deployment reached its steady state. A
// deployment with no rollout state (a controller that keeps none) counts
// as completed when all its tasks run.
func completed(d *types.Deployment) bool {
	if d.RolloutState == "" {
		return d.RunningCount == d.DesiredCount && d.PendingCount == 0
	}
	return d.RolloutState == types.DeploymentRolloutStateCompleted
}

func failed(d *types.Deployment) bool { return d.RolloutState == types.DeploymentRolloutStateFailed }

// liveSince is when a stable deployment last changed: when it completed.
func liveSince(d *types.Deployment) time.Time {
	if d.UpdatedAt != nil {
		return *d.UpdatedAt
	}
	return aws.ToTime(d.CreatedAt)
}

// settle waits while another build's rollout is in flight, until it
// completes, fails or is replaced, or the request's timeout passes; it
// returns the service as it then is.
func (r *run) settle(ctx context.Context, svc *types.Service) (*types.Service, error) {
	deadline := r.clock.Now().Add(r.req.Timeout)
	for {
		st := readRollout(svc)
		if st.rolling == nil || failed(st.rolling) {
			return svc, nil
		}
		id := aws.ToString(st.rolling.Id)
		r.phase("wait for rollout in progress")
		r.log.Info("another build is rolling out: waiting for it to settle before deploying (on-rollout-in-progress: supersede replaces it at once)",
			"deployment", id, "taskDefinition", aws.ToString(st.rolling.TaskDefinition))
		w, err := r.watch(ctx, id)
		if err != nil {
			return nil, err
		}
		if w.timedOut || !r.clock.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: deployment %s of %s did not settle in %v; nothing was changed: run again later, or set on-rollout-in-progress: supersede to replace it: %w",
				ErrRolloutInProgress, id, aws.ToString(st.rolling.TaskDefinition), r.req.Timeout, ErrTimeout)
		}
		r.phase("describe service")
		if svc, err = r.describeService(ctx); err != nil {
			return nil, err
		}
	}
}
