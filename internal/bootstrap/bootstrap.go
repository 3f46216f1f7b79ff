// Package bootstrap makes AutoNote's AWS baseline in one idempotent run: the
// network (VPC, subnets in two zones, internet gateway, route tables,
// security group), the execution role, the app's secrets, the ECR
// repository, the log group, the ECS cluster, task definition and service,
// and optionally the GitHub OIDC provider and a deploy role. Each resource
// is found again by name or by the bootstrap's tags and made only when
// missing; plan shows what apply would do, destroy removes only what the
// bootstrap made.
package bootstrap

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Tags every resource the bootstrap makes carries.
const (
	TagManagedBy   = "managed-by"
	ManagedByValue = "deploy-action-bootstrap"
	TagStack       = "deploy-action:stack"
	// TagRegion is the region of the stack that made a resource: a
	// stack's IAM resources are account-wide, and a stack of the same
	// name in another region is another stack.
	TagRegion         = "deploy-action:region"
	placeholderTag    = "bootstrap-placeholder"
	executionPolicy   = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
	secretsRWPolicy   = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"
	readSecretsPolicy = "read-app-secrets"
	deployPolicy      = "deploy"
)

// Clients are the AWS APIs the bootstrap calls; the SDK's clients satisfy them.
type Clients struct {
	EC2     *ec2.Client
	IAM     *iam.Client
	Secrets *secretsmanager.Client
	ECR     *ecr.Client
	Logs    *cloudwatchlogs.Client
	ECS     *ecs.Client
	// CloudWatch reads the alarms rollback-alarms names, and makes the
	// load balancer's.
	CloudWatch *cloudwatch.Client
	ELB        *elb.Client
	// STS says which account the credentials are in (nil: the account
	// comes from the ARNs found).
	STS *sts.Client
}

// NewClients builds the clients from one aws.Config, each at the endpoint
// AWS_ENDPOINT_URL_<SERVICE> in getenv names when it does (the test bed's
// ECS simulator), else the SDK's.
func NewClients(cfg aws.Config, getenv func(string) string) Clients {
	sdk := awsenv.NewSDK(cfg, getenv)
	return Clients{EC2: sdk.EC2, IAM: sdk.IAM, Secrets: sdk.Secrets, ECR: sdk.ECR, Logs: sdk.Logs, CloudWatch: sdk.CloudWatch, ELB: sdk.ELB, ECS: sdk.ECS, STS: sdk.STS}
}

// Outputs are the IDs and ARNs of what the bootstrap made or found. They
// hold no secret value.
type Outputs struct {
	Region              string   `json:"region"`
	VPCID               string   `json:"vpcId,omitempty"`
	AvailabilityZones   []string `json:"availabilityZones,omitempty"`
	PublicSubnetIDs     []string `json:"publicSubnetIds,omitempty"`
	PrivateSubnetIDs    []string `json:"privateSubnetIds,omitempty"`
	InternetGatewayID   string   `json:"internetGatewayId,omitempty"`
	PublicRouteTableID  string   `json:"publicRouteTableId,omitempty"`
	PrivateRouteTableID string   `json:"privateRouteTableId,omitempty"`
	SecurityGroupID     string   `json:"securityGroupId,omitempty"`
	SecurityGroupIDs    []string `json:"securityGroupIds,omitempty"`
	AppSecretARN        string   `json:"appSecretArn,omitempty"`
	APIKeySecretARN     string   `json:"apiKeySecretArn,omitempty"`
	ExecutionRoleARN    string   `json:"executionRoleArn,omitempty"`
	TaskRoleARN         string   `json:"taskRoleArn,omitempty"`
	RepositoryURI       string   `json:"repositoryUri,omitempty"`
	RepositoryARN       string   `json:"repositoryArn,omitempty"`
	LogGroupARN         string   `json:"logGroupArn,omitempty"`
	ClusterARN          string   `json:"clusterArn,omitempty"`
	TaskDefinitionARN   string   `json:"taskDefinitionArn,omitempty"`
	ServiceARN          string   `json:"serviceArn,omitempty"`
	OIDCProviderARN     string   `json:"oidcProviderArn,omitempty"`
	DeployRoleARN       string   `json:"deployRoleArn,omitempty"`
	BootstrapRoleARN    string   `json:"bootstrapRoleArn,omitempty"`
	// BoundaryARN is the permissions boundary of the roles the bootstrap makes.
	BoundaryARN string `json:"boundaryArn,omitempty"`
	// The load balancer, with endpoint: load-balancer.
	LoadBalancerSecurityGroupID string   `json:"loadBalancerSecurityGroupId,omitempty"`
	TargetGroupARN              string   `json:"targetGroupArn,omitempty"`
	LoadBalancerARN             string   `json:"loadBalancerArn,omitempty"`
	LoadBalancerDNS             string   `json:"loadBalancerDns,omitempty"`
	AlarmNames                  []string `json:"alarmNames,omitempty"`
	// With a deployment-strategy that shifts traffic: the second target
	// group, the listener rules ECS moves traffic on (production, and the
	// test rule the gate checks through), and the role it does it with.
	AlternateTargetGroupARN string `json:"alternateTargetGroupArn,omitempty"`
	ProductionRuleARN       string `json:"productionRuleArn,omitempty"`
	TestRuleARN             string `json:"testRuleArn,omitempty"`
	InfrastructureRoleARN   string `json:"infrastructureRoleArn,omitempty"`
	// Resources says of each resource whose it is: "ours" (made by the
	// bootstrap) or "adopted" (found, left as it was).
	Resources []Resource `json:"resources,omitempty"`
}

// Resource is one resource of the baseline and its owner.
type Resource struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	ID    string `json:"id"`
	Owner Owner  `json:"owner"`
}

// Stack is the baseline of one config in one account and region.
type Stack struct {
	c         Clients
	cfg       Config
	log       *slog.Logger
	appSecret []byte // the app's environment as JSON; never logged

	// found is what discover found; set before any resource is judged.
	found *baseline
	// forceDeleteSecrets makes destroy delete secrets without a recovery window.
	forceDeleteSecrets bool

	// acct is the account of the credentials, from STS; "" before prepare.
	// asRole is the role they are a session of, "" for another principal.
	acct, asRole string
	// destroying: a secret already scheduled for deletion is as good as
	// gone (a destroy run again after one that left something).
	destroying bool

	mu  sync.Mutex
	out Outputs
	// rulesSkip: the listener rules are not to be made (the load balancer
	// is not the bootstrap's), so the service keeps its strategy.
	rulesSkip  bool
	oursSecret map[string]bool // ARNs of the secrets the bootstrap made
	// pendingSecrets are the secrets this run is to make, by name: the
	// ARN pattern a policy names them by until they are made (a plan
	// shows the policy that will read them, as apply writes it).
	pendingSecrets map[string]string
	roleOwner      map[string]Owner // whose each role found or made is, by name
	// planned holds apply to a plan shown before (WithPlan), by step.
	planned map[string]Step
}

// Option configures a Stack.
type Option func(*Stack) error

// WithLogger sets where progress goes. The default discards it.
func WithLogger(l *slog.Logger) Option {
	return func(s *Stack) error {
		if l == nil {
			return fmt.Errorf("logger is nil")
		}
		s.log = l
		return nil
	}
}

// WithAppSecret sets the app's environment (a JSON object of keys) that
// the app secret is created with. It comes from the environment or a file,
// never the command line. Without it the secret starts as {}.
func WithAppSecret(jsonValues []byte) Option {
	return func(s *Stack) error {
		s.appSecret = jsonValues
		return nil
	}
}

// WithForceDeleteSecrets makes destroy delete the secrets it made at once.
// The default schedules their deletion after a 7-day recovery window.
func WithForceDeleteSecrets(force bool) Option {
	return func(s *Stack) error {
		s.forceDeleteSecrets = force
		return nil
	}
}

// New returns the stack of cfg. The config must pass Check.
func New(c Clients, cfg Config, opts ...Option) (*Stack, error) {
	if cfg.ExecutionRole == "" {
		cfg.ExecutionRole = cfg.Name + "-exec" // the stack's own: an account-wide name, per stack
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	s := &Stack{c: c, cfg: cfg, log: slog.New(slog.DiscardHandler), out: Outputs{Region: cfg.Region}, oursSecret: map[string]bool{}, roleOwner: map[string]Owner{}}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Outputs returns what the stack found or made so far.
func (s *Stack) Outputs() Outputs {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.out
	o.AvailabilityZones = slices.Clone(s.out.AvailabilityZones)
	o.PublicSubnetIDs = slices.Clone(s.out.PublicSubnetIDs)
	o.PrivateSubnetIDs = slices.Clone(s.out.PrivateSubnetIDs)
	o.SecurityGroupIDs = slices.Clone(s.out.SecurityGroupIDs)
	o.Resources = slices.Clone(s.out.Resources)
	return o
}

// set updates the outputs under the lock.
func (s *Stack) set(f func(o *Outputs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.out)
}

func (s *Stack) get() Outputs { return s.Outputs() }

func (s *Stack) name(suffix string) string { return s.cfg.Name + "-" + suffix }

// stackPolicyName is the name of a policy this stack writes on a role it
// shares with others (an adopted execution role): its stack and region
// in it, so that no two stacks write the same one.
func (s *Stack) stackPolicyName(base string) string {
	return base + "-" + s.cfg.Name + "-" + s.cfg.Region
}

// noteRole keeps whose a role is, for the bootstrap role's policy.
func (s *Stack) noteRole(name string, o Owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roleOwner[name] = o
}

// writableRole reports whether the bootstrap may write the role: it made
// it, will make it, or was handed it (manage).
func (s *Stack) writableRole(name, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roleOwner[name] != OwnerAdopted || slices.Contains(s.cfg.Manage, key)
}

func (s *Stack) markOurs(secretARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oursSecret[secretARN] = true
}

// notePending records a secret this run is to make; made, it is forgotten.
func (s *Stack) notePending(name string, made bool) {
	var pattern string
	if !made {
		pattern = s.scope().secret(name) // before the lock: scope reads the outputs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pendingSecrets == nil {
		s.pendingSecrets = map[string]string{}
	}
	if made {
		delete(s.pendingSecrets, name)
		return
	}
	s.pendingSecrets[name] = pattern
}

// secretARNs are the secrets the task reads: the app secret, the API key,
// and the others the running task definition names; with oursOnly, those
// of them the bootstrap made.
func (s *Stack) secretARNs(oursOnly bool) []string {
	o := s.get()
	all := []string{o.AppSecretARN, o.APIKeySecretARN}
	if s.found != nil {
		for _, arn := range s.found.secretRefs() {
			all = append(all, arn)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, arn := range all {
		if arn != "" && !slices.Contains(out, arn) && (!oursOnly || s.oursSecret[arn]) {
			out = append(out, arn)
		}
	}
	for _, pattern := range s.pendingSecrets { // to be made: ours
		if !slices.Contains(out, pattern) {
			out = append(out, pattern)
		}
	}
	slices.Sort(out)
	return out
}

// lastSegment is what follows the last "/" of an ARN.
func lastSegment(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
