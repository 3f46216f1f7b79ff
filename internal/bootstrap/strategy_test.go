package bootstrap_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/bootstrap"
)

// describedService is the part of describe-services a strategy sets.
type describedService struct {
	Services []struct {
		LoadBalancers []struct {
			TargetGroupArn        string
			AdvancedConfiguration struct {
				AlternateTargetGroupArn, ProductionListenerRule, TestListenerRule, RoleArn string
			}
		}
		DeploymentConfiguration struct {
			Strategy            string
			BakeTimeInMinutes   int
			CanaryConfiguration struct {
				CanaryPercent           float64
				CanaryBakeTimeInMinutes int
			}
			LinearConfiguration struct {
				StepPercent           float64
				StepBakeTimeInMinutes int
			}
			LifecycleHooks []struct {
				TargetType           string
				LifecycleStages      []string
				TimeoutConfiguration struct {
					TimeoutInMinutes int
					Action           string
				}
			}
			Alarms struct{ AlarmNames []string }
		}
	}
}

// TestDeploymentStrategies plans and applies each strategy that shifts
// traffic on a fresh stack, and checks with the aws CLI what ECS needs
// exists: the second target group, the production and test rules on the
// production listener, the infrastructure role with AWS's policy, and the
// service's strategy, steps, PAUSE hooks (with smoke-path) and load
// balancer entry. A second apply makes no mutating call; destroy removes
// what it made.
func TestDeploymentStrategies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		strategy, want string
		smokePath      string
		https          bool
		gates          []string
	}{
		{bootstrap.StrategyBlueGreen, "BLUE_GREEN", "/health", false, []string{"POST_TEST_TRAFFIC_SHIFT"}},
		{bootstrap.StrategyCanary, "CANARY", "/health", true, []string{"POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"}},
		{bootstrap.StrategyLinear, "LINEAR", "", false, nil},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, true)
			e.withBootstrapRole()
			ctx := context.Background()
			e.cfg.Endpoint, e.cfg.DeploymentStrategy, e.cfg.SmokePath, e.cfg.BakeTime = bootstrap.EndpointLoadBalancer, tc.strategy, tc.smokePath, 7
			port := "80"
			if tc.https {
				var cert struct{ CertificateArn string }
				e.cli(t, &cert, "acm", "request-certificate", "--domain-name", "api.autonote.example")
				e.cfg.CertificateARN, e.cfg.Domain, port = cert.CertificateArn, "api.autonote.example", "443"
			}
			plan, err := e.stack(t, 0).Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			planned := map[string]bootstrap.Action{}
			for _, st := range plan {
				planned[st.Kind] = st.Action
			}
			for _, kind := range []string{"alternate target group", "infrastructure role", "listener rules", "ECS service"} {
				if planned[kind] != bootstrap.Create {
					t.Errorf("plan: %s is %q, want create (%v)", kind, planned[kind], planned)
				}
			}
			s := e.applyAsPlanned(t)
			o := s.Outputs()
			if o.AlternateTargetGroupARN == "" || o.ProductionRuleARN == "" || o.TestRuleARN == "" || o.InfrastructureRoleARN == "" || len(o.AlarmNames) != 4 {
				t.Fatalf("outputs %+v lack what ECS shifts traffic with", o)
			}

			var rules struct {
				Rules []struct {
					RuleArn, Priority string
					Conditions        []struct {
						Field             string
						Values            []string
						PathPatternConfig struct{ Values []string }
						HttpHeaderConfig  struct {
							HttpHeaderName string
							Values         []string
						}
					}
					Actions []struct {
						Type          string
						ForwardConfig struct {
							TargetGroups []struct {
								TargetGroupArn string
								Weight         int
							}
						}
					}
				}
			}
			var ls struct {
				Listeners []struct{ ListenerArn, Port string }
			}
			e.cli(t, &ls, "elbv2", "describe-listeners", "--load-balancer-arn", o.LoadBalancerARN, "--query", "{Listeners: Listeners[].{ListenerArn: ListenerArn, Port: to_string(Port)}}")
			listener := ""
			for _, l := range ls.Listeners {
				if l.Port == port {
					listener = l.ListenerArn
				}
			}
			e.cli(t, &rules, "elbv2", "describe-rules", "--listener-arn", listener)
			byARN := map[string]string{}
			for _, r := range rules.Rules {
				if len(r.Conditions) != 1 || len(r.Actions) != 1 {
					continue
				}
				c, a := r.Conditions[0], r.Actions[0]
				weights := map[string]int{}
				for _, g := range a.ForwardConfig.TargetGroups {
					weights[g.TargetGroupArn] = g.Weight
				}
				if weights[o.TargetGroupARN] != 100 || weights[o.AlternateTargetGroupARN] != 0 || len(weights) != 2 {
					t.Errorf("rule %s forwards %v, want all to the first target group, none to the alternate", r.Priority, weights)
				}
				switch {
				case c.Field == "path-pattern":
					byARN[r.RuleArn] = "production " + r.Priority + " " + strings.Join(append(c.Values, c.PathPatternConfig.Values...), ",")
				case c.Field == "http-header":
					if len(c.HttpHeaderConfig.Values) != 1 || len(c.HttpHeaderConfig.Values[0]) < 20 {
						t.Errorf("test rule's header values %q: want one long random value", c.HttpHeaderConfig.Values)
					}
					byARN[r.RuleArn] = "test " + r.Priority + " " + c.HttpHeaderConfig.HttpHeaderName
				}
			}
			if byARN[o.ProductionRuleARN] != "production 50000 /*" || byARN[o.TestRuleARN] != "test 49999 "+bootstrap.TestHeader {
				t.Errorf("rules on :%s = %v, want the production rule (every path, 50000) and the test rule (%s, 49999)", port, byARN, bootstrap.TestHeader)
			}

			var role struct {
				Role struct {
					AssumeRolePolicyDocument struct {
						Statement []struct {
							Principal struct{ Service string }
							Condition map[string]map[string]string
						}
					}
					PermissionsBoundary struct{ PermissionsBoundaryArn string }
				}
			}
			e.cli(t, &role, "iam", "get-role", "--role-name", e.cfg.InfrastructureRoleName())
			var attached struct{ AttachedPolicies []struct{ PolicyArn string } }
			e.cli(t, &attached, "iam", "list-attached-role-policies", "--role-name", e.cfg.InfrastructureRoleName())
			var inline struct{ PolicyDocument any }
			e.cli(t, &inline, "iam", "get-role-policy", "--role-name", e.cfg.InfrastructureRoleName(), "--policy-name", "shift-traffic")
			// ECS alone, for this account's services; the stack's load
			// balancer alone, never AWS's policy for every one of the account.
			if st := role.Role.AssumeRolePolicyDocument.Statement; len(st) != 1 || st[0].Principal.Service != "ecs.amazonaws.com" ||
				st[0].Condition["StringEquals"]["aws:SourceAccount"] != "123456789012" || !strings.HasPrefix(st[0].Condition["ArnLike"]["aws:SourceArn"], "arn:aws:ecs:us-east-1:123456789012:") ||
				len(attached.AttachedPolicies) != 0 || !strings.Contains(fmt.Sprint(inline.PolicyDocument), "listener-rule/app/"+e.cfg.Name+"-alb/*") ||
				role.Role.PermissionsBoundary.PermissionsBoundaryArn != o.BoundaryARN {
				t.Errorf("infrastructure role %+v with %+v and %+v: want ECS's trust for this account, the stack's load balancer alone, the boundary", role, attached, inline)
			}

			var svc describedService
			e.cli(t, &svc, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service, "--endpoint-url", e.bed.ECSURL)
			if len(svc.Services) != 1 || len(svc.Services[0].LoadBalancers) != 1 {
				t.Fatalf("service %+v", svc)
			}
			sv := svc.Services[0]
			dc, lb := sv.DeploymentConfiguration, sv.LoadBalancers[0]
			if dc.Strategy != tc.want || dc.BakeTimeInMinutes != 7 {
				t.Errorf("strategy %s, bake %d; want %s, 7", dc.Strategy, dc.BakeTimeInMinutes, tc.want)
			}
			switch tc.strategy {
			case bootstrap.StrategyCanary:
				if c := dc.CanaryConfiguration; c.CanaryPercent != 10 || c.CanaryBakeTimeInMinutes != 2 {
					t.Errorf("canary %+v, want 10 %% for 2 minutes", c)
				}
			case bootstrap.StrategyLinear:
				if c := dc.LinearConfiguration; c.StepPercent != 25 || c.StepBakeTimeInMinutes != 2 {
					t.Errorf("linear %+v, want steps of 25 %% every 2 minutes", c)
				}
			}
			var gates []string
			for _, h := range dc.LifecycleHooks {
				if h.TargetType == "PAUSE" && h.TimeoutConfiguration.Action == "ROLLBACK" && h.TimeoutConfiguration.TimeoutInMinutes == 30 {
					gates = append(gates, h.LifecycleStages...)
				}
			}
			if !slices.Equal(gates, tc.gates) || len(dc.LifecycleHooks) != min(len(tc.gates), 1) {
				t.Errorf("hooks %+v: want PAUSE at %v rolling back after 30 minutes", dc.LifecycleHooks, tc.gates)
			}
			if a := lb.AdvancedConfiguration; lb.TargetGroupArn != o.TargetGroupARN || a.AlternateTargetGroupArn != o.AlternateTargetGroupARN ||
				a.ProductionListenerRule != o.ProductionRuleARN || a.TestListenerRule != o.TestRuleARN || a.RoleArn != o.InfrastructureRoleARN {
				t.Errorf("load balancer entry %+v, want the two target groups, the two rules and the infrastructure role (outputs %+v)", lb, o)
			}
			if !slices.Equal(dc.Alarms.AlarmNames, o.AlarmNames) {
				t.Errorf("deployment alarms %v, want both target groups' %v", dc.Alarms.AlarmNames, o.AlarmNames)
			}

			// From GitHub, as the bootstrap role: every call judged
			// against the policy the first (an administrator's) apply wrote.
			e.asBootstrapRole(t)
			again := e.stack(t, 0)
			if _, err := again.Apply(ctx, nil); err != nil || e.calls.Mutating() != 0 {
				t.Errorf("second apply: %v after %d mutating calls (%v), want none", err, e.calls.Mutating(), e.calls.Ops())
			}
			if _, err := e.stack(t, 0).Destroy(ctx, nil); err != nil {
				t.Fatal(err)
			}
			var tgs struct {
				TargetGroups []struct{ TargetGroupName string }
			}
			e.cli(t, &tgs, "elbv2", "describe-target-groups")
			for _, tg := range tgs.TargetGroups {
				if strings.HasPrefix(tg.TargetGroupName, e.cfg.Name+"-") {
					t.Errorf("destroy left target group %s", tg.TargetGroupName)
				}
			}
			var roles struct{ Roles []struct{ RoleName string } }
			e.cli(t, &roles, "iam", "list-roles")
			for _, r := range roles.Roles {
				if r.RoleName == e.cfg.InfrastructureRoleName() {
					t.Error("destroy left the infrastructure role")
				}
			}
		})
	}
}

// TestMoveToBlueGreen moves a live rolling service behind a load balancer
// to blue/green: the plan adds the alternate target group, the rules and
// the infrastructure role and changes the service; apply writes the
// strategy and load balancer entry first, then the PAUSE hook (two
// updates), and the service keeps its revision. A re-plan is empty; a
// config back to rolling is advice, never a change.
func TestMoveToBlueGreen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	e.cfg.Endpoint = bootstrap.EndpointLoadBalancer
	first := e.applyAsPlanned(t)
	td := first.Outputs().TaskDefinitionARN
	plan := func() map[string]bootstrap.Step {
		t.Helper()
		steps, err := e.stack(t, 0).Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bootstrap.Step{}
		for _, st := range steps {
			if st.Action == bootstrap.Create || st.Action == bootstrap.Change || len(st.Advice) > 0 {
				out[st.Kind] = st
			}
		}
		return out
	}
	e.cfg.DeploymentStrategy, e.cfg.SmokePath = bootstrap.StrategyBlueGreen, "/health"
	got := plan()
	for kind, want := range map[string]string{"alternate target group": "", "infrastructure role": "", "listener rules": "", "alarms": "",
		"ECS service": "it deploys by ROLLING, the config says BLUE_GREEN"} {
		if st, ok := got[kind]; !ok || !strings.Contains(st.Detail, want) {
			t.Errorf("plan: %s = %+v, want it made or changed (%q)", kind, st, want)
		}
	}
	if _, ok := got["load balancer"]; ok {
		t.Errorf("plan changes the load balancer: %+v", got["load balancer"])
	}
	s := e.applyAsPlanned(t)
	if n := e.calls.Ops()["ECS:UpdateService"]; n != 2 {
		t.Errorf("apply: %d UpdateService calls, want 2 (the strategy and entry, then the hook)", n)
	}
	var svc describedService
	e.cli(t, &svc, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service, "--endpoint-url", e.bed.ECSURL)
	if dc := svc.Services[0].DeploymentConfiguration; dc.Strategy != "BLUE_GREEN" || len(dc.LifecycleHooks) != 1 ||
		svc.Services[0].LoadBalancers[0].AdvancedConfiguration.TestListenerRule != s.Outputs().TestRuleARN {
		t.Errorf("service after the move: %+v", svc)
	}
	var task struct {
		Services []struct{ TaskDefinition string }
	}
	e.cli(t, &task, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service, "--endpoint-url", e.bed.ECSURL)
	if task.Services[0].TaskDefinition != td {
		t.Errorf("the move changed the revision: %s, was %s", task.Services[0].TaskDefinition, td)
	}
	if got := plan(); len(got) != 0 {
		t.Errorf("plan after the move: %+v, want nothing", got)
	}
	e.cfg.DeploymentStrategy, e.cfg.SmokePath = bootstrap.StrategyRolling, ""
	if _, err := e.stack(t, 0).Apply(ctx, nil); err == nil || !strings.Contains(err.Error(), "does not move a service back") || e.calls.Mutating() != 0 {
		t.Errorf("apply back to rolling: %v after %d mutating calls; want it refused before any", err, e.calls.Mutating())
	}
}

// TestInfrastructurePolicyIsAWSsNarrowed: the infrastructure role's policy
// allows every action of AWS's own AmazonECSInfrastructureRolePolicyForLoadBalancers
// (as moto ships it) and no other, each on the stack's load balancer and
// target groups only, where AWS's names every one of the account.
func TestInfrastructurePolicyIsAWSsNarrowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var p struct {
		Policy struct{ DefaultVersionId string }
	}
	e.cli(t, &p, "iam", "get-policy", "--policy-arn", "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers")
	var v struct {
		PolicyVersion struct {
			Document struct {
				Statement []struct {
					Action   any
					Resource any
				}
			}
		}
	}
	e.cli(t, &v, "iam", "get-policy-version", "--policy-arn", "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers", "--version-id", p.Policy.DefaultVersionId)
	actions := func(doc []struct{ Action, Resource any }) []string {
		var out []string
		for _, st := range doc {
			switch a := st.Action.(type) {
			case string:
				out = append(out, a)
			case []any:
				for _, x := range a {
					out = append(out, x.(string))
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var aws []struct{ Action, Resource any }
	for _, st := range v.PolicyVersion.Document.Statement {
		aws = append(aws, struct{ Action, Resource any }{st.Action, st.Resource})
	}
	sc := bootstrap.Scope{Region: "us-east-1", Account: "123456789012", Stack: "s", LoadBalancer: "s-alb", TargetGroups: []string{"s-tg", "s-tg2"}}
	var ours struct {
		Statement []struct{ Action, Resource any }
	}
	if err := json.Unmarshal([]byte(sc.InfrastructurePolicy()), &ours); err != nil {
		t.Fatal(err)
	}
	if got, want := actions(ours.Statement), actions(aws); !slices.Equal(got, want) || len(want) < 5 {
		t.Errorf("actions %v, want AWS's %v", got, want)
	}
	for _, st := range ours.Statement {
		res := fmt.Sprint(st.Resource)
		if res != "*" && (strings.Contains(res, ":*:") || !strings.Contains(res, "/s-")) {
			t.Errorf("%v on %s: not the stack's own", st.Action, res)
		}
	}
}
