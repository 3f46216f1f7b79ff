package bootstrap

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// gateway is the internet gateway attached to the VPC.
type gateway struct {
	s        *Stack
	label    string
	id       string
	attached bool
}

func (g *gateway) describe() (string, string) {
	return "internet gateway", cmp.Or(g.label, g.s.name("igw-1"))
}
func (g *gateway) stage() int { return 2 }

func (g *gateway) find(ctx context.Context) (found, error) {
	s := g.s
	vpcID := s.get().VPCID
	if vpcID == "" {
		return found{}, nil
	}
	// The gateway attached to the VPC, whoever made it; else ours, made
	// by a run that did not get to attach it.
	for _, filters := range [][]types.Filter{{filter("attachment.vpc-id", vpcID)}, append(s.ours(), filter("tag:Name", s.name("igw-1")))} {
		out, err := s.c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: filters})
		if err != nil {
			return found{}, fmt.Errorf("describe internet gateways: %w", err)
		}
		if len(out.InternetGateways) == 0 {
			continue
		}
		gw := out.InternetGateways[0]
		g.id = aws.ToString(gw.InternetGatewayId)
		s.set(func(o *Outputs) { o.InternetGatewayID = g.id })
		f := found{owner: s.owner(ec2Tag.of(gw.Tags)), whose: whoseOf(ec2Tag.of(gw.Tags), s.cfg.Name), id: g.id}
		g.label = label(f.owner, gw.Tags, "")
		g.attached = slices.ContainsFunc(gw.Attachments, func(a types.InternetGatewayAttachment) bool { return aws.ToString(a.VpcId) == vpcID })
		if !g.attached {
			f.changes = append(f.changes, "attach it to "+vpcID)
		}
		return f, nil
	}
	return found{}, nil
}

func (g *gateway) create(ctx context.Context) (string, error) {
	s := g.s
	out, err := s.c.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: s.ec2Tags(types.ResourceTypeInternetGateway, s.name("igw-1"))})
	if err != nil {
		return "", fmt.Errorf("create internet gateway: %w", err)
	}
	g.id = aws.ToString(out.InternetGateway.InternetGatewayId)
	s.set(func(o *Outputs) { o.InternetGatewayID = g.id })
	if err := g.change(ctx); err != nil {
		return "", err
	}
	return g.id, nil
}

func (g *gateway) change(ctx context.Context) error {
	_, err := g.s.c.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(g.id), VpcId: aws.String(g.s.get().VPCID)})
	return wrap("attach internet gateway", err)
}

func (g *gateway) destroy(ctx context.Context) error {
	s := g.s
	if vpcID := s.get().VPCID; vpcID != "" {
		_, err := s.c.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(g.id), VpcId: aws.String(vpcID)})
		if err != nil && !strings.Contains(err.Error(), "Gateway.NotAttached") {
			return fmt.Errorf("detach internet gateway: %w", err)
		}
	}
	_, err := s.c.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(g.id)})
	return wrap("delete internet gateway", err)
}
