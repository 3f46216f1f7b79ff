package bootstrap

import (
	"fmt"
	"strings"
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

// secretPatterns match the baseline's secrets by name.
func (s *Stack) secretPatterns() []string {
	o, account := s.get(), accountOf(s.get().RepositoryARN)
	arn := func(name string) string {
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", s.cfg.Region, account, name)
	}
	return []string{secretPattern(o.AppSecretARN, arn(s.cfg.AppSecret)), secretPattern(o.APIKeySecretARN, arn(s.cfg.APIKeySecret))}
}

// family is the task definition family of the service: the one it runs,
// else the config's.
func (s *Stack) family() string {
	if arn := s.get().TaskDefinitionARN; arn != "" {
		if f, _, ok := strings.Cut(lastSegment(arn), ":"); ok && f != "" {
			return f
		}
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

// deployPolicy allows exactly what the action does, and no "*" action, on
// what was found or made: the service, its cluster, its repository, and
// the roles its task definition names.
func (s *Stack) deployPolicy() string {
	o := s.get()
	account := accountOf(o.RepositoryARN)
	service := cmpStr(o.ServiceARN, fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", s.cfg.Region, account, s.cfg.Cluster, s.cfg.Service))
	passRoles := []string{o.ExecutionRoleARN}
	if o.TaskRoleARN != "" && o.TaskRoleARN != o.ExecutionRoleARN {
		passRoles = append(passRoles, o.TaskRoleARN)
	}
	return policyDoc(
		map[string]any{"Sid": "EcrLogin", "Effect": "Allow", "Action": []string{"ecr:GetAuthorizationToken"}, "Resource": "*"},
		map[string]any{"Sid": "EcrPush", "Effect": "Allow", "Resource": o.RepositoryARN, "Action": []string{
			"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:CreateRepository", "ecr:DescribeImages",
			"ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:ListImages",
			"ecr:PutImage", "ecr:UploadLayerPart"}},
		// Read-only, so that "cluster/service not found" can name those that exist.
		map[string]any{"Sid": "ListForErrors", "Effect": "Allow", "Resource": "*", "Action": []string{"ecs:ListClusters", "ecs:ListServices"}},
		map[string]any{"Sid": "TaskDefinitions", "Effect": "Allow", "Resource": "*", "Action": []string{
			"ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"}},
		// keep-revisions: the service's own family, no other.
		map[string]any{"Sid": "PruneOwnFamily", "Effect": "Allow", "Action": []string{"ecs:DeregisterTaskDefinition"},
			"Resource": fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:*", s.cfg.Region, account, s.family())},
		// pre-deploy-command: one task of the family in the cluster, its log lines.
		map[string]any{"Sid": "PreDeployTask", "Effect": "Allow", "Resource": "*", "Action": []string{"ecs:RunTask", "ecs:StopTask"},
			"Condition": map[string]any{"ArnEquals": map[string]any{"ecs:cluster": o.ClusterARN}}},
		map[string]any{"Sid": "PreDeployLogs", "Effect": "Allow", "Resource": strings.TrimSuffix(o.LogGroupARN, ":*") + ":log-stream:*", "Action": []string{"logs:GetLogEvents"}},
		// secrets input: the baseline's own secrets are named by ARN (no
		// value is read); smoke-header-secret: the API key's value, no other.
		map[string]any{"Sid": "NameBaselineSecrets", "Effect": "Allow", "Resource": s.secretPatterns(), "Action": []string{"secretsmanager:DescribeSecret"}},
		map[string]any{"Sid": "ReadAPIKey", "Effect": "Allow", "Resource": s.secretPatterns()[1], "Action": []string{"secretsmanager:GetSecretValue"}},
		// Tags only as part of registering a revision, never on anything else.
		map[string]any{"Sid": "TagNewRevisions", "Effect": "Allow", "Resource": "*", "Action": []string{"ecs:TagResource"},
			"Condition": map[string]any{"StringEquals": map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"}}},
		map[string]any{"Sid": "Service", "Effect": "Allow", "Resource": service, "Action": []string{"ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:UpdateService"}},
		// A service that shifts traffic (blue/green, canary, linear): follow
		// its service deployments, answer the PAUSE hooks of the gate, send
		// one back during its bake.
		map[string]any{"Sid": "ServiceDeployments", "Effect": "Allow", "Resource": strings.Replace(service, ":service/", ":service-deployment/", 1) + "/*",
			"Action": []string{"ecs:ContinueServiceDeployment", "ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"}},
		// What runs now: the revisions of past deployments, and the tasks'
		// addresses (EC2's Describe calls take no resource).
		map[string]any{"Sid": "Status", "Effect": "Allow", "Resource": "*", "Action": []string{"cloudwatch:DescribeAlarms", "ec2:DescribeNetworkInterfaces", "ecs:DescribeServiceRevisions",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroups"}},
		map[string]any{"Sid": "Tasks", "Effect": "Allow", "Resource": "*", "Action": []string{"ecs:ListTasks", "ecs:DescribeTasks"},
			"Condition": map[string]any{"ArnEquals": map[string]any{"ecs:cluster": o.ClusterARN}}},
		map[string]any{"Sid": "PassTaskRoles", "Effect": "Allow", "Resource": passRoles, "Action": []string{"iam:PassRole"},
			"Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
	)
}
