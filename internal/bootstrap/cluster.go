package bootstrap

import (
	"context"
	"fmt"
	"slices"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// cluster is the ECS cluster of the service.
type cluster struct {
	s         *Stack
	providers bool // to set
}

func (c *cluster) describe() (string, string) { return "ECS cluster", c.s.cfg.Cluster }
func (c *cluster) stage() int                 { return 1 }

func (c *cluster) find(ctx context.Context) (found, error) {
	s := c.s
	cl, err := c.read(ctx)
	if err != nil || cl == nil {
		return found{}, err
	}
	s.set(func(o *Outputs) { o.ClusterARN = aws.ToString(cl.ClusterArn) })
	f, providers := judgeCluster(cl, s.cfg.Cluster, s.cfg.Name, slices.Contains(s.cfg.Manage, "cluster"))
	c.providers = providers
	return f, nil
}

// read finds the active cluster of the config's name: nil when there is none.
func (c *cluster) read(ctx context.Context) (*ecstypes.Cluster, error) {
	name := c.s.cfg.Cluster
	out, err := c.s.c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	if err != nil {
		return nil, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	for i := range out.Clusters {
		if aws.ToString(out.Clusters[i].Status) == "ACTIVE" {
			return &out.Clusters[i], nil
		}
	}
	return nil, nil
}

// judgeCluster wants the FARGATE capacity provider on the cluster; it
// reports whether apply is to put it there.
func judgeCluster(cl *ecstypes.Cluster, name, stack string, managed bool) (found, bool) {
	f := found{owner: ownerOf(ecsTag.of(cl.Tags), stack), whose: whoseOf(ecsTag.of(cl.Tags), stack), id: aws.ToString(cl.ClusterArn)}
	var ds []drift
	if !slices.Contains(cl.CapacityProviders, "FARGATE") {
		ds = append(ds, drift{"no FARGATE capacity provider (services with launch type FARGATE run without one)",
			"aws ecs put-cluster-capacity-providers --cluster " + name + " --capacity-providers FARGATE FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1"})
	}
	return f, sortDrift(&f, "cluster", managed, ds) && len(ds) > 0
}

func (c *cluster) create(ctx context.Context) (string, error) {
	s, name := c.s, c.s.cfg.Cluster
	out, err := s.c.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name), Tags: ecsTag.list(s.tagMap()),
		Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	if err != nil {
		return "", fmt.Errorf("create cluster %s: %w", name, err)
	}
	s.set(func(o *Outputs) { o.ClusterARN = aws.ToString(out.Cluster.ClusterArn) })
	c.providers = true
	if err := c.change(ctx); err != nil {
		return "", err
	}
	return c.s.get().ClusterARN, nil
}

func (c *cluster) change(ctx context.Context) error {
	if !c.providers {
		return nil
	}
	_, err := c.s.c.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
		Cluster: aws.String(c.s.cfg.Cluster), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}},
	})
	return wrap("set the capacity providers of "+c.s.cfg.Cluster, err)
}

func (c *cluster) destroy(ctx context.Context) error {
	_, err := c.s.c.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(c.s.cfg.Cluster)})
	return wrap("delete cluster "+c.s.cfg.Cluster, err)
}
