package bootstrap_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/bootstrap"

	"github.com/autonote/deploy-action/internal/handoff"
)

// TestLoadBalancerEndpoint makes the baseline with endpoint:
// load-balancer, with and without a certificate, and checks from outside
// with the aws CLI what exists; a second apply changes nothing, and
// destroy takes it all.
func TestLoadBalancerEndpoint(t *testing.T) {
	t.Parallel()
	for _, https := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[https], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, false)
			ctx := context.Background()
			e.cfg.Endpoint = bootstrap.EndpointLoadBalancer
			if https {
				var cert struct{ CertificateArn string }
				e.cli(t, &cert, "acm", "request-certificate", "--domain-name", "api.autonote.example")
				e.cfg.CertificateARN, e.cfg.Domain = cert.CertificateArn, "api.autonote.example"
			}
			s := e.applyAsPlanned(t)
			o := s.Outputs()
			if o.LoadBalancerDNS == "" || o.TargetGroupARN == "" || len(o.AlarmNames) != 2 {
				t.Fatalf("outputs %+v lack the load balancer", o)
			}

			var lbs struct {
				LoadBalancers []struct {
					Scheme, Type      string
					SecurityGroups    []string
					AvailabilityZones []struct{ SubnetId string }
				}
			}
			e.cli(t, &lbs, "elbv2", "describe-load-balancers", "--names", e.cfg.Name+"-alb")
			if https {
				var tags struct {
					TagDescriptions []struct{ Tags []struct{ Key, Value string } }
				}
				e.cli(t, &tags, "elbv2", "describe-tags", "--resource-arns", o.LoadBalancerARN)
				if len(tags.TagDescriptions) != 1 || !slices.Contains(tags.TagDescriptions[0].Tags, struct{ Key, Value string }{handoff.DomainTag, "api.autonote.example"}) {
					t.Errorf("load balancer tags = %+v, want its domain for the action's url and smoke check", tags)
				}
			}
			if lb := lbs.LoadBalancers; len(lb) != 1 || lb[0].Scheme != "internet-facing" || lb[0].Type != "application" ||
				!slices.Equal(lb[0].SecurityGroups, []string{o.LoadBalancerSecurityGroupID}) || len(lb[0].AvailabilityZones) != 2 {
				t.Errorf("load balancer = %+v, want an internet-facing ALB in the two public subnets with its own group", lbs)
			}
			var tgs struct {
				TargetGroups []struct {
					TargetType, HealthCheckPath, Protocol string
					Port                                  int
					Matcher                               struct{ HttpCode string }
					HealthCheckIntervalSeconds            int
					HealthCheckTimeoutSeconds             int
					HealthyThresholdCount                 int
					UnhealthyThresholdCount               int
				}
			}
			e.cli(t, &tgs, "elbv2", "describe-target-groups", "--target-group-arns", o.TargetGroupARN)
			if tg := tgs.TargetGroups; len(tg) != 1 || tg[0].TargetType != "ip" || tg[0].Port != 3000 || tg[0].HealthCheckPath != "/" || tg[0].Matcher.HttpCode != "200-399" {
				t.Errorf("target group = %+v, want ip targets on 3000, checked on /", tgs)
			} else if tg[0].HealthCheckIntervalSeconds != 5 || tg[0].HealthCheckTimeoutSeconds != 3 || tg[0].HealthyThresholdCount != 2 || tg[0].UnhealthyThresholdCount != 2 {
				t.Errorf("target group's health check = %+v, want every 5 s, 3 s timeout, 2 healthy, 2 unhealthy", tg[0])
			}
			var attrs struct{ Attributes []struct{ Key, Value string } }
			e.cli(t, &attrs, "elbv2", "describe-target-group-attributes", "--target-group-arn", o.TargetGroupARN)
			if !slices.Contains(attrs.Attributes, struct{ Key, Value string }{"deregistration_delay.timeout_seconds", "10"}) {
				t.Errorf("target group attributes = %+v, want a 10 s deregistration delay", attrs)
			}
			var ls struct {
				Listeners []struct {
					Port           int
					Protocol       string
					SslPolicy      string
					DefaultActions []struct{ Type string }
				}
			}
			e.cli(t, &ls, "elbv2", "describe-listeners", "--load-balancer-arn", o.LoadBalancerARN)
			got := map[int]string{}
			for _, l := range ls.Listeners {
				got[l.Port] = l.Protocol + " " + l.DefaultActions[0].Type
				if l.Protocol == "HTTPS" {
					got[l.Port] += " " + l.SslPolicy
				}
			}
			want := map[int]string{80: "HTTP forward "}
			if https {
				want = map[int]string{80: "HTTP redirect ", 443: "HTTPS forward ELBSecurityPolicy-TLS13-1-2-2021-06"}
			}
			for p, w := range want {
				if strings.TrimSpace(got[p]) != strings.TrimSpace(w) {
					t.Errorf("listener %d = %q, want %q", p, got[p], w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("listeners %v, want %v", got, want)
			}

			var groups struct {
				SecurityGroups []struct {
					GroupId       string
					IpPermissions []struct {
						FromPort         int
						IpRanges         []struct{ CidrIp string }
						UserIdGroupPairs []struct{ GroupId string }
					}
				}
			}
			e.cli(t, &groups, "ec2", "describe-security-groups", "--group-ids", o.SecurityGroupID, o.LoadBalancerSecurityGroupID)
			for _, g := range groups.SecurityGroups {
				for _, p := range g.IpPermissions {
					switch {
					case g.GroupId == o.SecurityGroupID && (p.FromPort != 3000 || len(p.IpRanges) != 0 || len(p.UserIdGroupPairs) != 1 || p.UserIdGroupPairs[0].GroupId != o.LoadBalancerSecurityGroupID):
						t.Errorf("tasks' group admits %+v, want port 3000 from the load balancer's group alone", p)
					case g.GroupId == o.LoadBalancerSecurityGroupID && (p.FromPort != 80 && p.FromPort != 443 || len(p.IpRanges) != 1 || p.IpRanges[0].CidrIp != "0.0.0.0/0"):
						t.Errorf("load balancer's group admits %+v, want 80/443 from ingress-cidrs", p)
					}
				}
			}
			var svc struct {
				Services []struct {
					LoadBalancers                 []struct{ TargetGroupArn, ContainerName string }
					HealthCheckGracePeriodSeconds int
					DeploymentConfiguration       struct {
						Alarms struct {
							AlarmNames       []string
							Enable, Rollback bool
						}
					}
				}
			}
			e.cli(t, &svc, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service, "--endpoint-url", e.bed.ECSURL)
			if sv := svc.Services; len(sv) != 1 || len(sv[0].LoadBalancers) != 1 || sv[0].LoadBalancers[0].TargetGroupArn != o.TargetGroupARN ||
				sv[0].HealthCheckGracePeriodSeconds != 60 || !slices.Equal(sv[0].DeploymentConfiguration.Alarms.AlarmNames, o.AlarmNames) || !sv[0].DeploymentConfiguration.Alarms.Rollback {
				t.Errorf("service = %+v, want it behind the target group with the two alarms rolling back", svc)
			}
			var alarms struct {
				MetricAlarms []struct {
					MetricName string
					Dimensions []struct{ Name, Value string }
				}
			}
			e.cli(t, &alarms, "cloudwatch", "describe-alarms", "--alarm-names", o.AlarmNames[0], o.AlarmNames[1])
			if len(alarms.MetricAlarms) != 2 || alarms.MetricAlarms[0].Dimensions[0].Value == "" {
				t.Errorf("alarms = %+v", alarms)
			}

			again := e.stack(t, 0)
			if _, err := again.Apply(ctx, nil); err != nil || e.calls.Mutating() != 0 {
				t.Errorf("second apply: %v after %d mutating calls (%v), want none", err, e.calls.Mutating(), e.calls.Ops())
			}
			if _, err := e.stack(t, 0).Destroy(ctx, nil); err != nil {
				t.Fatal(err)
			}
			e.cli(t, &tgs, "elbv2", "describe-target-groups")
			e.cli(t, &alarms, "cloudwatch", "describe-alarms", "--alarm-names", o.AlarmNames[0], o.AlarmNames[1])
			var left struct {
				LoadBalancers []struct{ LoadBalancerName string }
			}
			e.cli(t, &left, "elbv2", "describe-load-balancers")
			for _, lb := range left.LoadBalancers {
				if lb.LoadBalancerName == e.cfg.Name+"-alb" {
					t.Error("destroy left the load balancer")
				}
			}
			if len(alarms.MetricAlarms) != 0 {
				t.Errorf("destroy left alarms %+v", alarms)
			}
		})
	}
}

// TestMoveToLoadBalancer moves a public-ip baseline behind a load balancer
// without closing the port to clients that still call the tasks, then
// closes it: each step planned first, each re-plan empty.
func TestMoveToLoadBalancer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	e.applyAsPlanned(t)
	plan := func() map[string]string {
		t.Helper()
		steps, err := e.stack(t, 0).Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, st := range steps {
			if st.Action == bootstrap.Create || st.Action == bootstrap.Change {
				out[st.Kind] = string(st.Action) + ": " + st.Detail
			}
		}
		return out
	}
	e.cfg.Endpoint, e.cfg.TaskIngressCIDRs = bootstrap.EndpointLoadBalancer, []string{"0.0.0.0/0"}
	got := plan()
	for _, kind := range []string{"load balancer security group", "target group", "load balancer", "ingress from the load balancer", "alarms", "ECS service"} {
		if got[kind] == "" {
			t.Errorf("step 1 plan lacks %s: %v", kind, got)
		}
	}
	if got["security group"] != "" {
		t.Errorf("step 1 changes the tasks' group (%s): clients on the tasks' addresses would lose the API", got["security group"])
	}
	e.applyAsPlanned(t)
	if got := plan(); len(got) != 0 {
		t.Errorf("plan after step 1: %v, want nothing", got)
	}
	e.cfg.TaskIngressCIDRs = nil
	if !strings.Contains(got["ECS service"], "ECS starts new tasks") {
		t.Errorf("step 1 plan does not say the service's registration starts new tasks: %q", got["ECS service"])
	}
	if got := plan(); len(got) != 1 || !strings.Contains(got["security group"], "ingress tcp 3000 from 0.0.0.0/0 is not in the config (clients that reach port 3000 from there lose access") {
		t.Errorf("step 2 plan = %v, want only the port closed to the world", got)
	}
	e.applyAsPlanned(t)
	if got := plan(); len(got) != 0 {
		t.Errorf("plan after step 2: %v, want nothing", got)
	}
}

func TestNetworkDiagramShowsTheLoadBalancer(t *testing.T) {
	t.Parallel()
	cfg := bootstrap.Default()
	if d := bootstrap.NetworkDiagram(cfg, bootstrap.Outputs{}); strings.Contains(d, "alb") || !strings.Contains(d, "0.0.0.0/0") {
		t.Errorf("public-ip diagram:\n%s", d)
	}
	cfg.Endpoint, cfg.CertificateARN = bootstrap.EndpointLoadBalancer, "arn:aws:acm:us-east-1:123456789012:certificate/x"
	d := bootstrap.NetworkDiagram(cfg, bootstrap.Outputs{LoadBalancerDNS: "autonote-alb-1.us-east-1.elb.amazonaws.com"})
	for _, want := range []string{`alb["autonote-alb<br/>HTTPS 443, HTTP 80 → 443<br/>autonote-alb-1.us-east-1.elb.amazonaws.com"]`, "port 3000<br/>from the load balancer", "igw --> alb", "alb --> svc"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagram lacks %q:\n%s", want, d)
		}
	}
	cfg.DeploymentStrategy = bootstrap.StrategyCanary
	if d := bootstrap.NetworkDiagram(cfg, bootstrap.Outputs{}); !strings.Contains(d, "canary: autonote-tg ⇄ autonote-tg2, test rule X-Deploy-Test") {
		t.Errorf("canary diagram lacks the two target groups and the test rule:\n%s", d)
	}
}
