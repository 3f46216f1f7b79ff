package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// lbSecurityGroup is the load balancer's own group: the listener ports
// from ingress-cidrs.
type lbSecurityGroup struct {
	s  *Stack
	id string
}

func (g *lbSecurityGroup) describe() (string, string) {
	return "load balancer security group", g.s.name("alb-sg")
}
func (g *lbSecurityGroup) stage() int { return 2 }

func (g *lbSecurityGroup) ports() []int32 {
	if g.s.cfg.CertificateARN != "" {
		return []int32{80, 443}
	}
	return []int32{80}
}

func (g *lbSecurityGroup) find(ctx context.Context) (found, error) {
	s := g.s
	vpcID := s.get().VPCID
	if vpcID == "" {
		return found{}, nil
	}
	out, err := s.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", vpcID), filter("group-name", s.name("alb-sg"))}})
	if err != nil {
		return found{}, fmt.Errorf("describe security groups: %w", err)
	}
	if len(out.SecurityGroups) == 0 {
		return found{}, nil
	}
	sg := out.SecurityGroups[0]
	g.id = aws.ToString(sg.GroupId)
	s.set(func(o *Outputs) { o.LoadBalancerSecurityGroupID = g.id })
	return judgeListenerGroup(sg, s.cfg.Name, g.ports(), s.cfg.IngressCIDRs, slices.Contains(s.cfg.Manage, "load-balancer")), nil
}

// judgeListenerGroup wants the listener ports open to ingress-cidrs on the
// load balancer's group.
func judgeListenerGroup(sg ec2types.SecurityGroup, stack string, ports []int32, cidrs []string, managed bool) found {
	f := found{owner: ownerOf(ec2Tag.of(sg.Tags), stack), whose: whoseOf(ec2Tag.of(sg.Tags), stack), id: aws.ToString(sg.GroupId)}
	var ds []drift
	for _, p := range ports {
		if !hasIngress(sg.IpPermissions, p, cidrs) {
			ds = append(ds, drift{fmt.Sprintf("ingress tcp %d from %s is missing", p, strings.Join(cidrs, ", ")), ""})
		}
	}
	sortDrift(&f, "load-balancer", managed, ds)
	return f
}

// hasIngress reports whether perms open tcp port to every one of cidrs.
func hasIngress(perms []ec2types.IpPermission, port int32, cidrs []string) bool {
	have := map[string]bool{}
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == port && aws.ToInt32(p.ToPort) == port {
			for _, r := range p.IpRanges {
				have[aws.ToString(r.CidrIp)] = true
			}
			for _, r := range p.Ipv6Ranges {
				have[aws.ToString(r.CidrIpv6)] = true
			}
		}
	}
	for _, c := range cidrs {
		if !have[c] {
			return false
		}
	}
	return true
}

func (g *lbSecurityGroup) create(ctx context.Context) (string, error) {
	s := g.s
	name := s.name("alb-sg")
	out, err := s.c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), VpcId: aws.String(s.get().VPCID),
		Description:       aws.String(fmt.Sprintf("%s: the load balancer listeners", s.cfg.Name)),
		TagSpecifications: s.ec2Tags(ec2types.ResourceTypeSecurityGroup, name),
	})
	if err != nil {
		return "", fmt.Errorf("create security group %s: %w", name, err)
	}
	g.id = aws.ToString(out.GroupId)
	s.set(func(o *Outputs) { o.LoadBalancerSecurityGroupID = g.id })
	return g.id, g.change(ctx)
}

func (g *lbSecurityGroup) change(ctx context.Context) error {
	var perms []ec2types.IpPermission
	for _, p := range g.ports() {
		perms = append(perms, ingress(p, g.s.cfg.IngressCIDRs)...)
	}
	_, err := g.s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g.id), IpPermissions: perms})
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidPermission.Duplicate" {
		return nil
	}
	return wrap("authorize the listener ports", err)
}

func (g *lbSecurityGroup) destroy(ctx context.Context) error {
	_, err := g.s.c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g.id)})
	return wrap("delete security group", err)
}
