package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// LogsAPI reads a task's log lines from CloudWatch Logs.
type LogsAPI interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// WithLogs lets the engine stream a pre-deploy task's log lines. With nil (the default)
// the task runs and its exit code decides, but its lines are not shown.
func WithLogs(c LogsAPI) Option {
	return func(d *Deployer) error {
		d.logs = c
		return nil
	}
}

// TaskLogger hears the log lines of a pre-deploy task as they arrive. A
// Reporter that is one gets them; otherwise they go to the logger.
type TaskLogger interface {
	TaskLine(at time.Time, line string)
}

// PreDeploy is a command run once, in a task of the new revision, before
// the service changes: a database migration, say.
type PreDeploy struct {
	// Command overrides the container's command: exec form.
	Command []string
	// Timeout bounds the task; zero means DefaultPreDeployTimeout.
	Timeout time.Duration
}

// DefaultPreDeployTimeout is how long a pre-deploy task may run.
const DefaultPreDeployTimeout = 10 * time.Minute

// preDeployStartedBy marks the tasks the engine runs before a deploy.
const preDeployStartedBy = "deploy-action/pre-deploy"

// maxTaskLines is how many of a task's last log lines a failure reports.
const maxTaskLines = 20

// TaskRun is what a pre-deploy task did.
type TaskRun struct {
	TaskARN  string
	ExitCode *int32
	Reason   string   // why it stopped
	Last     []string // its last log lines, up to maxTaskLines
	Lines    int      // how many lines it wrote
	Duration time.Duration
}

// ErrPreDeployFailed is the cause of a deploy stopped by its pre-deploy
// command: the service was not changed.
var ErrPreDeployFailed = errors.New("pre-deploy command failed")

// PreDeployError says how a pre-deploy command failed and what it printed
// last. The service runs what it ran before.
type PreDeployError struct {
	Run      TaskRun
	TimedOut time.Duration // non-zero when it was stopped for running too long
	Err      error         // the task could not be run or followed
}

func (e *PreDeployError) Error() string {
	var b strings.Builder
	b.WriteString("pre-deploy command failed: ")
	switch {
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.TimedOut > 0:
		fmt.Fprintf(&b, "still running after pre-deploy-timeout %v, so it was stopped", e.TimedOut)
	case e.Run.ExitCode != nil:
		fmt.Fprintf(&b, "exit code %d", *e.Run.ExitCode)
	default:
		b.WriteString(cmpReason(e.Run.Reason, "it stopped without an exit code"))
	}
	if e.Run.ExitCode != nil && e.Run.Reason != "" && e.TimedOut == 0 {
		fmt.Fprintf(&b, " (%s)", e.Run.Reason)
	}
	b.WriteString("; the service was not changed")
	if n := len(e.Run.Last); n > 0 {
		fmt.Fprintf(&b, "; its last %d log lines: %s", n, strings.Join(e.Run.Last, " | "))
	}
	return b.String()
}

func (e *PreDeployError) Unwrap() []error { return []error{ErrPreDeployFailed, e.Err} }

// preDeploy runs the pre-deploy command in one task of revision td, in the
// service's own network and capacity, streams its lines, and returns an
// error unless it exits 0.
func (r *run) preDeploy(ctx context.Context, svc *types.Service, td *types.TaskDefinition, container string) error {
	p := r.req.PreDeploy
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultPreDeployTimeout
	}
	in := &ecs.RunTaskInput{
		Cluster:              aws.String(r.req.Cluster),
		TaskDefinition:       td.TaskDefinitionArn,
		Count:                aws.Int32(1),
		StartedBy:            aws.String(preDeployStartedBy),
		Group:                aws.String("deploy-action:pre-deploy"),
		NetworkConfiguration: svc.NetworkConfiguration,
		PlatformVersion:      svc.PlatformVersion,
		Overrides:            &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String(container), Command: p.Command}}},
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else {
		in.LaunchType = svc.LaunchType
	}
	res := r.res
	res.PreDeploy = &TaskRun{}
	start := r.clock.Now()
	out, err := r.ecs.RunTask(ctx, in)
	if err == nil && len(out.Tasks) == 0 {
		err = fmt.Errorf("%s", failureText(out.Failures))
	}
	if err != nil {
		return &PreDeployError{Err: fmt.Errorf("run task of %s: %w", lastPart(aws.ToString(td.TaskDefinitionArn)), err)}
	}
	task := out.Tasks[0]
	arn := aws.ToString(task.TaskArn)
	res.PreDeploy.TaskARN = arn
	r.log.Info("pre-deploy task started", "task", lastPart(arn), "command", strings.Join(p.Command, " "))
	lines := r.taskLines(td, container, arn)
	if lines == nil {
		r.log.Warn("the container has no awslogs log configuration (or the engine no logs client): the pre-deploy command's output is not shown")
	}
	deadline := start.Add(timeout)
	for {
		lines.pull(ctx)
		desc, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(r.req.Cluster), Tasks: []string{arn}})
		if err != nil {
			return &PreDeployError{Run: *res.PreDeploy, Err: fmt.Errorf("describe task %s: %w", lastPart(arn), err)}
		}
		if len(desc.Tasks) == 1 && aws.ToString(desc.Tasks[0].LastStatus) == "STOPPED" {
			lines.pull(ctx)
			t := desc.Tasks[0]
			res.PreDeploy.Reason, res.PreDeploy.Duration = aws.ToString(t.StoppedReason), r.clock.Now().Sub(start)
			for _, c := range t.Containers {
				if aws.ToString(c.Name) == container {
					res.PreDeploy.ExitCode = c.ExitCode
				}
			}
			res.PreDeploy.Last, res.PreDeploy.Lines = lines.last(), lines.count()
			if code := res.PreDeploy.ExitCode; code != nil && *code == 0 {
				r.log.Info("pre-deploy command succeeded", "task", lastPart(arn), "duration", res.PreDeploy.Duration.Round(time.Millisecond))
				return nil
			}
			return &PreDeployError{Run: *res.PreDeploy}
		}
		if !r.clock.Now().Before(deadline) {
			_, serr := r.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(r.req.Cluster), Task: aws.String(arn),
				Reason: aws.String(fmt.Sprintf("deploy-action: pre-deploy-timeout %v", timeout))})
			lines.pull(ctx)
			res.PreDeploy.Last, res.PreDeploy.Lines, res.PreDeploy.Duration = lines.last(), lines.count(), r.clock.Now().Sub(start)
			e := &PreDeployError{Run: *res.PreDeploy, TimedOut: timeout}
			if serr != nil {
				e.Err = fmt.Errorf("stop task %s after its timeout: %w (stop it by hand: aws ecs stop-task --cluster %s --task %s)", lastPart(arn), serr, r.req.Cluster, arn)
			}
			return e
		}
		select {
		case <-ctx.Done():
			return &PreDeployError{Run: *res.PreDeploy, Err: fmt.Errorf("%w (task %s goes on; stop it with aws ecs stop-task)", ctx.Err(), lastPart(arn))}
		case <-r.clock.After(r.poll.Fast):
		}
	}
}

func failureText(fs []types.Failure) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, aws.ToString(f.Reason)+" "+aws.ToString(f.Detail))
	}
	if len(parts) == 0 {
		return "ECS started no task"
	}
	return strings.Join(parts, "; ")
}

// taskLog follows one task's awslogs stream.
type taskLog struct {
	r             *run
	group, stream string
	token         *string
	seen          int
	tail          []string
}

// taskLines is the stream of a task's container, or nil when its lines
// cannot be read.
func (r *run) taskLines(td *types.TaskDefinition, container, taskARN string) *taskLog {
	if r.logs == nil {
		return nil
	}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) != container || c.LogConfiguration == nil || c.LogConfiguration.LogDriver != types.LogDriverAwslogs {
			continue
		}
		o := c.LogConfiguration.Options
		if o["awslogs-group"] == "" || o["awslogs-stream-prefix"] == "" {
			return nil
		}
		return &taskLog{r: r, group: o["awslogs-group"], stream: o["awslogs-stream-prefix"] + "/" + container + "/" + lastPart(taskARN)}
	}
	return nil
}

// pull reports the lines written since the last pull. A stream not made
// yet (the task is starting) is no error.
func (l *taskLog) pull(ctx context.Context) {
	if l == nil {
		return
	}
	for {
		out, err := l.r.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(l.group), LogStreamName: aws.String(l.stream), StartFromHead: aws.Bool(true), NextToken: l.token,
		})
		if err != nil {
			return
		}
		for _, e := range out.Events {
			l.line(time.UnixMilli(aws.ToInt64(e.Timestamp)), aws.ToString(e.Message))
		}
		if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(l.token) {
			l.token = out.NextForwardToken
			return
		}
		l.token = out.NextForwardToken
	}
}

func (l *taskLog) line(at time.Time, msg string) {
	msg = strings.TrimRight(msg, "\r\n")
	l.seen++
	l.tail = append(l.tail, msg)
	if len(l.tail) > maxTaskLines {
		l.tail = l.tail[1:]
	}
	if tl, ok := l.r.reporter.(TaskLogger); ok {
		tl.TaskLine(at, msg)
		return
	}
	l.r.log.Info("pre-deploy task", "line", msg)
}

func (l *taskLog) last() []string {
	if l == nil {
		return nil
	}
	return append([]string(nil), l.tail...)
}

func (l *taskLog) count() int {
	if l == nil {
		return 0
	}
	return l.seen
}
