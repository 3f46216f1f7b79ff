package bootstrap

import (
	"fmt"
	"slices"
	"strings"
)

// bootstrapPolicyName is the inline policy of the bootstrap role.
const bootstrapPolicyName = "bootstrap"

// bootstrapRole is the role bootstrap.yml assumes to plan and apply from
// GitHub: made once from a terminal with admin credentials, then the
// bootstrap needs nothing more. It is allowed what the bootstrap calls, on
// the baseline's own names, and it cannot change its own policy.
func (s *Stack) bootstrapRole() *role {
	g := s.cfg.GitHub
	return &role{s: s, kind: "bootstrap role", key: "bootstrap-role", name: g.BootstrapRole, stg: 5, inlineName: bootstrapPolicyName,
		trust:   s.githubTrust(g.BootstrapSubject()),
		managed: func() []string { return nil },
		inline:  s.bootstrapPolicy,
		adopted: func() string { return "" },
		record:  func(o *Outputs, arn string) { o.BootstrapRoleARN = arn },
	}
}

// bootstrapActions are what the bootstrap calls, by statement. Reads take
// no resource; writes are scoped below. A test checks that every call in
// the package's code is here.
var bootstrapActions = map[string][]string{
	"Read": {
		"ec2:DescribeAvailabilityZones", "ec2:DescribeInternetGateways", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
		"ec2:DescribeSubnets", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcs",
		"ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions",
		"ecr:DescribeRepositories", "logs:DescribeLogGroups",
		"iam:GetOpenIDConnectProvider", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
		"iam:ListOpenIDConnectProviders", "iam:ListRoles", "cloudwatch:DescribeAlarms",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
		"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroups",
	},
	// EC2 names what it creates only once it exists: creating is allowed
	// everywhere, taking away only on what carries the bootstrap's tag.
	"Network": {
		"ec2:AssociateRouteTable", "ec2:AttachInternetGateway", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateInternetGateway",
		"ec2:CreateRoute", "ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet", "ec2:CreateVpc",
		"ec2:ModifySubnetAttribute", "ec2:ModifyVpcAttribute", "ec2:ReplaceRoute",
	},
	// Tags only as part of a creation (every creation tags itself): never
	// the bootstrap's tag on a VPC it did not make, which destroy would then
	// take.
	"TagOnCreate": {"ec2:CreateTags"},
	"NetworkTakeOnlyOurs": {
		"ec2:DeleteInternetGateway", "ec2:DeleteRoute", "ec2:DeleteRouteTable", "ec2:DeleteSecurityGroup", "ec2:DeleteSubnet",
		"ec2:DeleteVpc", "ec2:DetachInternetGateway", "ec2:DisassociateRouteTable", "ec2:RevokeSecurityGroupIngress",
	},
	"Roles": {
		"iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:PutRolePolicy", "iam:TagRole", "iam:UpdateAssumeRolePolicy",
	},
	// Only the managed policies the bootstrap attaches, never another (an
	// AdministratorAccess on the deploy role).
	"RolesManagedPolicies": {"iam:AttachRolePolicy", "iam:DetachRolePolicy"},
	"OIDCProvider":         {"iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"},
	"Secrets": {
		"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
		"secretsmanager:PutSecretValue", "secretsmanager:TagResource",
	},
	"Repository": {
		"ecr:CreateRepository", "ecr:DeleteRepository", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource",
		"ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy", "ecr:TagResource",
	},
	// ELBv2 names what it makes only once it exists, like EC2; the load
	// balancer's names are the baseline's, and only those may be deleted.
	"LoadBalancer": {
		"elasticloadbalancing:AddTags", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateLoadBalancer",
		"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
		"elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
	},
	"Alarms":   {"cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"},
	"LogGroup": {"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"},
	"Cluster":  {"ecs:CreateCluster", "ecs:DeleteCluster", "ecs:PutClusterCapacityProviders", "ecs:TagResource"},
	"Service":  {"ecs:CreateService", "ecs:DeleteService", "ecs:TagResource", "ecs:UpdateService"},
	// ECS takes no resource for registering a revision.
	"TaskDefinitions":      {"ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:TagResource"},
	"PassTaskRoles":        {"iam:PassRole"},
	"ECSServiceLinkedRole": {"iam:CreateServiceLinkedRole"},
}

// bootstrapPolicy scopes bootstrapActions to the baseline's names: the
// roles it makes or names (never the bootstrap role itself), the OIDC
// provider, its secrets, repository, log group, cluster and service.
func (s *Stack) bootstrapPolicy() string {
	o, cfg := s.get(), s.cfg
	account := accountOf(cmpStr(o.RepositoryARN, cmpStr(o.ExecutionRoleARN, o.OIDCProviderARN)))
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, cfg.Region, account, resource)
	}
	roleARN := func(name string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name) }
	passRoles := []string{roleARN(cmpStr(lastSegment(o.ExecutionRoleARN), cfg.ExecutionRole))}
	if t := lastSegment(o.TaskRoleARN); t != "" && !slices.Contains(passRoles, roleARN(t)) {
		passRoles = append(passRoles, roleARN(t))
	}
	roles := append(slices.Clone(passRoles), roleARN(cfg.GitHub.Role))
	secrets := s.secretPatterns()
	logGroup := cmpStr(strings.TrimSuffix(o.LogGroupARN, ":*"), arn("logs", "log-group:"+cfg.LogGroup))
	st := func(sid string, resource any, cond map[string]any) map[string]any {
		m := map[string]any{"Sid": sid, "Effect": "Allow", "Action": bootstrapActions[sid], "Resource": resource}
		if cond != nil {
			m["Condition"] = cond
		}
		return m
	}
	return policyDoc(
		st("Read", "*", nil),
		st("Network", "*", nil),
		st("TagOnCreate", "*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": []string{
			"CreateVpc", "CreateSubnet", "CreateInternetGateway", "CreateRouteTable", "CreateSecurityGroup"}}}),
		st("NetworkTakeOnlyOurs", "*", map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + TagManagedBy: ManagedByValue}}),
		st("Roles", roles, nil),
		st("RolesManagedPolicies", roles, map[string]any{"ArnEquals": map[string]any{"iam:PolicyARN": []string{executionPolicy, secretsRWPolicy}}}),
		st("OIDCProvider", fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", account, cfg.GitHub.TokenHost()), nil),
		st("Secrets", secrets, nil),
		st("Repository", cmpStr(o.RepositoryARN, arn("ecr", "repository/"+cfg.ECRRepository)), nil),
		st("LogGroup", []string{logGroup, logGroup + ":*"}, nil),
		st("LoadBalancer", []string{
			arn("elasticloadbalancing", "loadbalancer/app/"+s.name("alb")+"/*"), arn("elasticloadbalancing", "targetgroup/"+s.name("tg")+"/*"),
			arn("elasticloadbalancing", "listener/app/"+s.name("alb")+"/*"),
		}, nil),
		st("Alarms", arn("cloudwatch", "alarm:"+s.name("*")), nil),
		st("Cluster", cmpStr(o.ClusterARN, arn("ecs", "cluster/"+cfg.Cluster)), nil),
		st("Service", cmpStr(o.ServiceARN, arn("ecs", "service/"+cfg.Cluster+"/"+cfg.Service)), nil),
		st("TaskDefinitions", "*", nil),
		st("PassTaskRoles", passRoles, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
		st("ECSServiceLinkedRole", fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", account),
			map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": "ecs.amazonaws.com"}}),
	)
}

// secretPattern matches a secret by its name, whatever random suffix
// Secrets Manager gave it (a secret made again gets another).
func secretPattern(arn, fallback string) string {
	if arn == "" {
		return fallback + "-*"
	}
	if i := strings.LastIndex(arn, "-"); i > 0 && len(arn)-i == 7 {
		return arn[:i] + "-*"
	}
	return arn
}
