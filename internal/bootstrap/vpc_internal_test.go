package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestJudgeVPCAndSubnets: the network found against the config, without a
// server.
func TestJudgeVPCAndSubnets(t *testing.T) {
	t.Parallel()
	ours := ec2Tag.list(map[string]string{TagManagedBy: ManagedByValue, TagStack: "s", "Name": "s-vpc"})
	console := ec2Tag.list(map[string]string{"Name": "autonote-vpc"})
	dns := map[types.VpcAttributeName]bool{types.VpcAttributeNameEnableDnsSupport: true, types.VpcAttributeNameEnableDnsHostnames: true}
	noHostnames := map[types.VpcAttributeName]bool{types.VpcAttributeNameEnableDnsSupport: true}
	vpc := func(cidr string, tags []types.Tag) *types.Vpc {
		return &types.Vpc{VpcId: aws.String("vpc-1"), CidrBlock: aws.String(cidr), Tags: tags}
	}
	for _, tc := range []struct {
		name    string
		vpc     *types.Vpc
		dns     map[types.VpcAttributeName]bool
		managed bool
		action  Action
		dnsOff  int
		label   string
		say     string
	}{
		{"ours, as the config says", vpc("10.0.0.0/16", ours), dns, false, Exists, 0, "", ""},
		{"ours, hostnames turned off", vpc("10.0.0.0/16", ours), noHostnames, false, Change, 1, "", "enableDnsHostnames is off"},
		{"ours, another block: refused", vpc("10.1.0.0/16", ours), dns, false, Exists, 0, "", "a VPC's block cannot change"},
		{"the console's, hostnames off: advice, named by its own Name", vpc("10.0.0.0/16", console), noHostnames, false, Exists, 0, "autonote-vpc 10.0.0.0/16", "modify-vpc-attribute --vpc-id vpc-1 --enable-dns-hostnames"},
		{"the console's, another block: advice", vpc("172.31.0.0/16", console), dns, false, Exists, 0, "autonote-vpc 172.31.0.0/16", "set vpc-cidr and the subnets to match it"},
		{"the console's, handed over", vpc("10.0.0.0/16", console), noHostnames, true, Change, 1, "autonote-vpc 10.0.0.0/16", ""},
	} {
		t.Run("vpc/"+tc.name, func(t *testing.T) {
			v := judgeVPC(tc.vpc, tc.dns, "10.0.0.0/16", "s", tc.managed)
			said := strings.Join(append(v.changes, v.advice...), "\n")
			if v.err != nil {
				said += "\n" + v.err.Error()
			}
			if v.action() != tc.action || len(v.dnsOff) != tc.dnsOff || v.label != tc.label || tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("judge = %s dnsOff %v label %q (%q); want %s %d %q saying %q", v.action(), v.dnsOff, v.label, said, tc.action, tc.dnsOff, tc.label, tc.say)
			}
		})
	}
	subnet := func(cidr, zone string, tags []types.Tag, public bool) *types.Subnet {
		return &types.Subnet{SubnetId: aws.String("subnet-1"), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(zone), Tags: tags, MapPublicIpOnLaunch: aws.Bool(public)}
	}
	want := subnetWant{public: true, cidr: "10.0.1.0/24", zone: "us-east-1a", stack: "s"}
	for _, tc := range []struct {
		name      string
		sn        *types.Subnet
		action    Action
		publicOff bool
		say       string
	}{
		{"ours, public", subnet("10.0.1.0/24", "us-east-1a", ours, true), Exists, false, ""},
		{"ours, public IPs turned off", subnet("10.0.1.0/24", "us-east-1a", ours, false), Change, true, "public IP on launch is off"},
		{"ours, in another zone: refused", subnet("10.0.1.0/24", "us-east-1b", ours, true), Exists, false, "the config puts it in us-east-1a"},
		{"the console's, another block: advice", subnet("10.0.16.0/20", "us-east-1b", console, true), Exists, false, "its block is 10.0.16.0/20"},
		{"the console's, no public IPs: advice", subnet("10.0.1.0/24", "us-east-1a", console, false), Exists, false, "--map-public-ip-on-launch"},
	} {
		t.Run("subnet/"+tc.name, func(t *testing.T) {
			v := judgeSubnet(tc.sn, want)
			said := strings.Join(append(v.changes, v.advice...), "\n")
			if v.err != nil {
				said += "\n" + v.err.Error()
			}
			if v.action() != tc.action || v.publicOff != tc.publicOff || tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("judge = %s publicOff %v (%q); want %s %v saying %q", v.action(), v.publicOff, said, tc.action, tc.publicOff, tc.say)
			}
		})
	}
}
