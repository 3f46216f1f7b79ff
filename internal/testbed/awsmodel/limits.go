package awsmodel

import (
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A problem is a documented limit a request breaks.
type problem struct{ path, rule, message string }

// limits are the rules AWS documents (in the member's documentation or the
// service's guide) that its models do not encode as a pattern, range or
// enum, by operation (botocore's service name : operation). Each names
// where AWS says it.
var limits = map[string][]func(p map[string]any) []problem{
	"ecs:RegisterTaskDefinition": {fargateSize,
		named("family", "ecs-name", ecsName, "up to 255 letters, numbers, underscores and hyphens (RegisterTaskDefinition, family)"),
		each("containerDefinitions", "name", "ecs-name", ecsName, "up to 255 letters, numbers, underscores and hyphens (ContainerDefinition, name)"),
	},
	"ecs:CreateCluster": {named("clusterName", "ecs-name", ecsName, "up to 255 letters, numbers, underscores and hyphens (CreateCluster, clusterName)")},
	"ecs:CreateService": {named("serviceName", "ecs-name", ecsName, "up to 255 letters, numbers, underscores and hyphens (CreateService, serviceName)"),
		shiftingSteps},
	"ecs:UpdateService": {shiftingSteps},
	// CloudWatch Logs API reference, PutRetentionPolicy: "Possible values are: 1, 3, 5, ...".
	"logs:PutRetentionPolicy": {func(p map[string]any) []problem {
		days := []float64{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
		if n, ok := number(p["retentionInDays"]); ok && !slices.Contains(days, n) {
			return []problem{{"retentionInDays", "retention-days", fmt.Sprintf("%v is not a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)", n)}}
		}
		return nil
	}},
	// EC2 API reference, CreateSecurityGroup: "Valid characters: a-z, A-Z,
	// 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"; GroupName can't start with sg-.
	"ec2:CreateSecurityGroup": {
		named("Description", "ec2-description", ec2Text, "up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (CreateSecurityGroup, GroupDescription)"),
		named("GroupName", "ec2-description", ec2GroupName, "up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*, not starting with sg- (CreateSecurityGroup, GroupName)"),
	},
	// IpRange, Ipv6Range, UserIdGroupPair: the rule's description, the same characters.
	"ec2:AuthorizeSecurityGroupIngress": {ruleDescriptions},
	"ec2:AuthorizeSecurityGroupEgress":  {ruleDescriptions},
	// ELBv2 API reference: "a maximum of 32 characters, must contain only
	// alphanumeric characters or hyphens, and must not begin or end with a
	// hyphen" (and a load balancer's "must not begin with internal-").
	"elbv2:CreateTargetGroup":  {named("Name", "elb-name", elbName, "at most 32 letters, digits and hyphens, not starting or ending with a hyphen (CreateTargetGroup, Name)")},
	"elbv2:CreateLoadBalancer": {named("Name", "elb-name", lbName, "at most 32 letters, digits and hyphens, not starting or ending with a hyphen nor with internal- (CreateLoadBalancer, Name)")},
	// Secrets Manager API reference, CreateSecret: "ASCII letters, numbers,
	// and the following characters: /_+=.@-", and not ending with a hyphen
	// and six characters.
	"secretsmanager:CreateSecret": {named("Name", "secret-name", secretName, "ASCII letters, digits and /_+=.@-, not ending with a hyphen and six characters (CreateSecret, Name)")},
	// IAM quotas (IAM user guide, "IAM and AWS STS quotas"): a managed
	// policy of 6,144 characters, a role's inline policies 10,240 in all,
	// a trust policy 2,048, whitespace not counted.
	"iam:CreatePolicy":           {policySize("PolicyDocument", 6144, "managed policy")},
	"iam:CreatePolicyVersion":    {policySize("PolicyDocument", 6144, "managed policy")},
	"iam:PutRolePolicy":          {policySize("PolicyDocument", 10240, "role's inline policies")},
	"iam:CreateRole":             {policySize("AssumeRolePolicyDocument", 2048, "trust policy")},
	"iam:UpdateAssumeRolePolicy": {policySize("PolicyDocument", 2048, "trust policy")},
	// DynamoDB developer guide, "Item size": 400 KB an item, names and values
	// counted in their UTF-8 bytes.
	"dynamodb:PutItem": {func(p map[string]any) []problem {
		if n := itemSize(p["Item"]); n > 400*1024 {
			return []problem{{"Item", "item-size", fmt.Sprintf("the item is %d bytes, over DynamoDB's 400 KB", n)}}
		}
		return nil
	}},
}

// policySize: a policy document within IAM's quota, whitespace not counted.
func policySize(member string, most int, what string) func(map[string]any) []problem {
	return func(p map[string]any) []problem {
		doc, _ := p[member].(string)
		n := len(strings.Join(strings.Fields(doc), ""))
		if n > most {
			return []problem{{member, "iam-quota", fmt.Sprintf("%d characters, over IAM's %d for a %s", n, most, what)}}
		}
		return nil
	}
}

var (
	ecsName     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	ec2Text     = regexp.MustCompile(`^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$`)
	elbName     = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)
	secretChars = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)
	sixSuffix   = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)
)

func ec2GroupName(s string) bool {
	return s != "" && ec2Text.MatchString(s) && !strings.HasPrefix(s, "sg-")
}

func lbName(s string) bool { return elbName.MatchString(s) && !strings.HasPrefix(s, "internal-") }

func secretName(s string) bool { return secretChars.MatchString(s) && !sixSuffix.MatchString(s) }

// named checks one top-level string member against a rule.
func named(member, rule string, ok any, what string) func(map[string]any) []problem {
	test := matcher(ok)
	return func(p map[string]any) []problem {
		if s, is := p[member].(string); is && !test(s) {
			return []problem{{member, rule, fmt.Sprintf("%q breaks AWS's rule: %s", s, what)}}
		}
		return nil
	}
}

// each checks a string member of every element of a top-level list.
func each(list, member, rule string, ok any, what string) func(map[string]any) []problem {
	test := matcher(ok)
	return func(p map[string]any) []problem {
		var out []problem
		items, _ := p[list].([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			if s, is := m[member].(string); is && !test(s) {
				out = append(out, problem{fmt.Sprintf("%s[%d].%s", list, i, member), rule, fmt.Sprintf("%q breaks AWS's rule: %s", s, what)})
			}
		}
		return out
	}
}

func matcher(ok any) func(string) bool {
	switch t := ok.(type) {
	case *regexp.Regexp:
		return t.MatchString
	case func(string) bool:
		return t
	}
	panic(fmt.Sprintf("awsmodel: a rule is a *regexp.Regexp or a func(string) bool, not %T", ok))
}

// FargateSizes are the task sizes Fargate offers, memory (MiB) by CPU
// units: the ECS developer guide, "Task definition parameters", Task size.
// The bootstrap's config check keeps a table of its own (the judge does not
// trust the product); a test holds the two equal.
var FargateSizes = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, by int) []int {
	var out []int
	for n := from; n <= to; n += by {
		out = append(out, n)
	}
	return out
}

// fargateSize: a task definition for Fargate names a cpu and memory pair
// Fargate offers.
func fargateSize(p map[string]any) []problem {
	compat, _ := p["requiresCompatibilities"].([]any)
	if !slices.Contains(compat, any("FARGATE")) {
		return nil
	}
	cpuText, _ := p["cpu"].(string)
	memText, _ := p["memory"].(string)
	if cpuText == "" || memText == "" {
		return []problem{{"cpu", "fargate-size", "a task definition for Fargate names its task cpu and memory"}}
	}
	cpu, okC := units(cpuText, "vcpu", 1024)
	mem, okM := units(memText, "gb", 1024)
	sizes, offered := FargateSizes[cpu]
	if !okC || !okM || !offered || !slices.Contains(sizes, mem) {
		return []problem{{"cpu", "fargate-size", fmt.Sprintf("cpu %q with memory %q is not a task size Fargate offers (cpu 256 takes 512, 1024 or 2048 MiB; 512 takes 1-4 GiB; 1024, 2-8 GiB; 2048, 4-16 GiB; 4096, 8-30 GiB; 8192, 16-60 GiB by 4; 16384, 32-120 GiB by 8)", cpuText, memText)}}
	}
	return nil
}

// units reads "1024", or "1 vCPU" / "2 GB" as that many of scale.
func units(s, unit string, scale float64) (int, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if v, ok := strings.CutSuffix(s, unit); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int(f * scale), err == nil
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// shiftingSteps: the ECS API reference, CanaryConfiguration and
// LinearConfiguration: "multiples of 0.1 from 0.1 to 100.0" (canary), "from
// 3.0 to 100.0" (linear), bake times "0 to 1440 minutes".
func shiftingSteps(p map[string]any) []problem {
	dc, _ := p["deploymentConfiguration"].(map[string]any)
	var out []problem
	tenth := func(path string, v any, lo float64) {
		n, ok := number(v)
		if !ok {
			return
		}
		if n < lo || n > 100 || math.Abs(n*10-math.Round(n*10)) > 1e-9 {
			out = append(out, problem{path, "percent-step", fmt.Sprintf("%v is not a multiple of 0.1 from %v to 100", v, lo)})
		}
	}
	bake := func(path string, v any) {
		if n, ok := number(v); ok && (n < 0 || n > 1440) {
			out = append(out, problem{path, "bake-time", fmt.Sprintf("%v minutes is outside 0 to 1440", v)})
		}
	}
	if c, ok := dc["canaryConfiguration"].(map[string]any); ok {
		tenth("deploymentConfiguration.canaryConfiguration.canaryPercent", c["canaryPercent"], 0.1)
		bake("deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes", c["canaryBakeTimeInMinutes"])
	}
	if c, ok := dc["linearConfiguration"].(map[string]any); ok {
		tenth("deploymentConfiguration.linearConfiguration.stepPercent", c["stepPercent"], 3)
		bake("deploymentConfiguration.linearConfiguration.stepBakeTimeInMinutes", c["stepBakeTimeInMinutes"])
	}
	bake("deploymentConfiguration.bakeTimeInMinutes", dc["bakeTimeInMinutes"])
	return out
}

// ruleDescriptions: every description of a security group rule's ranges
// and pairs keeps to EC2's characters.
func ruleDescriptions(p map[string]any) []problem {
	var out []problem
	perms, _ := p["IpPermissions"].([]any)
	for i, perm := range perms {
		m, _ := perm.(map[string]any)
		for _, list := range []string{"IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds"} {
			items, _ := m[list].([]any)
			for j, it := range items {
				r, _ := it.(map[string]any)
				if d, ok := r["Description"].(string); ok && !ec2Text.MatchString(d) {
					out = append(out, problem{fmt.Sprintf("IpPermissions[%d].%s[%d].Description", i, list, j), "ec2-description",
						fmt.Sprintf("%q breaks AWS's rule: up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*", d)})
				}
			}
		}
	}
	return out
}

// itemSize is a DynamoDB item's size as DynamoDB counts it: each
// attribute's name and value in UTF-8 bytes, numbers at most 21 bytes,
// lists and maps 3 bytes and 1 an element more.
func itemSize(item any) int {
	m, _ := item.(map[string]any)
	n := 0
	for name, v := range m {
		n += len(name) + attrSize(v)
	}
	return n
}

func attrSize(v any) int {
	av, _ := v.(map[string]any)
	for typ, val := range av {
		switch typ {
		case "S":
			s, _ := val.(string)
			return len(s)
		case "N":
			s, _ := val.(string)
			return min(len(s), 21)
		case "B":
			s, _ := val.(string)
			b, _ := base64.StdEncoding.DecodeString(s)
			return len(b)
		case "BOOL", "NULL":
			return 1
		case "SS", "NS", "BS", "L":
			l, _ := val.([]any)
			n := 3
			for _, e := range l {
				switch typ {
				case "L":
					n += 1 + attrSize(e)
				case "BS":
					s, _ := e.(string)
					b, _ := base64.StdEncoding.DecodeString(s)
					n += len(b)
				default:
					s, _ := e.(string)
					n += len(s)
				}
			}
			return n
		case "M":
			m, _ := val.(map[string]any)
			n := 3
			for k, e := range m {
				n += 1 + len(k) + attrSize(e)
			}
			return n
		}
	}
	return 0
}
