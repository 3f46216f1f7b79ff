package bootstrap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// gateTimeoutMinutes is how long a PAUSE hook waits for the deploy's
// smoke check before ECS takes its timeout action, ROLLBACK: a build that
// nobody checked never takes production traffic.
const gateTimeoutMinutes = 30

// strategyWant is what deployment-strategy asks of the service's
// deployment configuration and its load balancer entry.
type strategyWant struct {
	strategy           ecstypes.DeploymentStrategy
	bake               int32
	step               float64 // canary or linear: the step's share
	stepBake           int32
	gates              []ecstypes.DeploymentLifecycleHookStage // the stages a PAUSE hook holds; none without smoke-path
	targetGroups       [2]string                               // the bootstrap's two, either of which ECS may have made the primary
	production, test   string                                  // the listener rules
	infrastructureRole string
}

// strategyWant is the config's, on what the stack found or made.
func (s *Stack) strategyWant() strategyWant {
	o, c := s.get(), s.cfg
	w := strategyWant{strategy: ecstypes.DeploymentStrategyRolling}
	if !c.Shifts() {
		return w
	}
	w.strategy = map[string]ecstypes.DeploymentStrategy{StrategyBlueGreen: ecstypes.DeploymentStrategyBlueGreen,
		StrategyCanary: ecstypes.DeploymentStrategyCanary, StrategyLinear: ecstypes.DeploymentStrategyLinear}[c.DeploymentStrategy]
	w.bake, w.step, w.stepBake = int32(c.BakeTime), c.Step(), int32(c.StepBakeTime)
	if c.SmokePath != "" {
		w.gates = []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift}
		if w.strategy != ecstypes.DeploymentStrategyBlueGreen {
			w.gates = append(w.gates, ecstypes.DeploymentLifecycleHookStagePreProductionTrafficShift)
		}
	}
	w.targetGroups = [2]string{o.TargetGroupARN, o.AlternateTargetGroupARN}
	w.production, w.test, w.infrastructureRole = o.ProductionRuleARN, o.TestRuleARN, o.InfrastructureRoleARN
	return w
}

// shifts reports whether the strategy moves traffic between two target groups.
func (w strategyWant) shifts() bool {
	return w.strategy != "" && w.strategy != ecstypes.DeploymentStrategyRolling
}

// strategyOf is a deployment configuration's strategy, ROLLING when unset.
func strategyOf(c *ecstypes.DeploymentConfiguration) ecstypes.DeploymentStrategy {
	if c == nil || c.Strategy == "" {
		return ecstypes.DeploymentStrategyRolling
	}
	return c.Strategy
}

// deploymentConfiguration is have (nil for a new service) with the
// strategy's settings: the strategy, bake time, the canary's or linear
// step, and, with gates, the bootstrap's PAUSE hook beside the hooks
// someone else put there (a Lambda's), which it keeps.
func (w strategyWant) deploymentConfiguration(have *ecstypes.DeploymentConfiguration, gates bool) *ecstypes.DeploymentConfiguration {
	c := cloneConfig(have)
	c.Strategy = w.strategy
	c.BakeTimeInMinutes, c.CanaryConfiguration, c.LinearConfiguration = nil, nil, nil
	if !w.shifts() {
		return c
	}
	c.BakeTimeInMinutes = aws.Int32(w.bake)
	switch w.strategy {
	case ecstypes.DeploymentStrategyCanary:
		c.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(w.step), CanaryBakeTimeInMinutes: aws.Int32(w.stepBake)}
	case ecstypes.DeploymentStrategyLinear:
		c.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(w.step), StepBakeTimeInMinutes: aws.Int32(w.stepBake)}
	}
	hooks := slices.Clone(c.LifecycleHooks)
	if gates {
		hooks = slices.DeleteFunc(hooks, func(h ecstypes.DeploymentLifecycleHook) bool {
			return h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause
		})
		if len(w.gates) > 0 {
			hooks = append(hooks, ecstypes.DeploymentLifecycleHook{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: w.gates,
				TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(gateTimeoutMinutes), Action: ecstypes.DeploymentLifecycleHookActionRollback}})
		}
	}
	c.LifecycleHooks = hooks
	return c
}

// cloneConfig is a copy of c to change, an empty one for nil.
func cloneConfig(c *ecstypes.DeploymentConfiguration) *ecstypes.DeploymentConfiguration {
	if c == nil {
		return &ecstypes.DeploymentConfiguration{}
	}
	copied := *c
	return &copied
}

// loadBalancer is the service's entry for the primary target group
// (primary: the one of the two ECS has the tasks in now) with what ECS
// shifts traffic with.
func (w strategyWant) loadBalancer(primary, container string, port int32) ecstypes.LoadBalancer {
	lb := ecstypes.LoadBalancer{TargetGroupArn: aws.String(primary), ContainerName: aws.String(container), ContainerPort: aws.Int32(port)}
	if w.shifts() {
		alternate := w.targetGroups[1]
		if primary == alternate {
			alternate = w.targetGroups[0]
		}
		lb.AdvancedConfiguration = &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(alternate),
			ProductionListenerRule: aws.String(w.production), TestListenerRule: aws.String(w.test), RoleArn: aws.String(w.infrastructureRole)}
	}
	return lb
}

// strategyVerdict is what judgeStrategy found.
type strategyVerdict struct {
	drifts []drift
	// settings: the strategy, bake and step, and the load balancer entry,
	// are to be written; gates: the PAUSE hooks.
	settings, gates bool
	// back: the service shifts traffic and the config says rolling, which
	// the bootstrap does not do (advice only).
	back bool
}

// judgeStrategy compares the service's deployment with the strategy the
// config asks for. ECS swaps the two target groups at each deploy, and
// the rules' actions with them: which group is the primary is not drift.
func judgeStrategy(svc *ecstypes.Service, w strategyWant, cluster, service string) strategyVerdict {
	var v strategyVerdict
	have := svc.DeploymentConfiguration
	if got := strategyOf(have); got != cmp.Or(w.strategy, ecstypes.DeploymentStrategyRolling) {
		if !w.shifts() {
			v.back = true
			v.drifts = append(v.drifts, drift{fmt.Sprintf("it deploys by %s and the config says rolling: the bootstrap does not move a service back (its listener rules would send production to a target group ECS may have emptied); see docs/endpoint.md", got), ""})
			return v
		}
		v.drifts = append(v.drifts, drift{fmt.Sprintf("it deploys by %s, the config says %s", got, w.strategy), ""})
	}
	if !w.shifts() {
		return v
	}
	if have == nil {
		have = &ecstypes.DeploymentConfiguration{}
	}
	if b := aws.ToInt32(have.BakeTimeInMinutes); b != w.bake {
		v.drifts = append(v.drifts, drift{fmt.Sprintf("bake time %d minutes, the config says %d", b, w.bake), ""})
	}
	var step float64
	var stepBake int32
	switch {
	case have.CanaryConfiguration != nil && w.strategy == ecstypes.DeploymentStrategyCanary:
		step, stepBake = aws.ToFloat64(have.CanaryConfiguration.CanaryPercent), aws.ToInt32(have.CanaryConfiguration.CanaryBakeTimeInMinutes)
	case have.LinearConfiguration != nil && w.strategy == ecstypes.DeploymentStrategyLinear:
		step, stepBake = aws.ToFloat64(have.LinearConfiguration.StepPercent), aws.ToInt32(have.LinearConfiguration.StepBakeTimeInMinutes)
	}
	if w.strategy != ecstypes.DeploymentStrategyBlueGreen && (step != w.step || stepBake != w.stepBake) {
		v.drifts = append(v.drifts, drift{fmt.Sprintf("steps of %g %% every %d minutes, the config says %g %% every %d", step, stepBake, w.step, w.stepBake), ""})
	}
	if entry := w.primary(svc.LoadBalancers); entry == "" ||
		!sameAdvanced(advancedOf(svc.LoadBalancers, entry), w.loadBalancer(entry, "", 0).AdvancedConfiguration) {
		v.drifts = append(v.drifts, drift{"its load balancer entry lacks what ECS shifts traffic with (the alternate target group, the production and test rules, the infrastructure role)", ""})
	}
	v.settings = len(v.drifts) > 0
	if !slices.Equal(pauseStages(have), w.gates) {
		what := "no PAUSE hook holds a deployment for the smoke check before production"
		if len(w.gates) == 0 {
			what = "a PAUSE hook holds each deployment, and the config sets no smoke-path to answer it"
		}
		v.drifts = append(v.drifts, drift{what, ""})
		v.gates = true
	}
	if len(v.drifts) > 0 {
		// One command for an adopted service: the fix is all of it.
		v.drifts[0].fix = fmt.Sprintf("aws ecs update-service --cluster %s --service %s with deploymentConfiguration.strategy=%s and loadBalancers[].advancedConfiguration (docs/endpoint.md shows each step)", cluster, service, w.strategy)
	}
	return v
}

// primary is the target group of the service's entry that is one of the
// bootstrap's two (ECS makes either the primary as it swaps them), ""
// when it has none.
func (w strategyWant) primary(lbs []ecstypes.LoadBalancer) string {
	for _, l := range lbs {
		if tg := aws.ToString(l.TargetGroupArn); tg != "" && (tg == w.targetGroups[0] || tg == w.targetGroups[1]) {
			return tg
		}
	}
	return ""
}

// advancedOf is the advanced configuration of the entry of target group tg.
func advancedOf(lbs []ecstypes.LoadBalancer, tg string) *ecstypes.AdvancedConfiguration {
	for _, l := range lbs {
		if aws.ToString(l.TargetGroupArn) == tg {
			return l.AdvancedConfiguration
		}
	}
	return nil
}

// sameAdvanced compares two advanced configurations field by field.
func sameAdvanced(a, b *ecstypes.AdvancedConfiguration) bool {
	if a == nil || b == nil {
		return a == b
	}
	return aws.ToString(a.AlternateTargetGroupArn) == aws.ToString(b.AlternateTargetGroupArn) &&
		aws.ToString(a.ProductionListenerRule) == aws.ToString(b.ProductionListenerRule) &&
		aws.ToString(a.TestListenerRule) == aws.ToString(b.TestListenerRule) && aws.ToString(a.RoleArn) == aws.ToString(b.RoleArn)
}

// pauseStages are the stages PAUSE hooks hold, in ECS's order.
func pauseStages(c *ecstypes.DeploymentConfiguration) []ecstypes.DeploymentLifecycleHookStage {
	if c == nil {
		return nil
	}
	var out []ecstypes.DeploymentLifecycleHookStage
	for _, h := range c.LifecycleHooks {
		if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause {
			out = append(out, h.LifecycleStages...)
		}
	}
	order := ecstypes.DeploymentLifecycleHookStage("").Values()
	slices.SortFunc(out, func(a, b ecstypes.DeploymentLifecycleHookStage) int {
		return slices.Index(order, a) - slices.Index(order, b)
	})
	return slices.Compact(out)
}

// checkMoveBack refuses, before any change, a config that says rolling
// for a service the bootstrap made (or was handed) that shifts traffic:
// apply would take the alternate target group's alarms off the service
// and the infrastructure role's actions off the boundary, while the
// listener rules may send production to the alternate target group.
// Moving back is done by hand (docs/endpoint.md); an adopted service's
// strategy is only advised on.
func (s *Stack) checkMoveBack() error {
	svc := s.found.service
	if svc == nil || s.cfg.Shifts() || !s.behindLoadBalancer() {
		return nil
	}
	got := strategyOf(svc.DeploymentConfiguration)
	if got == ecstypes.DeploymentStrategyRolling || (ownerOf(ecsTag.of(svc.Tags), s.cfg.Name) != OwnerUs && !slices.Contains(s.cfg.Manage, "service")) {
		return nil
	}
	return fmt.Errorf("deployment-strategy is rolling, but service %s deploys by %s: the bootstrap does not move a service back (its listener rules may send production to the target group ECS filled last); set deployment-strategy: %s to keep it, or move it back by hand as docs/endpoint.md shows",
		s.cfg.Service, got, strings.ToLower(strings.ReplaceAll(string(got), "_", "-")))
}
