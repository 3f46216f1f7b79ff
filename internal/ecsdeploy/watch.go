package ecsdeploy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxDescribeFailures is how many DescribeServices in a row may fail, each
// after the SDK's own retries, before the watch gives up.
const maxDescribeFailures = 5

// watchOutcome is how the watch of one deployment ended.
type watchOutcome struct {
	completed bool
	reason    string
	timedOut  bool
	// replacedBy is the PRIMARY deployment that took over from the watched
	// one, and its task definition: ECS's own rollback, or someone else's deploy.
	replacedBy, replacedByTD string
}

// watch polls the service until the deployment id is complete, has failed,
// has been replaced, or the request's timeout passes.
func (r *run) watch(ctx context.Context, id string) (watchOutcome, error) {
	start := r.clock.Now()
	deadline := start.Add(r.req.Timeout)
	calls, failures := 0, 0
	for {
		calls++
		out, err := r.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
			Cluster:  aws.String(r.req.Cluster),
			Services: []string{r.req.Service},
		})
		var settling bool
		switch {
		case err != nil && ctx.Err() != nil:
			return watchOutcome{}, fmt.Errorf("watch deployment %s: %w (ECS goes on with it; its circuit breaker rolls it back if it fails)", id, ctx.Err())
		case err != nil:
			// The SDK already retried; a rollout outlives a bad minute of
			// the API, so keep watching while there is time.
			failures++
			r.log.Warn("describe service failed", "service", r.req.Service, "error", err, "failures", failures)
			if failures >= maxDescribeFailures {
				return watchOutcome{}, fmt.Errorf("watch deployment %s: describe service %s: %w", id, r.req.Service, err)
			}
		case len(out.Services) == 0:
			return watchOutcome{}, fmt.Errorf("watch deployment %s: service %s is gone", id, r.req.Service)
		default:
			failures = 0
			svc := &out.Services[0]
			r.reportEvents(svc)
			var w watchOutcome
			var done bool
			if w, done, settling = judge(svc, id); done {
				return w, nil
			}
		}
		now := r.clock.Now()
		if !now.Before(deadline) {
			return watchOutcome{timedOut: true, reason: fmt.Sprintf("not stable after %v", r.req.Timeout)}, nil
		}
		delay := r.poll.next(settling, now.Sub(start), calls)
		delay = min(delay, deadline.Sub(now))
		select {
		case <-ctx.Done():
			return watchOutcome{}, fmt.Errorf("watch deployment %s: %w (ECS goes on with it; its circuit breaker rolls it back if it fails)", id, ctx.Err())
		case <-r.clock.After(delay):
		}
	}
}

// judge reads the service: whether the watch of deployment id is over and
// how, and whether the deployment's tasks all run, so that ECS may report it
// COMPLETED at any moment.
func judge(svc *types.Service, id string) (w watchOutcome, done, settling bool) {
	var mine, primary *types.Deployment
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if aws.ToString(dep.Id) == id {
			mine = dep
		}
		if aws.ToString(dep.Status) == "PRIMARY" {
			primary = dep
		}
	}
	replaced := func(reason string) (watchOutcome, bool, bool) {
		w := watchOutcome{reason: reason}
		if primary != nil && primary != mine {
			w.replacedBy, w.replacedByTD = aws.ToString(primary.Id), aws.ToString(primary.TaskDefinition)
		}
		return w, true, false
	}
	switch {
	case mine == nil:
		// Never success: ECS's circuit breaker may have rolled it back and
		// removed it before we looked.
		return replaced("the deployment is gone from the service: ECS rolled it back or another deploy replaced it")
	case mine.RolloutState == types.DeploymentRolloutStateFailed:
		return replaced(aws.ToString(mine.RolloutStateReason))
	case primary != mine:
		return replaced("another deployment became PRIMARY")
	case mine.RolloutState == types.DeploymentRolloutStateCompleted &&
		len(svc.Deployments) == 1 && svc.RunningCount == svc.DesiredCount:
		return watchOutcome{completed: true}, true, false
	}
	settling = mine.RunningCount == mine.DesiredCount && mine.PendingCount == 0
	return watchOutcome{}, false, settling
}

// next is how long to wait before the next DescribeServices, given how long
// the watch has run and how many calls it has made.
func (p Polling) next(settling bool, elapsed time.Duration, calls int) time.Duration {
	want := p.Slow
	if settling {
		want = p.Fast
	}
	// Keep calls <= 1 + elapsed/Average: the next call may come no sooner.
	budget := time.Duration(calls)*p.Average - elapsed
	return max(want, budget)
}

func (r *run) markSeen(svc *types.Service) {
	for _, e := range svc.Events {
		r.seen[aws.ToString(e.Id)] = true
	}
}

// reportEvents reports the service events not reported yet, oldest first.
func (r *run) reportEvents(svc *types.Service) {
	for _, e := range slices.Backward(svc.Events) {
		id := aws.ToString(e.Id)
		if r.seen[id] {
			continue
		}
		r.seen[id] = true
		r.reporter.ServiceEvent(aws.ToTime(e.CreatedAt), aws.ToString(e.Message))
		r.log.Info("service event", "message", aws.ToString(e.Message))
	}
}
