package ecsdeploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// A service whose deploymentConfiguration.strategy is BLUE_GREEN, CANARY or
// LINEAR deploys by shifting traffic: ECS starts the new (green) tasks
// beside the old (blue) ones, sends them the test listener's traffic, then
// production's (at once, or step by step), bakes with blue still up, and
// only then stops blue. A return during any of it moves traffic back to
// blue without starting a task. The engine follows the service deployment
// stage by stage (DescribeServiceDeployments) and, with a smoke check,
// is the gate: at a PAUSE hook of POST_TEST_TRAFFIC_SHIFT it checks the
// green tasks through the test listener before any production request
// reaches them, at each PRE_PRODUCTION_TRAFFIC_SHIFT (canary and linear
// steps) through production, and during the bake; it continues the
// deployment, or sends it back at once (ContinueServiceDeployment with
// ROLLBACK at a hook, StopServiceDeployment with ROLLBACK during the bake).

// Stage is one lifecycle stage of a traffic-shifting deployment, as ECS
// named it (a name AWS adds later is kept as it comes).
type Stage struct {
	Name       string
	Start, End time.Time
	// Production is the share of production traffic (percent) the
	// production listener rule sent to the new tasks' target group when
	// the stage began; Weighed says it was read.
	Production int
	Weighed    bool
}

// shifting reports whether the run's service deploys by shifting traffic.
func (r *run) shifting() bool {
	return r.strategy != "" && r.strategy != types.DeploymentStrategyRolling
}

// gateStages are the stages whose PAUSE hooks the engine answers, and
// through which listener it checks there: test traffic first, production
// between the steps of a canary or linear shift.
var gateStages = map[string]bool{"POST_TEST_TRAFFIC_SHIFT": true, "PRE_PRODUCTION_TRAFFIC_SHIFT": false}

// unansweredGates are the gate stages where the service's PAUSE hooks hold
// a deployment: a run without a smoke check leaves them to their timeout.
func unansweredGates(c *types.DeploymentConfiguration) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, h := range c.LifecycleHooks {
		if h.TargetType != types.DeploymentLifecycleHookTargetTypePause {
			continue
		}
		for _, st := range h.LifecycleStages {
			if _, gate := gateStages[string(st)]; gate && !slices.Contains(out, string(st)) {
				out = append(out, string(st))
			}
		}
	}
	return out
}

// move is what the follow does after one look at the service deployment.
type move struct {
	kind     moveKind
	hookID   string
	stage    string
	viaTests bool // check through the test listener, not production
}

type moveKind int

const (
	moveWait moveKind = iota
	// moveGate: a PAUSE hook of a gate stage awaits an answer.
	moveGate
	// moveBakeCheck: the deployment bakes; check production once.
	moveBakeCheck
	// moveDone: the deployment ended.
	moveDone
)

// nextMove is the follow's decision on one look, a pure function of what
// ECS shows: acted are the hooks answered already; gating is whether there
// is a smoke check to gate with; baked whether the bake was checked.
func nextMove(sd *types.ServiceDeployment, acted map[string]bool, gating, baked bool) move {
	stage := string(sd.LifecycleStage)
	switch sd.Status {
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusRollbackSuccessful,
		types.ServiceDeploymentStatusRollbackFailed, types.ServiceDeploymentStatusStopped:
		return move{kind: moveDone, stage: stage}
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentStatusStopRequested:
		return move{kind: moveWait, stage: stage}
	}
	if !gating {
		return move{kind: moveWait, stage: stage}
	}
	for _, h := range sd.LifecycleHookDetails {
		id := aws.ToString(h.HookId)
		viaTests, gate := gateStages[stage]
		if h.TargetType == types.DeploymentLifecycleHookTargetTypePause && h.Status == types.DeploymentLifecycleHookStatusAwaitingAction && gate && !acted[id] {
			return move{kind: moveGate, hookID: id, stage: stage, viaTests: viaTests}
		}
	}
	if stage == string(types.ServiceDeploymentLifecycleStageBakeTime) && !baked {
		return move{kind: moveBakeCheck, stage: stage}
	}
	return move{kind: moveWait, stage: stage}
}

// followShift follows the service deployment that UpdateService started
// (deployment id) to its end, gating it with the smoke check; previous is
// the revision a return goes back to.
func (r *run) followShift(ctx context.Context, next, id, previous string) error {
	res := r.res
	res.Strategy = string(r.strategy)
	arn, err := r.serviceDeployment(ctx, id)
	if err != nil {
		return err
	}
	r.log.Info(fmt.Sprintf("the service deploys by shifting traffic (%s): following its lifecycle stages", r.strategy), "serviceDeployment", arn)
	deadline := r.clock.Now().Add(r.req.Timeout)
	acted, baked := map[string]bool{}, false
	var refused error // why the engine sent the deployment back, if it did
	for {
		out, err := r.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
		if err != nil {
			return fmt.Errorf("describe service deployment %s: %w", arn, err)
		}
		if len(out.ServiceDeployments) == 0 {
			return fmt.Errorf("service deployment %s: ECS no longer knows it", arn)
		}
		sd := &out.ServiceDeployments[0]
		r.noteStage(ctx, string(sd.LifecycleStage))
		m := nextMove(sd, acted, r.req.Smoke != nil, baked)
		switch m.kind {
		case moveDone:
			r.closeStage()
			return r.shiftEnded(sd, next, id, previous, refused)
		case moveGate:
			acted[m.hookID] = true
			action, why := types.DeploymentLifecycleHookActionContinue, "the new tasks answered"
			if err := r.gate(ctx, m.viaTests); err != nil {
				action, why = types.DeploymentLifecycleHookActionRollback, err.Error()
				refused = &gateError{stage: m.stage, err: err}
				res.ReturnedAt = m.stage
			}
			r.log.Info(fmt.Sprintf("%s: %s: %s", m.stage, strings.ToLower(string(action)), why), "hook", m.hookID)
			_, err := r.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String(m.hookID), Action: action})
			var gone *types.InvalidParameterException
			switch {
			case errors.As(err, &gone) && strings.Contains(aws.ToString(gone.Message), "not awaiting"):
				// The hook stopped waiting while the check ran (it timed out,
				// and ECS took its timeout action): follow what ECS does.
				r.log.Warn(fmt.Sprintf("the %s hook no longer waits for an answer (it timed out while the check ran): following what ECS does with the deployment", m.stage), "hook", m.hookID)
			case err != nil:
				return fmt.Errorf("answer the %s hook with %s: %w", m.stage, action, err)
			}
		case moveBakeCheck:
			baked = true
			if err := r.gate(ctx, false); err != nil {
				refused = &gateError{stage: m.stage, err: err}
				res.ReturnedAt = m.stage
				r.log.Info("the bake's check failed: sending traffic back to the old tasks, which still run", "error", err)
				if _, err := r.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
					return fmt.Errorf("stop service deployment %s with rollback: %w", arn, err)
				}
			}
		}
		if !r.clock.Now().Before(deadline) && refused == nil {
			refused = &gateError{stage: m.stage, err: fmt.Errorf("%w: the deployment did not end within %v", ErrTimeout, r.req.Timeout)}
			res.ReturnedAt = m.stage
			if _, err := r.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
				return fmt.Errorf("stop service deployment %s with rollback: %w", arn, err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.clock.After(r.poll.Fast):
		}
	}
}

// gateError is a check the engine failed a deployment on, and at which stage.
type gateError struct {
	stage string
	err   error
}

func (e *gateError) Error() string { return "at " + e.stage + ": " + e.err.Error() }
func (e *gateError) Unwrap() error { return e.err }

// shiftEnded says how a traffic-shifting deployment ended.
func (r *run) shiftEnded(sd *types.ServiceDeployment, next, id, previous string, refused error) error {
	res := r.res
	reason := cmpReason(aws.ToString(sd.StatusReason), "ECS gave no reason")
	if refused != nil {
		reason = refused.Error()
	}
	switch sd.Status {
	case types.ServiceDeploymentStatusSuccessful:
		if refused != nil { // answered too late: ECS had moved on
			res.Status = StatusFailed
			return &RolloutFailedError{Service: r.req.Service, DeploymentID: id, Reason: reason + "; the deployment completed all the same"}
		}
		res.Status, res.TaskDefinitionARN = StatusSucceeded, next
		r.log.Info("the deployment completed: production traffic is on the new tasks and the old ones are gone")
		return nil
	case types.ServiceDeploymentStatusRollbackSuccessful:
		res.Status, res.TaskDefinitionARN = StatusRolledBack, cmp.Or(previous, res.PreviousTaskDefinitionARN)
		if res.ReturnedAt == "" {
			res.ReturnedAt = string(sd.LifecycleStage)
		}
		cause := error(nil)
		if refused != nil {
			cause = ErrSmokeFailed
			if errors.Is(refused, ErrTimeout) {
				cause = ErrTimeout
			}
		}
		return &RolloutFailedError{Service: r.req.Service, DeploymentID: id, RolledBack: true, Cause: cause,
			Reason: reason + "; traffic is back on " + lastPart(res.TaskDefinitionARN) + ", whose tasks never stopped"}
	}
	res.Status = StatusFailed
	return &RolloutFailedError{Service: r.req.Service, DeploymentID: id, Reason: fmt.Sprintf("the deployment ended %s at %s: %s", sd.Status, sd.LifecycleStage, reason)}
}

// noteStage records a stage as the follow first sees it, with the share
// of production the new tasks had then.
func (r *run) noteStage(ctx context.Context, name string) {
	res, now := r.res, r.clock.Now()
	if name == "" || len(res.Stages) > 0 && res.Stages[len(res.Stages)-1].Name == name {
		return
	}
	r.closeStage()
	st := Stage{Name: name, Start: now}
	st.Production, st.Weighed = r.productionShare(ctx)
	res.Stages = append(res.Stages, st)
	r.reporter.Phase("stage " + name)
}

// productionShare reads the production listener rule's weights: the
// percent it sends to the alternate target group, where the new tasks
// start. It reports false when there is no rule to read.
func (r *run) productionShare(ctx context.Context) (int, bool) {
	c := r.advanced()
	rule, green := aws.ToString(c.ProductionListenerRule), aws.ToString(c.AlternateTargetGroupArn)
	if rule == "" || r.elb == nil {
		return 0, false
	}
	out, err := r.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{rule}})
	if err != nil || len(out.Rules) == 0 {
		return 0, false
	}
	return greenShare(out.Rules[0].Actions, green)
}

// advanced is what ECS shifts the service's traffic with (its load
// balancer entry's advancedConfiguration), empty when it has none.
func (r *run) advanced() types.AdvancedConfiguration {
	for _, lb := range r.lbs {
		if c := lb.AdvancedConfiguration; c != nil {
			return *c
		}
	}
	return types.AdvancedConfiguration{}
}

// greenShare is the percent of a rule's forward action that goes to the
// target group green.
func greenShare(actions []elbtypes.Action, green string) (int, bool) {
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
			if aws.ToString(a.TargetGroupArn) == green {
				return 100, true
			}
			return 0, true
		}
		var all, to int32
		for _, g := range a.ForwardConfig.TargetGroups {
			w := aws.ToInt32(g.Weight)
			all += w
			if aws.ToString(g.TargetGroupArn) == green {
				to += w
			}
		}
		if all == 0 {
			return 0, true
		}
		return int(100 * to / all), true
	}
	return 0, false
}

func (r *run) closeStage() {
	if n := len(r.res.Stages); n > 0 && r.res.Stages[n-1].End.IsZero() {
		r.res.Stages[n-1].End = r.clock.Now()
	}
}

// serviceDeployment is the ARN of the service deployment UpdateService
// started: the newest one in progress, whose ARN ends in the deployment's
// number when ECS names it so.
func (r *run) serviceDeployment(ctx context.Context, id string) (string, error) {
	out, err := r.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(r.req.Cluster), Service: aws.String(r.req.Service),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress},
	})
	if err != nil {
		return "", fmt.Errorf("list service deployments: %w", err)
	}
	newest := ""
	var at time.Time
	for _, b := range out.ServiceDeployments {
		arn := aws.ToString(b.ServiceDeploymentArn)
		if strings.HasSuffix(arn, "/"+strings.TrimPrefix(id, "ecs-svc/")) {
			return arn, nil
		}
		if t := aws.ToTime(b.CreatedAt); newest == "" || t.After(at) {
			newest, at = arn, t
		}
	}
	if newest == "" {
		return "", fmt.Errorf("no service deployment of %s is in progress after the update: cannot follow it", r.req.Service)
	}
	return newest, nil
}

// gate checks the new tasks through the test listener (viaTests: the smoke
// path), or through production (the rollback alarms, then the smoke path).
func (r *run) gate(ctx context.Context, viaTests bool) error {
	if viaTests {
		u, header, err := r.testURL(ctx)
		if err != nil {
			return err
		}
		return r.smokeURL(ctx, u, header)
	}
	// Through production: the rollback alarms first (a canary's step
	// that raised one goes no further), then the smoke path.
	if firing := r.firingAlarms(ctx); len(firing) > 0 {
		r.res.Alarms = firing
		return fmt.Errorf("alarm %s is in ALARM: %s", firing[0].Name, cmpReason(firing[0].Reason, "no reason given"))
	}
	if r.res.URL == "" {
		r.locate(ctx, r.res.TaskDefinitionARN)
	}
	return r.smokeURL(ctx, r.res.URL, [2]string{})
}

// testURL is where the test listener answers: the production URL's host
// on the test listener's port, with the header its rule matches on, if
// any (a test rule on the production listener).
func (r *run) testURL(ctx context.Context) (string, [2]string, error) {
	var none [2]string
	rule := aws.ToString(r.advanced().TestListenerRule)
	if rule == "" || r.elb == nil {
		return "", none, fmt.Errorf("the service has no test listener rule to check the new tasks through (its loadBalancers' advancedConfiguration.testListenerRule)")
	}
	if r.res.URL == "" {
		r.locate(ctx, r.res.TaskDefinitionARN)
	}
	base, err := url.Parse(r.res.URL)
	if err != nil || base.Host == "" {
		return "", none, fmt.Errorf("the load balancer's address is not known, so its test listener cannot be reached")
	}
	rules, err := r.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{rule}})
	if err != nil || len(rules.Rules) == 0 {
		return "", none, fmt.Errorf("describe the test listener rule %s: %v", rule, err)
	}
	var header [2]string
	for _, c := range rules.Rules[0].Conditions {
		if aws.ToString(c.Field) == "http-header" && c.HttpHeaderConfig != nil && len(c.HttpHeaderConfig.Values) > 0 {
			header = [2]string{aws.ToString(c.HttpHeaderConfig.HttpHeaderName), c.HttpHeaderConfig.Values[0]}
		}
	}
	// A rule's ARN is its listener's with "listener-rule" and its own id.
	listener := strings.Replace(rule[:strings.LastIndex(rule, "/")], ":listener-rule/", ":listener/", 1)
	ls, err := r.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil || len(ls.Listeners) == 0 {
		return "", none, fmt.Errorf("describe the test listener %s: %v", listener, err)
	}
	l := ls.Listeners[0]
	scheme := "http"
	if l.Protocol == "HTTPS" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(base.Hostname(), fmt.Sprint(aws.ToInt32(l.Port))), header, nil
}

// smokeURL asks base+path until a 2xx or the smoke timeout, with the test
// rule's header when there is one.
func (r *run) smokeURL(ctx context.Context, base string, header [2]string) error {
	if r.lbErr != nil {
		return fmt.Errorf("%w: %v", ErrSmokeFailed, r.lbErr)
	}
	if base == "" {
		return fmt.Errorf("%w: the service's address is not known", ErrSmokeFailed)
	}
	return r.askUntil(ctx, []string{strings.TrimSuffix(base, "/") + r.req.Smoke.Path}, header)
}
