// Package ecssim simulates the part of Amazon ECS that moto leaves out: the
// service scheduler. It serves the service operations (CreateService,
// UpdateService, DescribeServices, ListServices, ListTasks, DescribeTasks,
// DeleteService, ListServiceDeployments, DescribeServiceRevisions) with
// deployments that progress over time, tasks that start and stop (with
// network interfaces in moto's EC2), and service events worded the way ECS
// words them; and one-off tasks (RunTask, StopTask) that write their log
// lines into moto's CloudWatch Logs as the awslogs driver names its streams.
// A service whose deployment strategy shifts traffic (BLUE_GREEN; CANARY and
// LINEAR walked as one production step) goes through ECS's lifecycle stages,
// with PAUSE hooks, DescribeServiceDeployments, ContinueServiceDeployment and
// StopServiceDeployment (shift.go); Traffic says where its test and
// production traffic go, for a test's load balancer stand-in. Every other
// ECS operation (task definitions, clusters) goes to moto unchanged.
//
// Time is read lazily: each request advances the rollouts to the simulator's
// clock, so nothing runs in the background.
package ecssim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// Outcome is how a rollout of a task definition ends.
type Outcome int

const (
	// Complete: the tasks start, the old ones drain, the deployment completes.
	Complete Outcome = iota
	// Fail: the tasks stop with the scenario's reasons and the circuit
	// breaker, if the service has one, marks the deployment FAILED (and
	// rolls back when the service asks for it).
	Fail
	// Hang: the tasks never reach RUNNING and the deployment stays IN_PROGRESS.
	Hang
)

// Scenario says what happens to deployments of images that match it.
type Scenario struct {
	Outcome Outcome
	// After is how long the rollout takes to complete or fail; zero means
	// the simulator's default.
	After time.Duration
	// StoppedReason, ContainerReason and ExitCode describe the stopped tasks
	// of a failing rollout.
	StoppedReason   string
	ContainerReason string
	ExitCode        *int32
	// Lines are what each failing task's containers wrote to their awslogs
	// stream before they stopped (a stack trace, say).
	Lines []string
	// Unhealthy makes the tasks of a service behind a load balancer fail
	// its health checks: they stop as ECS stops them, and the rollout fails
	// as a Fail scenario does.
	Unhealthy bool
	// FirstStop, with a Complete outcome, stops the first tasks of the
	// rollout with this reason (ENI provisioning, say), as ECS stops a task
	// that failed to start, before their replacements run.
	FirstStop string
	// Address is the public address of the tasks of an awsvpc service that
	// assigns public IPs: an Elastic IP of it (a documentation address such
	// as 192.0.2.2, which a test's own dialer routes to where it serves; or
	// 127.0.0.1, with the container port a test listens on) is associated
	// with each task's network interface in moto. Empty: the interface has
	// none.
	Address string
}

type rule struct {
	match    string
	scenario Scenario
}

// Simulator is an http.Handler that speaks the ECS JSON protocol.
type Simulator struct {
	moto     *url.URL
	proxy    *httputil.ReverseProxy
	now      func() time.Time
	duration time.Duration
	timing   *Timing // nil: rollouts take their duration

	mu         sync.Mutex
	rules      []rule
	services   map[string]*service                    // by cluster ARN + "/" + service name
	containers map[string][]types.ContainerDefinition // by task definition ARN
	seq        int
	calls      map[string]int
	clients    map[string]*ecs.Client // moto clients by region
	ec2s       map[string]*ec2.Client // moto EC2 clients by region
	nets       map[string]*taskNet    // by task ARN: interfaces tasks still need
	taskRules  []taskRule
	oneOffs    []*oneOff // tasks RunTask started
	// failedLogs are the lines of failed service tasks not yet written to
	// moto's CloudWatch Logs.
	failedLogs []*oneOff
	logs       map[string]*cloudwatchlogs.Client // moto CloudWatch Logs clients by region
	cloudwatch map[string]*cloudwatch.Client     // moto CloudWatch clients by region
	elbs       map[string]*elb.Client            // moto ELBv2 clients by region

	handlers map[string]func(context.Context, *call) (any, error) // the operations it serves

	// actAs gives the configuration ECS's calls as a role go with (the
	// infrastructure role of a service that shifts traffic); nil: moto,
	// directly. roleELBs caches its clients by role and region.
	actAs    func(ctx context.Context, roleARN string) (aws.Config, error)
	roleELBs map[string]*elb.Client
	// initFailures are, by task definition, why its tasks cannot start
	// ("" when they can): what its execution role could not read.
	initFailures map[string]string
}

// WithActingRoles makes the calls ECS makes as a role (moving a shifting
// service's listener rules and targets, as its infrastructure role;
// reading a task's secrets before it starts, as its execution role) go
// with the configuration actAs gives for the role: the test bed's judge
// then holds them to the role's policies, as IAM would. A secret the
// execution role may not read stops the task as ECS stops it.
func WithActingRoles(actAs func(ctx context.Context, roleARN string) (aws.Config, error)) Option {
	return func(s *Simulator) error {
		if actAs == nil {
			return fmt.Errorf("actAs is nil")
		}
		s.actAs = actAs
		return nil
	}
}

// Option configures a Simulator.
type Option func(*Simulator) error

// WithClock sets the clock the rollouts follow. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Simulator) error {
		if now == nil {
			return fmt.Errorf("clock is nil")
		}
		s.now = now
		return nil
	}
}

// WithDuration sets how long a rollout takes when its scenario does not say.
// The default is 2s.
func WithDuration(d time.Duration) Option {
	return func(s *Simulator) error {
		if d < 0 {
			return fmt.Errorf("duration %v is negative", d)
		}
		s.duration = d
		return nil
	}
}

// New returns a Simulator that passes what it does not simulate to the moto
// server at motoURL.
func New(motoURL string, opts ...Option) (*Simulator, error) {
	u, err := url.Parse(motoURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("moto url %q is not an absolute URL", motoURL)
	}
	s := &Simulator{
		moto:       u,
		proxy:      httputil.NewSingleHostReverseProxy(u),
		now:        time.Now,
		duration:   2 * time.Second,
		services:   map[string]*service{},
		containers: map[string][]types.ContainerDefinition{},
		calls:      map[string]int{},
		clients:    map[string]*ecs.Client{},
		ec2s:       map[string]*ec2.Client{},
		nets:       map[string]*taskNet{},
		logs:       map[string]*cloudwatchlogs.Client{},
		cloudwatch: map[string]*cloudwatch.Client{},
		elbs:       map[string]*elb.Client{},
		roleELBs:   map[string]*elb.Client{},

		initFailures: map[string]string{},
	}
	for _, opt := range opts {
		if err := opt(s); err != nil {
			return nil, err
		}
	}
	s.handlers = map[string]func(context.Context, *call) (any, error){
		"CreateService":    s.createService,
		"UpdateService":    s.updateService,
		"DescribeServices": s.describeServices,
		"ListServices":     s.listServices,
		"DeleteService":    s.deleteService,
		"ListTasks":        s.listTasks,
		"DescribeTasks":    s.describeTasks,

		"ListServiceDeployments":     s.listServiceDeployments,
		"DescribeServiceDeployments": s.describeServiceDeployments,
		"ContinueServiceDeployment":  s.continueServiceDeployment,
		"StopServiceDeployment":      s.stopServiceDeployment,
		"DescribeServiceRevisions":   s.describeServiceRevisions,
		"RunTask":                    s.runTask,
		"StopTask":                   s.stopTask,
	}
	return s, nil
}

// SetScenario makes deployments whose task definition has an image
// containing match follow sc. Later calls win over earlier ones.
func (s *Simulator) SetScenario(match string, sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, rule{match: match, scenario: sc})
}

// Calls returns how many requests each ECS operation has had.
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls sets every operation's count back to zero.
func (s *Simulator) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

const targetPrefix = "AmazonEC2ContainerServiceV20141113."

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok {
		s.proxy.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()

	h, ok := s.handlers[op]
	if !ok {
		s.proxy.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	region := regionOf(r)
	if err := s.readAlarms(r.Context(), region); err != nil {
		writeError(w, err)
		return
	}
	if err := s.syncTargets(r.Context(), region); err != nil {
		writeError(w, err)
		return
	}
	if err := s.syncWeights(r.Context(), region); err != nil {
		writeError(w, err)
		return
	}
	c := &call{body: body, region: region, moto: s.motoClient(region)}
	out, err := h(r.Context(), c)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire(out))
}

// call is one request: its body and a moto client in its region.
type call struct {
	body   []byte
	region string
	moto   *ecs.Client
}

func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return &apiError{Type: "SerializationException", Message: err.Error()}
	}
	return nil
}

// motoClient is the moto ECS client of a region, made once.
func (s *Simulator) motoClient(region string) *ecs.Client {
	return perRegion(s, s.clients, region, func(c aws.Config) *ecs.Client { return ecs.NewFromConfig(c) })
}

// ec2Client is the moto EC2 client of a region, made once.
func (s *Simulator) ec2Client(region string) *ec2.Client {
	return perRegion(s, s.ec2s, region, func(c aws.Config) *ec2.Client { return ec2.NewFromConfig(c) })
}

// logsClient is the moto CloudWatch Logs client of a region, made once.
func (s *Simulator) logsClient(region string) *cloudwatchlogs.Client {
	return perRegion(s, s.logs, region, func(c aws.Config) *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(c) })
}

// perRegion is the client of a region in cache, made once by newClient, to moto.
func perRegion[C any](s *Simulator, cache map[string]C, region string, newClient func(aws.Config) C) C {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := cache[region]; ok {
		return c
	}
	c := newClient(aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.moto.String()),
		Credentials:  credentials.NewStaticCredentialsProvider("ecssim", "ecssim", ""),
	})
	cache[region] = c
	return c
}

// CompletedAt is when the deployment id reached COMPLETED by the
// simulator's clock, and whether it has.
func (s *Simulator) CompletedAt(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.services {
		s.advance(sv)
		for _, r := range sv.rollouts {
			if aws.ToString(r.d.Id) == id && r.d.RolloutState == types.DeploymentRolloutStateCompleted {
				return r.start.Add(s.after(r)), true
			}
		}
	}
	return time.Time{}, false
}
