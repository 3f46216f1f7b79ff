package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestJudgeService: the service against the config, without a server.
func TestJudgeService(t *testing.T) {
	t.Parallel()
	ours := ecsTag.list(map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"})
	breaker := &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	withAlarms := func(names ...string) *ecstypes.DeploymentConfiguration {
		c := *breaker
		c.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: names, Enable: true, Rollback: true}
		return &c
	}
	const tg = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/s-tg/1"
	behind := []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("server"), ContainerPort: aws.Int32(3000)}}
	blueGreen := &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: breaker.DeploymentCircuitBreaker, Strategy: ecstypes.DeploymentStrategyBlueGreen}
	bg := strategyWant{strategy: ecstypes.DeploymentStrategyBlueGreen, bake: 5, targetGroups: [2]string{tg, "tg2"}, production: "p", test: "t", infrastructureRole: "r"}
	for _, tc := range []struct {
		name             string
		svc              ecstypes.Service
		want             serviceWant
		action           Action
		register, alarms bool
		say              string
	}{
		{"ours, as the config says", ecstypes.Service{Tags: ours, DeploymentConfiguration: breaker}, serviceWant{stack: "s"}, Exists, false, false, ""},
		{"ours, behind its target group", ecstypes.Service{Tags: ours, DeploymentConfiguration: breaker, LoadBalancers: behind}, serviceWant{stack: "s", targetGroup: tg}, Exists, false, false, ""},
		{"adopted blue/green, our group its alternate after a deploy swapped them", ecstypes.Service{DeploymentConfiguration: breaker, LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String("arn:other-tg"), AdvancedConfiguration: &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(tg)}}}},
			serviceWant{stack: "s", targetGroup: tg}, Exists, false, false, ""},
		{"ours, a load balancer asked for now", ecstypes.Service{Tags: ours, DeploymentConfiguration: breaker}, serviceWant{stack: "s", targetGroup: tg}, Change, true, false, "register with the load balancer's target group"},
		{"adopted, a load balancer asked for: registered too", ecstypes.Service{DeploymentConfiguration: breaker}, serviceWant{stack: "s", targetGroup: tg}, Change, true, false, "ECS starts new tasks"},
		{"ours, rollback alarms added in the config", ecstypes.Service{Tags: ours, DeploymentConfiguration: breaker}, serviceWant{stack: "s", alarms: []string{"s-5xx"}}, Change, false, true, "the config says [s-5xx]"},
		{"ours, the same alarms in another order", ecstypes.Service{Tags: ours, DeploymentConfiguration: withAlarms("b", "a")}, serviceWant{stack: "s", alarms: []string{"a", "b"}}, Exists, false, false, ""},
		{"adopted, alarms asked for: advice", ecstypes.Service{DeploymentConfiguration: breaker}, serviceWant{stack: "s", alarms: []string{"s-5xx"}}, Exists, false, false, "update-service"},
		{"adopted, alarms asked for, handed over", ecstypes.Service{DeploymentConfiguration: breaker}, serviceWant{stack: "s", alarms: []string{"s-5xx"}, managed: true}, Change, false, true, ""},
		{"adopted, no circuit breaker: advice", ecstypes.Service{}, serviceWant{stack: "s"}, Exists, false, false, "circuit breaker is off"},
		{"adopted blue/green, the config says rolling: advice only", ecstypes.Service{DeploymentConfiguration: blueGreen}, serviceWant{stack: "s"}, Exists, false, false, "does not move a service back"},
		{"ours, the config says blue/green", ecstypes.Service{Tags: ours, DeploymentConfiguration: breaker, LoadBalancers: behind}, serviceWant{stack: "s", targetGroup: tg, strategy: bg}, Change, false, false, "it deploys by ROLLING, the config says BLUE_GREEN"},
		{"adopted, the config says blue/green: advice with the command", ecstypes.Service{DeploymentConfiguration: breaker, LoadBalancers: behind}, serviceWant{cluster: "c", service: "s", stack: "s", targetGroup: tg, strategy: bg}, Exists, false, false, "aws ecs update-service --cluster c --service s"},
		{"ours, blue/green by hand, on someone's load balancer: left as it is", ecstypes.Service{Tags: ours, DeploymentConfiguration: blueGreen, LoadBalancers: behind}, serviceWant{stack: "s", targetGroup: tg, strategy: bg, keepStrategy: true}, Exists, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judgeService(&tc.svc, tc.want)
			if v.action() != tc.action || v.register != tc.register || v.alarms != tc.alarms {
				t.Errorf("judge = %s register %v alarms %v; want %s %v %v (changes %q, advice %q)", v.action(), v.register, v.alarms, tc.action, tc.register, tc.alarms, v.changes, v.advice)
			}
			if said := strings.Join(append(v.changes, v.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}

// TestJudgeCluster: the FARGATE capacity provider, without a server.
func TestJudgeCluster(t *testing.T) {
	t.Parallel()
	ours := ecsTag.list(map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"})
	for _, tc := range []struct {
		name      string
		cl        ecstypes.Cluster
		managed   bool
		action    Action
		providers bool
	}{
		{"ours, with FARGATE", ecstypes.Cluster{Tags: ours, CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}}, false, Exists, false},
		{"ours, without", ecstypes.Cluster{Tags: ours}, false, Change, true},
		{"the console's, without: advice", ecstypes.Cluster{}, false, Exists, false},
		{"the console's, handed over", ecstypes.Cluster{}, true, Change, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, providers := judgeCluster(&tc.cl, "s-cluster", "s", tc.managed)
			if f.action() != tc.action || providers != tc.providers || tc.action == Exists && tc.cl.Tags == nil && !strings.Contains(strings.Join(f.advice, ""), "put-cluster-capacity-providers --cluster s-cluster") {
				t.Errorf("judge = %s providers %v (advice %q); want %s %v", f.action(), providers, f.advice, tc.action, tc.providers)
			}
		})
	}
}
