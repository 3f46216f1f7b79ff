package bootstrap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// deployRole is the role the workflow assumes: trusted only by the
// configured repository's branch, allowed only what a deploy does.
func (s *Stack) deployRole() *role {
	g := s.cfg.GitHub
	return &role{s: s, kind: "deploy role", key: "deploy-role", name: g.Role, stg: 6, inlineName: deployPolicy, bounded: true,
		trust:   s.githubTrust(g.Subject()),
		managed: func() []string { return nil },
		inline:  s.deployPolicy,
		adopted: func() string { return "" },
		record:  func(o *Outputs, arn string) { o.DeployRoleARN = arn },
	}
}

// scope is what the stack's roles act on. It reads only the config, what
// discovery found before any resource was judged, and the account, never
// the outputs the stages fill in: each stage, and each run, renders the
// same policies.
func (s *Stack) scope() Scope {
	cfg := s.cfg
	sc := Scope{
		Region: cfg.Region, Account: s.account(), Stack: cfg.Name,
		Cluster: cfg.Cluster, Service: cfg.Service, Family: s.family(),
		Repository: (&repository{s: s}).repoName(), LogGroup: (&logGroup{s: s}).groupName(),
		AppSecret: cfg.AppSecret, APIKeySecret: cfg.APIKeySecret,
		ExecutionRole: fmt.Sprintf("arn:aws:iam::%s:role/%s", s.account(), cfg.ExecutionRole),
		Shifts:        cfg.Shifts(), LoadBalancer: s.name("alb"), TargetGroups: []string{s.name("tg"), s.name("tg2")},
	}
	if b := s.found; b != nil && b.taskDef != nil {
		if arn := aws.ToString(b.taskDef.ExecutionRoleArn); arn != "" {
			sc.ExecutionRole = arn
		}
		sc.TaskRole = aws.ToString(b.taskDef.TaskRoleArn)
		for _, arn := range b.secretRefs() {
			// The baseline's own secrets are named already; the others are
			// an adopted task definition's.
			if n := secretName(arn); n != sc.AppSecret && n != sc.APIKeySecret && !slices.Contains(sc.TaskSecrets, arn) {
				sc.TaskSecrets = append(sc.TaskSecrets, arn)
			}
		}
		slices.Sort(sc.TaskSecrets)
	}
	return sc
}

// account is the account the stack is in: the credentials' (STS), else
// what the ARNs found say.
func (s *Stack) account() string {
	if s.acct != "" {
		return s.acct
	}
	o := s.get()
	return accountOf(cmp.Or(o.RepositoryARN, o.ExecutionRoleARN, o.OIDCProviderARN, o.ServiceARN, o.ClusterARN))
}

// family is the task definition family of the service: the one it runs,
// else the config's.
func (s *Stack) family() string {
	if b := s.found; b != nil && b.taskDef != nil && aws.ToString(b.taskDef.Family) != "" {
		return aws.ToString(b.taskDef.Family)
	}
	return s.cfg.Family
}

// githubTrust lets the jobs of one OIDC subject assume a role.
func (s *Stack) githubTrust(subject string) func() string {
	host := s.cfg.GitHub.TokenHost()
	return func() string {
		return policyDoc(map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": s.get().OIDCProviderARN},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{
				host + ":aud": "sts.amazonaws.com",
				host + ":sub": subject,
			}},
		})
	}
}

// deployPolicy allows exactly what the action does (Scope.DeployPolicy),
// on the baseline's secrets as found (an adopted stack's may have other
// names than the config's).
func (s *Stack) deployPolicy() string {
	sc, o := s.scope(), s.get()
	sc.AppSecret = cmp.Or(secretName(o.AppSecretARN), sc.AppSecret)
	sc.APIKeySecret = cmp.Or(secretName(o.APIKeySecretARN), sc.APIKeySecret)
	return sc.DeployPolicy()
}

// secretName is a secret's name from its ARN (without the six characters
// AWS appends), "" for none.
func secretName(arn string) string {
	_, name, ok := strings.Cut(arn, ":secret:")
	if !ok || len(name) < 8 || name[len(name)-7] != '-' {
		return ""
	}
	return name[:len(name)-7]
}
