package bootstrap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// baseline is what already runs, found before any resource is judged: the
// service and the task definition it runs, and the network they use. It
// is read-only once discover returns.
type baseline struct {
	zones       []string
	service     *ecstypes.Service
	taskDef     *ecstypes.TaskDefinition
	taskDefTags []ecstypes.Tag
	// container is the app's container in taskDef, nil without one.
	container *ecstypes.ContainerDefinition
	vpc       *ec2types.Vpc
	// sameCIDR are VPCs with the config's block that discovery did not
	// choose: named in advice when the plan creates a VPC.
	sameCIDR []ec2types.Vpc
	// public and private hold, at index i, the subnet found for the
	// config's i-th subnet of that kind, or nil.
	public, private  []*ec2types.Subnet
	securityGroupIDs []string
}

// ErrAmbiguous is returned when two resources could each be the one the
// config means; nothing is changed.
var ErrAmbiguous = errors.New("more than one candidate")

// discover finds the baseline that runs: the service first and, from its
// network configuration, its subnets, security groups and VPC; else the
// VPC by the config's vpc-id, by our tags, by its CIDR and Name, or by its
// gateway's Name; then the subnets inside that VPC.
func (s *Stack) discover(ctx context.Context) (*baseline, error) {
	b := &baseline{public: make([]*ec2types.Subnet, len(s.cfg.PublicSubnets)), private: make([]*ec2types.Subnet, len(s.cfg.PrivateSubnets))}
	var err error
	if b.zones, err = s.zones(ctx); err != nil {
		return nil, err
	}
	if err := s.discoverService(ctx, b); err != nil {
		return nil, err
	}
	var serviceSubnets []string
	if b.service != nil && b.service.NetworkConfiguration != nil && b.service.NetworkConfiguration.AwsvpcConfiguration != nil {
		nc := b.service.NetworkConfiguration.AwsvpcConfiguration
		serviceSubnets, b.securityGroupIDs = nc.Subnets, nc.SecurityGroups
	}
	if len(s.cfg.SecurityGroupIDs) > 0 {
		b.securityGroupIDs = s.cfg.SecurityGroupIDs
	}
	named := append(slices.Clone(s.cfg.PublicSubnetIDs), s.cfg.PrivateSubnetIDs...)
	if len(s.cfg.PublicSubnetIDs) == 0 {
		named = append(named, serviceSubnets...)
		if err := s.checkServiceVPC(ctx, serviceSubnets); err != nil {
			return nil, err
		}
	}
	if err := s.discoverVPC(ctx, b, named); err != nil {
		return nil, err
	}
	if b.vpc == nil {
		return b, nil
	}
	out, err := s.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("vpc-id", aws.ToString(b.vpc.VpcId))}})
	if err != nil {
		return nil, fmt.Errorf("describe subnets of %s: %w", aws.ToString(b.vpc.VpcId), err)
	}
	byID := map[string]*ec2types.Subnet{}
	byCIDR := map[string]*ec2types.Subnet{}
	for i := range out.Subnets {
		sn := &out.Subnets[i]
		byID[aws.ToString(sn.SubnetId)], byCIDR[aws.ToString(sn.CidrBlock)] = sn, sn
	}
	pick := func(into []*ec2types.Subnet, cidrs, explicit, fromService []string, what string) error {
		for i, id := range explicit {
			if byID[id] == nil {
				return fmt.Errorf("%s %s is not in VPC %s: name subnets of one VPC", what, id, aws.ToString(b.vpc.VpcId))
			}
			if i < len(into) {
				into[i] = byID[id]
			}
		}
		if len(explicit) > 0 {
			return nil
		}
		// The service's subnets go where their block matches the config,
		// then in order into the places left.
		var rest []*ec2types.Subnet
		for _, id := range fromService {
			sn := byID[id]
			if sn == nil {
				continue
			}
			if i := slices.Index(cidrs, aws.ToString(sn.CidrBlock)); i >= 0 {
				into[i] = sn
			} else {
				rest = append(rest, sn)
			}
		}
		for i := range into {
			if into[i] == nil && len(rest) > 0 {
				into[i], rest = rest[0], rest[1:]
			}
		}
		for i, c := range cidrs {
			if into[i] == nil && byCIDR[c] != nil && !slices.Contains(into, byCIDR[c]) {
				into[i] = byCIDR[c]
			}
		}
		return nil
	}
	if err := pick(b.public, s.cfg.PublicSubnets, s.cfg.PublicSubnetIDs, serviceSubnets, "public subnet"); err != nil {
		return nil, err
	}
	if err := pick(b.private, s.cfg.PrivateSubnets, s.cfg.PrivateSubnetIDs, nil, "private subnet"); err != nil {
		return nil, err
	}
	// Subnets that are there fix the zones, unless the config names them.
	if len(s.cfg.AvailabilityZones) == 0 {
		for i := range b.zones {
			for _, sns := range [][]*ec2types.Subnet{b.public, b.private} {
				if i < len(sns) && sns[i] != nil {
					b.zones[i] = aws.ToString(sns[i].AvailabilityZone)
					break
				}
			}
		}
	}
	return b, nil
}

// checkServiceVPC refuses a vpc-id that is not the VPC the service runs
// in: a baseline made there (subnets, a gateway to move) would not be the
// service's, and could not be undone without touching what runs.
func (s *Stack) checkServiceVPC(ctx context.Context, serviceSubnets []string) error {
	if s.cfg.VPCID == "" || len(serviceSubnets) == 0 {
		return nil
	}
	out, err := s.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: serviceSubnets})
	if err != nil {
		return fmt.Errorf("describe subnets %s of service %s: %w", strings.Join(serviceSubnets, ", "), s.cfg.Service, err)
	}
	var vpcs []string
	for _, sn := range out.Subnets {
		if v := aws.ToString(sn.VpcId); !slices.Contains(vpcs, v) {
			vpcs = append(vpcs, v)
		}
	}
	if len(vpcs) == 0 || slices.Equal(vpcs, []string{s.cfg.VPCID}) {
		return nil
	}
	return fmt.Errorf("vpc-id %s: service %s runs in %s (its subnets %s): set vpc-id: %s, or leave vpc-id out (the service's VPC is found from its subnets); nothing was changed",
		s.cfg.VPCID, s.cfg.Service, strings.Join(vpcs, ", "), strings.Join(serviceSubnets, ", "), vpcs[0])
}

// discoverService finds the configured service and the task definition it runs.
func (s *Stack) discoverService(ctx context.Context, b *baseline) error {
	out, err := s.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.cfg.Cluster), Services: []string{s.cfg.Service},
		Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	var cnf *ecstypes.ClusterNotFoundException
	if errors.As(err, &cnf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe service %s: %w", s.cfg.Service, err)
	}
	for i := range out.Services {
		if aws.ToString(out.Services[i].Status) == "ACTIVE" {
			b.service = &out.Services[i]
		}
	}
	if b.service == nil {
		return nil
	}
	td, err := s.c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: b.service.TaskDefinition,
		Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		return fmt.Errorf("describe task definition %s of service %s: %w", aws.ToString(b.service.TaskDefinition), s.cfg.Service, err)
	}
	b.taskDef, b.taskDefTags = td.TaskDefinition, td.Tags
	cs := b.taskDef.ContainerDefinitions
	for i := range cs {
		if aws.ToString(cs[i].Name) == s.cfg.Container || len(cs) == 1 {
			b.container = &cs[i]
		}
	}
	return nil
}

// discoverVPC chooses the VPC: the config's vpc-id, else the one of the
// named subnets (the config's or the service's), else ours by tag, else
// the one with the config's block and Name, else the one its gateway's
// Name points to. Two candidates are an error.
func (s *Stack) discoverVPC(ctx context.Context, b *baseline, subnetIDs []string) error {
	vpcID := s.cfg.VPCID
	if vpcID == "" && len(subnetIDs) > 0 {
		out, err := s.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnetIDs})
		if err != nil {
			return fmt.Errorf("describe subnets %s: %w", strings.Join(subnetIDs, ", "), err)
		}
		var vpcs []string
		for _, sn := range out.Subnets {
			if v := aws.ToString(sn.VpcId); !slices.Contains(vpcs, v) {
				vpcs = append(vpcs, v)
			}
		}
		if len(vpcs) > 1 {
			return fmt.Errorf("subnets %s lie in %d VPCs (%s): %w; set vpc-id in the config", strings.Join(subnetIDs, ", "), len(vpcs), strings.Join(vpcs, ", "), ErrAmbiguous)
		}
		if len(vpcs) == 1 {
			vpcID = vpcs[0]
		}
	}
	if vpcID != "" {
		out, err := s.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
		if err != nil || len(out.Vpcs) == 0 {
			return fmt.Errorf("find VPC %s: %w (check vpc-id in the config)", vpcID, cmpErr(err, "not found"))
		}
		b.vpc = &out.Vpcs[0]
		return nil
	}
	tries := []struct {
		how     string
		filters []ec2types.Filter
	}{
		{"carry the tags of stack " + s.cfg.Name, s.ours()},
		{"have block " + s.cfg.VPCCIDR + " and Name " + s.name("vpc"), []ec2types.Filter{filter("cidr-block", s.cfg.VPCCIDR), filter("tag:Name", s.name("vpc"))}},
	}
	for _, t := range tries {
		out, err := s.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: t.filters})
		if err != nil {
			return fmt.Errorf("describe VPCs: %w", err)
		}
		if err := one(out.Vpcs, &b.vpc, "VPCs "+t.how); err != nil || b.vpc != nil {
			return err
		}
	}
	gws, err := s.c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("tag:Name", s.name("igw-1"))}})
	if err != nil {
		return fmt.Errorf("describe internet gateways: %w", err)
	}
	var attached []string
	for _, g := range gws.InternetGateways {
		for _, a := range g.Attachments {
			attached = append(attached, aws.ToString(a.VpcId))
		}
	}
	if len(attached) > 0 {
		out, err := s.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: attached, Filters: []ec2types.Filter{filter("cidr-block", s.cfg.VPCCIDR)}})
		if err != nil {
			return fmt.Errorf("describe VPCs: %w", err)
		}
		if err := one(out.Vpcs, &b.vpc, "VPCs with block "+s.cfg.VPCCIDR+" have a gateway named "+s.name("igw-1")); err != nil || b.vpc != nil {
			return err
		}
	}
	out, err := s.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("cidr-block", s.cfg.VPCCIDR)}})
	if err != nil {
		return fmt.Errorf("describe VPCs: %w", err)
	}
	for _, v := range out.Vpcs {
		if ec2Tag.of(v.Tags)[TagManagedBy] == "" {
			b.sameCIDR = append(b.sameCIDR, v)
		}
	}
	return nil
}

// one sets *into to the only VPC of vpcs, or says there are several.
func one(vpcs []ec2types.Vpc, into **ec2types.Vpc, what string) error {
	switch len(vpcs) {
	case 0:
		return nil
	case 1:
		*into = &vpcs[0]
		return nil
	}
	var ids []string
	for _, v := range vpcs {
		ids = append(ids, aws.ToString(v.VpcId)+" ("+cmp.Or(ec2Tag.of(v.Tags)["Name"], "no Name")+")")
	}
	return fmt.Errorf("%d %s: %s: %w; set vpc-id in the config to the one to use", len(vpcs), what, strings.Join(ids, ", "), ErrAmbiguous)
}

func cmpErr(err error, otherwise string) error {
	if err != nil {
		return err
	}
	return errors.New(otherwise)
}

// subnetOf is the subnet discovered for the i-th subnet of a kind.
func (b *baseline) subnetOf(public bool, i int) *ec2types.Subnet {
	sns := b.private
	if public {
		sns = b.public
	}
	if i < len(sns) {
		return sns[i]
	}
	return nil
}

// secretRefs are the Secrets Manager secrets the app's container reads, by
// the environment variable each fills: the secret's ARN without a JSON key.
func (b *baseline) secretRefs() map[string]string {
	refs := map[string]string{}
	if b.container == nil {
		return refs
	}
	for _, sec := range b.container.Secrets {
		if arn := secretARN(aws.ToString(sec.ValueFrom)); arn != "" {
			refs[aws.ToString(sec.Name)] = arn
		}
	}
	return refs
}

// secretARN strips the JSON key, version stage and version id from a
// valueFrom (arn:aws:secretsmanager:region:account:secret:name-abc123:KEY::);
// it is "" for a value that is not a Secrets Manager ARN (a parameter).
func secretARN(valueFrom string) string {
	p := strings.Split(valueFrom, ":")
	if len(p) < 7 || p[2] != "secretsmanager" {
		return ""
	}
	return strings.Join(p[:7], ":")
}

// repositoryOf is the ECR repository an image reference names, or "".
func repositoryOf(image string) string {
	host, path, ok := strings.Cut(image, "/")
	if !ok || !strings.Contains(host, ".dkr.ecr.") {
		return ""
	}
	if i := strings.IndexAny(path, ":@"); i >= 0 {
		path = path[:i]
	}
	return path
}

// roleName is the name in a role ARN (arn:aws:iam::1:role/path/name).
func roleName(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return arn
	}
	return lastSegment(arn)
}
