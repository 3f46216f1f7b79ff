package ecssim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const lastStep = 3

// scenarioFor picks the scenario of the newest rule that matches one of the
// task definition's images.
func (s *Simulator) scenarioFor(tdARN string) Scenario {
	if reason := s.initFailures[tdARN]; reason != "" {
		// The execution role could not read a secret: no task starts.
		return Scenario{Outcome: Fail, StoppedReason: reason}
	}
	for i := len(s.rules) - 1; i >= 0; i-- {
		for _, c := range s.containers[tdARN] {
			if strings.Contains(aws.ToString(c.Image), s.rules[i].match) {
				return s.rules[i].scenario
			}
		}
	}
	return Scenario{Outcome: Complete}
}

func (s *Simulator) after(r *rollout) time.Duration {
	if r.scenario.After > 0 {
		return r.scenario.After
	}
	return s.duration
}

// offset is when step n of a rollout is due, from its start.
func (s *Simulator) offset(sv *service, r *rollout, n int) time.Duration {
	if s.timing != nil {
		return s.timedOffset(sv, r, n)
	}
	switch n {
	case 1:
		return 0
	case 2:
		return s.after(r) / 2
	default:
		return s.after(r)
	}
}

func (s *Simulator) id(prefix string, n int) string {
	s.seq++
	sum := sha256.Sum256([]byte(prefix + strconv.Itoa(s.seq)))
	return hex.EncodeToString(sum[:])[:n]
}

func (s *Simulator) startRollout(sv *service, tdARN string, at time.Time) *rollout {
	s.seq++
	id := fmt.Sprintf("ecs-svc/%019d", 1000000000000000000+s.seq*7919)
	if len(sv.rollouts) > 0 && aws.ToString(sv.rollouts[0].d.Status) == "PRIMARY" {
		sv.rollouts[0].d.Status = aws.String("ACTIVE")
		sv.rollouts[0].d.UpdatedAt = aws.Time(at)
	}
	sc := s.scenarioFor(tdARN)
	if sc.Unhealthy && len(sv.svc.LoadBalancers) > 0 {
		sc.Outcome = Fail
		sc.StoppedReason = fmt.Sprintf("Task failed ELB health checks in (target-group %s)", aws.ToString(sv.svc.LoadBalancers[0].TargetGroupArn))
	}
	r := &rollout{
		scenario: sc,
		start:    at,
		d: types.Deployment{
			Id:                   aws.String(id),
			Status:               aws.String("PRIMARY"),
			TaskDefinition:       aws.String(tdARN),
			DesiredCount:         sv.svc.DesiredCount,
			LaunchType:           sv.svc.LaunchType,
			NetworkConfiguration: sv.svc.NetworkConfiguration,
			PlatformVersion:      sv.svc.PlatformVersion,
			RolloutState:         types.DeploymentRolloutStateInProgress,
			RolloutStateReason:   aws.String(fmt.Sprintf("ECS deployment %s in progress.", id)),
			CreatedAt:            aws.Time(at),
			UpdatedAt:            aws.Time(at),
		},
	}
	var blue *rollout
	if len(sv.rollouts) > 0 {
		blue = sv.rollouts[0]
	}
	sv.rollouts = append([]*rollout{r}, sv.rollouts...)
	if sv.shifting() && blue != nil {
		s.startShift(sv, r, blue)
	}
	return r
}

// startRollback starts ECS's own return from a failed rollout.
func (s *Simulator) startRollback(sv *service, from *rollout, tdARN string, at time.Time) *rollout {
	back := s.startRollout(sv, tdARN, at)
	from.rolledBackBy, back.rollback = back, true
	return back
}

// advance applies every step that is due by the simulator's clock.
func (s *Simulator) advance(sv *service) {
	now := s.now()
	s.failOnAlarm(sv, now)
	for changed := true; changed; {
		changed = false
		for _, r := range append([]*rollout(nil), sv.rollouts...) {
			if r.shift != nil {
				s.advanceShift(sv, r, now)
				continue
			}
			for last := s.lastStepOf(sv, r); r.step < last; {
				at := r.start.Add(s.offset(sv, r, r.step+1))
				if now.Before(at) {
					break
				}
				r.step++
				s.apply(sv, r, r.step, at)
				changed = true
			}
		}
	}
}

func (s *Simulator) apply(sv *service, r *rollout, step int, at time.Time) {
	if !sv.has(r) {
		return
	}
	if step > 1 && aws.ToString(r.d.Status) != "PRIMARY" {
		return // a replaced deployment only drains; it never completes or fails
	}
	r.d.UpdatedAt = aws.Time(at)
	switch {
	case step == 1:
		s.launch(sv, r, r.d.DesiredCount, at)
	case step == 2 && r.scenario.Outcome == Complete:
		if r.scenario.FirstStop != "" {
			s.stopFailed(sv, r, Scenario{StoppedReason: r.scenario.FirstStop}, at)
			s.launch(sv, r, r.d.DesiredCount, at)
		}
		r.running(at)
		var stopped []string
		for _, old := range sv.rollouts {
			if old == r || aws.ToString(old.d.TaskDefinition) == aws.ToString(r.d.TaskDefinition) {
				continue
			}
			for _, t := range old.tasks {
				if aws.ToString(t.DesiredStatus) == "RUNNING" {
					stopTask(t, at, fmt.Sprintf("Scaling activity initiated by (deployment %s)", aws.ToString(r.d.Id)))
					t.StopCode = types.TaskStopCodeServiceSchedulerInitiated
					stopped = append(stopped, "(task "+taskID(t)+")")
				}
			}
			old.d.RunningCount, old.d.PendingCount = 0, 0
		}
		if len(stopped) > 0 {
			sv.event(s, at, fmt.Sprintf("has stopped %d running tasks: %s.", len(stopped), strings.Join(stopped, " ")))
		}
	case step > 1 && step < s.lastStepOf(sv, r) && r.scenario.Outcome == Fail:
		s.failTasks(sv, r, at)
		s.launch(sv, r, r.d.DesiredCount, at) // the scheduler tries again
	case step == 3 && r.scenario.Outcome == Complete:
		r.d.RolloutState = types.DeploymentRolloutStateCompleted
		r.d.RolloutStateReason = aws.String(fmt.Sprintf("ECS deployment %s completed.", aws.ToString(r.d.Id)))
		r.d.Status = aws.String("PRIMARY")
		var keep []*rollout
		for _, o := range sv.rollouts {
			if o == r {
				keep = append(keep, o)
				continue
			}
			// Tasks of an older deployment of the same revision are adopted.
			if aws.ToString(o.d.TaskDefinition) == aws.ToString(r.d.TaskDefinition) {
				for _, t := range o.tasks {
					if aws.ToString(t.DesiredStatus) == "RUNNING" {
						r.tasks = append(r.tasks, t)
					}
				}
			}
		}
		sv.rollouts = keep
		var running int32
		for _, t := range r.tasks {
			if aws.ToString(t.DesiredStatus) == "RUNNING" {
				running++
			}
		}
		r.d.RunningCount = min(running, r.d.DesiredCount)
		sv.event(s, at, fmt.Sprintf("(deployment %s) deployment completed.", aws.ToString(r.d.Id)))
		sv.event(s, at, "has reached a steady state.")
	case step == s.lastStepOf(sv, r) && r.scenario.Outcome == Fail:
		s.failTasks(sv, r, at)
		cb := sv.svc.DeploymentConfiguration.DeploymentCircuitBreaker
		if cb == nil || !cb.Enable {
			s.launch(sv, r, r.d.DesiredCount, at) // without a breaker ECS keeps trying
			return
		}
		r.d.RolloutState = types.DeploymentRolloutStateFailed
		r.d.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
		sv.event(s, at, fmt.Sprintf("(deployment %s) deployment failed: tasks failed to start.", aws.ToString(r.d.Id)))
		if cb.Rollback {
			s.rollBack(sv, r, at)
		}
	}
}

// rollBack returns the service from failed rollout r to the last
// deployment that completed, as ECS does: never to one that was still
// rolling out when r replaced it.
func (s *Simulator) rollBack(sv *service, r *rollout, at time.Time) {
	var prev *rollout
	for _, o := range sv.rollouts {
		if o != r && aws.ToString(o.d.TaskDefinition) != aws.ToString(r.d.TaskDefinition) && o.d.RolloutState == types.DeploymentRolloutStateCompleted {
			prev = o
			break
		}
	}
	if prev == nil {
		return
	}
	sv.event(s, at, fmt.Sprintf("rolling back to deployment %s.", aws.ToString(prev.d.Id)))
	sv.svc.TaskDefinition = prev.d.TaskDefinition
	back := s.startRollback(sv, r, aws.ToString(prev.d.TaskDefinition), at)
	back.scenario = Scenario{Outcome: Complete, After: s.after(prev)}
}

// running marks the pending tasks of r as running.
func (r *rollout) running(at time.Time) {
	for _, t := range r.tasks {
		if aws.ToString(t.LastStatus) == "PENDING" {
			t.LastStatus, t.StartedAt = aws.String("RUNNING"), aws.Time(at)
			for i := range t.Containers {
				t.Containers[i].LastStatus = aws.String("RUNNING")
			}
		}
	}
	r.d.RunningCount, r.d.PendingCount = int32(len(r.tasks)), 0
}

func (sv *service) has(r *rollout) bool {
	for _, o := range sv.rollouts {
		if o == r {
			return true
		}
	}
	return false
}

func (s *Simulator) launch(sv *service, r *rollout, n int32, at time.Time) {
	if n <= 0 {
		return
	}
	var started []string
	for range n {
		t := s.newTask(sv, r, at)
		r.tasks = append(r.tasks, t)
		sv.tasks = append(sv.tasks, t)
		started = append(started, "(task "+taskID(t)+")")
	}
	r.d.PendingCount += n
	sv.event(s, at, fmt.Sprintf("has started %d tasks: %s.", n, strings.Join(started, " ")))
}

func (s *Simulator) failTasks(sv *service, r *rollout, at time.Time) {
	s.stopFailed(sv, r, r.scenario, at)
}

// stopFailed stops the running tasks of r as tasks that failed to start,
// in the words of sc.
func (s *Simulator) stopFailed(sv *service, r *rollout, sc Scenario, at time.Time) {
	reason := sc.StoppedReason
	if reason == "" {
		reason = "Essential container in task exited"
	}
	for _, t := range r.tasks {
		if aws.ToString(t.DesiredStatus) != "RUNNING" {
			continue
		}
		stopTask(t, at, reason)
		t.StopCode = types.TaskStopCodeTaskFailedToStart
		if sc.ExitCode != nil {
			t.StopCode = types.TaskStopCodeEssentialContainerExited
		}
		for i := range t.Containers {
			if sc.ContainerReason != "" {
				t.Containers[i].Reason = aws.String(sc.ContainerReason)
			}
			t.Containers[i].ExitCode = sc.ExitCode
		}
		r.d.FailedTasks++
		sv.event(s, at, fmt.Sprintf("(task %s) failed to start: %s.", taskID(t), reason))
		s.noteFailedLines(t, sc.Lines, at)
	}
	r.d.PendingCount, r.d.RunningCount = 0, 0
}

func (s *Simulator) scale(sv *service, r *rollout, at time.Time) {
	var running []*types.Task
	for _, t := range r.tasks {
		if aws.ToString(t.DesiredStatus) == "RUNNING" {
			running = append(running, t)
		}
	}
	want := int(r.d.DesiredCount)
	for i := want; i < len(running); i++ {
		stopTask(running[i], at, "Scaling activity initiated by (service "+aws.ToString(sv.svc.ServiceName)+")")
	}
	for i := len(running); i < want; i++ {
		t := s.newTask(sv, r, at)
		if r.scenario.Outcome == Complete {
			t.LastStatus = aws.String("RUNNING")
		}
		r.tasks = append(r.tasks, t)
		sv.tasks = append(sv.tasks, t)
	}
	if r.scenario.Outcome == Complete {
		r.d.RunningCount, r.d.PendingCount = int32(want), 0
	}
	if want != len(running) {
		sv.event(s, at, fmt.Sprintf("has scaled to a desired count of %d.", want))
	}
}

func (s *Simulator) newTask(sv *service, r *rollout, at time.Time) *types.Task {
	clusterARN := aws.ToString(sv.svc.ClusterArn)
	region := strings.Split(clusterARN, ":")[3]
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", region, accountOf(clusterARN), nameOf(clusterARN), s.id("task", 32))
	t := &types.Task{
		TaskArn:           aws.String(arn),
		ClusterArn:        sv.svc.ClusterArn,
		TaskDefinitionArn: r.d.TaskDefinition,
		StartedBy:         r.d.Id,
		Group:             aws.String("service:" + aws.ToString(sv.svc.ServiceName)),
		LastStatus:        aws.String("PENDING"),
		DesiredStatus:     aws.String("RUNNING"),
		LaunchType:        sv.svc.LaunchType,
		CreatedAt:         aws.Time(at),
	}
	s.noteNetwork(sv, r, t)
	for _, c := range s.containers[aws.ToString(r.d.TaskDefinition)] {
		t.Containers = append(t.Containers, types.Container{
			Name:       c.Name,
			Image:      c.Image,
			LastStatus: aws.String("PENDING"),
			TaskArn:    aws.String(arn),
		})
	}
	return t
}

func stopTask(t *types.Task, at time.Time, reason string) {
	t.DesiredStatus = aws.String("STOPPED")
	t.LastStatus = aws.String("STOPPED")
	t.StoppedReason = aws.String(reason)
	t.StoppingAt = aws.Time(at)
	t.StoppedAt = aws.Time(at)
	for i := range t.Containers {
		t.Containers[i].LastStatus = aws.String("STOPPED")
	}
}

func taskID(t *types.Task) string { return nameOf(aws.ToString(t.TaskArn)) }

// event records a service event the way ECS words it.
func (sv *service) event(s *Simulator, at time.Time, msg string) {
	e := types.ServiceEvent{
		Id:        aws.String(s.id("event", 8) + "-" + s.id("event", 4) + "-" + s.id("event", 4) + "-" + s.id("event", 4) + "-" + s.id("event", 12)),
		CreatedAt: aws.Time(at),
		Message:   aws.String(fmt.Sprintf("(service %s) %s", aws.ToString(sv.svc.ServiceName), msg)),
	}
	sv.events = append([]types.ServiceEvent{e}, sv.events...)
}
