package ecssim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// service is the simulator's state of one ECS service.
type service struct {
	svc      types.Service
	rollouts []*rollout // newest first; the first is PRIMARY
	events   []types.ServiceEvent
	tasks    []*types.Task
	history  []*rollout      // every deployment, newest first, up to maxHistory
	firing   []string        // deployment alarms in ALARM, as last read
	targets  map[string]bool // private addresses registered in its target groups
	weights  map[string]int  // listener rule -> the percent last written to the alternate target group
}

// rollout is one deployment and the scenario it follows.
type rollout struct {
	d        types.Deployment
	scenario Scenario
	start    time.Time
	step     int
	tasks    []*types.Task
	// rolledBackBy is ECS's own return from this rollout, when it failed
	// and the circuit breaker or an alarm rolled it back; rollback marks
	// that return.
	rolledBackBy *rollout
	rollback     bool
	// shift is the state of a deployment that shifts traffic (shift.go);
	// nil for a rolling update.
	shift *shift
}

func (s *Simulator) clusterARN(ctx context.Context, c *call, cluster *string) (string, error) {
	name := aws.ToString(cluster)
	if name == "" {
		name = "default"
	}
	out, err := c.moto.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}})
	if err != nil {
		return "", fmt.Errorf("describe cluster in moto: %w", err)
	}
	for _, cl := range out.Clusters {
		if aws.ToString(cl.Status) == "ACTIVE" {
			return aws.ToString(cl.ClusterArn), nil
		}
	}
	return "", &apiError{Type: "ClusterNotFoundException", Message: "Cluster not found."}
}

func (s *Simulator) taskDefinition(ctx context.Context, c *call, ref string) (string, []types.ContainerDefinition, error) {
	out, err := c.moto.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		return "", nil, &apiError{Type: "InvalidParameterException", Message: "TaskDefinition not found."}
	}
	s.readSecrets(ctx, c.region, out.TaskDefinition)
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), out.TaskDefinition.ContainerDefinitions, nil
}

func serviceKey(clusterARN, name string) string { return clusterARN + "/" + nameOf(name) }

func (s *Simulator) createService(ctx context.Context, c *call) (any, error) {
	var in ecs.CreateServiceInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	clusterARN, err := s.clusterARN(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	tdARN, containers, err := s.taskDefinition(ctx, c, aws.ToString(in.TaskDefinition))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := serviceKey(clusterARN, aws.ToString(in.ServiceName))
	if old, ok := s.services[key]; ok && aws.ToString(old.svc.Status) == "ACTIVE" {
		return nil, &apiError{Type: "InvalidParameterException", Message: "Creation of service was not idempotent."}
	}
	s.containers[tdARN] = containers
	now := s.now()
	cfg := in.DeploymentConfiguration
	if cfg == nil {
		cfg = &types.DeploymentConfiguration{}
	}
	if cfg.MaximumPercent == nil {
		cfg.MaximumPercent = aws.Int32(200)
	}
	if cfg.MinimumHealthyPercent == nil {
		cfg.MinimumHealthyPercent = aws.Int32(100)
	}
	if cfg.DeploymentCircuitBreaker == nil {
		cfg.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{}
	}
	launch := in.LaunchType
	if launch == "" && len(in.CapacityProviderStrategy) == 0 {
		launch = types.LaunchTypeEc2
	}
	account := accountOf(clusterARN)
	desired := aws.ToInt32(in.DesiredCount)
	sv := &service{svc: types.Service{
		ServiceArn:                    aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", c.region, account, nameOf(clusterARN), aws.ToString(in.ServiceName))),
		ServiceName:                   in.ServiceName,
		ClusterArn:                    aws.String(clusterARN),
		Status:                        aws.String("ACTIVE"),
		DesiredCount:                  desired,
		LaunchType:                    launch,
		CapacityProviderStrategy:      in.CapacityProviderStrategy,
		PlatformVersion:               in.PlatformVersion,
		TaskDefinition:                aws.String(tdARN),
		DeploymentConfiguration:       cfg,
		DeploymentController:          &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		NetworkConfiguration:          in.NetworkConfiguration,
		SchedulingStrategy:            types.SchedulingStrategyReplica,
		CreatedAt:                     aws.Time(now),
		CreatedBy:                     aws.String(fmt.Sprintf("arn:aws:iam::%s:role/ecssim", account)),
		EnableECSManagedTags:          in.EnableECSManagedTags,
		PropagateTags:                 in.PropagateTags,
		Tags:                          in.Tags,
		LoadBalancers:                 in.LoadBalancers,
		HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
	}}
	s.services[key] = sv
	sv.remember(s.startRollout(sv, tdARN, now))
	s.advance(sv)
	return &ecs.CreateServiceOutput{Service: sv.view()}, nil
}

func (s *Simulator) findService(ctx context.Context, c *call, cluster *string, name string) (*service, error) {
	clusterARN, err := s.clusterARN(ctx, c, cluster)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.services[serviceKey(clusterARN, name)]
	if !ok {
		return nil, &apiError{Type: "ServiceNotFoundException", Message: "Service not found."}
	}
	if aws.ToString(sv.svc.Status) != "ACTIVE" {
		return nil, &apiError{Type: "ServiceNotActiveException", Message: "Service was not ACTIVE."}
	}
	return sv, nil
}

func (s *Simulator) updateService(ctx context.Context, c *call) (any, error) {
	var in ecs.UpdateServiceInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	sv, err := s.findService(ctx, c, in.Cluster, aws.ToString(in.Service))
	if err != nil {
		return nil, err
	}
	var tdARN string
	var containers []types.ContainerDefinition
	if in.TaskDefinition != nil {
		if tdARN, containers, err = s.taskDefinition(ctx, c, aws.ToString(in.TaskDefinition)); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(sv)
	now := s.now()
	if in.DeploymentConfiguration != nil {
		sv.svc.DeploymentConfiguration = in.DeploymentConfiguration
	}
	if in.NetworkConfiguration != nil {
		sv.svc.NetworkConfiguration = in.NetworkConfiguration
	}
	if in.LoadBalancers != nil {
		sv.svc.LoadBalancers = in.LoadBalancers
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		sv.svc.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
	}
	scaled := in.DesiredCount != nil && *in.DesiredCount != sv.svc.DesiredCount
	if in.DesiredCount != nil {
		sv.svc.DesiredCount = *in.DesiredCount
	}
	current := aws.ToString(sv.svc.TaskDefinition)
	switch {
	case tdARN != "" && tdARN != current, in.ForceNewDeployment:
		if tdARN == "" {
			tdARN = current
		} else {
			s.containers[tdARN] = containers
		}
		sv.svc.TaskDefinition = aws.String(tdARN)
		sv.remember(s.startRollout(sv, tdARN, now))
	case scaled:
		p := sv.rollouts[0]
		p.d.DesiredCount = sv.svc.DesiredCount
		s.scale(sv, p, now)
	}
	s.advance(sv)
	return &ecs.UpdateServiceOutput{Service: sv.view()}, nil
}

func (s *Simulator) describeServices(ctx context.Context, c *call) (any, error) {
	var in ecs.DescribeServicesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	clusterARN, err := s.clusterARN(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.DescribeServicesOutput{Services: []types.Service{}, Failures: []types.Failure{}}
	for _, name := range in.Services {
		sv, ok := s.services[serviceKey(clusterARN, name)]
		if !ok {
			out.Failures = append(out.Failures, types.Failure{
				Arn:    aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", c.region, accountOf(clusterARN), nameOf(clusterARN), nameOf(name))),
				Reason: aws.String("MISSING"),
			})
			continue
		}
		s.advance(sv)
		out.Services = append(out.Services, *sv.view())
	}
	return out, nil
}

func (s *Simulator) listServices(ctx context.Context, c *call) (any, error) {
	var in ecs.ListServicesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	clusterARN, err := s.clusterARN(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.ListServicesOutput{ServiceArns: []string{}}
	for key, sv := range s.services {
		if strings.HasPrefix(key, clusterARN+"/") && aws.ToString(sv.svc.Status) == "ACTIVE" {
			out.ServiceArns = append(out.ServiceArns, aws.ToString(sv.svc.ServiceArn))
		}
	}
	slices.Sort(out.ServiceArns)
	return out, nil
}

func (s *Simulator) deleteService(ctx context.Context, c *call) (any, error) {
	var in ecs.DeleteServiceInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	sv, err := s.findService(ctx, c, in.Cluster, aws.ToString(in.Service))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv.svc.DesiredCount > 0 && !aws.ToBool(in.Force) {
		return nil, &apiError{Type: "InvalidParameterException", Message: "The service cannot be stopped while it is scaled above 0."}
	}
	now := s.now()
	for _, t := range sv.tasks {
		stopTask(t, now, "Service deleted")
	}
	sv.svc.Status = aws.String("INACTIVE")
	view := sv.view()
	view.Status = aws.String("DRAINING")
	delete(s.services, serviceKey(aws.ToString(sv.svc.ClusterArn), aws.ToString(sv.svc.ServiceName)))
	return &ecs.DeleteServiceOutput{Service: view}, nil
}

func (s *Simulator) listTasks(ctx context.Context, c *call) (any, error) {
	var in ecs.ListTasksInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	clusterARN, err := s.clusterARN(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	want := string(in.DesiredStatus)
	if want == "" {
		want = "RUNNING" // as ECS: ListTasks filters on RUNNING unless told
	}
	if err := s.writeTaskLogs(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.ListTasksOutput{TaskArns: []string{}}
	if in.ServiceName == nil {
		for _, o := range s.oneOffs {
			if aws.ToString(o.t.ClusterArn) == clusterARN && aws.ToString(o.t.DesiredStatus) == want &&
				(in.StartedBy == nil || aws.ToString(o.t.StartedBy) == aws.ToString(in.StartedBy)) {
				out.TaskArns = append(out.TaskArns, aws.ToString(o.t.TaskArn))
			}
		}
	}
	for key, sv := range s.services {
		if !strings.HasPrefix(key, clusterARN+"/") {
			continue
		}
		if in.ServiceName != nil && nameOf(aws.ToString(in.ServiceName)) != aws.ToString(sv.svc.ServiceName) {
			continue
		}
		s.advance(sv)
		for _, t := range sv.tasks {
			if aws.ToString(t.DesiredStatus) != want {
				continue
			}
			if in.StartedBy != nil && aws.ToString(t.StartedBy) != aws.ToString(in.StartedBy) {
				continue
			}
			out.TaskArns = append(out.TaskArns, aws.ToString(t.TaskArn))
		}
	}
	return out, nil
}

func (s *Simulator) describeTasks(ctx context.Context, c *call) (any, error) {
	var in ecs.DescribeTasksInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	clusterARN, err := s.clusterARN(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) > 100 {
		return nil, &apiError{Type: "InvalidParameterException", Message: "Tasks cannot contain more than 100 elements."}
	}
	if err := s.writeTaskLogs(ctx); err != nil {
		return nil, err
	}
	byARN := map[string]*types.Task{}
	s.mu.Lock()
	for _, o := range s.oneOffs {
		if aws.ToString(o.t.ClusterArn) == clusterARN {
			byARN[aws.ToString(o.t.TaskArn)] = o.t
		}
	}
	for key, sv := range s.services {
		if strings.HasPrefix(key, clusterARN+"/") {
			s.advance(sv)
			for _, t := range sv.tasks {
				byARN[aws.ToString(t.TaskArn)] = t
			}
		}
	}
	var asked []*types.Task
	for _, arn := range in.Tasks {
		if t, ok := byARN[arn]; ok {
			asked = append(asked, t)
		}
	}
	s.mu.Unlock()
	if err := s.attachNetworks(ctx, asked); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.DescribeTasksOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	for _, arn := range in.Tasks {
		t, ok := byARN[arn]
		if !ok {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.Tasks = append(out.Tasks, *t)
	}
	return out, nil
}

// view is the service as DescribeServices shows it.
func (sv *service) view() *types.Service {
	v := sv.svc
	v.Deployments = nil
	var running, pending int32
	for _, r := range sv.rollouts {
		v.Deployments = append(v.Deployments, r.d)
		running += r.d.RunningCount
		pending += r.d.PendingCount
	}
	v.RunningCount, v.PendingCount = running, pending
	v.Events = slices.Clone(sv.events)
	if len(v.Events) > 100 {
		v.Events = v.Events[:100]
	}
	return &v
}

func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 5 {
		return "123456789012"
	}
	return parts[4]
}

func nameOf(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
