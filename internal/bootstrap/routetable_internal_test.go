package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestJudgeRouteTables: the route tables of a VPC against the config,
// without a server.
func TestJudgeRouteTables(t *testing.T) {
	t.Parallel()
	ours := func(name string) []types.Tag {
		return ec2Tag.list(map[string]string{TagManagedBy: ManagedByValue, TagStack: "s", "Name": name})
	}
	toGateway := types.Route{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-1")}
	toOther := types.Route{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-2")}
	assoc := func(subnets ...string) []types.RouteTableAssociation {
		var out []types.RouteTableAssociation
		for _, s := range subnets {
			out = append(out, types.RouteTableAssociation{SubnetId: aws.String(s)})
		}
		return out
	}
	table := func(id string, tags []types.Tag, routes []types.Route, a []types.RouteTableAssociation) types.RouteTable {
		return types.RouteTable{RouteTableId: aws.String(id), Tags: tags, Routes: routes, Associations: a}
	}
	mainTable := types.RouteTable{RouteTableId: aws.String("rtb-main"), Associations: []types.RouteTableAssociation{{Main: aws.Bool(true)}}}
	public := tablesWant{public: true, name: "s-public-rt", stack: "s", gateway: "igw-1", subnets: []string{"subnet-a", "subnet-b"},
		oursSubnet: map[string]bool{"subnet-a": true, "subnet-b": true}}
	adoptedPublic := public
	adoptedPublic.oursSubnet = map[string]bool{}
	private := tablesWant{name: "s-private-rt", stack: "s", gateway: "igw-1", subnets: []string{"subnet-c"}, oursSubnet: map[string]bool{"subnet-c": true}}
	for _, tc := range []struct {
		name        string
		tables      []types.RouteTable
		want        tablesWant
		action      Action
		owner       Owner
		route       string
		toAssociate int
		say         string
	}{
		{"ours, routed and associated", []types.RouteTable{mainTable, table("rtb-1", ours("s-public-rt"), []types.Route{toGateway}, assoc("subnet-a", "subnet-b"))}, public, Exists, OwnerUs, "", 0, ""},
		{"none yet, subnets of ours: create", []types.RouteTable{mainTable}, public, Create, OwnerNone, "", 0, ""},
		{"ours, its default route deleted by hand", []types.RouteTable{table("rtb-1", ours("s-public-rt"), nil, assoc("subnet-a", "subnet-b"))}, public, Change, OwnerUs, "create", 0, "no route 0.0.0.0/0"},
		{"ours, routed to another gateway", []types.RouteTable{table("rtb-1", ours("s-public-rt"), []types.Route{toOther}, assoc("subnet-a", "subnet-b"))}, public, Change, OwnerUs, "replace", 0, "does not go to the internet gateway"},
		{"ours, a subnet not associated", []types.RouteTable{table("rtb-1", ours("s-public-rt"), []types.Route{toGateway}, assoc("subnet-a"))}, public, Change, OwnerUs, "", 1, "subnet subnet-b not associated"},
		{"ours private, given a route to the internet", []types.RouteTable{table("rtb-2", ours("s-private-rt"), []types.Route{toGateway}, assoc("subnet-c"))}, private, Change, OwnerUs, "delete", 0, "private subnets must have none"},
		{"adopted public subnets on the main table with no route: advice", []types.RouteTable{mainTable}, adoptedPublic, Exists, OwnerAdopted, "", 0, "has no route 0.0.0.0/0 to the internet gateway"},
		{"adopted public subnets on their own routed table", []types.RouteTable{mainTable, table("rtb-x", nil, []types.Route{toGateway}, assoc("subnet-a", "subnet-b"))}, adoptedPublic, Exists, OwnerAdopted, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judgeRouteTables(tc.tables, tc.want)
			if v.action() != tc.action || v.owner != tc.owner || v.route != tc.route || len(v.toAssociate) != tc.toAssociate {
				t.Errorf("judge = %s %s route %q associate %v; want %s %s %q %d (changes %q, advice %q)",
					v.action(), v.owner, v.route, v.toAssociate, tc.action, tc.owner, tc.route, tc.toAssociate, v.changes, v.advice)
			}
			if said := strings.Join(append(v.changes, v.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) || tc.say == "" && said != "" {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}
