package ecssim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TaskScenario says what a one-off task (RunTask) does when its command
// matches: the lines it writes, spread over After, then how it stops.
type TaskScenario struct {
	Lines    []string
	ExitCode int32
	// After is how long the task runs; zero means the simulator's default.
	After time.Duration
	// Hang keeps the task running until StopTask.
	Hang bool
}

type taskRule struct {
	match    string
	scenario TaskScenario
}

// SetTaskScenario makes one-off tasks follow sc when match is in their
// essential container's image, a space, and its command joined with
// spaces ("…/server:<sha> npm run migrate"). Later calls win over earlier
// ones.
func (s *Simulator) SetTaskScenario(match string, sc TaskScenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taskRules = append(s.taskRules, taskRule{match: match, scenario: sc})
}

// oneOff is a task RunTask started.
type oneOff struct {
	t        *types.Task
	scenario TaskScenario
	start    time.Time
	written  int // lines already in CloudWatch Logs
	// where its awslogs lines go; group "" writes none.
	region, group, stream string
	streamOK              bool // the stream exists in moto
}

func (s *Simulator) taskScenario(image string, command []string) TaskScenario {
	joined := image + " " + strings.Join(command, " ")
	for i := len(s.taskRules) - 1; i >= 0; i-- {
		if strings.Contains(joined, s.taskRules[i].match) {
			return s.taskRules[i].scenario
		}
	}
	return TaskScenario{}
}

func (s *Simulator) runTask(ctx context.Context, c *call) (any, error) {
	var in ecs.RunTaskInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	clusterARN, err := s.clusterARN(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	td, err := c.moto.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: in.TaskDefinition})
	if err != nil {
		return nil, &apiError{Type: "InvalidParameterException", Message: "TaskDefinition not found."}
	}
	def := td.TaskDefinition
	initFailure := s.readSecrets(ctx, c.region, def)
	if def.NetworkMode == types.NetworkModeAwsvpc && (in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil) {
		return nil, &apiError{Type: "InvalidParameterException", Message: "Network Configuration must be provided when networkMode 'awsvpc' is specified."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", c.region, accountOf(clusterARN), nameOf(clusterARN), s.id("task", 32))
	t := &types.Task{
		TaskArn: aws.String(arn), ClusterArn: aws.String(clusterARN), TaskDefinitionArn: def.TaskDefinitionArn,
		StartedBy: in.StartedBy, Group: in.Group, LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("RUNNING"),
		LaunchType: in.LaunchType, CapacityProviderName: capacityProvider(in.CapacityProviderStrategy),
		CreatedAt: aws.Time(now), StartedAt: aws.Time(now), Overrides: in.Overrides, Tags: in.Tags,
	}
	o := &oneOff{t: t, start: now, region: c.region}
	var command []string
	var image string
	for _, cd := range def.ContainerDefinitions {
		cmd := cd.Command
		if in.Overrides != nil {
			for _, co := range in.Overrides.ContainerOverrides {
				if aws.ToString(co.Name) == aws.ToString(cd.Name) && co.Command != nil {
					cmd = co.Command
				}
			}
		}
		if cd.Essential == nil || aws.ToBool(cd.Essential) {
			command, image = cmd, aws.ToString(cd.Image)
			if lc := cd.LogConfiguration; lc != nil && lc.LogDriver == types.LogDriverAwslogs && o.group == "" {
				o.group = lc.Options["awslogs-group"]
				o.stream = lc.Options["awslogs-stream-prefix"] + "/" + aws.ToString(cd.Name) + "/" + nameOf(arn)
			}
		}
		t.Containers = append(t.Containers, types.Container{Name: cd.Name, Image: cd.Image, LastStatus: aws.String("RUNNING"), TaskArn: aws.String(arn)})
	}
	o.scenario = s.taskScenario(image, command)
	if initFailure != "" {
		// ECS could not start it: it stops at once, its container never ran.
		stopTask(t, now, initFailure)
		t.StopCode = types.TaskStopCodeTaskFailedToStart
	}
	s.oneOffs = append(s.oneOffs, o)
	return &ecs.RunTaskOutput{Tasks: []types.Task{*t}, Failures: []types.Failure{}}, nil
}

func capacityProvider(strategy []types.CapacityProviderStrategyItem) *string {
	if len(strategy) == 0 {
		return nil
	}
	return strategy[0].CapacityProvider
}

func (s *Simulator) stopTask(ctx context.Context, c *call) (any, error) {
	var in ecs.StopTaskInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := s.writeTaskLogs(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.oneOffs {
		if aws.ToString(o.t.TaskArn) == aws.ToString(in.Task) || nameOf(aws.ToString(o.t.TaskArn)) == aws.ToString(in.Task) {
			if aws.ToString(o.t.LastStatus) != "STOPPED" {
				stopTask(o.t, s.now(), cmp.Or(aws.ToString(in.Reason), "Task stopped by user"))
				o.t.StopCode = types.TaskStopCodeUserInitiated
			}
			return &ecs.StopTaskOutput{Task: o.t}, nil
		}
	}
	return nil, &apiError{Type: "InvalidParameterException", Message: "The referenced task was not found."}
}

func (s *Simulator) taskAfter(o *oneOff) time.Duration {
	if o.scenario.After > 0 {
		return o.scenario.After
	}
	return s.duration
}

// writeTaskLogs writes the lines that are due of every one-off task into
// moto's CloudWatch Logs, then stops the tasks whose time is up. moto is
// called without the simulator's lock held.
func (s *Simulator) writeTaskLogs(ctx context.Context) error {
	type batch struct {
		o     *oneOff
		lines []string
		at    []time.Time
	}
	s.mu.Lock()
	now := s.now()
	var batches []batch
	for _, o := range s.oneOffs {
		if aws.ToString(o.t.LastStatus) == "STOPPED" {
			continue
		}
		n, after := len(o.scenario.Lines), s.taskAfter(o)
		b := batch{o: o}
		for i := o.written; i < n; i++ {
			due := o.start.Add(after * time.Duration(i+1) / time.Duration(n+1))
			if now.Before(due) {
				break
			}
			b.lines, b.at = append(b.lines, o.scenario.Lines[i]), append(b.at, due)
		}
		o.written += len(b.lines)
		if len(b.lines) > 0 && o.group != "" {
			batches = append(batches, b)
		}
	}
	for _, o := range s.failedLogs { // written in the second before the task stopped
		b := batch{o: o, lines: o.scenario.Lines}
		for i := range b.lines {
			b.at = append(b.at, o.start.Add(-time.Second+time.Duration(i)*time.Second/time.Duration(len(b.lines)+1)))
		}
		batches = append(batches, b)
	}
	s.failedLogs = nil
	s.mu.Unlock()
	for _, b := range batches {
		if err := s.putLogLines(ctx, b.o, b.lines, b.at); err != nil {
			return fmt.Errorf("write the log lines of task %s to moto: %w", taskID(b.o.t), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.oneOffs {
		if aws.ToString(o.t.LastStatus) == "STOPPED" || o.scenario.Hang || o.written < len(o.scenario.Lines) {
			continue
		}
		end := o.start.Add(s.taskAfter(o))
		if now.Before(end) {
			continue
		}
		stopTask(o.t, end, "Essential container in task exited")
		o.t.StopCode = types.TaskStopCodeEssentialContainerExited
		o.t.ExecutionStoppedAt = aws.Time(end)
		for i := range o.t.Containers {
			o.t.Containers[i].ExitCode = aws.Int32(o.scenario.ExitCode)
		}
	}
	return nil
}

// noteFailedLines queues what a failed service task's containers wrote to
// their awslogs streams, to be written by the next writeTaskLogs. The
// caller holds the lock.
func (s *Simulator) noteFailedLines(t *types.Task, lines []string, at time.Time) {
	if len(lines) == 0 {
		return
	}
	for _, cd := range s.containers[aws.ToString(t.TaskDefinitionArn)] {
		lc := cd.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
			continue
		}
		o := &oneOff{t: t, start: at, region: regionOfARN(aws.ToString(t.TaskArn)), group: lc.Options["awslogs-group"],
			stream: lc.Options["awslogs-stream-prefix"] + "/" + aws.ToString(cd.Name) + "/" + taskID(t), scenario: TaskScenario{Lines: lines}}
		s.failedLogs = append(s.failedLogs, o)
	}
}

func (s *Simulator) putLogLines(ctx context.Context, o *oneOff, lines []string, at []time.Time) error {
	cw := s.logsClient(o.region)
	s.mu.Lock()
	made := o.streamOK
	s.mu.Unlock()
	if !made {
		_, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(o.group), LogStreamName: aws.String(o.stream)})
		var exists *cwtypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return err
		}
		s.mu.Lock()
		o.streamOK = true
		s.mu.Unlock()
	}
	var events []cwtypes.InputLogEvent
	for i, l := range lines {
		events = append(events, cwtypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(at[i].UnixMilli())})
	}
	_, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(o.group), LogStreamName: aws.String(o.stream), LogEvents: events})
	return err
}
