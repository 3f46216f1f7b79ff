package bootstrap

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"gopkg.in/yaml.v3"

	"github.com/autonote/deploy-action/internal/handoff"
	"github.com/autonote/deploy-action/internal/yamlerr"
)

// Config is what the bootstrap makes. Every field has the seed's default;
// a config file (YAML, unknown keys rejected) overrides them.
type Config struct {
	Region string `yaml:"region"`
	// Name prefixes the names of network resources and marks everything
	// this bootstrap made (tag deploy-action:stack).
	Name              string   `yaml:"name"`
	VPCCIDR           string   `yaml:"vpc-cidr"`
	PublicSubnets     []string `yaml:"public-subnets"`
	PrivateSubnets    []string `yaml:"private-subnets"`
	AvailabilityZones []string `yaml:"availability-zones"`
	IngressCIDRs      []string `yaml:"ingress-cidrs"`
	ContainerPort     int32    `yaml:"container-port"`
	ECRRepository     string   `yaml:"ecr-repository"`
	KeepImages        int      `yaml:"keep-images"`
	LogGroup          string   `yaml:"log-group"`
	LogRetentionDays  int32    `yaml:"log-retention-days"`
	Cluster           string   `yaml:"cluster"`
	Family            string   `yaml:"family"`
	Service           string   `yaml:"service"`
	Container         string   `yaml:"container"`
	CPU               string   `yaml:"cpu"`
	Memory            string   `yaml:"memory"`
	DesiredCount      int32    `yaml:"desired-count"`
	// ExecutionRole is the role ECS starts the tasks with; empty: the
	// stack's own, <name>-exec (an adopted stack's is the one its task
	// definition names, whatever this says).
	ExecutionRole    string  `yaml:"execution-role"`
	SecretsReadWrite bool    `yaml:"secrets-manager-read-write"`
	AppSecret        string  `yaml:"app-secret"`
	AppSecretFile    string  `yaml:"app-secret-file"`
	APIKeySecret     string  `yaml:"api-key-secret"`
	GitHub           *GitHub `yaml:"github"`
	// Endpoint is where the API answers: public-ip (each task's own
	// address, the seed's layout) or load-balancer (an Application Load
	// Balancer in front, the tasks' port open to it alone).
	Endpoint string `yaml:"endpoint"`
	// Domain is the name on the certificate, the name users call: the
	// action's url is https://<domain>, and its smoke check sends it to
	// the load balancer and verifies the certificate against it (the load
	// balancer carries it as its deploy-action:domain tag).
	Domain string `yaml:"domain"`
	// CertificateARN, an ACM certificate, adds an HTTPS listener; HTTP then
	// redirects to it.
	CertificateARN string `yaml:"certificate-arn"`
	// TaskIngressCIDRs keep the container port open to these addresses
	// behind the load balancer too: the first step of a move from
	// public-ip, while clients still call the tasks' addresses. Empty: the
	// port admits the load balancer alone.
	TaskIngressCIDRs []string `yaml:"task-ingress-cidrs"`
	// HealthCheckPath is what the target group asks each task.
	HealthCheckPath string `yaml:"health-check-path"`
	// HealthCheckInterval is how often, in seconds, the target group asks
	// each task (5 to 300): a new task takes traffic after two answers in
	// a row, so 5 s makes it 10 s.
	HealthCheckInterval int `yaml:"health-check-interval"`
	// DeregistrationDelay is how long, in seconds, a stopping task's
	// connections drain (0 to 3600) before it stops: every deploy waits it.
	DeregistrationDelay int `yaml:"deregistration-delay"`
	// Thresholds of the alarms made on the target group: 5xx answers of
	// the tasks in a minute, and unhealthy tasks.
	Alarm5xxPerMinute   int `yaml:"alarm-5xx-per-minute"`
	AlarmUnhealthyHosts int `yaml:"alarm-unhealthy-hosts"`
	// RollbackAlarms are CloudWatch alarms that fail a rollout and roll the
	// service back when one is in ALARM during it (the service's
	// deploymentConfiguration.alarms); they must exist.
	RollbackAlarms []string `yaml:"rollback-alarms"`
	// DeploymentStrategy is how ECS moves traffic to a new revision, with
	// endpoint: load-balancer: rolling (the tasks replaced in place),
	// blue-green (a second target group: the new tasks are checked through
	// the test rule, then take all of production at once, the old ones
	// stand through bake-time), canary (step-percent of production first,
	// step-bake-time, then the rest) or linear (step-percent at a time).
	DeploymentStrategy string `yaml:"deployment-strategy"`
	// BakeTime is how long, in minutes, the old tasks stand after
	// production moved (0 to 1440): a return within it starts no task.
	BakeTime int `yaml:"bake-time"`
	// StepPercent is a canary's share of production (default 10), or a
	// linear step's (default 25).
	StepPercent float64 `yaml:"step-percent"`
	// StepBakeTime is how long, in minutes, a canary's or linear step's
	// share runs before the next step (0 to 1440).
	StepBakeTime int `yaml:"step-bake-time"`
	// SmokePath, with a strategy that shifts traffic, pauses each
	// deployment before production (a PAUSE hook at POST_TEST_TRAFFIC_SHIFT,
	// and before each canary or linear step) until the deploy's smoke check
	// of that path answers it: give the action the same smoke-path. Unset:
	// no pause, ECS shifts on its own.
	SmokePath string `yaml:"smoke-path"`
	// InfrastructureRole is the role ECS moves traffic with (trusted by
	// ecs.amazonaws.com, AWS's AmazonECSInfrastructureRolePolicyForLoadBalancers):
	// made, or adopted by this name. Default NAME-ecs-infrastructure.
	InfrastructureRole string `yaml:"infrastructure-role"`

	// IDs of an existing network to use; they win over discovery.
	VPCID            string   `yaml:"vpc-id"`
	PublicSubnetIDs  []string `yaml:"public-subnet-ids"`
	PrivateSubnetIDs []string `yaml:"private-subnet-ids"`
	SecurityGroupIDs []string `yaml:"security-group-ids"`
	// Manage hands adopted resources over to the bootstrap, by key (see
	// Manageable): the config is then enforced on them as on its own, and
	// the plan shows each change first. Destroy still leaves them.
	Manage []string `yaml:"manage"`
}

// manageable are the keys the manage list takes.
var manageable = []string{"vpc", "subnets", "security-group", "execution-role", "deploy-role", "bootstrap-role", "infrastructure-role", "repository", "log-group", "cluster", "service", "load-balancer"}

// The deployment strategies.
const (
	StrategyRolling   = "rolling"
	StrategyBlueGreen = "blue-green"
	StrategyCanary    = "canary"
	StrategyLinear    = "linear"
)

// Shifts reports whether the strategy moves traffic between two target
// groups (anything but rolling).
func (c Config) Shifts() bool {
	return c.DeploymentStrategy != "" && c.DeploymentStrategy != StrategyRolling
}

// GitHub asks for the OIDC provider and a deploy role that only the
// repository's branch may assume.
type GitHub struct {
	Repository string `yaml:"repository"`
	Branch     string `yaml:"branch"`
	Role       string `yaml:"role"`
	// Environment, when set, makes the deploy role trust only jobs of that
	// GitHub environment (sub repo:OWNER/REPO:environment:NAME) instead of
	// every workflow of the branch: the stronger choice, since an
	// environment can require reviewers and limit its branches.
	Environment string `yaml:"environment"`
	// TokenURL is the issuer of the workflows' OIDC tokens: GitHub.com's
	// by default; GitHub Enterprise Server's is https://HOST/_services/token,
	// GitHub Enterprise Cloud with data residency's
	// https://token.actions.SUBDOMAIN.ghe.com.
	TokenURL string `yaml:"token-url"`
	// BootstrapRole, when set, is a second role made for the bootstrap
	// itself, so bootstrap.yml can plan and apply from GitHub; it trusts
	// BootstrapEnvironment's jobs alone, which it requires.
	BootstrapRole        string `yaml:"bootstrap-role"`
	BootstrapEnvironment string `yaml:"bootstrap-environment"`
}

// DefaultTokenURL is GitHub.com's OIDC token issuer.
const DefaultTokenURL = "https://token.actions.githubusercontent.com"

// TokenHost is the token issuer's host and path, as IAM names the
// provider and its condition keys.
func (g GitHub) TokenHost() string {
	u := g.TokenURL
	if u == "" {
		u = DefaultTokenURL
	}
	return strings.TrimSuffix(strings.TrimPrefix(u, "https://"), "/")
}

// BootstrapSubject is the OIDC subject the bootstrap role trusts.
func (g GitHub) BootstrapSubject() string {
	if g.BootstrapEnvironment != "" {
		return fmt.Sprintf("repo:%s:environment:%s", g.Repository, g.BootstrapEnvironment)
	}
	return g.Subject()
}

// Subject is the OIDC subject the deploy role trusts.
func (g GitHub) Subject() string {
	if g.Environment != "" {
		return fmt.Sprintf("repo:%s:environment:%s", g.Repository, g.Environment)
	}
	return fmt.Sprintf("repo:%s:ref:refs/heads/%s", g.Repository, g.Branch)
}

// Default is the seed's baseline.
func Default() Config {
	return Config{
		Name:                "autonote",
		Endpoint:            EndpointPublicIP,
		HealthCheckPath:     "/",
		HealthCheckInterval: 5,
		DeregistrationDelay: 10,
		Alarm5xxPerMinute:   10,
		AlarmUnhealthyHosts: 1,
		DeploymentStrategy:  StrategyRolling,
		BakeTime:            5,
		StepBakeTime:        2,
		VPCCIDR:             "10.0.0.0/16",
		PublicSubnets:       []string{"10.0.1.0/24", "10.0.2.0/24"},
		PrivateSubnets:      []string{"10.0.101.0/24", "10.0.102.0/24"},
		IngressCIDRs:        []string{"0.0.0.0/0"},
		ContainerPort:       3000,
		ECRRepository:       "autonote/server",
		KeepImages:          30,
		LogGroup:            "/ecs/autonote-server-task",
		LogRetentionDays:    30,
		Cluster:             "autonote-server-cluster",
		Family:              "autonote-server-task",
		Service:             "autonote-server-service",
		Container:           "server",
		CPU:                 "256",
		Memory:              "512",
		DesiredCount:        1,
		AppSecret:           "autonote/server/env",
		APIKeySecret:        "autonote/server/api-key",
	}
}

// Named is the defaults with every name derived from name, for a stack
// beside the seed's (a staging copy, a test): name/server, /ecs/name-task,
// name-cluster, name-task, name-service, name-exec, name/env, name/api-key.
func Named(name string) Config {
	c := Default()
	c.Name, c.ECRRepository, c.LogGroup = name, name+"/server", "/ecs/"+name+"-task"
	c.Cluster, c.Family, c.Service = name+"-cluster", name+"-task", name+"-service"
	c.ExecutionRole, c.AppSecret, c.APIKeySecret = name+"-exec", name+"/env", name+"/api-key"
	return c
}

// LoadConfig reads a config file over the defaults; "" means the defaults.
func LoadConfig(file string) (Config, error) {
	c := Default()
	if file == "" {
		return c, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, yamlerr.Explain(err, file, Config{}, GitHub{})
	}
	return c, nil
}

// Check finds what is wrong with the config before any call that changes
// something: CIDRs that overlap or leave the VPC, missing names, secret
// values where they must not be.
func (c Config) Check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Region == "" {
		add("no region: set -region, region in the config, or AWS_REGION")
	}
	vpc, err := netip.ParsePrefix(c.VPCCIDR)
	if err != nil {
		add("vpc-cidr %q is not a CIDR block: write it like 10.0.0.0/16", c.VPCCIDR)
	} else if vpc.Bits() < 16 || vpc.Bits() > 28 {
		add("vpc-cidr %s: a VPC block must be between /16 and /28", c.VPCCIDR)
	}
	if len(c.PublicSubnets) != 2 || len(c.PrivateSubnets) != 2 {
		add("give two public-subnets and two private-subnets, one of each per availability zone")
	}
	var seen []netip.Prefix
	for _, s := range append(append([]string{}, c.PublicSubnets...), c.PrivateSubnets...) {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Masked() != p {
			add("subnet %q is not a CIDR block: write it like 10.0.1.0/24", s)
			continue
		}
		if vpc.IsValid() && (!vpc.Contains(p.Addr()) || p.Bits() < vpc.Bits()) {
			add("subnet %s is outside the VPC %s", s, c.VPCCIDR)
		}
		for _, o := range seen {
			if o.Overlaps(p) {
				add("subnets %s and %s overlap", o, p)
			}
		}
		seen = append(seen, p)
	}
	if len(c.AvailabilityZones) != 0 && len(c.AvailabilityZones) != 2 {
		add("availability-zones: give two, or none for the region's first two")
	}
	for _, s := range c.IngressCIDRs {
		if _, err := netip.ParsePrefix(s); err != nil {
			add("ingress-cidrs: %q is not a CIDR block", s)
		}
	}
	for k, v := range map[string]string{"name": c.Name, "ecr-repository": c.ECRRepository, "log-group": c.LogGroup, "cluster": c.Cluster,
		"family": c.Family, "service": c.Service, "container": c.Container, "app-secret": c.AppSecret, "api-key-secret": c.APIKeySecret} {
		if v == "" {
			add("%s is empty", k)
		}
	}
	if c.ContainerPort <= 0 || c.ContainerPort > 65535 {
		add("container-port %d is not a port", c.ContainerPort)
	}
	if c.KeepImages < 1 {
		add("keep-images %d: keep at least one image", c.KeepImages)
	}
	for _, m := range c.Manage {
		if !slices.Contains(manageable, m) {
			add("manage: %q is not a resource the bootstrap can take over; use one of %s", m, strings.Join(manageable, ", "))
		}
	}
	if c.VPCID != "" && !strings.HasPrefix(c.VPCID, "vpc-") {
		add("vpc-id %q is not a VPC ID: write it like vpc-0a1b2c3d", c.VPCID)
	}
	for key, ids := range map[string][]string{"public-subnet-ids": c.PublicSubnetIDs, "private-subnet-ids": c.PrivateSubnetIDs} {
		if len(ids) != 0 && len(ids) != 2 {
			add("%s: give two subnet IDs, one per availability zone, or none", key)
		}
		for _, id := range ids {
			if !strings.HasPrefix(id, "subnet-") {
				add("%s: %q is not a subnet ID: write it like subnet-0a1b2c3d", key, id)
			}
		}
	}
	for _, id := range c.SecurityGroupIDs {
		if !strings.HasPrefix(id, "sg-") {
			add("security-group-ids: %q is not a security group ID: write it like sg-0a1b2c3d", id)
		}
	}
	if g := c.GitHub; g != nil && (!strings.Contains(g.Repository, "/") || (g.Branch == "" && g.Environment == "") || g.Role == "") {
		add("github: give repository (owner/name), role, and the branch or (stronger) the environment whose jobs may deploy")
	}
	switch c.Endpoint {
	case EndpointPublicIP:
		if c.CertificateARN != "" || len(c.TaskIngressCIDRs) > 0 {
			add("certificate-arn and task-ingress-cidrs are for endpoint: load-balancer; with public-ip the port opens to ingress-cidrs")
		}
		if c.Domain != "" {
			add("domain %q is the name on the load balancer's certificate, for endpoint: load-balancer; with public-ip each task answers on an address of its own: remove domain, or set endpoint: load-balancer", c.Domain)
		}
	case EndpointLoadBalancer:
		if c.Domain != "" {
			if err := handoff.CheckHostName(c.Domain); err != nil {
				add("domain: %v: give the name on the certificate, as users call it", err)
			}
		}
		if c.CertificateARN != "" {
			switch a, err := arn.Parse(c.CertificateARN); {
			case err != nil || a.Service != "acm" || !strings.HasPrefix(a.Resource, "certificate/"):
				add("certificate-arn %q is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)", c.CertificateARN)
			case c.Region != "" && a.Region != c.Region:
				add("certificate-arn is a certificate of %s, and the load balancer is in %s: a load balancer takes a certificate of its own region; request or import one in %s (aws acm request-certificate --region %s --domain-name ...)", a.Region, c.Region, c.Region, c.Region)
			}
		}
		for _, cidr := range c.TaskIngressCIDRs {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				add("task-ingress-cidrs: %q is not a CIDR block", cidr)
			}
		}
		if len(c.PublicSubnets) < 2 && len(c.PublicSubnetIDs) < 2 {
			add("endpoint: load-balancer needs two public subnets in two zones")
		}
	default:
		add("endpoint %q: use public-ip (each task's own address) or load-balancer", c.Endpoint)
	}
	if !strings.HasPrefix(c.HealthCheckPath, "/") {
		add("health-check-path %q: give a path that starts with /", c.HealthCheckPath)
	}
	if c.HealthCheckInterval < 5 || c.HealthCheckInterval > 300 {
		add("health-check-interval %d: give seconds from 5 to 300 (the target group's range)", c.HealthCheckInterval)
	}
	if c.DeregistrationDelay < 0 || c.DeregistrationDelay > 3600 {
		add("deregistration-delay %d: give seconds from 0 to 3600", c.DeregistrationDelay)
	}
	errs = append(errs, c.checkStrategy()...)
	errs = append(errs, c.checkNames()...)
	if c.Alarm5xxPerMinute < 1 || c.AlarmUnhealthyHosts < 1 {
		add("alarm-5xx-per-minute and alarm-unhealthy-hosts must be 1 or more")
	}
	if g := c.GitHub; g != nil && g.TokenURL != "" && (!strings.HasPrefix(g.TokenURL, "https://") || strings.ContainsAny(strings.TrimPrefix(g.TokenURL, "https://"), " ?#")) {
		add("github.token-url %q: give the https:// issuer of your GitHub's OIDC tokens, e.g. https://github.example.com/_services/token (GitHub Enterprise Server)", g.TokenURL)
	}
	if g := c.GitHub; g != nil && g.BootstrapRole != "" && g.BootstrapEnvironment == "" {
		add("github.bootstrap-role %q needs github.bootstrap-environment: the role changes IAM roles and the network, and without an environment it would trust every job on %s, the deploy role's jobs too; name a GitHub environment with required reviewers (e.g. bootstrap) and run bootstrap.yml in it", g.BootstrapRole, cmp.Or(g.Branch, "the branch"))
	}
	if g := c.GitHub; g != nil && g.BootstrapRole != "" && g.BootstrapRole == g.Role {
		add("github.bootstrap-role %q is also github.role: the bootstrap role must be a role of its own", g.BootstrapRole)
	}
	return errors.Join(errs...)
}

// Step is step-percent, or its default for the strategy.
func (c Config) Step() float64 {
	switch {
	case c.StepPercent != 0:
		return c.StepPercent
	case c.DeploymentStrategy == StrategyCanary:
		return 10
	case c.DeploymentStrategy == StrategyLinear:
		return 25
	}
	return 0
}

// InfrastructureRoleName is infrastructure-role, or its default.
func (c Config) InfrastructureRoleName() string {
	return cmp.Or(c.InfrastructureRole, c.Name+"-ecs-infrastructure")
}

// checkStrategy checks deployment-strategy and its settings, in ECS's
// ranges.
func (c Config) checkStrategy() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.DeploymentStrategy {
	case StrategyRolling, "":
		if c.SmokePath != "" || c.StepPercent != 0 {
			add("smoke-path and step-percent are for a deployment-strategy that shifts traffic (blue-green, canary, linear); a rolling deploy checks smoke-path in the action alone")
		}
		return errs
	case StrategyBlueGreen, StrategyCanary, StrategyLinear:
	default:
		return append(errs, fmt.Errorf("deployment-strategy %q: use rolling, blue-green, canary or linear", c.DeploymentStrategy))
	}
	if c.Endpoint != EndpointLoadBalancer {
		add("deployment-strategy %s shifts traffic between two target groups: set endpoint: load-balancer too", c.DeploymentStrategy)
	}
	if c.BakeTime < 0 || c.BakeTime > 1440 {
		add("bake-time %d: give minutes from 0 to 1440", c.BakeTime)
	}
	switch c.DeploymentStrategy {
	case StrategyCanary:
		if p := c.Step(); p < 0.1 || p > 100 {
			add("step-percent %g: give the canary's share of production, from 0.1 to 100 (e.g. 10)", p)
		}
	case StrategyLinear:
		if p := c.Step(); p < 3 || p > 100 {
			add("step-percent %g: give each linear step's share of production, from 3 to 100 (e.g. 25)", p)
		}
	default:
		if c.StepPercent != 0 {
			add("step-percent is for canary and linear; blue-green moves all of production at once")
		}
	}
	if c.StepBakeTime < 0 || c.StepBakeTime > 1440 {
		add("step-bake-time %d: give minutes from 0 to 1440", c.StepBakeTime)
	}
	if c.SmokePath != "" && !strings.HasPrefix(c.SmokePath, "/") {
		add("smoke-path %q: give a path that starts with /, the action's smoke-path", c.SmokePath)
	}
	return errs
}

// OpenToTheWorld reports whether the service's port is open to any address.
func (c Config) OpenToTheWorld() bool {
	for _, s := range c.IngressCIDRs {
		if s == "0.0.0.0/0" || s == "::/0" {
			return true
		}
	}
	return false
}
