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
	return kind, cmp.Or(t.label, name)
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
	out, err := s.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("vpc-id", o.VPCID)}})
	if err != nil {
		return found{}, fmt.Errorf("describe route tables: %w", err)
	}
	_, name := t.ours()
	w := tablesWant{public: t.public, name: name, stack: s.cfg.Name, gateway: o.InternetGatewayID, subnets: o.PrivateSubnetIDs, oursSubnet: map[string]bool{}}
	if t.public {
		w.subnets = o.PublicSubnetIDs
	}
	for _, sn := range w.subnets {
		w.oursSubnet[sn] = s.subnetIsOurs(sn)
	}
	v := judgeRouteTables(out.RouteTables, w)
	t.table, t.label, t.oursSubnets, t.toAssociate, t.route = v.table, v.label, v.oursSubnets, v.toAssociate, v.route
	if v.record != "" {
		t.record(v.record)
	}
	return v.found, nil
}

// tablesWant is what the config asks of the route table of one kind of
// subnet.
type tablesWant struct {
	public      bool
	name, stack string
	gateway     string // the internet gateway's ID, once known
	subnets     []string
	oursSubnet  map[string]bool // which of the subnets the bootstrap made
}

// tablesVerdict is what the judge found: our table and what to change on
// it, or the adopted tables of the subnets.
type tablesVerdict struct {
	found
	table                    *types.RouteTable
	label, record            string // the adopted tables' names; the table ID to record
	oursSubnets, toAssociate []string
	route                    string
}

// judgeRouteTables finds, among the VPC's route tables, ours (repaired
// like every resource of ours) or those the adopted subnets use (advice
// on their default route only: public through the gateway, private
// without).
func judgeRouteTables(tables []types.RouteTable, want tablesWant) tablesVerdict {
	var v tablesVerdict
	var main *types.RouteTable
	for i := range tables {
		rt := &tables[i]
		if ownerOf(ec2Tag.of(rt.Tags), want.stack) == OwnerUs && ec2Tag.of(rt.Tags)["Name"] == want.name {
			v.table = rt
		}
		if slices.ContainsFunc(rt.Associations, func(a types.RouteTableAssociation) bool { return aws.ToBool(a.Main) }) {
			main = rt
		}
	}
	tableOf := func(sn string) *types.RouteTable {
		for i := range tables {
			if slices.ContainsFunc(tables[i].Associations, func(a types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == sn }) {
				return &tables[i]
			}
		}
		return main
	}
	var adoptedTables, adoptedNames []string
	gw := want.gateway
	for _, sn := range want.subnets {
		if sn == "" {
			continue
		}
		if want.oursSubnet[sn] {
			v.oursSubnets = append(v.oursSubnets, sn)
			continue
		}
		rt := tableOf(sn)
		if rt == nil || slices.Contains(adoptedTables, aws.ToString(rt.RouteTableId)) {
			continue
		}
		id := aws.ToString(rt.RouteTableId)
		adoptedTables = append(adoptedTables, id)
		adoptedNames = append(adoptedNames, cmp.Or(ec2Tag.of(rt.Tags)["Name"], id))
		if want.public && !hasDefaultRoute(rt, gw) {
			v.advice = append(v.advice, fmt.Sprintf("route table %s of the public subnets has no route 0.0.0.0/0 to the internet gateway: tasks cannot pull images or be reached; aws ec2 create-route --route-table-id %s --destination-cidr-block 0.0.0.0/0 --gateway-id %s", id, id, gw))
		}
		if !want.public && hasDefaultRoute(rt, gw) && gw != "" {
			v.advice = append(v.advice, fmt.Sprintf("route table %s of the private subnets routes 0.0.0.0/0 to the internet gateway: a private subnet should have no such route (aws ec2 delete-route --route-table-id %s --destination-cidr-block 0.0.0.0/0)", id, id))
		}
	}
	switch {
	case v.table != nil:
		v.owner, v.id, v.record = OwnerUs, aws.ToString(v.table.RouteTableId), aws.ToString(v.table.RouteTableId)
		var ds []string
		v.route, v.toAssociate, ds = tableDrift(v.table, want.public, gw, v.oursSubnets)
		v.changes = append(v.changes, ds...)
	case len(v.oursSubnets) > 0 || len(want.subnets) == 0:
		// Subnets we made (or will make) need our table.
	case len(adoptedTables) > 0:
		v.owner, v.id = OwnerAdopted, strings.Join(adoptedTables, ", ")
		v.label, v.record = strings.Join(adoptedNames, ", "), adoptedTables[0]
	}
	return v
}

// subnetIsOurs reports whether a subnet of this run is one the bootstrap made.
func (s *Stack) subnetIsOurs(id string) bool {
	for _, sns := range [][]*types.Subnet{s.found.public, s.found.private} {
		for _, sn := range sns {
			if sn != nil && aws.ToString(sn.SubnetId) == id {
				return s.owner(ec2Tag.of(sn.Tags)) == OwnerUs
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

// drift notes what change must do to our table.
func (t *routeTable) drift() {
	t.route, t.toAssociate, _ = tableDrift(t.table, t.public, t.s.get().InternetGatewayID, t.oursSubnets)
}

// tableDrift compares our table with the config: the default route to
// make, replace or delete, and the subnets of ours to associate.
func tableDrift(table *types.RouteTable, public bool, gw string, oursSubnets []string) (route string, toAssociate, what []string) {
	anyDefault := hasDefaultRoute(table, "")
	switch {
	case public && !hasDefaultRoute(table, gw) && anyDefault:
		route = "replace"
		what = append(what, "the default route does not go to the internet gateway")
	case public && !anyDefault:
		route = "create"
		what = append(what, "no route 0.0.0.0/0 to the internet gateway")
	case !public && anyDefault:
		route = "delete"
		what = append(what, "has a route to the internet: private subnets must have none")
	}
	for _, sn := range oursSubnets {
		if !slices.ContainsFunc(table.Associations, func(a types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == sn }) {
			toAssociate = append(toAssociate, sn)
			what = append(what, "subnet "+sn+" not associated")
		}
	}
	return route, toAssociate, what
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
