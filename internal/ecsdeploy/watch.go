package ecsdeploy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
	// failedFast: the request's fail-after certain failures were seen, so
	// the watch ended before ECS's verdict.
	failedFast bool
}

// watch polls the service until the deployment id is complete, has failed,
// has been replaced, or the request's timeout passes.
func (r *run) watch(ctx context.Context, id string) (watchOutcome, error) {
	return r.watchFor(ctx, id, false)
}

// watchRollout is watch of a deployment of the requested build: it also
// ends at the request's fail-after certain failures of its tasks.
func (r *run) watchRollout(ctx context.Context, id string) (watchOutcome, error) {
	return r.watchFor(ctx, id, r.req.FailAfter > 0)
}

func (r *run) watchFor(ctx context.Context, id string, failFast bool) (watchOutcome, error) {
	start := r.clock.Now()
	deadline := start.Add(r.req.Timeout)
	calls, failures := 0, 0
	var judged int32 // failed tasks of the deployment already judged
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
			r.sayProgress(svc, id, settling)
			if n := failedTasks(svc, id); failFast && n > judged {
				judged = n
				if w, done := r.judgeStops(ctx, id); done {
					return w, nil
				}
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

// failedTasks is how many tasks deployment id has seen fail to start.
func failedTasks(svc *types.Service, id string) int32 {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Id) == id {
			return d.FailedTasks
		}
	}
	return 0
}

// judgeStops reads the deployment's stopped tasks and says whether there
// are enough certain failures to end the watch now. What it cannot read it
// leaves to ECS.
func (r *run) judgeStops(ctx context.Context, id string) (watchOutcome, bool) {
	stopped, err := r.stoppedTasks(ctx, id)
	if err != nil {
		r.log.Warn("could not read the stopped tasks: leaving the verdict to ECS", "error", err)
		return watchOutcome{}, false
	}
	v := JudgeStops(stopped, r.req.FailAfter)
	for _, t := range v.Transient {
		r.log.Info("a task stopped for the platform's trouble: ECS retries it", "task", t.String())
	}
	for _, t := range v.Unknown {
		r.log.Info("a task stopped for a reason not known to be certain: leaving it to ECS", "task", t.String())
	}
	if !v.Tripped {
		return watchOutcome{}, false
	}
	return watchOutcome{failedFast: true, reason: v.reason(r.req.FailAfter)}, true
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
// sayProgress reports, when the watch has said nothing for a while, where
// each deployment of the service stands and what the watch waits for.
func (r *run) sayProgress(svc *types.Service, id string, settling bool) {
	now := r.clock.Now()
	if r.said.IsZero() {
		r.said = now
		return
	}
	if now.Sub(r.said) < cmp.Or(r.poll.Progress, defaultProgress) {
		return
	}
	r.said = now
	line := progressLine(svc, id, settling)
	if p, ok := r.reporter.(ProgressReporter); ok {
		p.Progress(now, line)
		return
	}
	r.log.Info("waiting", "progress", line)
}

// progressLine words where the deployments of a service stand.
func progressLine(svc *types.Service, id string, settling bool) string {
	var parts []string
	for _, d := range svc.Deployments {
		who := "the old tasks"
		if aws.ToString(d.Id) == id {
			who = "this deploy"
		}
		parts = append(parts, fmt.Sprintf("%s (%s): %d of %d running, %d pending", who, lastPart(aws.ToString(d.TaskDefinition)), d.RunningCount, d.DesiredCount, d.PendingCount))
	}
	wait := "waiting for the new tasks to start and pass their health checks"
	if settling {
		wait = "the new tasks run: waiting for ECS to mark the deployment complete (the old tasks drain and stop)"
	}
	return strings.Join(parts, "; ") + "; " + wait
}

func (r *run) reportEvents(svc *types.Service) {
	for _, e := range slices.Backward(svc.Events) {
		id := aws.ToString(e.Id)
		if r.seen[id] {
			continue
		}
		r.seen[id] = true
		r.said = r.clock.Now()
		r.reporter.ServiceEvent(aws.ToTime(e.CreatedAt), aws.ToString(e.Message))
		r.log.Info("service event", "message", aws.ToString(e.Message))
	}
}
