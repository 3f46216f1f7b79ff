package testbed

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed/awsjudge"
)

// Region is the region every test bed resource lives in.
const Region = "us-east-1"

// ECRPassword is the registry password moto's GetAuthorizationToken hands
// out; the test bed's registries accept only it, which proves a client logged
// in with ECR's credentials.
const ECRPassword = "123456789012-auth-token"

// Bed is one test's view of the test bed: moto, a simulator of its own in
// front of it, and a registry of its own. Every request it sends is judged
// (Moto.Judge) against the session of its own credentials.
type Bed struct {
	Moto     *Moto
	Sim      *ecssim.Simulator
	ECSURL   string // the simulator, behind the judge
	Registry string // host:port of the registry
	servers  []*httptest.Server
	writes   *atomic.Int64
	session  *awsjudge.Session
	proxied  string // the docker-registry UseRegistry put behind the judge

	// The credentials its clients and environment sign with: the bed's
	// admin, or a role's (As).
	accessKey, secretKey, sessionToken string
	role                               string
}

// New starts a bed for a test (Start), stops it when the test ends, and
// fails the test with every request of it that AWS would have refused.
func New(t testing.TB, moto *Moto, opts ...ecssim.Option) *Bed {
	t.Helper()
	b, err := Start(moto, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		for _, v := range b.Violations() {
			t.Errorf("the test bed judged a request as AWS would: %s", v)
		}
	})
	return b
}

// Start starts a simulator in front of moto (behind the judge) and an
// in-process registry, with admin credentials of its own.
func Start(moto *Moto, opts ...ecssim.Option) (*Bed, error) {
	key := "AKIATESTBED" + strings.ToUpper(rand.Text()[:9])
	b := &Bed{Moto: moto, session: moto.Judge.Session(key), accessKey: key, secretKey: "testing", writes: &atomic.Int64{}}
	// What ECS does as a service's infrastructure role (moving its
	// traffic) goes through the judge with that role's credentials.
	actAs := ecssim.WithActingRoles(func(ctx context.Context, role string) (aws.Config, error) {
		v, err := b.As(ctx, role)
		if err != nil {
			return aws.Config{}, err
		}
		return v.Config(), nil
	})
	sim, err := ecssim.New(moto.Direct, append([]ecssim.Option{actAs}, opts...)...)
	if err != nil {
		return nil, err
	}
	ecsSrv := httptest.NewServer(moto.Judge.Handler(sim))
	b.Sim, b.ECSURL = sim, ecsSrv.URL
	// The registry admits ECR's password; the judge in front of it holds
	// each push and pull to the IAM actions ECR authorizes it as.
	regHandler := moto.Judge.Registry(Region, ECRPassword, BasicAuth("AWS", ECRPassword, registry.New(registry.Logger(log.New(discard{}, "", 0)))))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			b.writes.Add(1)
		}
		regHandler.ServeHTTP(w, r)
	}))
	b.Registry, b.servers = strings.TrimPrefix(reg.URL, "http://"), []*httptest.Server{ecsSrv, reg}
	return b, nil
}

// UseRegistry makes a running docker-registry the bed's registry, behind
// the judge (as the in-process one is), and returns the host it answers on.
func (b *Bed) UseRegistry(reg *Registry) string {
	if b.proxied == reg.Host {
		return b.Registry
	}
	b.proxied = reg.Host
	target, _ := neturl.Parse("http://" + reg.Host)
	srv := httptest.NewServer(b.Moto.Judge.Registry(Region, ECRPassword, httputil.NewSingleHostReverseProxy(target)))
	b.servers = append(b.servers, srv)
	b.Registry = strings.TrimPrefix(srv.URL, "http://")
	return b.Registry
}

// RegistryWrites is how many requests that change something (PUT, POST,
// PATCH, DELETE) the bed's registry has had.
func (b *Bed) RegistryWrites() int64 { return b.writes.Load() }

// Close stops the simulator and the registry.
func (b *Bed) Close() {
	for _, s := range b.servers {
		s.Close()
	}
}

// ExpectDenied says IAM is to deny action on resource (a test of a bad
// input): that denial does not fail the test.
func (b *Bed) ExpectDenied(action, resource string) { b.session.Expect(action, resource) }

// WebIdentity says the credentials the product gets for role with a web
// identity (the action's OIDC token) are this bed's.
func (b *Bed) WebIdentity(roleARN string) { b.Moto.Judge.WebIdentity(roleARN, b.session) }

// Violations are the requests of the bed that AWS would have refused.
func (b *Bed) Violations() []awsjudge.Violation { return b.session.Violations() }

// Env is the environment that points an AWS SDK or the aws CLI at the bed.
func (b *Bed) Env() map[string]string {
	return map[string]string{
		"AWS_REGION":                  Region,
		"AWS_DEFAULT_REGION":          Region,
		"AWS_ACCESS_KEY_ID":           b.accessKey,
		"AWS_SECRET_ACCESS_KEY":       b.secretKey,
		"AWS_SESSION_TOKEN":           b.sessionToken,
		"AWS_ENDPOINT_URL":            b.Moto.URL,
		"AWS_ENDPOINT_URL_ECS":        b.ECSURL,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	}
}

// Config is an aws.Config for the bed.
func (b *Bed) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(b.accessKey, b.secretKey, b.sessionToken),
		BaseEndpoint: aws.String(b.Moto.URL),
	}
}

// ECS is an ECS client that reaches the simulator.
func (b *Bed) ECS(opts ...func(*ecs.Options)) *ecs.Client {
	return ecs.NewFromConfig(b.Config(), append([]func(*ecs.Options){func(o *ecs.Options) {
		o.BaseEndpoint = aws.String(b.ECSURL)
	}}, opts...)...)
}

// ECR is an ECR client that reaches moto.
func (b *Bed) ECR() *ecr.Client { return ecr.NewFromConfig(b.Config()) }

// Service describes a service to set up in the bed, as the bootstrap would.
type Service struct {
	Cluster, Service, Family string
	Containers               []types.ContainerDefinition
	// ExecutionRole is the task definition's execution role (an ARN):
	// the simulator reads the containers' secrets as it before a task
	// starts.
	ExecutionRole string
	DesiredCount  int32
	// CircuitBreaker and Rollback set the service's deployment circuit breaker.
	CircuitBreaker, Rollback bool
	Tags                     []types.Tag
	// Alarms are the service's deployment alarms (enabled, with rollback;
	// AlarmsWatchOnly: without, so ECS does not act on them and only the
	// engine's checks do).
	Alarms          []string
	AlarmsWatchOnly bool
	// LoadBalanced puts the service behind an Application Load Balancer in
	// moto (its own VPC, two subnets, an ip target group on the first
	// container's first port, an HTTP listener); it implies Public.
	LoadBalanced bool
	// BlueGreen, with LoadBalanced, deploys the service by shifting
	// traffic (strategy BLUE_GREEN, a bake): a second target group, a
	// production listener rule on port 80, a test listener on TestPort with
	// its rule, and a PAUSE hook at POST_TEST_TRAFFIC_SHIFT that rolls back
	// if nobody answers it.
	BlueGreen bool
	// Canary, with BlueGreen, shifts production in two steps instead
	// (strategy CANARY, 10 % first), with a PAUSE hook before each.
	Canary bool
	// Public puts the service's tasks in a subnet of a new VPC in moto with
	// public IPs, as the seed runs them: each task gets a network interface
	// there (the address comes from the simulator's scenario).
	Public bool
}

// Seed creates the cluster, registers the task definition and creates the
// service, returning the task definition's ARN.
func (b *Bed) Seed(ctx context.Context, s Service) (string, error) {
	client := b.ECS()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(s.Cluster)}); err != nil {
		return "", fmt.Errorf("create cluster %s: %w", s.Cluster, err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(s.Family),
		ContainerDefinitions:    s.Containers,
		ExecutionRoleArn:        optional(s.ExecutionRole),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
	})
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", s.Family, err)
	}
	arn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	var network *types.NetworkConfiguration
	var lbs []types.LoadBalancer
	if s.Public || s.LoadBalanced {
		vpc, subnets, err := b.network(ctx)
		if err != nil {
			return "", err
		}
		network = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: subnets[:1], AssignPublicIp: types.AssignPublicIpEnabled,
		}}
		if s.LoadBalanced {
			c := s.Containers[0]
			tg, err := b.loadBalancer(ctx, s.Service, vpc, subnets, aws.ToInt32(c.PortMappings[0].ContainerPort))
			if err != nil {
				return "", err
			}
			lbs = []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: c.Name, ContainerPort: c.PortMappings[0].ContainerPort}}
			if s.BlueGreen {
				adv, err := b.blueGreen(ctx, s.Service, vpc, tg, aws.ToInt32(c.PortMappings[0].ContainerPort))
				if err != nil {
					return "", err
				}
				lbs[0].AdvancedConfiguration = adv
			}
		}
	}
	var alarms *types.DeploymentAlarms
	if len(s.Alarms) > 0 {
		alarms = &types.DeploymentAlarms{AlarmNames: s.Alarms, Enable: true, Rollback: !s.AlarmsWatchOnly}
	}
	deployment := &types.DeploymentConfiguration{
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: s.CircuitBreaker, Rollback: s.Rollback},
		Alarms:                   alarms,
	}
	if s.BlueGreen {
		deployment.Strategy, deployment.BakeTimeInMinutes = types.DeploymentStrategyBlueGreen, aws.Int32(1)
		stages := []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift}
		if s.Canary {
			deployment.Strategy = types.DeploymentStrategyCanary
			deployment.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(1)}
			stages = append(stages, types.DeploymentLifecycleHookStagePreProductionTrafficShift)
		}
		deployment.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: stages,
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(30), Action: types.DeploymentLifecycleHookActionRollback}}}
	}
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{
		NetworkConfiguration:    network,
		LoadBalancers:           lbs,
		Cluster:                 aws.String(s.Cluster),
		ServiceName:             aws.String(s.Service),
		TaskDefinition:          aws.String(arn),
		DesiredCount:            aws.Int32(s.DesiredCount),
		LaunchType:              types.LaunchTypeFargate,
		Tags:                    s.Tags,
		DeploymentConfiguration: deployment,
	})
	if err != nil {
		return "", fmt.Errorf("create service %s: %w", s.Service, err)
	}
	return arn, nil
}

// optional is nil for "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// network makes a VPC with two subnets in two zones in moto.
func (b *Bed) network(ctx context.Context) (vpc string, subnets []string, err error) {
	ec := b.EC2()
	v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return "", nil, fmt.Errorf("create vpc: %w", err)
	}
	for i, zone := range []string{Region + "a", Region + "b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(zone)})
		if err != nil {
			return "", nil, fmt.Errorf("create subnet: %w", err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	return aws.ToString(v.Vpc.VpcId), subnets, nil
}

// loadBalancer makes an ALB with an HTTP listener forwarding to an ip
// target group on port, and returns the target group.
func (b *Bed) loadBalancer(ctx context.Context, name, vpc string, subnets []string, port int32) (string, error) {
	c := elb.NewFromConfig(b.Config())
	tg, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + "-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(port), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		return "", fmt.Errorf("create target group: %w", err)
	}
	lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name + "-alb"), Subnets: subnets})
	if err != nil {
		return "", fmt.Errorf("create load balancer: %w", err)
	}
	arn := tg.TargetGroups[0].TargetGroupArn
	if _, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: arn}}}); err != nil {
		return "", fmt.Errorf("create listener: %w", err)
	}
	return aws.ToString(arn), nil
}

// TestPort is where a blue/green service's test listener listens.
const TestPort = 8080

// blueGreen adds to the load balancer of tg what ECS shifts traffic with:
// the alternate target group, a rule on the production listener, and a
// test listener on TestPort with its rule.
func (b *Bed) blueGreen(ctx context.Context, name, vpc, tg string, port int32) (*types.AdvancedConfiguration, error) {
	c := elb.NewFromConfig(b.Config())
	green, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + "-tg2"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(port), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		return nil, fmt.Errorf("create the alternate target group: %w", err)
	}
	lbs, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{name + "-alb"}})
	if err != nil || len(lbs.LoadBalancers) == 0 {
		return nil, fmt.Errorf("describe load balancer: %v", err)
	}
	lb := lbs.LoadBalancers[0].LoadBalancerArn
	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lb})
	if err != nil || len(ls.Listeners) == 0 {
		return nil, fmt.Errorf("describe listeners: %v", err)
	}
	forward := func(arn *string) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: arn}}
	}
	everything := []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}}
	prod, err := c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ls.Listeners[0].ListenerArn, Priority: aws.Int32(1), Conditions: everything, Actions: forward(aws.String(tg))})
	if err != nil {
		return nil, fmt.Errorf("create the production listener rule: %w", err)
	}
	testListener, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb, Port: aws.Int32(TestPort), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: forward(green.TargetGroups[0].TargetGroupArn)})
	if err != nil {
		return nil, fmt.Errorf("create the test listener: %w", err)
	}
	test, err := c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: testListener.Listeners[0].ListenerArn, Priority: aws.Int32(1), Conditions: everything,
		Actions: forward(green.TargetGroups[0].TargetGroupArn)})
	if err != nil {
		return nil, fmt.Errorf("create the test listener rule: %w", err)
	}
	role, err := b.InfrastructureRole(ctx, Service{Cluster: name, Service: name, Family: name, BlueGreen: true}.Scope())
	if err != nil {
		return nil, err
	}
	return &types.AdvancedConfiguration{AlternateTargetGroupArn: green.TargetGroups[0].TargetGroupArn, ProductionListenerRule: prod.Rules[0].RuleArn,
		TestListenerRule: test.Rules[0].RuleArn, RoleArn: aws.String(role)}, nil
}

// ELB is an ELBv2 client of moto.
func (b *Bed) ELB() *elb.Client { return elb.NewFromConfig(b.Config()) }

// EC2 is an EC2 client of moto.
func (b *Bed) EC2() *ec2.Client { return ec2.NewFromConfig(b.Config()) }

// Migrations are the ARNs of a cluster's pre-deploy tasks (started by
// deploy-action/pre-deploy), running or stopped: how many times a
// migration ran. A failure to list them fails the test.
func (b *Bed) Migrations(t testing.TB, cluster string) []string {
	t.Helper()
	var arns []string
	for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		out, err := b.ECS().ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: status, StartedBy: aws.String("deploy-action/pre-deploy")})
		if err != nil {
			t.Fatalf("list the migrations of %s: %v", cluster, err)
		}
		arns = append(arns, out.TaskArns...)
	}
	return arns
}

// WaitStable polls the service until its one deployment has completed,
// and returns it as it then is; ctx bounds the wait.
func (b *Bed) WaitStable(ctx context.Context, cluster, service string) (types.Service, error) {
	client := b.ECS()
	for {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
		if err != nil {
			return types.Service{}, fmt.Errorf("describe service %s: %w", service, err)
		}
		if len(out.Services) == 1 {
			if d := out.Services[0].Deployments; len(d) == 1 && d[0].RolloutState == types.DeploymentRolloutStateCompleted {
				return out.Services[0], nil
			}
		}
		select {
		case <-ctx.Done():
			return types.Service{}, fmt.Errorf("service %s never stable: %w", service, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PushRandomImage pushes a small random image to repository:tag in the bed's
// registry and returns its digest.
func (b *Bed) PushRandomImage(ctx context.Context, repository, tag string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(b.Registry+"/"+repository+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	auth := remote.WithAuth(&authn.Basic{Username: "AWS", Password: ECRPassword})
	if err := remote.Write(ref, img, remote.WithContext(ctx), auth); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// SHA returns a random 40-character commit SHA.
func SHA() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// BasicAuth admits only requests with the given user and password, answering
// the others as a registry does.
func BasicAuth(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="testbed"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// NewInProcessRegistry serves go-containerregistry's registry, without
// auth, on a loopback port for the test's lifetime and returns its host.
func NewInProcessRegistry(t interface{ Cleanup(func()) }) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(discard{}, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Getenv reads the bed's environment (Env), as a front end's getenv.
func (b *Bed) Getenv(k string) string { return b.Env()[k] }
