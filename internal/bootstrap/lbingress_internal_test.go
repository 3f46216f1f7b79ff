package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestJudgeLoadBalancerGroups: the listener group's ports and the tasks'
// ingress from it, without a server.
func TestJudgeLoadBalancerGroups(t *testing.T) {
	t.Parallel()
	ours := ec2Tag.list(map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"})
	open := func(port int32, cidr string) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}
	}
	fromLB := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3000), ToPort: aws.Int32(3000), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-alb")}}}
	t.Run("listener group", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			sg     ec2types.SecurityGroup
			ports  []int32
			action Action
			say    string
		}{
			{"ours, 80 open", ec2types.SecurityGroup{GroupId: aws.String("sg-alb"), Tags: ours, IpPermissions: []ec2types.IpPermission{open(80, "0.0.0.0/0")}}, []int32{80}, Exists, ""},
			{"ours, 443 added with a certificate", ec2types.SecurityGroup{GroupId: aws.String("sg-alb"), Tags: ours, IpPermissions: []ec2types.IpPermission{open(80, "0.0.0.0/0")}}, []int32{80, 443}, Change, "ingress tcp 443 from 0.0.0.0/0 is missing"},
			{"adopted, 443 missing: advice", ec2types.SecurityGroup{GroupId: aws.String("sg-alb"), IpPermissions: []ec2types.IpPermission{open(80, "0.0.0.0/0")}}, []int32{80, 443}, Exists, "manage: [load-balancer]"},
		} {
			f := judgeListenerGroup(tc.sg, "s", tc.ports, []string{"0.0.0.0/0"}, false)
			if said := strings.Join(append(f.changes, f.advice...), "\n"); f.action() != tc.action || tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("%s: judge = %s (%q); want %s saying %q", tc.name, f.action(), said, tc.action, tc.say)
			}
		}
	})
	t.Run("tasks' ingress", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			sg      ec2types.SecurityGroup
			managed bool
			action  Action
			say     string
		}{
			{"ours, admitting the load balancer", ec2types.SecurityGroup{GroupId: aws.String("sg-tasks"), Tags: ours, IpPermissions: []ec2types.IpPermission{fromLB}}, false, Exists, ""},
			{"ours, not yet: made", ec2types.SecurityGroup{GroupId: aws.String("sg-tasks"), Tags: ours}, false, Create, ""},
			{"adopted, not yet: skipped with the command", ec2types.SecurityGroup{GroupId: aws.String("sg-tasks")}, false, Skip, "--source-group sg-alb"},
			{"adopted, handed over: made", ec2types.SecurityGroup{GroupId: aws.String("sg-tasks")}, true, Create, ""},
		} {
			f := judgeLBIngress(tc.sg, "s", 3000, "sg-alb", tc.managed)
			if said := strings.Join(f.advice, "\n"); f.action() != tc.action || tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("%s: judge = %s (%q); want %s saying %q", tc.name, f.action(), said, tc.action, tc.say)
			}
		}
	})
}
