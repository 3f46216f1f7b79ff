package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func (s *Stack) ec2Tags(kind types.ResourceType, name string) []types.TagSpecification {
	return []types.TagSpecification{{ResourceType: kind, Tags: []types.Tag{
		{Key: aws.String("Name"), Value: aws.String(name)},
		{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)},
		{Key: aws.String(TagStack), Value: aws.String(s.cfg.Name)},
	}}}
}

func (s *Stack) ours() []types.Filter {
	return []types.Filter{
		{Name: aws.String("tag:" + TagManagedBy), Values: []string{ManagedByValue}},
		{Name: aws.String("tag:" + TagStack), Values: []string{s.cfg.Name}},
	}
}

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

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
		return have[:2], nil
	}
	for _, z := range s.cfg.AvailabilityZones {
		if !slices.Contains(have, z) {
			return nil, fmt.Errorf("availability zone %s is not in region %s (it has %s)", z, s.cfg.Region, strings.Join(have, ", "))
		}
	}
	return s.cfg.AvailabilityZones, nil
}

func (s *Stack) vpc() resource {
	return resource{kind: "vpc", name: s.name("vpc") + " " + s.cfg.VPCCIDR, stage: 1,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: s.ours()})
			if err != nil {
				return "", "", fmt.Errorf("describe VPCs: %w", err)
			}
			switch len(out.Vpcs) {
			case 0:
				return Create, "", nil
			case 1:
			default:
				return "", "", fmt.Errorf("%d VPCs carry the tags of stack %s: delete the extra ones", len(out.Vpcs), s.cfg.Name)
			}
			v := out.Vpcs[0]
			if aws.ToString(v.CidrBlock) != s.cfg.VPCCIDR {
				return "", "", fmt.Errorf("VPC %s has CIDR %s, the config says %s: a VPC's block cannot change; run destroy first", aws.ToString(v.VpcId), aws.ToString(v.CidrBlock), s.cfg.VPCCIDR)
			}
			s.set(func(o *Outputs) { o.VPCID = aws.ToString(v.VpcId) })
			var off []string
			for _, attr := range []types.VpcAttributeName{types.VpcAttributeNameEnableDnsSupport, types.VpcAttributeNameEnableDnsHostnames} {
				a, err := s.c.EC2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: v.VpcId, Attribute: attr})
				if err != nil {
					return "", "", fmt.Errorf("describe VPC attribute %s: %w", attr, err)
				}
				on := a.EnableDnsSupport
				if attr == types.VpcAttributeNameEnableDnsHostnames {
					on = a.EnableDnsHostnames
				}
				if on == nil || !aws.ToBool(on.Value) {
					off = append(off, string(attr)+" is off")
				}
			}
			if len(off) > 0 {
				return Change, strings.Join(off, ", "), nil
			}
			return Exists, aws.ToString(v.VpcId), nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(s.cfg.VPCCIDR), TagSpecifications: s.ec2Tags(types.ResourceTypeVpc, s.name("vpc"))})
			if err != nil {
				return fmt.Errorf("create VPC: %w", err)
			}
			s.set(func(o *Outputs) { o.VPCID = aws.ToString(out.Vpc.VpcId) })
			return s.vpcDNS(ctx)
		},
		fix: s.vpcDNS,
		destroy: func(ctx context.Context) (bool, error) {
			id := s.get().VPCID
			if id == "" {
				return false, nil
			}
			_, err := s.c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
			return true, wrap("delete VPC "+id, err)
		},
	}
}

func (s *Stack) vpcDNS(ctx context.Context) error {
	id := aws.String(s.get().VPCID)
	if _, err := s.c.EC2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: id, EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("enable DNS support: %w", err)
	}
	if _, err := s.c.EC2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: id, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("enable DNS hostnames: %w", err)
	}
	return nil
}

func (s *Stack) internetGateway() resource {
	name := s.name("igw-1")
	return resource{kind: "internet gateway", name: name, stage: 2,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: append(s.ours(), filter("tag:Name", name))})
			if err != nil {
				return "", "", fmt.Errorf("describe internet gateways: %w", err)
			}
			if len(out.InternetGateways) == 0 {
				return Create, "", nil
			}
			g := out.InternetGateways[0]
			s.set(func(o *Outputs) { o.InternetGatewayID = aws.ToString(g.InternetGatewayId) })
			vpc := s.get().VPCID
			for _, a := range g.Attachments {
				if aws.ToString(a.VpcId) == vpc && vpc != "" {
					return Exists, aws.ToString(g.InternetGatewayId), nil
				}
			}
			return Change, "not attached to the VPC", nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: s.ec2Tags(types.ResourceTypeInternetGateway, name)})
			if err != nil {
				return fmt.Errorf("create internet gateway: %w", err)
			}
			s.set(func(o *Outputs) { o.InternetGatewayID = aws.ToString(out.InternetGateway.InternetGatewayId) })
			return s.attachGateway(ctx)
		},
		fix: s.attachGateway,
		destroy: func(ctx context.Context) (bool, error) {
			o := s.get()
			if o.InternetGatewayID == "" {
				return false, nil
			}
			if o.VPCID != "" {
				_, err := s.c.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(o.InternetGatewayID), VpcId: aws.String(o.VPCID)})
				if err != nil && !strings.Contains(err.Error(), "Gateway.NotAttached") {
					return false, fmt.Errorf("detach internet gateway: %w", err)
				}
			}
			_, err := s.c.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(o.InternetGatewayID)})
			return true, wrap("delete internet gateway", err)
		},
	}
}

func (s *Stack) attachGateway(ctx context.Context) error {
	o := s.get()
	_, err := s.c.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(o.InternetGatewayID), VpcId: aws.String(o.VPCID)})
	return wrap("attach internet gateway", err)
}

func (s *Stack) subnet(public bool, i int) resource {
	cidr, kind, suffix := s.cfg.PrivateSubnets[i], "private subnet", fmt.Sprintf("private-%d", i+1)
	if public {
		cidr, kind, suffix = s.cfg.PublicSubnets[i], "public subnet", fmt.Sprintf("public-%d", i+1)
	}
	record := func(id string) {
		s.set(func(o *Outputs) {
			ids := &o.PrivateSubnetIDs
			if public {
				ids = &o.PublicSubnetIDs
			}
			for len(*ids) <= i {
				*ids = append(*ids, "")
			}
			(*ids)[i] = id
		})
	}
	idOf := func() string {
		o := s.get()
		ids := o.PrivateSubnetIDs
		if public {
			ids = o.PublicSubnetIDs
		}
		if i < len(ids) {
			return ids[i]
		}
		return ""
	}
	var tagged bool
	return resource{kind: kind, name: s.name(suffix) + " " + cidr, stage: 2,
		find: func(ctx context.Context) (Action, string, error) {
			vpc := s.get().VPCID
			if vpc == "" {
				return Create, "", nil
			}
			out, err := s.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", vpc), filter("cidr-block", cidr)}})
			if err != nil {
				return "", "", fmt.Errorf("describe subnets: %w", err)
			}
			if len(out.Subnets) == 0 {
				return Create, "", nil
			}
			sn := out.Subnets[0]
			tagged = hasEC2Tag(sn.Tags, TagManagedBy, ManagedByValue)
			record(aws.ToString(sn.SubnetId))
			if want := s.get().AvailabilityZones[i]; aws.ToString(sn.AvailabilityZone) != want {
				return "", "", fmt.Errorf("subnet %s is in %s, the config puts it in %s: destroy it or name its zone in availability-zones", cidr, aws.ToString(sn.AvailabilityZone), want)
			}
			if public && !aws.ToBool(sn.MapPublicIpOnLaunch) {
				return Change, "public IP on launch is off", nil
			}
			return Exists, aws.ToString(sn.SubnetId) + " in " + aws.ToString(sn.AvailabilityZone), nil
		},
		create: func(ctx context.Context) error {
			o := s.get()
			out, err := s.c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
				VpcId: aws.String(o.VPCID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(o.AvailabilityZones[i]),
				TagSpecifications: s.ec2Tags(types.ResourceTypeSubnet, s.name(suffix)),
			})
			if err != nil {
				return fmt.Errorf("create subnet %s: %w", cidr, err)
			}
			tagged = true
			record(aws.ToString(out.Subnet.SubnetId))
			if public {
				return s.publicIPOnLaunch(ctx, aws.ToString(out.Subnet.SubnetId))
			}
			return nil
		},
		fix: func(ctx context.Context) error { return s.publicIPOnLaunch(ctx, idOf()) },
		destroy: func(ctx context.Context) (bool, error) {
			id := idOf()
			if id == "" || !tagged {
				return false, nil
			}
			_, err := s.c.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(id)})
			return true, wrap("delete subnet "+cidr, err)
		},
	}
}

func (s *Stack) publicIPOnLaunch(ctx context.Context, id string) error {
	_, err := s.c.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(id), MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	return wrap("turn on public IP on launch", err)
}

func (s *Stack) routeTable(public bool) resource {
	name, kind := s.name("private-rt"), "private route table"
	if public {
		name, kind = s.name("public-rt"), "public route table"
	}
	id := func() string {
		if public {
			return s.get().PublicRouteTableID
		}
		return s.get().PrivateRouteTableID
	}
	subnets := func() []string {
		if public {
			return s.get().PublicSubnetIDs
		}
		return s.get().PrivateSubnetIDs
	}
	var table *types.RouteTable
	drift := func(rt *types.RouteTable) []string {
		var d []string
		hasDefault := slices.ContainsFunc(rt.Routes, func(r types.Route) bool {
			return aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && aws.ToString(r.GatewayId) == s.get().InternetGatewayID
		})
		anyDefault := slices.ContainsFunc(rt.Routes, func(r types.Route) bool { return aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" })
		if public && !hasDefault {
			d = append(d, "no route 0.0.0.0/0 to the internet gateway")
		}
		if !public && anyDefault {
			d = append(d, "has a route to the internet: private subnets must have none")
		}
		for _, sn := range subnets() {
			if !slices.ContainsFunc(rt.Associations, func(a types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == sn }) {
				d = append(d, "subnet "+sn+" not associated")
			}
		}
		return d
	}
	fix := func(ctx context.Context) error {
		rt := table
		rtID := aws.String(id())
		if rt == nil {
			rt = &types.RouteTable{}
		}
		anyDefault := slices.ContainsFunc(rt.Routes, func(r types.Route) bool { return aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" })
		hasDefault := slices.ContainsFunc(rt.Routes, func(r types.Route) bool {
			return aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && aws.ToString(r.GatewayId) == s.get().InternetGatewayID
		})
		if public && !hasDefault {
			if anyDefault {
				if _, err := s.c.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: rtID, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(s.get().InternetGatewayID)}); err != nil {
					return fmt.Errorf("replace the default route: %w", err)
				}
			} else {
				if _, err := s.c.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtID, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(s.get().InternetGatewayID)}); err != nil {
					return fmt.Errorf("create the default route: %w", err)
				}
			}
		} else if !public && anyDefault {
			if _, err := s.c.EC2.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: rtID, DestinationCidrBlock: aws.String("0.0.0.0/0")}); err != nil {
				return fmt.Errorf("delete the private route to the internet: %w", err)
			}
		}
		for _, sn := range subnets() {
			if slices.ContainsFunc(rt.Associations, func(a types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == sn }) {
				continue
			}
			if _, err := s.c.EC2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtID, SubnetId: aws.String(sn)}); err != nil {
				return fmt.Errorf("associate subnet %s: %w", sn, err)
			}
		}
		return nil
	}
	return resource{kind: kind, name: name, stage: 3,
		find: func(ctx context.Context) (Action, string, error) {
			vpc := s.get().VPCID
			if vpc == "" {
				return Create, "", nil
			}
			out, err := s.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: append(s.ours(), filter("vpc-id", vpc), filter("tag:Name", name))})
			if err != nil {
				return "", "", fmt.Errorf("describe route tables: %w", err)
			}
			if len(out.RouteTables) == 0 {
				return Create, "", nil
			}
			table = &out.RouteTables[0]
			s.set(func(o *Outputs) {
				if public {
					o.PublicRouteTableID = aws.ToString(table.RouteTableId)
				} else {
					o.PrivateRouteTableID = aws.ToString(table.RouteTableId)
				}
			})
			if d := drift(table); len(d) > 0 {
				return Change, strings.Join(d, "; "), nil
			}
			return Exists, aws.ToString(table.RouteTableId), nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.EC2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(s.get().VPCID), TagSpecifications: s.ec2Tags(types.ResourceTypeRouteTable, name)})
			if err != nil {
				return fmt.Errorf("create %s: %w", kind, err)
			}
			s.set(func(o *Outputs) {
				if public {
					o.PublicRouteTableID = aws.ToString(out.RouteTable.RouteTableId)
				} else {
					o.PrivateRouteTableID = aws.ToString(out.RouteTable.RouteTableId)
				}
			})
			table = out.RouteTable
			return fix(ctx)
		},
		fix: fix,
		destroy: func(ctx context.Context) (bool, error) {
			if table == nil {
				return false, nil
			}
			for _, a := range table.Associations {
				if aws.ToBool(a.Main) {
					continue
				}
				if _, err := s.c.EC2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil {
					return false, fmt.Errorf("disassociate %s: %w", kind, err)
				}
			}
			_, err := s.c.EC2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: table.RouteTableId})
			return true, wrap("delete "+kind, err)
		},
	}
}

func (s *Stack) securityGroup() resource {
	name := s.name("server-sg")
	var group *types.SecurityGroup
	wanted := func() []string { return s.cfg.IngressCIDRs }
	current := func(g *types.SecurityGroup) (have []string, other []types.IpPermission) {
		for _, p := range g.IpPermissions {
			if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == s.cfg.ContainerPort && aws.ToInt32(p.ToPort) == s.cfg.ContainerPort {
				for _, r := range p.IpRanges {
					have = append(have, aws.ToString(r.CidrIp))
				}
				continue
			}
			other = append(other, p)
		}
		return have, other
	}
	perm := func(cidrs []string) []types.IpPermission {
		var ranges []types.IpRange
		for _, c := range cidrs {
			ranges = append(ranges, types.IpRange{CidrIp: aws.String(c), Description: aws.String("AutoNote API")})
		}
		return []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(s.cfg.ContainerPort), ToPort: aws.Int32(s.cfg.ContainerPort), IpRanges: ranges}}
	}
	fix := func(ctx context.Context) error {
		id := aws.String(s.get().SecurityGroupID)
		var have []string
		var other []types.IpPermission
		if group != nil {
			have, other = current(group)
		}
		var extra, missing []string
		for _, c := range have {
			if !slices.Contains(wanted(), c) {
				extra = append(extra, c)
			}
		}
		for _, c := range wanted() {
			if !slices.Contains(have, c) {
				missing = append(missing, c)
			}
		}
		if len(extra) > 0 {
			if _, err := s.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: id, IpPermissions: perm(extra)}); err != nil {
				return fmt.Errorf("revoke ingress %s: %w", strings.Join(extra, ", "), err)
			}
		}
		if len(other) > 0 {
			if _, err := s.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: id, IpPermissions: other}); err != nil {
				return fmt.Errorf("revoke ingress the config does not have: %w", err)
			}
		}
		if len(missing) > 0 {
			if _, err := s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: perm(missing)}); err != nil {
				return fmt.Errorf("authorize ingress %s: %w", strings.Join(missing, ", "), err)
			}
		}
		return nil
	}
	return resource{kind: "security group", name: name, stage: 2,
		find: func(ctx context.Context) (Action, string, error) {
			vpc := s.get().VPCID
			if vpc == "" {
				return Create, "", nil
			}
			out, err := s.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{filter("vpc-id", vpc), filter("group-name", name)}})
			if err != nil {
				return "", "", fmt.Errorf("describe security groups: %w", err)
			}
			if len(out.SecurityGroups) == 0 {
				return Create, "", nil
			}
			group = &out.SecurityGroups[0]
			s.set(func(o *Outputs) { o.SecurityGroupID = aws.ToString(group.GroupId) })
			have, other := current(group)
			var d []string
			for _, c := range have {
				if !slices.Contains(wanted(), c) {
					d = append(d, fmt.Sprintf("ingress tcp %d from %s is not in the config", s.cfg.ContainerPort, c))
				}
			}
			for _, c := range wanted() {
				if !slices.Contains(have, c) {
					d = append(d, fmt.Sprintf("ingress tcp %d from %s is missing", s.cfg.ContainerPort, c))
				}
			}
			for _, p := range other {
				d = append(d, fmt.Sprintf("ingress %s %d-%d is not in the config", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)))
			}
			if len(d) > 0 {
				return Change, strings.Join(d, "; "), nil
			}
			return Exists, aws.ToString(group.GroupId), nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
				GroupName: aws.String(name), VpcId: aws.String(s.get().VPCID),
				Description:       aws.String(fmt.Sprintf("%s: the API on TCP %d", s.cfg.Name, s.cfg.ContainerPort)),
				TagSpecifications: s.ec2Tags(types.ResourceTypeSecurityGroup, name),
			})
			if err != nil {
				return fmt.Errorf("create security group: %w", err)
			}
			s.set(func(o *Outputs) { o.SecurityGroupID = aws.ToString(out.GroupId) })
			group = nil
			return fix(ctx)
		},
		fix: fix,
		destroy: func(ctx context.Context) (bool, error) {
			if group == nil {
				return false, nil
			}
			if !hasEC2Tag(group.Tags, TagManagedBy, ManagedByValue) {
				return false, nil
			}
			_, err := s.c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: group.GroupId})
			return true, wrap("delete security group", err)
		},
	}
}

func hasEC2Tag(tags []types.Tag, k, v string) bool {
	return slices.ContainsFunc(tags, func(t types.Tag) bool { return aws.ToString(t.Key) == k && aws.ToString(t.Value) == v })
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
