package ecssim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A service whose deploymentConfiguration.strategy is BLUE_GREEN, CANARY
// or LINEAR deploys by shifting traffic, as ECS does: the green tasks
// start beside the blue ones, take the test rule's traffic, then
// production's (a canary or linear deployment in two steps, the canary's
// or step's share first), bake with blue still up, and only at CLEAN_UP
// does blue stop. The listener rules' weights in moto move with it
// (syncWeights). A PAUSE lifecycle
// hook on a stage holds the deployment there (its hook AWAITING_ACTION in
// DescribeServiceDeployments) until ContinueServiceDeployment answers it or
// its timeout's action is taken. A return (a hook's ROLLBACK,
// StopServiceDeployment with ROLLBACK, green tasks that fail) moves traffic
// back to blue at once and starts no task.

// stagePlan is one lifecycle stage, when it begins as a share of the
// rollout's duration (plus the time spent paused), and the share of
// production traffic green has once it begins.
type stagePlan struct {
	name string
	at   float64
	prod int
}

// blueGreenStages are a blue/green deployment's stages.
var blueGreenStages = []stagePlan{
	{"PRE_SCALE_UP", 0, 0}, {"SCALE_UP", 0.05, 0}, {"POST_SCALE_UP", 0.25, 0}, {"TEST_TRAFFIC_SHIFT", 0.3, 0}, {"POST_TEST_TRAFFIC_SHIFT", 0.35, 0},
	{"PRODUCTION_TRAFFIC_SHIFT", 0.45, 100}, {"POST_PRODUCTION_TRAFFIC_SHIFT", 0.5, 100}, {"BAKE_TIME", 0.55, 100}, {"CLEAN_UP", 0.9, 100},
}

// stepStages are a canary or linear deployment's stages: production moves
// in two steps (the canary's share, or the linear step's, then the rest),
// each after a PRE_PRODUCTION_TRAFFIC_SHIFT, where a PAUSE hook holds it.
func stepStages(first int) []stagePlan {
	return []stagePlan{
		{"PRE_SCALE_UP", 0, 0}, {"SCALE_UP", 0.05, 0}, {"POST_SCALE_UP", 0.2, 0}, {"TEST_TRAFFIC_SHIFT", 0.25, 0}, {"POST_TEST_TRAFFIC_SHIFT", 0.3, 0},
		{"PRE_PRODUCTION_TRAFFIC_SHIFT", 0.35, 0}, {"PRODUCTION_TRAFFIC_SHIFT", 0.4, first},
		{"PRE_PRODUCTION_TRAFFIC_SHIFT", 0.5, first}, {"PRODUCTION_TRAFFIC_SHIFT", 0.55, 100},
		{"POST_PRODUCTION_TRAFFIC_SHIFT", 0.6, 100}, {"BAKE_TIME", 0.65, 100}, {"CLEAN_UP", 0.9, 100},
	}
}

// plan is the stages of the service's strategy.
func (sv *service) plan() []stagePlan {
	c := sv.svc.DeploymentConfiguration
	switch {
	case c.Strategy == types.DeploymentStrategyCanary:
		first := 10
		if cc := c.CanaryConfiguration; cc != nil && cc.CanaryPercent != nil {
			first = int(*cc.CanaryPercent)
		}
		return stepStages(first)
	case c.Strategy == types.DeploymentStrategyLinear:
		first := 50
		if lc := c.LinearConfiguration; lc != nil && lc.StepPercent != nil {
			first = int(*lc.StepPercent)
		}
		return stepStages(first)
	}
	return blueGreenStages
}

// shift is the state of one traffic-shifting deployment.
type shift struct {
	stages   []stagePlan
	stage    int // into stages
	status   types.ServiceDeploymentStatus
	reason   string
	hook     *pausedHook
	answered map[int]bool  // the stages whose hook was answered
	paused   time.Duration // spent paused: later stages come that much later
	test     bool          // green takes the test listener's traffic
	prod     int           // and this share of production's
	finished time.Time
	blue     *rollout // what it shifts from, and returns to
}

type pausedHook struct {
	id, stage      string
	index          int // of the stage
	since, expires time.Time
	onTimeout      types.DeploymentLifecycleHookAction
}

// shifting reports whether the service deploys by shifting traffic.
func (sv *service) shifting() bool {
	c := sv.svc.DeploymentConfiguration
	return c != nil && c.Strategy != "" && c.Strategy != types.DeploymentStrategyRolling
}

// startShift makes r a traffic-shifting deployment from blue.
func (s *Simulator) startShift(sv *service, r *rollout, blue *rollout) {
	r.shift = &shift{stages: sv.plan(), stage: -1, status: types.ServiceDeploymentStatusInProgress, answered: map[int]bool{}, blue: blue}
	r.step = lastStep // the rolling steps do not apply
}

// pauseHook is the service's PAUSE hook on stage, if it has one.
func (sv *service) pauseHook(stage string) *types.DeploymentLifecycleHook {
	c := sv.svc.DeploymentConfiguration
	if c == nil {
		return nil
	}
	for i, h := range c.LifecycleHooks {
		if h.TargetType != types.DeploymentLifecycleHookTargetTypePause {
			continue
		}
		for _, st := range h.LifecycleStages {
			if string(st) == stage {
				return &c.LifecycleHooks[i]
			}
		}
	}
	return nil
}

// advanceShift applies the stages of r due by now.
func (s *Simulator) advanceShift(sv *service, r *rollout, now time.Time) {
	sh := r.shift
	for sh.status == types.ServiceDeploymentStatusInProgress {
		if h := sh.hook; h != nil {
			if now.Before(h.expires) {
				return
			}
			s.answer(sv, r, h.onTimeout, h.expires, "its lifecycle hook at "+h.stage+" timed out")
			continue
		}
		next := sh.stage + 1
		share := 1.0
		if next < len(sh.stages) {
			share = sh.stages[next].at
		}
		at := r.start.Add(time.Duration(float64(s.after(r))*share) + sh.paused)
		if now.Before(at) {
			return
		}
		if next == len(sh.stages) {
			s.shiftDone(sv, r, at)
			return
		}
		sh.stage = next
		name := sh.stages[next].name
		sh.prod = sh.stages[next].prod
		s.enterStage(sv, r, name, at)
		if sh.status != types.ServiceDeploymentStatusInProgress {
			return
		}
		if hook := sv.pauseHook(name); hook != nil && !sh.answered[next] {
			timeout, action := 1440*time.Minute, types.DeploymentLifecycleHookActionRollback
			if c := hook.TimeoutConfiguration; c != nil {
				if c.TimeoutInMinutes != nil {
					// A minute of the hook's timeout is a rollout's duration here.
					timeout = time.Duration(*c.TimeoutInMinutes) * s.after(r)
				}
				if c.Action != "" {
					action = c.Action
				}
			}
			sh.hook = &pausedHook{id: s.id("hook", 16), stage: name, index: next, since: at, expires: at.Add(timeout), onTimeout: action}
			sv.event(s, at, fmt.Sprintf("(deployment %s) paused at %s: its lifecycle hook awaits an action.", aws.ToString(r.d.Id), name))
		}
	}
}

// enterStage does what a stage does to the tasks and the traffic.
func (s *Simulator) enterStage(sv *service, r *rollout, name string, at time.Time) {
	sh := r.shift
	r.d.UpdatedAt = aws.Time(at)
	switch name {
	case "SCALE_UP":
		s.launch(sv, r, r.d.DesiredCount, at)
	case "POST_SCALE_UP":
		if r.scenario.Outcome == Fail {
			s.failTasks(sv, r, at)
			s.shiftBack(sv, r, at, "ECS deployment circuit breaker: tasks failed to start.")
			return
		}
		r.running(at)
	case "TEST_TRAFFIC_SHIFT":
		sh.test = true
	}
	sv.event(s, at, fmt.Sprintf("(deployment %s) lifecycle stage %s.", aws.ToString(r.d.Id), name))
}

// shiftDone ends r: blue stops, green is the service.
func (s *Simulator) shiftDone(sv *service, r *rollout, at time.Time) {
	sh := r.shift
	sh.status, sh.finished = types.ServiceDeploymentStatusSuccessful, at
	var stopped []string
	for _, o := range sv.rollouts {
		if o == r {
			continue
		}
		for _, t := range o.tasks {
			if aws.ToString(t.DesiredStatus) == "RUNNING" {
				stopTask(t, at, fmt.Sprintf("Scaling activity initiated by (deployment %s)", aws.ToString(r.d.Id)))
				t.StopCode = types.TaskStopCodeServiceSchedulerInitiated
				stopped = append(stopped, "(task "+taskID(t)+")")
			}
		}
	}
	if len(stopped) > 0 {
		sv.event(s, at, fmt.Sprintf("has stopped %d running tasks: %s.", len(stopped), strings.Join(stopped, " ")))
	}
	sv.rollouts = []*rollout{r}
	r.d.Status, r.d.RolloutState = aws.String("PRIMARY"), types.DeploymentRolloutStateCompleted
	r.d.RolloutStateReason = aws.String(fmt.Sprintf("ECS deployment %s completed.", aws.ToString(r.d.Id)))
	r.d.UpdatedAt = aws.Time(at)
	sv.event(s, at, fmt.Sprintf("(deployment %s) deployment completed.", aws.ToString(r.d.Id)))
	sv.event(s, at, "has reached a steady state.")
}

// shiftBack returns traffic to blue at once: green's tasks stop, none
// starts, blue is the service again.
func (s *Simulator) shiftBack(sv *service, r *rollout, at time.Time, reason string) {
	sh := r.shift
	sh.test, sh.prod = false, 0
	sh.status, sh.reason, sh.finished, sh.hook = types.ServiceDeploymentStatusRollbackSuccessful, reason, at, nil
	for _, t := range r.tasks {
		if aws.ToString(t.DesiredStatus) == "RUNNING" {
			stopTask(t, at, "Scaling activity initiated by (deployment rollback)")
		}
	}
	r.d.RunningCount, r.d.PendingCount = 0, 0
	r.d.RolloutState, r.d.RolloutStateReason, r.d.UpdatedAt = types.DeploymentRolloutStateFailed, aws.String(reason), aws.Time(at)
	var keep []*rollout
	for _, o := range sv.rollouts {
		if o != r {
			keep = append(keep, o)
		}
	}
	sv.rollouts = keep
	if b := sh.blue; b != nil {
		b.d.Status, b.d.UpdatedAt = aws.String("PRIMARY"), aws.Time(at)
		sv.svc.TaskDefinition = b.d.TaskDefinition
	}
	sv.event(s, at, fmt.Sprintf("(deployment %s) rolled back: %s Traffic is on the previous revision; no task was started.", aws.ToString(r.d.Id), reason))
}

// answer takes an action on r's paused hook.
func (s *Simulator) answer(sv *service, r *rollout, action types.DeploymentLifecycleHookAction, at time.Time, why string) {
	sh := r.shift
	h := sh.hook
	sh.hook, sh.answered[h.index] = nil, true
	sh.paused += at.Sub(h.since)
	if action == types.DeploymentLifecycleHookActionRollback {
		s.shiftBack(sv, r, at, why+" (rollback).")
	}
}

// Traffic says whether the green tasks of the service's newest
// deployment take the test listener's traffic, and what share (percent) of
// production's: what a test's load balancer stand-in routes by.
func (s *Simulator) Traffic(serviceName string) (test bool, production int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.services {
		if aws.ToString(sv.svc.ServiceName) != serviceName || len(sv.history) == 0 {
			continue
		}
		s.advance(sv)
		if sh := sv.history[0].shift; sh != nil {
			return sh.test, sh.prod
		}
	}
	return false, 0
}

// shiftDeployment finds the rollout of a service deployment ARN.
func (s *Simulator) shiftDeployment(arn, region string) (*service, *rollout) {
	for _, sv := range s.services {
		for _, r := range sv.history {
			if sv.deploymentARN(r, region) == arn {
				return sv, r
			}
		}
	}
	return nil, nil
}

// shiftOf is the traffic-shifting deployment of an ARN, advanced to now;
// s.mu is held.
func (s *Simulator) shiftOf(arn, region string) (*service, *rollout, error) {
	sv, r := s.shiftDeployment(arn, region)
	if r == nil || r.shift == nil {
		return nil, nil, &apiError{Type: "ServiceDeploymentNotFoundException", Message: "The service deployment does not exist."}
	}
	s.advance(sv)
	return sv, r, nil
}

func (s *Simulator) describeServiceDeployments(_ context.Context, c *call) (any, error) {
	var in ecs.DescribeServiceDeploymentsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeployment{}, Failures: []types.Failure{}}
	for _, arn := range in.ServiceDeploymentArns {
		sv, r := s.shiftDeployment(arn, c.region)
		if r == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		s.advance(sv)
		b := sv.serviceDeployment(r, c.region)
		sd := types.ServiceDeployment{ServiceDeploymentArn: b.ServiceDeploymentArn, ServiceArn: b.ServiceArn, ClusterArn: b.ClusterArn,
			Status: b.Status, StatusReason: b.StatusReason, StartedAt: b.StartedAt, FinishedAt: b.FinishedAt, CreatedAt: b.CreatedAt,
			TargetServiceRevision: &types.ServiceRevisionSummary{Arn: b.TargetServiceRevisionArn}, DeploymentConfiguration: sv.svc.DeploymentConfiguration}
		if sh := r.shift; sh != nil && sh.stage >= 0 {
			sd.LifecycleStage = types.ServiceDeploymentLifecycleStage(sh.stages[sh.stage].name)
			if h := sh.hook; h != nil {
				sd.LifecycleHookDetails = []types.DeploymentLifecycleHookDetail{{HookId: aws.String(h.id), Status: types.DeploymentLifecycleHookStatusAwaitingAction,
					TargetType: types.DeploymentLifecycleHookTargetTypePause, ExpiresAt: aws.Time(h.expires), TimeoutAction: h.onTimeout}}
			}
		}
		out.ServiceDeployments = append(out.ServiceDeployments, sd)
	}
	return out, nil
}

func (s *Simulator) continueServiceDeployment(_ context.Context, c *call) (any, error) {
	var in ecs.ContinueServiceDeploymentInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, r, err := s.shiftOf(aws.ToString(in.ServiceDeploymentArn), c.region)
	if err != nil {
		return nil, err
	}
	h := r.shift.hook
	if h == nil || h.id != aws.ToString(in.HookId) {
		return nil, &apiError{Type: "InvalidParameterException", Message: fmt.Sprintf("The lifecycle hook %s is not awaiting an action.", aws.ToString(in.HookId))}
	}
	action := in.Action
	if action == "" {
		action = types.DeploymentLifecycleHookActionContinue
	}
	s.answer(sv, r, action, s.now(), "ContinueServiceDeployment answered the hook at "+h.stage+" with "+string(action))
	s.advance(sv)
	return &ecs.ContinueServiceDeploymentOutput{ServiceDeploymentArn: in.ServiceDeploymentArn}, nil
}

func (s *Simulator) stopServiceDeployment(_ context.Context, c *call) (any, error) {
	var in ecs.StopServiceDeploymentInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, r, err := s.shiftOf(aws.ToString(in.ServiceDeploymentArn), c.region)
	if err != nil {
		return nil, err
	}
	if r.shift.status != types.ServiceDeploymentStatusInProgress {
		return nil, &apiError{Type: "ConflictException", Message: "The service deployment is not in progress."}
	}
	stage := r.shift.stages[max(r.shift.stage, 0)].name
	s.shiftBack(sv, r, s.now(), fmt.Sprintf("StopServiceDeployment (%s) at %s.", in.StopType, stage))
	return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: in.ServiceDeploymentArn}, nil
}
