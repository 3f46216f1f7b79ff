package deployspec

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/imagepush"
)

// ECRAPI is what a deploy asks ECR: a registry login, and the repository
// a push goes to.
type ECRAPI interface {
	ecrimage.ECRAPI
	imagepush.ECRAPI
}

// Clients are every AWS client a deploy uses, of one region. ECS and ECR
// are required; a nil field turns its part off: EC2 (the tasks' addresses),
// Logs (a pre-deploy task's lines), Alarms (which alarm failed a rollout),
// ELB (the load balancer as the URL and smoke-check address), Secrets (the
// secrets a spec names).
type Clients struct {
	ECS     ecsdeploy.ECSAPI
	ECR     ECRAPI
	EC2     ecsdeploy.EC2API
	Logs    ecsdeploy.LogsAPI
	Alarms  ecsdeploy.AlarmsAPI
	ELB     ecsdeploy.ELBAPI
	Secrets SecretsAPI
}

// NewClients makes every client from cfg, each at the endpoint
// AWS_ENDPOINT_URL_<SERVICE> in getenv names when it does (the test bed),
// else the SDK's.
func NewClients(cfg aws.Config, getenv func(string) string) Clients {
	sdk := awsenv.NewSDK(cfg, getenv)
	return Clients{ECS: sdk.ECS, ECR: sdk.ECR, EC2: sdk.EC2, Logs: sdk.Logs, Alarms: sdk.CloudWatch, ELB: sdk.ELB, Secrets: sdk.Secrets}
}

// RegionalClients returns the clients of a region, made once per region
// from the environment in getenv (keys, endpoints, the default chain).
func RegionalClients(getenv func(string) string) func(ctx context.Context, region string) (Clients, error) {
	var mu sync.Mutex
	cache := map[string]Clients{}
	return func(ctx context.Context, region string) (Clients, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := cache[region]; ok {
			return c, nil
		}
		cfg, err := awsenv.Load(ctx, region, getenv)
		if err != nil {
			return Clients{}, err
		}
		c := NewClients(cfg, getenv)
		cache[region] = c
		return c, nil
	}
}

// Deployer is the engine over these clients, with opts after them.
func (c Clients) Deployer(opts ...ecsdeploy.Option) (*ecsdeploy.Deployer, error) {
	all := []ecsdeploy.Option{ecsdeploy.WithEC2(c.EC2), ecsdeploy.WithLogs(c.Logs), ecsdeploy.WithAlarms(c.Alarms), ecsdeploy.WithLoadBalancers(c.ELB)}
	return ecsdeploy.New(c.ECS, append(all, opts...)...)
}

// Repository logs in to the target's registry (ECR's, or the one the
// target names) and returns it with the target's repository in it.
func (c Clients) Repository(ctx context.Context, t Target) (*ecrimage.Registry, *ecrimage.Repository, error) {
	if c.ECR == nil {
		return nil, nil, fmt.Errorf("no ECR client")
	}
	reg, err := ecrimage.Login(ctx, c.ECR, t.Registry)
	if err != nil {
		return nil, nil, err
	}
	repo, err := reg.Repository(t.Repository)
	if err != nil {
		return nil, nil, err
	}
	return reg, repo, nil
}
