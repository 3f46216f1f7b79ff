package bootstrap

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/testbed/awsmodel"
)

// TestConfigRefusesWhatAWSRefuses: every value the config check let
// through that AWS then refused (a sweep of the bootstrap's requests
// against AWS's models) is a config error naming the key, before any call.
func TestConfigRefusesWhatAWSRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		says   string // "" for a config AWS takes
	}{
		{"the defaults", func(c *Config) {}, ""},
		{"a canary of 12.3 %", func(c *Config) {
			c.Endpoint, c.DeploymentStrategy, c.StepPercent = EndpointLoadBalancer, StrategyCanary, 12.3
		}, ""},
		{"Fargate 1024 with 3 GiB", func(c *Config) { c.CPU, c.Memory = "1024", "3072" }, ""},
		{"a role name over 64 characters", func(c *Config) { c.ExecutionRole = strings.Repeat("r", 65) }, "execution-role"},
		{"a long name makes a long infrastructure role", func(c *Config) {
			c.Name, c.Endpoint, c.DeploymentStrategy = "short", EndpointLoadBalancer, StrategyBlueGreen
			c.InfrastructureRole = strings.Repeat("i", 70)
		}, "infrastructure-role"},
		{"a space in the log group", func(c *Config) { c.LogGroup = "/ecs/auto note" }, "log-group"},
		{"a retention of 31 days", func(c *Config) { c.LogRetentionDays = 31 }, "log-retention-days 31"},
		{"a canary of 12.34 %", func(c *Config) {
			c.Endpoint, c.DeploymentStrategy, c.StepPercent = EndpointLoadBalancer, StrategyCanary, 12.34
		}, "step-percent 12.34"},
		{"cpu 256 with 4 GiB", func(c *Config) { c.CPU, c.Memory = "256", "4096" }, "cpu 256 with memory 4096"},
		{"cpu 300", func(c *Config) { c.CPU = "300" }, `cpu "300"`},
		{"a dot in the cluster", func(c *Config) { c.Cluster = "autonote.server" }, "cluster"},
		{"a dot in the service", func(c *Config) { c.Service = "autonote.server" }, "service"},
		{"a dot in the family", func(c *Config) { c.Family = "autonote.task" }, "family"},
		{"a dot in the container", func(c *Config) { c.Container = "api.server" }, "container"},
		{"a space in a secret", func(c *Config) { c.AppSecret = "autonote/app secret" }, "app-secret"},
		{"a secret that ends like AWS's suffix", func(c *Config) { c.APIKeySecret = "autonote/api-Ab12Cd" }, "api-key-secret"},
		{"a 30-character name (a 34-character target group)", func(c *Config) { c.Name = strings.Repeat("n", 30) }, "name"},
		{"an upper case repository", func(c *Config) { c.ECRRepository = "AutoNote/Server" }, "ecr-repository"},
		{"a domain", func(c *Config) { c.Endpoint, c.Domain = EndpointLoadBalancer, "api.autonote.example" }, ""},
		{"a domain with a port", func(c *Config) { c.Endpoint, c.Domain = EndpointLoadBalancer, "api.autonote.example:443" }, `domain: "api.autonote.example:443" is not a host name`},
		{"a domain with a user", func(c *Config) { c.Endpoint, c.Domain = EndpointLoadBalancer, "x@attacker.example" }, `domain: "x@attacker.example" is not a host name`},
		{"a domain of one label", func(c *Config) { c.Endpoint, c.Domain = EndpointLoadBalancer, "localhost" }, `domain: "localhost" is not a host name`},
		{"a role name with a space", func(c *Config) {
			c.GitHub = &GitHub{Repository: "a/b", Branch: "main", Role: "deploy role"}
		}, "github.role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.Region = "us-east-1"
			tc.change(&c)
			err := c.Check()
			switch {
			case tc.says == "" && err != nil:
				t.Errorf("Check: %v, want none", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("Check: %v, want an error naming %s", err, tc.says)
			}
		})
	}
}

// TestPoliciesFitIAMsQuotas: the largest stack's policies (a shifting
// service behind a load balancer, the bootstrap role, an adopted task's
// secrets) fit IAM's quotas, whitespace not counted: 6,144 characters for
// the boundary (a managed policy), 10,240 for a role's inline policies,
// 2,048 for a trust policy.
func TestPoliciesFitIAMsQuotas(t *testing.T) {
	t.Parallel()
	cfg := Named("a-stack-name-of-28-characters"[:28])
	cfg.Region, cfg.Endpoint, cfg.DeploymentStrategy = "ap-southeast-2", EndpointLoadBalancer, StrategyCanary
	cfg.GitHub = &GitHub{Repository: "autonote/autonote", Environment: "production", Role: cfg.Name + "-deploy", BootstrapRole: cfg.Name + "-bootstrap", BootstrapEnvironment: "bootstrap"}
	s, err := New(Clients{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.acct = "123456789012"
	s.set(func(o *Outputs) { // an adopted console network, named in the bootstrap role's policy
		o.VPCID, o.PublicSubnetIDs, o.PrivateSubnetIDs = "vpc-0a1b2c3d4e5f60718", []string{"subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"}, []string{"subnet-0a1b2c3d4e5f60713", "subnet-0a1b2c3d4e5f60714"}
		o.SecurityGroupIDs, o.LoadBalancerSecurityGroupID = []string{"sg-0a1b2c3d4e5f60715", "sg-0a1b2c3d4e5f60716"}, "sg-0a1b2c3d4e5f60717"
	})
	size := func(doc string) int { return len(strings.Join(strings.Fields(doc), "")) }
	for _, tc := range []struct {
		what string
		doc  string
		most int
	}{
		{"boundary", s.boundaryPolicy(), 6144},
		{"deploy policy", s.deployPolicy(), 10240},
		{"bootstrap policy", s.bootstrapPolicy(), 10240},
		{"infrastructure policy", s.scope().InfrastructurePolicy(), 10240},
		{"deploy trust", s.deployRole().trust(), 2048},
		{"infrastructure trust", s.scope().InfrastructureTrust(), 2048},
	} {
		if n := size(tc.doc); n > tc.most {
			t.Errorf("%s: %d characters, over IAM's %d", tc.what, n, tc.most)
		} else {
			t.Logf("%s: %d of %d characters", tc.what, n, tc.most)
		}
	}
}

// TestFargateSizesAreTheJudges: the config check's Fargate sizes are the
// ones the test bed's judge holds task definitions to (each keeps its own
// table, so that neither trusts the other; this keeps them one fact).
func TestFargateSizesAreTheJudges(t *testing.T) {
	t.Parallel()
	if !maps.EqualFunc(fargateMemory, awsmodel.FargateSizes, slices.Equal[[]int]) {
		t.Errorf("config check %v, judge %v", fargateMemory, awsmodel.FargateSizes)
	}
}
