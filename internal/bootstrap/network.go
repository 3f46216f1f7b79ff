package bootstrap

import (
	"context"
	"fmt"
	"net/netip"
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
	return []types.Filter{filter("tag:"+TagManagedBy, ManagedByValue), filter("tag:"+TagStack, s.cfg.Name)}
}

// ec2Owner is OwnerUs for an EC2 resource with our tags, else OwnerAdopted.
func (s *Stack) ec2Owner(tags []types.Tag) Owner {
	if ec2Tag(tags, TagManagedBy) == ManagedByValue && ec2Tag(tags, TagStack) == s.cfg.Name {
		return OwnerUs
	}
	return OwnerAdopted
}

func ec2Tag(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
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
	return "vpc", cmpStr(v.label, v.s.name("vpc")+" "+v.s.cfg.VPCCIDR)
}

// label is how the plan names an adopted resource: by its own Name tag,
// else by the name the bootstrap would give it.
func label(owner Owner, tags []types.Tag, suffix string) string {
	if n := ec2Tag(tags, "Name"); owner == OwnerAdopted && n != "" {
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
				aws.ToString(o.VpcId), cmpStr(ec2Tag(o.Tags, "Name"), "no Name"), s.cfg.VPCCIDR, aws.ToString(o.VpcId)))
		}
		return f, nil
	}
	v.id = aws.ToString(b.vpc.VpcId)
	f := found{owner: s.ec2Owner(b.vpc.Tags), id: v.id}
	v.label = label(f.owner, b.vpc.Tags, aws.ToString(b.vpc.CidrBlock))
	s.set(func(o *Outputs) { o.VPCID = v.id })
	if cidr := aws.ToString(b.vpc.CidrBlock); cidr != s.cfg.VPCCIDR {
		if f.owner == OwnerUs {
			return f, fmt.Errorf("VPC %s has CIDR %s, the config says %s: a VPC's block cannot change; run destroy first", v.id, cidr, s.cfg.VPCCIDR)
		}
		f.advice = append(f.advice, fmt.Sprintf("its block is %s, the config says %s: set vpc-cidr and the subnets to match it", cidr, s.cfg.VPCCIDR))
	}
	var ds []drift
	v.dnsOff = nil
	for _, attr := range []types.VpcAttributeName{types.VpcAttributeNameEnableDnsSupport, types.VpcAttributeNameEnableDnsHostnames} {
		a, err := s.c.EC2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(v.id), Attribute: attr})
		if err != nil {
			return f, fmt.Errorf("describe VPC attribute %s: %w", attr, err)
		}
		on := a.EnableDnsSupport
		if attr == types.VpcAttributeNameEnableDnsHostnames {
			on = a.EnableDnsHostnames
		}
		if on == nil || !aws.ToBool(on.Value) {
			v.dnsOff = append(v.dnsOff, attr)
			ds = append(ds, drift{string(attr) + " is off", fmt.Sprintf("aws ec2 modify-vpc-attribute --vpc-id %s --%s", v.id, kebab(string(attr)))})
		}
	}
	if !s.sortDrift(&f, "vpc", ds) {
		v.dnsOff = nil
	}
	return f, nil
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

// gateway is the internet gateway attached to the VPC.
type gateway struct {
	s        *Stack
	label    string
	id       string
	attached bool
}

func (g *gateway) describe() (string, string) {
	return "internet gateway", cmpStr(g.label, g.s.name("igw-1"))
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
		f := found{owner: s.ec2Owner(gw.Tags), id: g.id}
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
	return kind, cmpStr(n.label, n.s.name(n.suffix())+" "+n.cidr())
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
	f := found{owner: s.ec2Owner(sn.Tags), id: n.id + " in " + aws.ToString(sn.AvailabilityZone)}
	n.label = label(f.owner, sn.Tags, aws.ToString(sn.CidrBlock))
	if want := s.found.zones[n.i]; f.owner == OwnerUs && aws.ToString(sn.AvailabilityZone) != want {
		return f, fmt.Errorf("subnet %s is in %s, the config puts it in %s: destroy it or name its zone in availability-zones", n.cidr(), aws.ToString(sn.AvailabilityZone), want)
	}
	if got := aws.ToString(sn.CidrBlock); got != n.cidr() {
		f.advice = append(f.advice, fmt.Sprintf("its block is %s, the config says %s", got, n.cidr()))
	}
	var ds []drift
	if n.public && !aws.ToBool(sn.MapPublicIpOnLaunch) {
		ds = append(ds, drift{"public IP on launch is off", "aws ec2 modify-subnet-attribute --subnet-id " + n.id + " --map-public-ip-on-launch (the service assigns its tasks a public IP either way)"})
	}
	n.publicOff = s.sortDrift(&f, "subnets", ds) && len(ds) > 0
	return f, nil
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

// routeTable routes the public or the private subnets. The subnets the
// bootstrap made get a table of its own; the ones it adopted keep theirs,
// which are judged and advised on, never changed.
type routeTable struct {
	s      *Stack
	public bool
	label  string            // the adopted tables' names
	table  *types.RouteTable // ours
	// oursSubnets are the subnets of this kind that the bootstrap made;
	// toAssociate those of them not associated with our table yet.
	oursSubnets, toAssociate []string
	route                    string // "create", "replace" or "delete" the default route of our table
}

func (t *routeTable) describe() (string, string) {
	kind, name := t.ours()
	return kind, cmpStr(t.label, name)
}

// ours is the kind and the name of the table the bootstrap makes.
func (t *routeTable) ours() (string, string) {
	if t.public {
		return "public route table", t.s.name("public-rt")
	}
	return "private route table", t.s.name("private-rt")
}

func (t *routeTable) stage() int { return 3 }

func (t *routeTable) record(id string) {
	t.s.set(func(o *Outputs) {
		if t.public {
			o.PublicRouteTableID = id
		} else {
			o.PrivateRouteTableID = id
		}
	})
}

func (t *routeTable) find(ctx context.Context) (found, error) {
	s := t.s
	o := s.get()
	if o.VPCID == "" {
		return found{}, nil
	}
	subnets := o.PrivateSubnetIDs
	if t.public {
		subnets = o.PublicSubnetIDs
	}
	out, err := s.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("vpc-id", o.VPCID)}})
	if err != nil {
		return found{}, fmt.Errorf("describe route tables: %w", err)
	}
	_, name := t.ours()
	t.table, t.oursSubnets, t.toAssociate, t.route = nil, nil, nil, ""
	var main *types.RouteTable
	for i := range out.RouteTables {
		rt := &out.RouteTables[i]
		if s.ec2Owner(rt.Tags) == OwnerUs && ec2Tag(rt.Tags, "Name") == name {
			t.table = rt
		}
		if slices.ContainsFunc(rt.Associations, func(a types.RouteTableAssociation) bool { return aws.ToBool(a.Main) }) {
			main = rt
		}
	}
	tableOf := func(sn string) *types.RouteTable {
		for i := range out.RouteTables {
			if slices.ContainsFunc(out.RouteTables[i].Associations, func(a types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == sn }) {
				return &out.RouteTables[i]
			}
		}
		return main
	}
	var f found
	var adoptedTables, adoptedNames []string
	for _, sn := range subnets {
		if sn == "" {
			continue
		}
		if s.subnetIsOurs(sn) {
			t.oursSubnets = append(t.oursSubnets, sn)
			continue
		}
		rt := tableOf(sn)
		if rt == nil || slices.Contains(adoptedTables, aws.ToString(rt.RouteTableId)) {
			continue
		}
		id := aws.ToString(rt.RouteTableId)
		adoptedTables = append(adoptedTables, id)
		adoptedNames = append(adoptedNames, cmpStr(ec2Tag(rt.Tags, "Name"), id))
		if gw := o.InternetGatewayID; t.public && !hasDefaultRoute(rt, gw) {
			f.advice = append(f.advice, fmt.Sprintf("route table %s of the public subnets has no route 0.0.0.0/0 to the internet gateway: tasks cannot pull images or be reached; aws ec2 create-route --route-table-id %s --destination-cidr-block 0.0.0.0/0 --gateway-id %s", id, id, gw))
		}
		if !t.public && hasDefaultRoute(rt, o.InternetGatewayID) && o.InternetGatewayID != "" {
			f.advice = append(f.advice, fmt.Sprintf("route table %s of the private subnets routes 0.0.0.0/0 to the internet gateway: a private subnet should have no such route (aws ec2 delete-route --route-table-id %s --destination-cidr-block 0.0.0.0/0)", id, id))
		}
	}
	switch {
	case t.table != nil:
		f.owner, f.id = OwnerUs, aws.ToString(t.table.RouteTableId)
		t.record(f.id)
		f.changes = append(f.changes, t.drift()...)
	case len(t.oursSubnets) > 0 || len(subnets) == 0:
		// Subnets we made (or will make) need our table.
	case len(adoptedTables) > 0:
		f.owner, f.id = OwnerAdopted, strings.Join(adoptedTables, ", ")
		t.label = strings.Join(adoptedNames, ", ")
		t.record(adoptedTables[0])
	}
	return f, nil
}

// subnetIsOurs reports whether a subnet of this run is one the bootstrap made.
func (s *Stack) subnetIsOurs(id string) bool {
	for _, sns := range [][]*types.Subnet{s.found.public, s.found.private} {
		for _, sn := range sns {
			if sn != nil && aws.ToString(sn.SubnetId) == id {
				return s.ec2Owner(sn.Tags) == OwnerUs
			}
		}
	}
	return true // not there when discovery ran: made by this run
}

func hasDefaultRoute(rt *types.RouteTable, gateway string) bool {
	return slices.ContainsFunc(rt.Routes, func(r types.Route) bool {
		return aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && (gateway == "" || aws.ToString(r.GatewayId) == gateway)
	})
}

// drift compares our table with the config and notes what change must do.
func (t *routeTable) drift() []string {
	gw := t.s.get().InternetGatewayID
	var d []string
	anyDefault := hasDefaultRoute(t.table, "")
	switch {
	case t.public && !hasDefaultRoute(t.table, gw) && anyDefault:
		t.route = "replace"
		d = append(d, "the default route does not go to the internet gateway")
	case t.public && !anyDefault:
		t.route = "create"
		d = append(d, "no route 0.0.0.0/0 to the internet gateway")
	case !t.public && anyDefault:
		t.route = "delete"
		d = append(d, "has a route to the internet: private subnets must have none")
	}
	for _, sn := range t.oursSubnets {
		if !slices.ContainsFunc(t.table.Associations, func(a types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == sn }) {
			t.toAssociate = append(t.toAssociate, sn)
			d = append(d, "subnet "+sn+" not associated")
		}
	}
	return d
}

func (t *routeTable) create(ctx context.Context) (string, error) {
	s := t.s
	kind, name := t.ours()
	out, err := s.c.EC2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(s.get().VPCID), TagSpecifications: s.ec2Tags(types.ResourceTypeRouteTable, name)})
	if err != nil {
		return "", fmt.Errorf("create %s: %w", kind, err)
	}
	t.table = out.RouteTable
	t.record(aws.ToString(t.table.RouteTableId))
	t.drift()
	if err := t.change(ctx); err != nil {
		return "", err
	}
	return aws.ToString(t.table.RouteTableId), nil
}

func (t *routeTable) change(ctx context.Context) error {
	s := t.s
	id, gw := t.table.RouteTableId, aws.String(s.get().InternetGatewayID)
	var err error
	switch t.route {
	case "replace":
		_, err = s.c.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: id, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: gw})
	case "create":
		_, err = s.c.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: id, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: gw})
	case "delete":
		_, err = s.c.EC2.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: id, DestinationCidrBlock: aws.String("0.0.0.0/0")})
	}
	if err != nil {
		return fmt.Errorf("%s the default route: %w", t.route, err)
	}
	for _, sn := range t.toAssociate {
		if _, err := s.c.EC2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: id, SubnetId: aws.String(sn)}); err != nil {
			return fmt.Errorf("associate subnet %s: %w", sn, err)
		}
	}
	return nil
}

func (t *routeTable) destroy(ctx context.Context) error {
	kind, _ := t.describe()
	for _, a := range t.table.Associations {
		if aws.ToBool(a.Main) || aws.ToString(a.SubnetId) == "" {
			continue
		}
		if _, err := t.s.c.EC2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil {
			return fmt.Errorf("disassociate %s: %w", kind, err)
		}
	}
	_, err := t.s.c.EC2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: t.table.RouteTableId})
	return wrap("delete "+kind, err)
}

// securityGroup admits the API's port. An adopted service keeps its own
// groups (or the config's security-group-ids); the bootstrap judges them.
type securityGroup struct {
	s     *Stack
	label string
	id    string
	// revoke and authorize are the ingress changes to make on our group.
	revoke, authorize []types.IpPermission
}

func (g *securityGroup) describe() (string, string) {
	return "security group", cmpStr(g.label, g.s.name("server-sg"))
}
func (g *securityGroup) stage() int { return 2 }

func (g *securityGroup) find(ctx context.Context) (found, error) {
	s := g.s
	in := &ec2.DescribeSecurityGroupsInput{GroupIds: s.found.securityGroupIDs}
	if len(in.GroupIds) == 0 {
		vpcID := s.get().VPCID
		if vpcID == "" {
			return found{}, nil
		}
		in.Filters = []types.Filter{filter("vpc-id", vpcID), filter("group-name", s.name("server-sg"))}
	}
	out, err := s.c.EC2.DescribeSecurityGroups(ctx, in)
	if err != nil {
		return found{}, fmt.Errorf("describe security groups: %w", err)
	}
	if len(out.SecurityGroups) == 0 {
		return found{}, nil
	}
	var ids, names []string
	for _, sg := range out.SecurityGroups {
		ids, names = append(ids, aws.ToString(sg.GroupId)), append(names, aws.ToString(sg.GroupName))
	}
	sg := &out.SecurityGroups[0]
	g.id = aws.ToString(sg.GroupId)
	s.set(func(o *Outputs) { o.SecurityGroupID, o.SecurityGroupIDs = g.id, ids })
	f := found{owner: s.ec2Owner(sg.Tags), id: strings.Join(ids, ", ")}
	if len(out.SecurityGroups) > 1 {
		f.owner = OwnerAdopted
	}
	if f.owner == OwnerAdopted {
		g.label = strings.Join(names, ", ")
	}
	port := s.cfg.ContainerPort
	have, other := map[string]bool{}, []types.IpPermission{}
	for _, grp := range out.SecurityGroups {
		for _, p := range grp.IpPermissions {
			if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == port && aws.ToInt32(p.ToPort) == port {
				for _, r := range p.IpRanges {
					have[aws.ToString(r.CidrIp)] = true
				}
				for _, r := range p.Ipv6Ranges {
					have[aws.ToString(r.CidrIpv6)] = true
				}
				if len(p.UserIdGroupPairs) > 0 {
					have["sg"] = true
				}
				continue
			}
			if aws.ToString(p.IpProtocol) == "-1" && len(p.IpRanges) == 0 && len(p.Ipv6Ranges) == 0 && len(p.UserIdGroupPairs) > 0 && f.owner == OwnerAdopted {
				continue // the default group's "from itself"
			}
			other = append(other, p)
		}
	}
	var ds []drift
	g.revoke, g.authorize = nil, nil
	var extra, missing []string
	for c := range have {
		if c != "sg" && !slices.Contains(s.portCIDRs(), c) {
			extra = append(extra, c)
		}
	}
	slices.Sort(extra)
	for _, c := range s.portCIDRs() {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	for _, c := range extra {
		ds = append(ds, drift{fmt.Sprintf("ingress tcp %d from %s is not in the config", port, c),
			fmt.Sprintf("aws ec2 revoke-security-group-ingress --group-id %s --protocol tcp --port %d --cidr %s", g.id, port, c)})
	}
	for _, c := range missing {
		ds = append(ds, drift{fmt.Sprintf("ingress tcp %d from %s is missing", port, c),
			fmt.Sprintf("aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --cidr %s", g.id, port, c)})
	}
	for _, p := range other {
		ds = append(ds, drift{fmt.Sprintf("ingress %s %d-%d is not in the config", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)), ""})
	}
	if f.owner == OwnerAdopted && (have["0.0.0.0/0"] || have["::/0"]) {
		if s.behindLoadBalancer() {
			f.advice = append(f.advice, fmt.Sprintf("port %d is open to the whole internet: once clients use the load balancer's name, close it (aws ec2 revoke-security-group-ingress --group-id %s --protocol tcp --port %d --cidr 0.0.0.0/0), or hand the group over with manage: [security-group] and apply", port, g.id, port))
		} else {
			f.advice = append(f.advice, fmt.Sprintf("port %d is open to the whole internet, the seed's development setting: narrow ingress-cidrs and hand the group over with manage: [security-group], or put a load balancer in front (endpoint: load-balancer)", port))
		}
	}
	if s.sortDrift(&f, "security-group", ds) {
		if len(out.SecurityGroups) > 1 {
			return f, fmt.Errorf("security groups %s: the bootstrap manages one group; name it alone in security-group-ids", f.id)
		}
		if len(extra) > 0 {
			g.revoke = append(g.revoke, ingress(port, extra)...)
		}
		g.revoke = append(g.revoke, other...)
		g.authorize = ingress(port, missing)
	}
	return f, nil
}

// portCIDRs are the addresses the container port is open to: the config's
// ingress-cidrs, or, behind a load balancer (whose group has a rule of its
// own), task-ingress-cidrs: none once clients use the load balancer.
func (s *Stack) portCIDRs() []string {
	if s.behindLoadBalancer() {
		return s.cfg.TaskIngressCIDRs
	}
	return s.cfg.IngressCIDRs
}

// ingress is the permission for TCP port from cidrs, IPv4 and IPv6 apart.
func ingress(port int32, cidrs []string) []types.IpPermission {
	if len(cidrs) == 0 {
		return nil
	}
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c), Description: aws.String("AutoNote API")})
		} else {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c), Description: aws.String("AutoNote API")})
		}
	}
	return []types.IpPermission{p}
}

func (g *securityGroup) create(ctx context.Context) (string, error) {
	s := g.s
	name := s.name("server-sg")
	out, err := s.c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), VpcId: aws.String(s.get().VPCID),
		Description:       aws.String(fmt.Sprintf("%s: the API on TCP %d", s.cfg.Name, s.cfg.ContainerPort)),
		TagSpecifications: s.ec2Tags(types.ResourceTypeSecurityGroup, name),
	})
	if err != nil {
		return "", fmt.Errorf("create security group: %w", err)
	}
	g.id = aws.ToString(out.GroupId)
	s.set(func(o *Outputs) { o.SecurityGroupID, o.SecurityGroupIDs = g.id, []string{g.id} })
	g.revoke, g.authorize = nil, ingress(s.cfg.ContainerPort, s.portCIDRs())
	if err := g.change(ctx); err != nil {
		return "", err
	}
	return g.id, nil
}

func (g *securityGroup) change(ctx context.Context) error {
	id := aws.String(g.id)
	if len(g.revoke) > 0 {
		if _, err := g.s.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: id, IpPermissions: g.revoke}); err != nil {
			return fmt.Errorf("revoke ingress the config does not have: %w", err)
		}
	}
	if len(g.authorize) > 0 {
		if _, err := g.s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: g.authorize}); err != nil {
			return fmt.Errorf("authorize ingress %s: %w", strings.Join(g.s.portCIDRs(), ", "), err)
		}
	}
	return nil
}

func (g *securityGroup) destroy(ctx context.Context) error {
	_, err := g.s.c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g.id)})
	return wrap("delete security group", err)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
