package bootstrap

import (
	"strings"
	"testing"
)

func TestSamePolicy(t *testing.T) {
	t.Parallel()
	ours := policyDoc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", ours, ours, true},
		{"console trust policy: empty Sid, one statement as an object, lists for strings",
			`{"Version":"2012-10-17","Statement":{"Sid":"","Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Action":["sts:AssumeRole"]}}`, ours, true},
		{"URL-encoded as IAM returns it",
			`%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D`, ours, true},
		{"actions in another order",
			`{"Statement":[{"Effect":"Allow","Action":["b:B","a:A"],"Resource":"*"}]}`, `{"Statement":[{"Effect":"Allow","Action":["a:A","b:B"],"Resource":["*"]}]}`, true},
		{"another service", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`, ours, false},
		{"Deny instead of Allow", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}}`, ours, false},
		{"a condition more", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}}`, ours, false},
		{"not JSON", "{", ours, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := samePolicy(tt.a, tt.b); got != tt.want {
				t.Errorf("samePolicy(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:secretsmanager:us-east-1:1:secret:autonote/server/env-AbCdEf"
	tests := []struct {
		name, doc string
		want      bool
	}{
		{"exact", `{"Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"` + arn + `"}]}`, true},
		{"wildcards", `{"Statement":{"Effect":"Allow","Action":["secretsmanager:*"],"Resource":"arn:aws:secretsmanager:us-east-1:1:secret:autonote/*"}}`, true},
		{"a secret's six characters", `{"Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:1:secret:autonote/server/env-??????"}]}`, true},
		{"six characters, another name", `{"Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:1:secret:autonote/server/e-??????"}]}`, false},
		{"another secret", `{"Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:1:secret:other-AbCdEf"}]}`, false},
		{"deny", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, false},
		{"conditional", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`, false},
	}
	for _, tt := range tests {
		if got := grants(tt.doc, "secretsmanager:GetSecretValue", arn); got != tt.want {
			t.Errorf("%s: grants = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDiscoveryParsers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/autonote-AbCdEf:DATABASE_URL::": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/autonote-AbCdEf",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf":                      "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf",
		"arn:aws:ssm:us-east-1:123456789012:parameter/autonote/db":                                 "",
	} {
		if got := secretARN(in); got != want {
			t.Errorf("secretARN(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:abc123":        "autonote/server",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server@sha256:0a1b2c": "autonote/server",
		"127.0.0.1:5000/autonote/server:abc":                                         "",
		"nginx:latest":                                                               "",
	} {
		if got := repositoryOf(in); got != want {
			t.Errorf("repositoryOf(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:role/ecsTaskExecutionRole":       "ecsTaskExecutionRole",
		"arn:aws:iam::123456789012:role/service-role/autonote-task": "autonote-task",
		"ecsTaskExecutionRole": "ecsTaskExecutionRole",
	} {
		if got := roleName(in); got != want {
			t.Errorf("roleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeployRoleSubject(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		g    GitHub
		want string
	}{
		{GitHub{Repository: "autonote/autonote", Branch: "main"}, "repo:autonote/autonote:ref:refs/heads/main"},
		{GitHub{Repository: "autonote/autonote", Branch: "main", Environment: "production"}, "repo:autonote/autonote:environment:production"},
	} {
		if got := tt.g.Subject(); got != tt.want {
			t.Errorf("Subject(%+v) = %q, want %q", tt.g, got, tt.want)
		}
	}
	cfg := Default()
	cfg.Region = "us-east-1"
	cfg.GitHub = &GitHub{Repository: "autonote/autonote", Role: "autonote-deploy", Environment: "production"}
	if err := cfg.Check(); err != nil {
		t.Errorf("an environment without a branch: %v", err)
	}
	cfg.GitHub.Environment = ""
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "environment whose jobs may deploy") {
		t.Errorf("neither branch nor environment: %v", err)
	}
}

func TestIngressPutsIPv6BlocksInIpv6Ranges(t *testing.T) {
	t.Parallel()
	got := ingress(3000, []string{"203.0.113.0/24", "2001:db8::/32", "::/0"})
	if len(got) != 1 {
		t.Fatalf("%d permissions, want one", len(got))
	}
	var v4, v6 []string
	for _, r := range got[0].IpRanges {
		v4 = append(v4, *r.CidrIp)
	}
	for _, r := range got[0].Ipv6Ranges {
		v6 = append(v6, *r.CidrIpv6)
	}
	if strings.Join(v4, " ") != "203.0.113.0/24" || strings.Join(v6, " ") != "2001:db8::/32 ::/0" {
		t.Errorf("IPv4 %v, IPv6 %v", v4, v6)
	}
	if ingress(3000, nil) != nil {
		t.Error("no blocks must give no permission")
	}
}

// TestPolicyDiff: a changed policy shows as the grants it adds and takes
// away, not as "differs"; a document written in another form is no change.
func TestPolicyDiff(t *testing.T) {
	t.Parallel()
	have := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:UpdateService","ecs:DescribeServices"],"Resource":"arn:aws:ecs:us-east-1:1:service/c/s"},{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:1:secret:prod/*"}]}`
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:DescribeServices","ecs:UpdateService"],"Resource":["arn:aws:ecs:us-east-1:1:service/c/s"]},{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:1:secret:staging/*"}]}`
	got := policyDiff(have, want)
	for _, part := range []string{"adds [Allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:1:secret:staging/*]",
		"removes [Allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:1:secret:prod/*]"} {
		if !strings.Contains(got, part) {
			t.Errorf("policyDiff = %q, want it to say %q", got, part)
		}
	}
	if strings.Contains(got, "ecs:") {
		t.Errorf("policyDiff = %q: the ECS grants are the same, reordered", got)
	}
	if got := policyDiff(have, have); got != "" {
		t.Errorf("policyDiff of a policy with itself = %q", got)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	other := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}`
	if got := policyDiff(other, trust); !strings.Contains(got, `adds [Allow sts:AssumeRole to {"Service":["ecs-tasks.amazonaws.com"]}]`) || !strings.Contains(got, "removes [Allow sts:AssumeRole to") {
		t.Errorf("trust diff = %q", got)
	}
}
