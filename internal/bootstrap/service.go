package bootstrap

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/handoff"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// service is the ECS service that runs the app.
type service struct {
	s *Stack
	// config is the found service's deployment configuration; alarms is
	// true when change is to set rollback-alarms on it.
	config *ecstypes.DeploymentConfiguration
	alarms bool
	// register is true when change is to put the service behind the
	// target group; settings, when it is to write the strategy's settings
	// and load balancer entry; gates, its PAUSE hooks.
	register, settings, gates bool
	// primary is the found service's target group of the two (ECS swaps
	// them at each deploy of a strategy that shifts traffic).
	primary string
}

func (v *service) describe() (string, string) { return "ECS service", v.s.cfg.Service }
func (v *service) stage() int                 { return 5 }

func (v *service) find(ctx context.Context) (found, error) {
	s := v.s
	svc, err := v.read(ctx)
	if err != nil || svc == nil {
		return found{}, err
	}
	s.set(func(o *Outputs) { o.ServiceARN = aws.ToString(svc.ServiceArn) })
	v.config = svc.DeploymentConfiguration
	w := serviceWant{cluster: s.cfg.Cluster, service: s.cfg.Service, stack: s.cfg.Name, alarms: s.deploymentAlarmNames(),
		managed: slices.Contains(s.cfg.Manage, "service"), strategy: s.strategyWant()}
	if s.behindLoadBalancer() {
		// Before the target group is made (a plan), the service is not
		// registered with it either: the plan shows the change apply makes.
		w.targetGroup = cmp.Or(s.get().TargetGroupARN, "target group "+s.name("tg")+" (made by this apply)")
	}
	w.keepStrategy = s.rulesSkipped() // no rules to shift on: its strategy is left as it is
	verdict := judgeService(svc, w)
	v.register, v.alarms, v.settings, v.gates, v.primary = verdict.register, verdict.alarms, verdict.settings, verdict.gates, verdict.primary
	return verdict.found, nil
}

// read is the service discover found, or, when it found none, the one of
// the config's name (made by this run or by an earlier one whose answer
// was lost): nil when there is none yet.
func (v *service) read(ctx context.Context) (*ecstypes.Service, error) {
	s := v.s
	if s.found.service != nil {
		return s.found.service, nil
	}
	if s.get().ClusterARN == "" {
		return nil, nil
	}
	out, err := s.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.cfg.Cluster), Services: []string{s.cfg.Service}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s: %w", s.cfg.Service, err)
	}
	for i := range out.Services {
		if aws.ToString(out.Services[i].Status) == "ACTIVE" {
			return &out.Services[i], nil
		}
	}
	return nil, nil
}

// serviceWant is what the config asks of the service.
type serviceWant struct {
	cluster, service, stack string
	targetGroup             string // behind a load balancer: the target group it registers with
	alarms                  []string
	managed                 bool
	strategy                strategyWant
	keepStrategy            bool // the strategy is not judged
}

// serviceVerdict is what the judge found and what apply is to change.
type serviceVerdict struct {
	found
	register, alarms, settings, gates bool
	primary                           string
}

// judgeService compares the service with the config: registered with the
// target group behind a load balancer (an adopted service too: the
// endpoint asks for it), its rollback alarms, and its circuit breaker.
func judgeService(svc *ecstypes.Service, want serviceWant) serviceVerdict {
	arn := aws.ToString(svc.ServiceArn)
	v := serviceVerdict{found: found{owner: ownerOf(ecsTag.of(svc.Tags), want.stack), whose: whoseOf(ecsTag.of(svc.Tags), want.stack), id: arn}}
	// A service that shifts traffic (blue/green) alternates between its two
	// target groups: ours as the alternate one is registered too.
	registered := func(l ecstypes.LoadBalancer) bool {
		return aws.ToString(l.TargetGroupArn) == want.targetGroup ||
			l.AdvancedConfiguration != nil && aws.ToString(l.AdvancedConfiguration.AlternateTargetGroupArn) == want.targetGroup
	}
	if tg := want.targetGroup; tg != "" && !slices.ContainsFunc(svc.LoadBalancers, registered) {
		v.changes = append(v.changes, "register with the load balancer's target group (endpoint: load-balancer); ECS starts new tasks")
		v.register = true
	}
	if len(want.alarms) > 0 {
		var have []string
		if c := svc.DeploymentConfiguration; c != nil && c.Alarms != nil && c.Alarms.Enable && c.Alarms.Rollback {
			have = slices.Sorted(slices.Values(c.Alarms.AlarmNames))
		}
		if !slices.Equal(have, slices.Sorted(slices.Values(want.alarms))) {
			v.alarms = sortDrift(&v.found, "service", want.managed, []drift{{
				fmt.Sprintf("deployment alarms with rollback are [%s], the config says [%s]", strings.Join(have, ", "), strings.Join(want.alarms, ", ")),
				fmt.Sprintf("aws ecs update-service --cluster %s --service %s --deployment-configuration 'alarms={alarmNames=[%s],enable=true,rollback=true}'", want.cluster, want.service, strings.Join(want.alarms, ",")),
			}})
		}
	}
	v.primary = want.targetGroup
	if p := want.strategy.primary(svc.LoadBalancers); want.strategy.shifts() && p != "" {
		v.primary = p
	}
	switch sv := judgeStrategy(svc, want.strategy, want.cluster, want.service); {
	case want.keepStrategy: // the listener rules were not made: nothing to judge it against
	case sv.back:
		v.advice = append(v.advice, sv.drifts[0].what)
	case len(sv.drifts) > 0 && sortDrift(&v.found, "service", want.managed, sv.drifts):
		v.settings, v.gates = sv.settings, sv.gates
	}
	if cb := svc.DeploymentConfiguration; v.owner == OwnerAdopted && (cb == nil || cb.DeploymentCircuitBreaker == nil || !cb.DeploymentCircuitBreaker.Enable) {
		v.advice = append(v.advice, fmt.Sprintf("its deployment circuit breaker is off (a failed rollout runs until someone stops it; the action still rolls back itself): aws ecs update-service --cluster %s --service %s --deployment-configuration 'deploymentCircuitBreaker={enable=true,rollback=true}'",
			want.cluster, want.service))
	}
	return v
}

func (v *service) create(ctx context.Context) (string, error) {
	s := v.s
	o := s.get()
	// The placeholder image does not exist yet: the service starts at zero
	// tasks, and the first deploy scales it to desired-count, which it
	// reads from this tag.
	tags := append(ecsTag.list(s.tagMap()), ecstypes.Tag{Key: aws.String(handoff.DesiredCountTag), Value: aws.String(fmt.Sprint(s.cfg.DesiredCount))})
	out, err := s.c.ECS.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(s.cfg.Cluster), ServiceName: aws.String(s.cfg.Service), TaskDefinition: aws.String(o.TaskDefinitionARN),
		DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate, Tags: tags, PropagateTags: ecstypes.PropagateTagsService,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: o.PublicSubnetIDs, SecurityGroups: o.SecurityGroupIDs, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
		}},
		DeploymentConfiguration: s.strategyWant().deploymentConfiguration(&ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			MaximumPercent:           aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
			Alarms: s.deploymentAlarms(),
		}, true),
		LoadBalancers:                 s.serviceLoadBalancers(o.TargetGroupARN, true),
		HealthCheckGracePeriodSeconds: s.healthGrace(),
	})
	if err != nil {
		return "", fmt.Errorf("create service %s: %w", s.cfg.Service, err)
	}
	s.set(func(o *Outputs) { o.ServiceARN = aws.ToString(out.Service.ServiceArn) })
	return v.s.get().ServiceARN, nil
}

// change puts the service behind the target group, sets the deployment
// alarms (the config's and the load balancer's), and the strategy's
// settings, with nothing else of its deployment configuration. A move to a
// strategy that shifts traffic is two updates: the strategy and the load
// balancer entry first (an update of loadBalancers starts a deployment of
// the running revision, which then shifts with no gate: it is the build
// users are served already), then the PAUSE hooks, which hold the next
// deploy's build for its smoke check.
func (v *service) change(ctx context.Context) error {
	s := v.s
	have := v.config
	in := &ecs.UpdateServiceInput{Cluster: aws.String(s.cfg.Cluster), Service: aws.String(s.cfg.Service)}
	if v.alarms || v.settings {
		c := cloneConfig(have)
		if v.settings {
			c = s.strategyWant().deploymentConfiguration(have, false)
		}
		if v.alarms {
			c.Alarms = s.deploymentAlarms()
		}
		in.DeploymentConfiguration, have = c, c
	}
	if v.register || v.settings {
		in.LoadBalancers, in.HealthCheckGracePeriodSeconds = s.serviceLoadBalancers(cmp.Or(v.primary, s.get().TargetGroupARN), v.settings), s.healthGrace()
	}
	if in.DeploymentConfiguration != nil || in.LoadBalancers != nil {
		if _, err := s.c.ECS.UpdateService(ctx, in); err != nil {
			return fmt.Errorf("update service %s: %w", s.cfg.Service, err)
		}
	}
	if !v.gates {
		return nil
	}
	_, err := s.c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(s.cfg.Cluster), Service: aws.String(s.cfg.Service),
		DeploymentConfiguration: s.strategyWant().deploymentConfiguration(have, true)})
	return wrap("set the PAUSE hooks of service "+s.cfg.Service, err)
}

// healthGraceSeconds is how long a new task may fail the load balancer's
// health check while the app starts.
const healthGraceSeconds = 60

func (s *Stack) healthGrace() *int32 {
	if !s.behindLoadBalancer() {
		return nil
	}
	return aws.Int32(healthGraceSeconds)
}

// serviceLoadBalancers registers the container's port in the target group
// (primary), with, when shift, what ECS shifts traffic with.
func (s *Stack) serviceLoadBalancers(primary string, shift bool) []ecstypes.LoadBalancer {
	if !s.behindLoadBalancer() {
		return nil
	}
	w := strategyWant{strategy: ecstypes.DeploymentStrategyRolling}
	if shift {
		w = s.strategyWant()
	}
	return []ecstypes.LoadBalancer{w.loadBalancer(primary, s.containerName(), s.cfg.ContainerPort)}
}

// containerName is the app's container: the running task definition's,
// else the config's.
func (s *Stack) containerName() string {
	if c := s.found.container; c != nil {
		return aws.ToString(c.Name)
	}
	return s.cfg.Container
}

// deploymentAlarmNames are the config's rollback-alarms and the load
// balancer's alarms.
func (s *Stack) deploymentAlarmNames() []string {
	return append(slices.Clone(s.cfg.RollbackAlarms), s.alarmNames()...)
}

// deploymentAlarms are the deployment alarms as ECS takes them, or nil
// when there are none.
func (s *Stack) deploymentAlarms() *ecstypes.DeploymentAlarms {
	names := s.deploymentAlarmNames()
	if len(names) == 0 {
		return nil
	}
	return &ecstypes.DeploymentAlarms{AlarmNames: names, Enable: true, Rollback: true}
}

// checkAlarms makes sure every alarm rollback-alarms names exists, before
// anything changes: ECS takes a name it cannot find and never fails on it.
func (s *Stack) checkAlarms(ctx context.Context) error {
	want := s.cfg.RollbackAlarms
	if len(want) == 0 {
		return nil
	}
	out, err := s.c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: want,
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil {
		return fmt.Errorf("rollback-alarms: describe alarms: %w", err)
	}
	have := map[string]bool{}
	for _, a := range out.MetricAlarms {
		have[aws.ToString(a.AlarmName)] = true
	}
	for _, a := range out.CompositeAlarms {
		have[aws.ToString(a.AlarmName)] = true
	}
	var missing []string
	for _, n := range want {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("rollback-alarms: no CloudWatch alarm %s in %s: create it first (aws cloudwatch put-metric-alarm), or remove it from the config", strings.Join(missing, ", "), s.cfg.Region)
	}
	return nil
}

func (v *service) destroy(ctx context.Context) error {
	_, err := v.s.c.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(v.s.cfg.Cluster), Service: aws.String(v.s.cfg.Service), Force: aws.Bool(true)})
	return wrap("delete service "+v.s.cfg.Service, err)
}
