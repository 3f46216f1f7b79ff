package bootstrap

import (
	"context"
	"fmt"
	"slices"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// lbIngress opens the container port on the tasks' group to the load
// balancer's group alone: the seed's hardening, on a group the bootstrap
// owns (or was handed); on an adopted one it is advice.
type lbIngress struct {
	s     *Stack
	group string
}

func (g *lbIngress) describe() (string, string) {
	return "ingress from the load balancer", fmt.Sprintf("tcp %d from %s", g.s.cfg.ContainerPort, g.s.name("alb-sg"))
}
func (g *lbIngress) stage() int { return 3 }

func (g *lbIngress) permission() []ec2types.IpPermission {
	port := g.s.cfg.ContainerPort
	return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(g.s.get().LoadBalancerSecurityGroupID), Description: aws.String("the load balancer")}}}}
}

func (g *lbIngress) find(ctx context.Context) (found, error) {
	s := g.s
	o := s.get()
	g.group = o.SecurityGroupID
	if g.group == "" || o.LoadBalancerSecurityGroupID == "" {
		return found{}, nil
	}
	out, err := s.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{g.group}})
	if err != nil || len(out.SecurityGroups) == 0 {
		return found{}, fmt.Errorf("describe security group %s: %w", g.group, err)
	}
	sg := out.SecurityGroups[0]
	owner := s.owner(ec2Tag.of(sg.Tags))
	id := g.group + " from " + o.LoadBalancerSecurityGroupID
	for _, p := range sg.IpPermissions {
		if aws.ToInt32(p.FromPort) == s.cfg.ContainerPort && slices.ContainsFunc(p.UserIdGroupPairs, func(u ec2types.UserIdGroupPair) bool {
			return aws.ToString(u.GroupId) == o.LoadBalancerSecurityGroupID
		}) {
			return found{owner: owner, id: id}, nil
		}
	}
	if owner == OwnerAdopted && !slices.Contains(s.cfg.Manage, "security-group") {
		return found{skip: "the tasks' group is adopted", advice: []string{fmt.Sprintf("let the load balancer reach the tasks: aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --source-group %s, or hand the group over with manage: [security-group]",
			g.group, s.cfg.ContainerPort, o.LoadBalancerSecurityGroupID)}}, nil
	}
	return found{}, nil
}

func (g *lbIngress) create(ctx context.Context) (string, error) {
	_, err := g.s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g.group), IpPermissions: g.permission()})
	return g.group + " from " + g.s.get().LoadBalancerSecurityGroupID, wrap("open the container port to the load balancer", err)
}

func (g *lbIngress) change(context.Context) error { return nil }

func (g *lbIngress) destroy(ctx context.Context) error {
	_, err := g.s.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g.group), IpPermissions: g.permission()})
	return wrap("close the container port to the load balancer", err)
}
