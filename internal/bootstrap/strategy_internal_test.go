package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestJudgeStrategy(t *testing.T) {
	t.Parallel()
	blueGreen := strategyWant{strategy: ecstypes.DeploymentStrategyBlueGreen, bake: 5, targetGroups: [2]string{"tg1", "tg2"},
		production: "prod-rule", test: "test-rule", infrastructureRole: "infra",
		gates: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift}}
	canary := blueGreen
	canary.strategy, canary.step, canary.stepBake = ecstypes.DeploymentStrategyCanary, 10, 2
	canary.gates = append(canary.gates, ecstypes.DeploymentLifecycleHookStagePreProductionTrafficShift)
	// as the bootstrap writes it, with the primary target group given.
	written := func(w strategyWant, primary string) *ecstypes.Service {
		return &ecstypes.Service{DeploymentConfiguration: w.deploymentConfiguration(nil, true), LoadBalancers: []ecstypes.LoadBalancer{w.loadBalancer(primary, "app", 3000)}}
	}
	lambda := ecstypes.DeploymentLifecycleHook{TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String("arn:aws:lambda:fn"),
		LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePreScaleUp}}
	for _, tc := range []struct {
		name            string
		svc             *ecstypes.Service
		want            strategyWant
		settings, gates bool
		back            bool
		drift           string
	}{
		{"rolling, as the config says", &ecstypes.Service{}, strategyWant{}, false, false, false, ""},
		{"blue/green as written", written(blueGreen, "tg1"), blueGreen, false, false, false, ""},
		{"blue/green after ECS swapped the target groups", written(blueGreen, "tg2"), blueGreen, false, false, false, ""},
		{"canary as written", written(canary, "tg1"), canary, false, false, false, ""},
		{"rolling to blue/green", &ecstypes.Service{LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg1")}}}, blueGreen, true, true, false, "it deploys by ROLLING, the config says BLUE_GREEN"},
		{"blue/green to canary", written(blueGreen, "tg1"), canary, true, true, false, "it deploys by BLUE_GREEN, the config says CANARY"},
		{"another bake time", written(blueGreen, "tg1"), func() strategyWant { w := blueGreen; w.bake = 9; return w }(), true, false, false, "bake time 5 minutes, the config says 9"},
		{"another canary step", written(canary, "tg1"), func() strategyWant { w := canary; w.step = 20; return w }(), true, false, false, "steps of 10 % every 2 minutes, the config says 20 % every 2"},
		{"smoke-path dropped", written(blueGreen, "tg1"), func() strategyWant { w := blueGreen; w.gates = nil; return w }(), false, true, false, "the config sets no smoke-path"},
		{"another test rule", written(blueGreen, "tg1"), func() strategyWant { w := blueGreen; w.test = "other"; return w }(), true, false, false, "load balancer entry lacks"},
		{"a Lambda hook of someone's beside ours", func() *ecstypes.Service {
			s := written(blueGreen, "tg1")
			s.DeploymentConfiguration.LifecycleHooks = append(s.DeploymentConfiguration.LifecycleHooks, lambda)
			return s
		}(), blueGreen, false, false, false, ""},
		{"blue/green, the config says rolling", written(blueGreen, "tg1"), strategyWant{}, false, false, true, "does not move a service back"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := judgeStrategy(tc.svc, tc.want, "c", "s")
			var drifts []string
			for _, d := range v.drifts {
				drifts = append(drifts, d.what)
			}
			if v.settings != tc.settings || v.gates != tc.gates || v.back != tc.back || (tc.drift == "") != (len(drifts) == 0) || !strings.Contains(strings.Join(drifts, "; "), tc.drift) {
				t.Errorf("settings %v gates %v back %v, drifts %q; want %v %v %v, a drift %q", v.settings, v.gates, v.back, drifts, tc.settings, tc.gates, tc.back, tc.drift)
			}
		})
	}
}

// TestDeploymentConfigurationKeepsOthersHooks: writing the gates keeps a
// Lambda hook someone added and replaces only PAUSE hooks; the first of
// the two updates of a move leaves the hooks as they are.
func TestDeploymentConfigurationKeepsOthersHooks(t *testing.T) {
	t.Parallel()
	w := strategyWant{strategy: ecstypes.DeploymentStrategyBlueGreen, gates: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift}}
	have := &ecstypes.DeploymentConfiguration{LifecycleHooks: []ecstypes.DeploymentLifecycleHook{
		{TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String("fn")},
		{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePreScaleUp}},
	}}
	if got := w.deploymentConfiguration(have, false).LifecycleHooks; len(got) != 2 || got[1].LifecycleStages[0] != ecstypes.DeploymentLifecycleHookStagePreScaleUp {
		t.Errorf("without gates: hooks %+v, want them as they were", got)
	}
	got := w.deploymentConfiguration(have, true).LifecycleHooks
	if len(got) != 2 || aws.ToString(got[0].HookTargetArn) != "fn" || got[1].LifecycleStages[0] != ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift {
		t.Errorf("with gates: hooks %+v, want the Lambda's and our PAUSE at POST_TEST_TRAFFIC_SHIFT", got)
	}
	if len(have.LifecycleHooks) != 2 || have.LifecycleHooks[1].LifecycleStages[0] != ecstypes.DeploymentLifecycleHookStagePreScaleUp {
		t.Errorf("the found configuration was changed: %+v", have.LifecycleHooks)
	}
}

func TestJudgeRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		seen    rulesSeen
		lb      Owner
		managed bool
		want    Action
		detail  string
	}{
		{"a new load balancer", rulesSeen{}, OwnerNone, false, Create, ""},
		{"ours, without rules yet", rulesSeen{}, OwnerUs, false, Create, ""},
		{"both there", rulesSeen{production: "p", test: "t", owner: OwnerUs}, OwnerUs, false, Exists, ""},
		{"the test rule lost", rulesSeen{production: "p", owner: OwnerUs}, OwnerUs, false, Change, "add the test rule"},
		{"someone's load balancer", rulesSeen{}, OwnerAdopted, false, Skip, "manage: [load-balancer]"},
		{"someone's load balancer, handed over", rulesSeen{}, OwnerAdopted, true, Create, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judgeRules(tc.seen, tc.lb, tc.managed)
			detail := strings.Join(append(f.changes, f.skip), "; ")
			if f.action() != tc.want || !strings.Contains(detail, tc.detail) {
				t.Errorf("judge = %s (%s), want %s (%q)", f.action(), detail, tc.want, tc.detail)
			}
		})
	}
}

func TestCheckStrategy(t *testing.T) {
	t.Parallel()
	seed := func(f func(c *Config)) Config {
		c := Default()
		c.Region = "us-east-1"
		f(&c)
		return c
	}
	lb := func(f func(c *Config)) Config {
		return seed(func(c *Config) { c.Endpoint = EndpointLoadBalancer; f(c) })
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for none
	}{
		{"the default", seed(func(*Config) {}), ""},
		{"blue-green behind the load balancer", lb(func(c *Config) { c.DeploymentStrategy, c.SmokePath = StrategyBlueGreen, "/health" }), ""},
		{"canary, its default step", lb(func(c *Config) { c.DeploymentStrategy = StrategyCanary }), ""},
		{"blue-green on public IPs", seed(func(c *Config) { c.DeploymentStrategy = StrategyBlueGreen }), "set endpoint: load-balancer too"},
		{"a strategy ECS lacks", lb(func(c *Config) { c.DeploymentStrategy = "all-at-once" }), `deployment-strategy "all-at-once": use rolling, blue-green, canary or linear`},
		{"a linear step under ECS's 3 %", lb(func(c *Config) { c.DeploymentStrategy, c.StepPercent = StrategyLinear, 2 }), "step-percent 2: give each linear step's share of production, from 3 to 100"},
		{"a step for blue-green", lb(func(c *Config) { c.DeploymentStrategy, c.StepPercent = StrategyBlueGreen, 10 }), "step-percent is for canary and linear"},
		{"a day and more of bake", lb(func(c *Config) { c.DeploymentStrategy, c.BakeTime = StrategyBlueGreen, 1441 }), "bake-time 1441: give minutes from 0 to 1440"},
		{"a smoke path without /", lb(func(c *Config) { c.DeploymentStrategy, c.SmokePath = StrategyBlueGreen, "health" }), `smoke-path "health": give a path that starts with /`},
		{"a smoke path for rolling", lb(func(c *Config) { c.SmokePath = "/health" }), "smoke-path and step-percent are for a deployment-strategy that shifts traffic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Check()
			if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check() = %v, want %q", err, tc.want)
			}
		})
	}
}
