package bootstrap

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// subnet is the i-th public or private subnet.
type subnet struct {
	s         *Stack
	public    bool
	i         int
	label     string
	id        string
	publicOff bool // public IP on launch to turn on
}

func (n *subnet) cidr() string {
	if n.public {
		return n.s.cfg.PublicSubnets[n.i]
	}
	return n.s.cfg.PrivateSubnets[n.i]
}

func (n *subnet) suffix() string {
	if n.public {
		return fmt.Sprintf("public-%d", n.i+1)
	}
	return fmt.Sprintf("private-%d", n.i+1)
}

func (n *subnet) describe() (string, string) {
	kind := "private subnet"
	if n.public {
		kind = "public subnet"
	}
	return kind, cmp.Or(n.label, n.s.name(n.suffix())+" "+n.cidr())
}

func (n *subnet) stage() int { return 2 }

func (n *subnet) record() {
	n.s.set(func(o *Outputs) {
		ids := &o.PrivateSubnetIDs
		if n.public {
			ids = &o.PublicSubnetIDs
		}
		for len(*ids) <= n.i {
			*ids = append(*ids, "")
		}
		(*ids)[n.i] = n.id
	})
}

func (n *subnet) find(ctx context.Context) (found, error) {
	s := n.s
	sn := s.found.subnetOf(n.public, n.i)
	if sn == nil {
		// A missing subnet in a VPC that is there must fit in its block.
		if v := s.found.vpc; v != nil {
			block, err1 := netip.ParsePrefix(aws.ToString(v.CidrBlock))
			p, err2 := netip.ParsePrefix(n.cidr())
			if err1 == nil && err2 == nil && !block.Contains(p.Addr()) {
				return found{}, fmt.Errorf("subnet %s is missing and lies outside VPC %s (%s): set the subnets in the config to free blocks of it, or name them with public-subnet-ids and private-subnet-ids",
					n.cidr(), aws.ToString(v.VpcId), block)
			}
		}
		return found{}, nil
	}
	n.id = aws.ToString(sn.SubnetId)
	n.record()
	v := judgeSubnet(sn, subnetWant{public: n.public, cidr: n.cidr(), zone: s.found.zones[n.i], stack: s.cfg.Name, managed: slices.Contains(s.cfg.Manage, "subnets")})
	n.label, n.publicOff = v.label, v.publicOff
	return v.found, v.err
}

// subnetWant is what the config asks of one subnet.
type subnetWant struct {
	public     bool
	cidr, zone string
	stack      string
	managed    bool
}

// subnetVerdict is what the judge found, and whether apply is to turn
// public IPs on.
type subnetVerdict struct {
	found
	label     string
	publicOff bool
	err       error
}

// judgeSubnet compares a subnet found with the config: a subnet of ours in
// another zone than the config's is an error (a subnet cannot move); a
// block that differs is advice; a public subnet maps public IPs.
func judgeSubnet(sn *types.Subnet, want subnetWant) subnetVerdict {
	id := aws.ToString(sn.SubnetId)
	v := subnetVerdict{found: found{owner: ownerOf(ec2Tag.of(sn.Tags), want.stack), whose: whoseOf(ec2Tag.of(sn.Tags), want.stack), id: id + " in " + aws.ToString(sn.AvailabilityZone)}}
	v.label = label(v.owner, sn.Tags, aws.ToString(sn.CidrBlock))
	if v.owner == OwnerUs && aws.ToString(sn.AvailabilityZone) != want.zone {
		v.err = fmt.Errorf("subnet %s is in %s, the config puts it in %s: a subnet cannot change zones, and deleting it would stop the tasks in it: name its zone in availability-zones", want.cidr, aws.ToString(sn.AvailabilityZone), want.zone)
		return v
	}
	if got := aws.ToString(sn.CidrBlock); got != want.cidr {
		v.advice = append(v.advice, fmt.Sprintf("its block is %s, the config says %s", got, want.cidr))
	}
	var ds []drift
	if want.public && !aws.ToBool(sn.MapPublicIpOnLaunch) {
		ds = append(ds, drift{"public IP on launch is off", "aws ec2 modify-subnet-attribute --subnet-id " + id + " --map-public-ip-on-launch (the service assigns its tasks a public IP either way)"})
	}
	v.publicOff = sortDrift(&v.found, "subnets", want.managed, ds) && len(ds) > 0
	return v
}

func (n *subnet) create(ctx context.Context) (string, error) {
	s := n.s
	out, err := s.c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: aws.String(s.get().VPCID), CidrBlock: aws.String(n.cidr()), AvailabilityZone: aws.String(s.found.zones[n.i]),
		TagSpecifications: s.ec2Tags(types.ResourceTypeSubnet, s.name(n.suffix())),
	})
	if err != nil {
		return "", fmt.Errorf("create subnet %s: %w", n.cidr(), err)
	}
	n.id = aws.ToString(out.Subnet.SubnetId)
	n.record()
	n.publicOff = n.public
	if err := n.change(ctx); err != nil {
		return "", err
	}
	return n.id, nil
}

func (n *subnet) change(ctx context.Context) error {
	if !n.publicOff {
		return nil
	}
	_, err := n.s.c.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(n.id), MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	return wrap("turn on public IP on launch", err)
}

func (n *subnet) destroy(ctx context.Context) error {
	_, err := n.s.c.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(n.id)})
	return wrap("delete subnet "+n.cidr(), err)
}
