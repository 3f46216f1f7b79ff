package ecsdeploy

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// scriptedECS is an in-memory ECS for the engine's decisions: each
// DescribeServices returns the next state of the script (the last one
// repeats), and the stopped tasks are those of the state last described.
// Any other call panics on the nil embedded interface: the watch makes
// none.
type scriptedECS struct {
	ECSAPI
	mu     sync.Mutex
	steps  []step
	at     int
	listed int // ListTasks calls
}

type step struct {
	svc     types.Service
	stopped []types.Task
}

func (s *scriptedECS) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.steps[min(s.at, len(s.steps)-1)]
	s.at++
	return &ecs.DescribeServicesOutput{Services: []types.Service{st.svc}}, nil
}

func (s *scriptedECS) current() step { return s.steps[min(max(s.at-1, 0), len(s.steps)-1)] }

func (s *scriptedECS) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listed++
	var arns []string
	for _, t := range s.current().stopped {
		arns = append(arns, aws.ToString(t.TaskArn))
	}
	return &ecs.ListTasksOutput{TaskArns: arns}, nil
}

func (s *scriptedECS) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &ecs.DescribeTasksOutput{Tasks: s.current().stopped}, nil
}

// virtualClock moves only when the watch waits: a watch of minutes runs
// in microseconds.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *virtualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *virtualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

func deployment(id, status string, state types.DeploymentRolloutState, running, pending, failed int32) types.Deployment {
	return types.Deployment{Id: aws.String(id), Status: aws.String(status), RolloutState: state, TaskDefinition: aws.String("td:" + id),
		DesiredCount: 1, RunningCount: running, PendingCount: pending, FailedTasks: failed}
}

func service(ds ...types.Deployment) types.Service {
	var running int32
	for _, d := range ds {
		running += d.RunningCount
	}
	return types.Service{Deployments: ds, DesiredCount: 1, RunningCount: running}
}

func crashed(id string, code int32) types.Task {
	return types.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/c/" + id), StoppedReason: aws.String("Essential container in task exited"),
		StopCode: types.TaskStopCodeEssentialContainerExited, Containers: []types.Container{{Name: aws.String("server"), ExitCode: aws.Int32(code)}}}
}

func eniStop(id string) types.Task {
	return types.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/c/" + id), StoppedReason: aws.String("Timeout waiting for network interface provisioning to complete."),
		StopCode: types.TaskStopCodeTaskFailedToStart}
}

// TestWatchDecisions: the watch's verdicts on scripted rollouts, each in
// microseconds of real time: completion, ECS's rollback, fail-fast on the
// first certain failure (or the second, with fail-after 2), transient stops
// left to ECS, and the timeout.
func TestWatchDecisions(t *testing.T) {
	t.Parallel()
	const (
		inProgress = types.DeploymentRolloutStateInProgress
		done       = types.DeploymentRolloutStateCompleted
		failedS    = types.DeploymentRolloutStateFailed
	)
	old := deployment("old", "ACTIVE", done, 1, 0, 0)
	tests := []struct {
		name      string
		failAfter int
		steps     []step
		want      watchOutcome
		wantErr   bool
		maxLists  int // ListTasks calls at most
	}{
		{"completes", 1, []step{
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 0), old)},
			{svc: service(deployment("new", "PRIMARY", inProgress, 1, 0, 0), old)},
			{svc: service(deployment("new", "PRIMARY", done, 1, 0, 0))},
		}, watchOutcome{completed: true}, false, 0},
		{"a crash at start, fail-after 1", 1, []step{
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 0), old)},
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 1), old), stopped: []types.Task{crashed("a", 1)}},
		}, watchOutcome{failedFast: true}, false, 1},
		{"a crash at start, fail-after 2, waits for the second", 2, []step{
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 1), old), stopped: []types.Task{crashed("a", 1)}},
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 1), old), stopped: []types.Task{crashed("a", 1)}},
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 2), old), stopped: []types.Task{crashed("a", 1), crashed("b", 1)}},
		}, watchOutcome{failedFast: true}, false, 2},
		{"fail-after 0 leaves it to the breaker", 0, []step{
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 1), old), stopped: []types.Task{crashed("a", 1)}},
			{svc: service(deployment("new", "ACTIVE", failedS, 0, 0, 3), deployment("back", "PRIMARY", inProgress, 0, 1, 0))},
		}, watchOutcome{replacedBy: "back", replacedByTD: "td:back"}, false, 0},
		{"an ENI stop, then a healthy task", 1, []step{
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 1), old), stopped: []types.Task{eniStop("a")}},
			{svc: service(deployment("new", "PRIMARY", inProgress, 1, 0, 1), old), stopped: []types.Task{eniStop("a")}},
			{svc: service(deployment("new", "PRIMARY", done, 1, 0, 1))},
		}, watchOutcome{completed: true}, false, 1},
		{"never stable: the timeout", 1, []step{
			{svc: service(deployment("new", "PRIMARY", inProgress, 0, 1, 0), old)},
		}, watchOutcome{timedOut: true}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &scriptedECS{steps: tt.steps}
			d, err := New(fake, WithClock(&virtualClock{now: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}))
			if err != nil {
				t.Fatal(err)
			}
			r := d.newRun(Request{Target: Target{Cluster: "c", Service: "s"}, Image: "i", Wait: true, Timeout: 10 * time.Minute, FailAfter: tt.failAfter}, verbDeploy)
			w, err := r.watchRollout(context.Background(), "new")
			if (err != nil) != tt.wantErr {
				t.Fatalf("watch: %v", err)
			}
			if w.completed != tt.want.completed || w.failedFast != tt.want.failedFast || w.timedOut != tt.want.timedOut || w.replacedBy != tt.want.replacedBy {
				t.Errorf("watch = %+v, want %+v", w, tt.want)
			}
			if fake.listed > tt.maxLists {
				t.Errorf("%d ListTasks calls, want at most %d: the stopped tasks are read only when a task failed anew", fake.listed, tt.maxLists)
			}
		})
	}
}

// TestProgressLine: where each deployment stands, and what the watch
// waits for, in one line.
func TestProgressLine(t *testing.T) {
	t.Parallel()
	svc := &types.Service{Deployments: []types.Deployment{
		{Id: aws.String("ecs-svc/2"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:1:task-definition/app:7"), RunningCount: 1, DesiredCount: 2, PendingCount: 1},
		{Id: aws.String("ecs-svc/1"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:1:task-definition/app:6"), RunningCount: 2, DesiredCount: 2},
	}}
	got := progressLine(svc, "ecs-svc/2", false)
	want := "this deploy (app:7): 1 of 2 running, 1 pending; the old tasks (app:6): 2 of 2 running, 0 pending; waiting for the new tasks to start and pass their health checks"
	if got != want {
		t.Errorf("progressLine = %q\nwant %q", got, want)
	}
	if got := progressLine(svc, "ecs-svc/2", true); !strings.HasSuffix(got, "waiting for ECS to mark the deployment complete (the old tasks drain and stop)") {
		t.Errorf("settling: %q", got)
	}
}

// TestMarkReturns: a deployment that did not complete and that the next
// one undid (back to the last stable revision) is named as returned; one
// replaced by a newer build is not.
func TestMarkReturns(t *testing.T) {
	t.Parallel()
	rec := func(td, status string) DeploymentRecord {
		return DeploymentRecord{TaskDefinitionARN: td, Status: status}
	}
	recs := []DeploymentRecord{
		rec("app:6", "SUCCESSFUL"), // the return
		rec("app:7", "STOPPED"),    // returned from
		rec("app:6", "SUCCESSFUL"),
		rec("app:5", "STOPPED"), // replaced by a newer build, app:6
		rec("app:4", "SUCCESSFUL"),
	}
	markReturns(recs)
	if recs[1].ReturnedTo != "app:6" || recs[3].ReturnedTo != "" || recs[0].ReturnedTo != "" {
		t.Errorf("returned to: %q %q %q; want app:6 for the stopped app:7 alone", recs[0].ReturnedTo, recs[1].ReturnedTo, recs[3].ReturnedTo)
	}
}
