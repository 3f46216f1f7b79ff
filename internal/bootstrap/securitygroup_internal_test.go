package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestJudgeSecurityGroups: the service's groups against the ingress the
// config asks for, without any server: what is ours is repaired, what is
// adopted is advised on, and what cannot be judged is refused.
func TestJudgeSecurityGroups(t *testing.T) {
	t.Parallel()
	ours := []types.Tag{{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)}, {Key: aws.String(TagStack), Value: aws.String("s")}}
	tcp := func(cidrs ...string) types.IpPermission {
		p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3000), ToPort: aws.Int32(3000)}
		for _, c := range cidrs {
			if strings.Contains(c, ":") {
				p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
			} else {
				p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
			}
		}
		return p
	}
	self := types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String("sg-1")}}}
	ssh := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	group := func(id string, tags []types.Tag, perms ...types.IpPermission) types.SecurityGroup {
		return types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(id + "-name"), Tags: tags, IpPermissions: perms}
	}
	want := groupWant{stack: "s", port: 3000, cidrs: []string{"10.0.0.0/8"}}
	for _, tc := range []struct {
		name                   string
		groups                 []types.SecurityGroup
		want                   groupWant
		action                 Action
		owner                  Owner
		revoke, authorize      int
		advice, detail, errSay string
	}{
		{name: "ours, as the config says", groups: []types.SecurityGroup{group("sg-1", ours, tcp("10.0.0.0/8"))}, want: want, action: Exists, owner: OwnerUs},
		{name: "ours, opened wider by hand", groups: []types.SecurityGroup{group("sg-1", ours, tcp("10.0.0.0/8", "0.0.0.0/0"))}, want: want,
			action: Change, owner: OwnerUs, revoke: 1, detail: "from 0.0.0.0/0 is not in the config"},
		{name: "ours, its rule removed by hand", groups: []types.SecurityGroup{group("sg-1", ours)}, want: want, action: Change, owner: OwnerUs, authorize: 1, detail: "is missing"},
		{name: "ours, another port opened", groups: []types.SecurityGroup{group("sg-1", ours, tcp("10.0.0.0/8"), ssh)}, want: want, action: Change, owner: OwnerUs, revoke: 1, detail: "ingress tcp 22-22"},
		{name: "adopted, open to the internet: advice, no change", groups: []types.SecurityGroup{group("sg-1", nil, tcp("0.0.0.0/0", "::/0"))}, want: want,
			action: Exists, owner: OwnerAdopted, advice: "open to the whole internet, the seed's development setting"},
		{name: "adopted behind a load balancer: close it once clients moved", groups: []types.SecurityGroup{group("sg-1", nil, tcp("0.0.0.0/0"))},
			want: groupWant{stack: "s", port: 3000, behindLB: true}, action: Exists, owner: OwnerAdopted, advice: "once clients use the load balancer's name"},
		{name: "adopted default group: its rule from itself is no drift", groups: []types.SecurityGroup{group("sg-1", nil, tcp("10.0.0.0/8"), self)}, want: want,
			action: Exists, owner: OwnerAdopted},
		{name: "adopted, handed over: repaired", groups: []types.SecurityGroup{group("sg-1", nil, tcp("0.0.0.0/0"))},
			want: groupWant{stack: "s", port: 3000, cidrs: []string{"10.0.0.0/8"}, managed: true}, action: Change, owner: OwnerAdopted, revoke: 1, authorize: 1},
		{name: "two groups, one tagged ours: adopted", groups: []types.SecurityGroup{group("sg-1", ours, tcp("10.0.0.0/8")), group("sg-2", nil)}, want: want,
			action: Exists, owner: OwnerAdopted},
		{name: "two groups handed over: refused", groups: []types.SecurityGroup{group("sg-1", nil, tcp("10.0.0.0/8")), group("sg-2", nil, tcp("192.168.0.0/16"))},
			want: groupWant{stack: "s", port: 3000, cidrs: []string{"10.0.0.0/8"}, managed: true}, action: Change, owner: OwnerAdopted, errSay: "manages one group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judgeSecurityGroups(tc.groups, tc.want)
			if v.action() != tc.action || v.owner != tc.owner || len(v.revoke) != tc.revoke || len(v.authorize) != tc.authorize {
				t.Errorf("judge = %s %s, revoke %d, authorize %d; want %s %s, %d, %d (changes %q, advice %q)",
					v.action(), v.owner, len(v.revoke), len(v.authorize), tc.action, tc.owner, tc.revoke, tc.authorize, v.changes, v.advice)
			}
			if tc.advice != "" && !strings.Contains(strings.Join(v.advice, "\n"), tc.advice) || tc.advice == "" && len(v.advice) > 0 && v.owner == OwnerUs {
				t.Errorf("advice %q, want %q", v.advice, tc.advice)
			}
			if tc.detail != "" && !strings.Contains(strings.Join(v.changes, "\n"), tc.detail) {
				t.Errorf("changes %q, want one saying %q", v.changes, tc.detail)
			}
			if (v.err != nil) != (tc.errSay != "") || v.err != nil && !strings.Contains(v.err.Error(), tc.errSay) {
				t.Errorf("error %v, want one saying %q", v.err, tc.errSay)
			}
		})
	}
}
