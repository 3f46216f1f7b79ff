package ecsdeploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	TaskARN string
	// Earlier is "running" when the task was started by an earlier run
	// and followed, "ended" when it is this run's, ended before: in either
	// case the command was not run again.
	Earlier  string
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

// The tags a pre-deploy task carries: what makes it the same migration
// for a later run that looks before starting one.
const (
	tagCommand = "deploy-action:pre-deploy-command" // a hash of the command
	tagRun     = "deploy-action:run"                // Request.Run
	tagBuild   = "deploy-action:build"              // the image
)

// preDeploy runs the pre-deploy command in one task of revision td, in the
// service's own network and capacity, streams its lines, and returns an
// error unless it exits 0. It never runs the same migration twice: a task
// of this build and command still running (a run interrupted, a replica
// that lost its job) is followed to its end instead of started again, and
// one this run (Request.Run) ran before gives its result.
func (r *run) preDeploy(ctx context.Context, svc *types.Service, td *types.TaskDefinition, container string) error {
	p := r.req.PreDeploy
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultPreDeployTimeout
	}
	res := r.res
	res.PreDeploy = &TaskRun{}
	hash := commandHash(p.Command)
	prior, err := r.priorPreDeploy(ctx, td, hash)
	if err != nil {
		return &PreDeployError{Err: err}
	}
	if prior != nil {
		arn := aws.ToString(prior.TaskArn)
		started := aws.ToTime(prior.CreatedAt)
		if aws.ToString(prior.LastStatus) == "STOPPED" {
			res.PreDeploy.Earlier = "ended"
			r.log.Info("this run's pre-deploy command ran already: its result stands, it is not run again", "task", lastPart(arn), "started", started)
		} else {
			res.PreDeploy.Earlier = "running"
			r.log.Info("the pre-deploy command of this build is running already: following it to its end instead of starting another", "task", lastPart(arn), "started", started)
		}
		return r.followPreDeploy(ctx, td, container, arn, started, timeout)
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
		Tags: []types.Tag{{Key: aws.String(tagCommand), Value: aws.String(hash)}, {Key: aws.String(tagRun), Value: aws.String(cmpReason(r.req.Run, "-"))},
			{Key: aws.String(tagBuild), Value: aws.String(truncate(r.req.Image, 256))}},
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else {
		in.LaunchType = svc.LaunchType
	}
	start := r.clock.Now()
	out, err := r.ecs.RunTask(ctx, in)
	if err == nil && len(out.Tasks) == 0 {
		err = fmt.Errorf("%s", failureText(out.Failures))
	}
	if err != nil && ctx.Err() != nil {
		// The request may have reached ECS: its task then runs, unseen here.
		return &PreDeployError{Err: fmt.Errorf("run task of %s: %w (ECS may have started the task before the run stopped; a run of the same deploy follows it instead of starting another)",
			lastPart(aws.ToString(td.TaskDefinitionArn)), ctx.Err())}
	}
	if err != nil {
		return &PreDeployError{Err: fmt.Errorf("run task of %s: %w", lastPart(aws.ToString(td.TaskDefinitionArn)), err)}
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	r.log.Info("pre-deploy task started", "task", lastPart(arn), "command", strings.Join(p.Command, " "))
	return r.followPreDeploy(ctx, td, container, arn, start, timeout)
}

// followPreDeploy follows a pre-deploy task to its end (or its timeout,
// counted from start), streaming its lines.
func (r *run) followPreDeploy(ctx context.Context, td *types.TaskDefinition, container, arn string, start time.Time, timeout time.Duration) error {
	res := r.res
	res.PreDeploy.TaskARN = arn
	lines := r.taskLines(td, container, arn)
	if lines == nil {
		r.log.Warn("the container has no awslogs log configuration (or the engine no logs client): the pre-deploy command's output is not shown")
	}
	// The run stopped (Ctrl-C, a cancelled workflow, a lost job): the
	// task is left to end on its own, for the next run to follow.
	interrupted := func() error {
		return &PreDeployError{Run: *res.PreDeploy, Err: fmt.Errorf("%w (task %s goes on; a run of the same deploy follows it instead of starting another, or stop it with aws ecs stop-task)", ctx.Err(), lastPart(arn))}
	}
	deadline := start.Add(timeout)
	for {
		lines.pull(ctx)
		desc, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(r.req.Cluster), Tasks: []string{arn}})
		if err != nil && ctx.Err() != nil {
			return interrupted()
		}
		if err != nil {
			return &PreDeployError{Run: *res.PreDeploy, Err: fmt.Errorf("describe task %s: %w", lastPart(arn), err)}
		}
		if len(desc.Tasks) == 1 && aws.ToString(desc.Tasks[0].LastStatus) == "STOPPED" {
			lines.pull(ctx)
			t := desc.Tasks[0]
			res.PreDeploy.Reason, res.PreDeploy.Duration = aws.ToString(t.StoppedReason), aws.ToTime(t.StoppedAt).Sub(aws.ToTime(t.CreatedAt))
			if res.PreDeploy.Duration <= 0 {
				res.PreDeploy.Duration = r.clock.Now().Sub(start)
			}
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
			return interrupted()
		case <-r.clock.After(r.poll.Fast):
		}
	}
}

// priorPreDeploy finds the pre-deploy task a later run must not start
// again: one of this build (the image; each run registers a revision of
// its own) and command, of the family, that is running (whichever run
// started it), else one that this run (Request.Run, when set) ran and that
// ended. ECS lists stopped tasks for an hour or more.
func (r *run) priorPreDeploy(ctx context.Context, td *types.TaskDefinition, hash string) (*types.Task, error) {
	for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		if status == types.DesiredStatusStopped && r.req.Run == "" {
			break
		}
		list, err := r.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(r.req.Cluster), StartedBy: aws.String(preDeployStartedBy),
			Family: td.Family, DesiredStatus: status})
		if err != nil {
			return nil, fmt.Errorf("list the pre-deploy tasks: %w", err)
		}
		for arns := list.TaskArns; len(arns) > 0; {
			batch := arns[:min(len(arns), 100)]
			arns = arns[len(batch):]
			out, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(r.req.Cluster), Tasks: batch, Include: []types.TaskField{types.TaskFieldTags}})
			if err != nil {
				return nil, fmt.Errorf("describe the pre-deploy tasks: %w", err)
			}
			for i := range out.Tasks {
				t := out.Tasks[i]
				if tagOf(t.Tags, tagBuild) != truncate(r.req.Image, 256) || tagOf(t.Tags, tagCommand) != hash {
					continue
				}
				if status == types.DesiredStatusRunning || tagOf(t.Tags, tagRun) == r.req.Run {
					return &t, nil
				}
			}
		}
	}
	return nil, nil
}

func tagOf(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// commandHash names a command in a tag: its first 16 hex of SHA-256.
func commandHash(cmd []string) string {
	sum := sha256.Sum256([]byte(strings.Join(cmd, "\x00")))
	return hex.EncodeToString(sum[:8])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
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
