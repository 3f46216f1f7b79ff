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
	return judgeLBIngress(out.SecurityGroups[0], s.cfg.Name, s.cfg.ContainerPort, o.LoadBalancerSecurityGroupID, slices.Contains(s.cfg.Manage, "security-group")), nil
}

// judgeLBIngress wants the tasks' group to admit the container port from
// the load balancer's group: found when it does, made when the group is
// ours (or handed over), advised otherwise.
func judgeLBIngress(sg ec2types.SecurityGroup, stack string, port int32, lbGroup string, managed bool) found {
	owner := ownerOf(ec2Tag.of(sg.Tags), stack)
	group := aws.ToString(sg.GroupId)
	for _, p := range sg.IpPermissions {
		if aws.ToInt32(p.FromPort) == port && slices.ContainsFunc(p.UserIdGroupPairs, func(u ec2types.UserIdGroupPair) bool {
			return aws.ToString(u.GroupId) == lbGroup
		}) {
			return found{owner: owner, id: group + " from " + lbGroup}
		}
	}
	if owner == OwnerAdopted && !managed {
		return found{skip: "the tasks' group is adopted", advice: []string{fmt.Sprintf("let the load balancer reach the tasks: aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --source-group %s, or hand the group over with manage: [security-group]",
			group, port, lbGroup)}}
	}
	return found{}
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
