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

// zones picks the two availability zones: the config's, which the region
// must have, or the region's first two.
func (s *Stack) zones(ctx context.Context) ([]string, error) {
	out, err := s.c.EC2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []types.Filter{filter("state", "available"), filter("zone-type", "availability-zone")},
	})
	if err != nil {
		return nil, fmt.Errorf("describe availability zones: %w", err)
	}
	var have []string
	for _, z := range out.AvailabilityZones {
		have = append(have, aws.ToString(z.ZoneName))
	}
	slices.Sort(have)
	if len(s.cfg.AvailabilityZones) == 0 {
		if len(have) < 2 {
			return nil, fmt.Errorf("region %s has %d availability zones; the baseline needs two", s.cfg.Region, len(have))
		}
		return slices.Clone(have[:2]), nil
	}
	for _, z := range s.cfg.AvailabilityZones {
		if !slices.Contains(have, z) {
			return nil, fmt.Errorf("availability zone %s is not in region %s (it has %s)", z, s.cfg.Region, strings.Join(have, ", "))
		}
	}
	return slices.Clone(s.cfg.AvailabilityZones), nil
}

// vpc is the network everything else lives in.
type vpc struct {
	s      *Stack
	label  string // an adopted VPC's own name
	id     string
	dnsOff []types.VpcAttributeName // to turn on
}

func (v *vpc) describe() (string, string) {
	return "vpc", cmp.Or(v.label, v.s.name("vpc")+" "+v.s.cfg.VPCCIDR)
}

// label is how the plan names an adopted resource: by its own Name tag,
// else by the name the bootstrap would give it.
func label(owner Owner, tags []types.Tag, suffix string) string {
	if n := ec2Tag.of(tags)["Name"]; owner == OwnerAdopted && n != "" {
		return strings.TrimSpace(n + " " + suffix)
	}
	return ""
}
func (v *vpc) stage() int { return 1 }

func (v *vpc) find(ctx context.Context) (found, error) {
	s, b := v.s, v.s.found
	if b.vpc == nil {
		var f found
		for _, o := range b.sameCIDR {
			f.advice = append(f.advice, fmt.Sprintf("VPC %s (%s) has the same block %s but is not chosen: if it is your baseline, set vpc-id: %s in the config",
				aws.ToString(o.VpcId), cmp.Or(ec2Tag.of(o.Tags)["Name"], "no Name"), s.cfg.VPCCIDR, aws.ToString(o.VpcId)))
		}
		return f, nil
	}
	v.id = aws.ToString(b.vpc.VpcId)
	s.set(func(o *Outputs) { o.VPCID = v.id })
	on := map[types.VpcAttributeName]bool{}
	for _, attr := range []types.VpcAttributeName{types.VpcAttributeNameEnableDnsSupport, types.VpcAttributeNameEnableDnsHostnames} {
		a, err := s.c.EC2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(v.id), Attribute: attr})
		if err != nil {
			return found{owner: s.owner(ec2Tag.of(b.vpc.Tags)), whose: whoseOf(ec2Tag.of(b.vpc.Tags), s.cfg.Name), id: v.id}, fmt.Errorf("describe VPC attribute %s: %w", attr, err)
		}
		value := a.EnableDnsSupport
		if attr == types.VpcAttributeNameEnableDnsHostnames {
			value = a.EnableDnsHostnames
		}
		on[attr] = value != nil && aws.ToBool(value.Value)
	}
	verdict := judgeVPC(b.vpc, on, s.cfg.VPCCIDR, s.cfg.Name, slices.Contains(s.cfg.Manage, "vpc"))
	v.label, v.dnsOff = verdict.label, verdict.dnsOff
	return verdict.found, verdict.err
}

// vpcVerdict is what the judge found, and the DNS attributes to turn on.
type vpcVerdict struct {
	found
	label  string
	dnsOff []types.VpcAttributeName
	err    error
}

// judgeVPC compares the VPC found (and whether its DNS attributes are on)
// with the config: a block of ours that differs is an error (a VPC's block
// cannot change), an adopted one's is advice; DNS support and hostnames
// are to be on.
func judgeVPC(vpc *types.Vpc, dnsOn map[types.VpcAttributeName]bool, cidr, stack string, managed bool) vpcVerdict {
	id := aws.ToString(vpc.VpcId)
	v := vpcVerdict{found: found{owner: ownerOf(ec2Tag.of(vpc.Tags), stack), whose: whoseOf(ec2Tag.of(vpc.Tags), stack), id: id}}
	v.label = label(v.owner, vpc.Tags, aws.ToString(vpc.CidrBlock))
	if have := aws.ToString(vpc.CidrBlock); have != cidr {
		if v.owner == OwnerUs {
			v.err = fmt.Errorf("VPC %s has CIDR %s, the config says %s: a VPC's block cannot change, and the stack's service runs in it: set vpc-cidr: %s (and subnets inside it), or give a stack for a new network a name of its own", id, have, cidr, have)
			return v
		}
		v.advice = append(v.advice, fmt.Sprintf("its block is %s, the config says %s: set vpc-cidr and the subnets to match it", have, cidr))
	}
	var ds []drift
	var off []types.VpcAttributeName
	for _, attr := range []types.VpcAttributeName{types.VpcAttributeNameEnableDnsSupport, types.VpcAttributeNameEnableDnsHostnames} {
		if !dnsOn[attr] {
			off = append(off, attr)
			ds = append(ds, drift{string(attr) + " is off", fmt.Sprintf("aws ec2 modify-vpc-attribute --vpc-id %s --%s", id, kebab(string(attr)))})
		}
	}
	if sortDrift(&v.found, "vpc", managed, ds) {
		v.dnsOff = off
	}
	return v
}

func kebab(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('-')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (v *vpc) create(ctx context.Context) (string, error) {
	s := v.s
	out, err := s.c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(s.cfg.VPCCIDR), TagSpecifications: s.ec2Tags(types.ResourceTypeVpc, s.name("vpc"))})
	if err != nil {
		return "", fmt.Errorf("create VPC: %w", err)
	}
	v.id = aws.ToString(out.Vpc.VpcId)
	s.set(func(o *Outputs) { o.VPCID = v.id })
	v.dnsOff = []types.VpcAttributeName{types.VpcAttributeNameEnableDnsSupport, types.VpcAttributeNameEnableDnsHostnames}
	if err := v.change(ctx); err != nil {
		return "", err
	}
	return v.id, nil
}

func (v *vpc) change(ctx context.Context) error {
	for _, attr := range v.dnsOff {
		in := &ec2.ModifyVpcAttributeInput{VpcId: aws.String(v.id)}
		on := &types.AttributeBooleanValue{Value: aws.Bool(true)}
		if attr == types.VpcAttributeNameEnableDnsSupport {
			in.EnableDnsSupport = on
		} else {
			in.EnableDnsHostnames = on
		}
		if _, err := v.s.c.EC2.ModifyVpcAttribute(ctx, in); err != nil {
			return fmt.Errorf("turn on %s: %w", attr, err)
		}
	}
	return nil
}

func (v *vpc) destroy(ctx context.Context) error {
	_, err := v.s.c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(v.id)})
	return wrap("delete VPC "+v.id, err)
}
