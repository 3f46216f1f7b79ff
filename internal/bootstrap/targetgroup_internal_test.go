package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestJudgeTargetGroup: health check and deregistration delay against the
// config, without a server.
func TestJudgeTargetGroup(t *testing.T) {
	t.Parallel()
	tg := &targetGroup{s: &Stack{cfg: Config{HealthCheckPath: "/health", HealthCheckInterval: 5}}, arn: "arn:tg"}
	hc := tg.healthCheck()
	tuned := elbtypes.TargetGroup{TargetGroupArn: aws.String("arn:tg"), HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5),
		HealthCheckTimeoutSeconds: aws.Int32(3), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)}
	awsDefaults := tuned
	awsDefaults.HealthCheckIntervalSeconds, awsDefaults.HealthCheckTimeoutSeconds, awsDefaults.HealthyThresholdCount = aws.Int32(30), aws.Int32(5), aws.Int32(5)
	otherPath := tuned
	otherPath.HealthCheckPath = aws.String("/")
	for _, tc := range []struct {
		name    string
		seen    targetGroupSeen
		managed bool
		action  Action
		repair  bool
		say     string
	}{
		{"ours, as the config says", targetGroupSeen{group: tuned, owner: OwnerUs, delay: "10"}, false, Exists, false, ""},
		{"ours, the default health check: slower to take traffic", targetGroupSeen{group: awsDefaults, owner: OwnerUs, delay: "10"}, false, Change, true, "after 10 s instead of 150 s"},
		{"ours, AWS's 300 s deregistration delay", targetGroupSeen{group: tuned, owner: OwnerUs, delay: "300"}, false, Change, true, "deregistration delay 300 s"},
		{"ours, another health check path", targetGroupSeen{group: otherPath, owner: OwnerUs, delay: "10"}, false, Change, true, "health check path /, the config says /health"},
		{"adopted, slow: advice", targetGroupSeen{group: awsDefaults, owner: OwnerAdopted, delay: "300"}, false, Exists, false, "modify-target-group-attributes"},
		{"adopted, handed over", targetGroupSeen{group: awsDefaults, owner: OwnerAdopted, delay: "10"}, true, Change, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, repair := judgeTargetGroup(tc.seen, "/health", hc, "10", tc.managed)
			if f.action() != tc.action || repair != tc.repair {
				t.Errorf("judge = %s repair %v; want %s %v (changes %q, advice %q)", f.action(), repair, tc.action, tc.repair, f.changes, f.advice)
			}
			if said := strings.Join(append(f.changes, f.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}

// TestJudgeLoadBalancer: listeners and the domain tag, without a server.
func TestJudgeLoadBalancer(t *testing.T) {
	t.Parallel()
	ours := map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"}
	withDomain := map[string]string{TagManagedBy: ManagedByValue, TagStack: "s", "deploy-action:domain": "api.example.com"}
	both := map[int32]string{80: "arn:l80", 443: "arn:l443"}
	for _, tc := range []struct {
		name      string
		seen      loadBalancerSeen
		ports     []int32
		domain    string
		action    Action
		tagDomain bool
		say       string
	}{
		{"ours, HTTP", loadBalancerSeen{tags: ours, listeners: map[int32]string{80: "arn:l80"}}, []int32{80}, "", Exists, false, ""},
		{"ours, a certificate added: HTTPS missing", loadBalancerSeen{tags: ours, listeners: map[int32]string{80: "arn:l80"}}, []int32{80, 443}, "", Change, false, "no listener on port 443"},
		{"ours, a domain added", loadBalancerSeen{tags: ours, listeners: both}, []int32{80, 443}, "api.example.com", Change, true, `domain tag "", the config says "api.example.com"`},
		{"ours, tagged already", loadBalancerSeen{tags: withDomain, listeners: both}, []int32{80, 443}, "api.example.com", Exists, false, ""},
		{"adopted, a domain asked for: advice, no tag", loadBalancerSeen{tags: nil, listeners: both}, []int32{80, 443}, "api.example.com", Exists, false, "aws elbv2 add-tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, tagDomain := judgeLoadBalancer(tc.seen, "s", tc.ports, tc.domain, false)
			if f.action() != tc.action || tagDomain != tc.tagDomain {
				t.Errorf("judge = %s tag %v; want %s %v (changes %q, advice %q)", f.action(), tagDomain, tc.action, tc.tagDomain, f.changes, f.advice)
			}
			if said := strings.Join(append(f.changes, f.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}
