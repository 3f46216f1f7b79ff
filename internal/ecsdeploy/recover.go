package ecsdeploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxStoppedTasks is how many stopped tasks a failure reports: enough to see
// a pattern, few enough to read.
const maxStoppedTasks = 5

// recover handles a rollout that did not complete: it finds why, then
// returns the service to the previous revision, watching ECS's own rollback
// when the circuit breaker already started one.
func (r *run) recover(ctx context.Context, id, previous string, w watchOutcome) error {
	res := r.res
	r.reporter.PhaseFailed()
	ferr := &RolloutFailedError{Service: r.req.Service, DeploymentID: id, Reason: w.reason}
	switch {
	case w.timedOut:
		ferr.Cause = ErrTimeout
	case w.failedFast:
		ferr.Cause = ErrFailedFast
	}
	r.phase("collect stopped tasks")
	stopped, err := r.stoppedTasks(ctx, id)
	if err != nil {
		r.log.Warn("could not read stopped tasks", "error", err)
	}
	ferr.Stopped, res.Stopped = stopped, stopped
	// The first stopped task's last lines are read while the service goes
	// back, never before: they explain, they do not hold the return.
	tail := r.tailFirstStopped(ctx, stopped)
	defer r.showTail(tail, stopped)
	ferr.Alarms = r.firingAlarms(ctx)
	res.Alarms = ferr.Alarms

	var back string
	switch {
	case w.replacedBy != "" && w.replacedByTD == previous && r.scaleTo == nil:
		r.phase("watch ECS rollback")
		back = w.replacedBy
	case w.replacedBy != "" && w.replacedByTD == previous:
		// ECS rolled a first deploy back onto the bootstrap's placeholder,
		// which has no image: return the service to zero tasks instead.
		r.phase("roll back")
		if back, err = r.update(ctx, previous, aws.Int32(0)); err != nil {
			ferr.RollbackErr = err
			return ferr
		}
		r.phase("watch rollback")
	case w.replacedBy != "":
		// Someone else deployed: the service is theirs now, do not undo it.
		ferr.Reason += fmt.Sprintf("; deployment %s of %s took over", w.replacedBy, w.replacedByTD)
		res.TaskDefinitionARN = w.replacedByTD
		return ferr
	default:
		return r.returnTo(ctx, previous, ferr)
	}
	return r.watchBack(ctx, back, previous, ferr)
}

// returnTo returns the service to the last stable revision after a
// failure, when the request allows it, and watches that return.
func (r *run) returnTo(ctx context.Context, previous string, ferr *RolloutFailedError) error {
	switch {
	case !r.req.RollbackOnFailure:
		return ferr
	case previous == "":
		ferr.RollbackErr = errNoStable
		return ferr
	}
	r.phase("roll back")
	var zero *int32
	if r.scaleTo != nil {
		zero = aws.Int32(0) // back to no tasks, as before the first deploy
	}
	back, err := r.update(ctx, previous, zero)
	if err != nil {
		ferr.RollbackErr = err
		return ferr
	}
	r.phase("watch rollback")
	return r.watchBack(ctx, back, previous, ferr)
}

// watchBack follows deployment back, a return to previous, to its end.
func (r *run) watchBack(ctx context.Context, back, previous string, ferr *RolloutFailedError) error {
	res := r.res
	bw, err := r.watch(ctx, back)
	switch {
	case err != nil:
		ferr.RollbackErr = err
	case !bw.completed:
		ferr.RollbackErr = fmt.Errorf("deployment %s: %s", back, bw.reason)
	default:
		ferr.RolledBack = true
		res.Status = StatusRolledBack
		res.TaskDefinitionARN = previous
		res.DeploymentID = back
	}
	return ferr
}

// stoppedTasks describes the newest tasks that deployment id started and
// ECS stopped.
func (r *run) stoppedTasks(ctx context.Context, id string) ([]StoppedTask, error) {
	list, err := r.ecs.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster:       aws.String(r.req.Cluster),
		StartedBy:     aws.String(id),
		DesiredStatus: "STOPPED",
		MaxResults:    aws.Int32(100),
	})
	if err != nil {
		return nil, fmt.Errorf("list stopped tasks of %s: %w", id, err)
	}
	if len(list.TaskArns) == 0 {
		return nil, nil
	}
	out, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(r.req.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil, fmt.Errorf("describe stopped tasks of %s: %w", id, err)
	}
	tasks := out.Tasks
	slices.SortStableFunc(tasks, func(a, b types.Task) int { return aws.ToTime(b.StoppedAt).Compare(aws.ToTime(a.StoppedAt)) })
	var stopped []StoppedTask
	for _, t := range tasks[:min(len(tasks), maxStoppedTasks)] {
		s := StoppedTask{TaskARN: aws.ToString(t.TaskArn), StoppedReason: aws.ToString(t.StoppedReason), StopCode: string(t.StopCode),
			taskDefinition: aws.ToString(t.TaskDefinitionArn)}
		for _, c := range t.Containers {
			s.Containers = append(s.Containers, StoppedContainer{Name: aws.ToString(c.Name), Reason: aws.ToString(c.Reason), ExitCode: c.ExitCode})
		}
		stopped = append(stopped, s)
	}
	return stopped, nil
}

// Reasons are the stopped reasons of tasks, each once, in order.
func Reasons(tasks []StoppedTask) []string {
	var out []string
	for _, t := range tasks {
		s := strings.TrimPrefix(t.String(), "task ")
		if _, rest, ok := strings.Cut(s, ": "); ok {
			s = rest
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
