package ecsdeploy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"

	"github.com/autonote/deploy-action/internal/handoff"
)

// moto is shared by the package's tests; each test uses names of its own.
var motoServer = testbed.LazyMoto{Size: 2}

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

// fastPolling keeps tests quick; the pacing itself has tests of its own.
var fastPolling = ecsdeploy.Polling{Fast: 10 * time.Millisecond, Average: 10 * time.Millisecond, Slow: 20 * time.Millisecond, Progress: 300 * time.Millisecond}

var seq atomic.Int64

// fixture is a seeded service in a bed of its own.
type fixture struct {
	bed      *testbed.Bed
	target   ecsdeploy.Target
	firstTD  string
	image    func(tag string) string
	deployer *ecsdeploy.Deployer
	events   *eventLog
}

type fixtureOpts struct {
	circuitBreaker, rollback bool
	containers               []types.ContainerDefinition
	// fromZero seeds the service as the bootstrap leaves it: no tasks
	// until the first deploy, which scales it to 2.
	fromZero bool
	// public runs the tasks with public IPs in a subnet of moto.
	public bool
	// alarms are the service's deployment alarms (with rollback).
	alarms []string
	// loadBalanced puts the service behind a load balancer in moto;
	// blueGreen deploys it by shifting traffic there, canary in two
	// production steps; alarmsWatchOnly leaves the alarms to the engine.
	loadBalanced, blueGreen, canary, alarmsWatchOnly bool
	// executionRole is the task definition's execution role.
	executionRole string
	// moto is the server to seed in (the package's next, when nil).
	moto *testbed.Moto
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	m := o.moto
	if m == nil {
		m = motoServer.Get(t)
	}
	bed := testbed.New(t, m, ecssim.WithDuration(200*time.Millisecond))
	n := seq.Add(1)
	name := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	name = fmt.Sprintf("%s-%d", name[:min(len(name), 22)], n) // a target group name of it ("-tg2") fits in 32
	image := func(tag string) string { return bed.Registry + "/autonote/server:" + tag }
	containers := o.containers
	if containers == nil {
		containers = []types.ContainerDefinition{{
			Name:         aws.String("server"),
			Image:        aws.String(image("first")),
			Essential:    aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}},
			Environment:  []types.KeyValuePair{{Name: aws.String("EMPTY"), Value: aws.String("")}},
		}}
	}
	svc := testbed.Service{
		Cluster: name, Service: name, Family: name, Containers: containers, DesiredCount: 1,
		CircuitBreaker: o.circuitBreaker, Rollback: o.rollback, Public: o.public, Alarms: o.alarms, LoadBalanced: o.loadBalanced, BlueGreen: o.blueGreen,
		Canary: o.canary, AlarmsWatchOnly: o.alarmsWatchOnly, ExecutionRole: o.executionRole,
	}
	if o.fromZero {
		svc.DesiredCount = 0
		svc.Tags = []types.Tag{{Key: aws.String(handoff.DesiredCountTag), Value: aws.String("2")}}
	}
	td, err := bed.Seed(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	// The engine runs as the deploy role the bootstrap would write for
	// this service: every call it makes is judged by IAM.
	deployer, err := bed.DeployRole(context.Background(), svc.Scope())
	if err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	d, err := ecsdeploy.New(deployer.ECS(), ecsdeploy.WithPolling(fastPolling), ecsdeploy.WithReporter(events), ecsdeploy.WithEC2(deployer.EC2()),
		ecsdeploy.WithAlarms(cloudwatch.NewFromConfig(deployer.Config())), ecsdeploy.WithLoadBalancers(elb.NewFromConfig(deployer.Config())))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{bed: bed, firstTD: td, image: image, deployer: d, events: events,
		target: ecsdeploy.Target{Cluster: name, Service: name, Repository: "autonote/server"}}
	f.waitStable(t)
	return f
}

func (f *fixture) request(image string) ecsdeploy.Request {
	return ecsdeploy.Request{Target: f.target, Image: image, Wait: true, Timeout: 10 * time.Second, RollbackOnFailure: true}
}

// service reads the service as ECS shows it, through a client of its own.
func (f *fixture) service(t *testing.T) types.Service {
	t.Helper()
	out, err := f.bed.ECS().DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(f.target.Cluster), Services: []string{f.target.Service},
	})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe service: %v %v", err, out)
	}
	return out.Services[0]
}

// waitStable waits until the service has one completed deployment.
func (f *fixture) waitStable(t *testing.T) types.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.bed.WaitStable(ctx, f.target.Cluster, f.target.Service)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) imageOf(t *testing.T, tdARN string) string {
	t.Helper()
	out, err := f.bed.ECS().DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tdARN)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Image)
}

type eventLog struct {
	mu             sync.Mutex
	phases, events []string
	failed         []string // phases marked failed
	progress       []string
}

func (l *eventLog) Progress(_ time.Time, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.progress = append(l.progress, line)
}

func (l *eventLog) Phase(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phases = append(l.phases, name)
}

func (l *eventLog) PhaseFailed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed = append(l.failed, l.phases[len(l.phases)-1])
}

func (l *eventLog) ServiceEvent(_ time.Time, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, msg)
}

func (l *eventLog) failedPhases() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.failed)
}

func (l *eventLog) snapshot() (phases, events []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.phases), slices.Clone(l.events)
}

// repository is the fixture's image repository, logged in to as the test
// bed's registry: the rollback's resolver of a SHA.
func (f *fixture) repository(t *testing.T) *ecrimage.Repository {
	t.Helper()
	reg, err := ecrimage.Login(context.Background(), f.bed.ECR(), f.bed.Registry)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := reg.Repository("autonote/server")
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// healthyTransport sends every smoke check, whatever address it names, to
// a server that answers 200: green tasks that pass their gate.
func healthyTransport(t *testing.T) *http.Transport {
	t.Helper()
	return answering(t, http.StatusOK)
}

// answering sends every smoke check, whatever address it names, to a
// server that answers code.
func answering(t *testing.T, code int) *http.Transport {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
	t.Cleanup(srv.Close)
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
	}}
}
