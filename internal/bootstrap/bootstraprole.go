package bootstrap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// bootstrapPolicyName is the inline policy of the bootstrap role.
const bootstrapPolicyName = "bootstrap"

// bootstrapRole is the role bootstrap.yml assumes to plan and apply from
// GitHub: made once from a terminal with admin credentials, then the
// bootstrap needs nothing more. It is allowed what the bootstrap calls, on
// the baseline's own names, and it cannot change its own policy, nor the
// boundary of the roles it writes. It comes last: its policy names what
// the others are and whose.
func (s *Stack) bootstrapRole() *role {
	g := s.cfg.GitHub
	return &role{s: s, kind: "bootstrap role", key: "bootstrap-role", name: g.BootstrapRole, stg: 7, inlineName: bootstrapPolicyName,
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
	// EC2's and ELB's Describe calls read the network's shape alone (IAM
	// scopes none of them): one wildcard each keeps the policy within
	// IAM's 10,240 characters.
	"Read": {
		"ec2:Describe*", "elasticloadbalancing:Describe*",
		"ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions",
		"ecr:DescribeRepositories", "logs:DescribeLogGroups",
		"iam:GetOpenIDConnectProvider", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
		"iam:ListOpenIDConnectProviders", "iam:ListRoles", "iam:ListPolicies", "iam:GetPolicy", "iam:GetPolicyVersion", "cloudwatch:DescribeAlarms",
	},
	// EC2 names what it creates only once it exists: a creation is
	// allowed when it carries the stack's tags, and inside a VPC that is
	// the stack's or the baseline's; a change only on what carries the
	// stack's tags (never another stack's), or on the baseline's own VPC,
	// subnets and security groups.
	"NetworkCreateVPC": {"ec2:CreateVpc"},
	"NetworkCreate":    {"ec2:CreateInternetGateway", "ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet"},
	// What carries the stack's tags: made in it, changed, taken down.
	"NetworkOurs": {
		"ec2:AssociateRouteTable", "ec2:AttachInternetGateway", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateRoute",
		"ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet",
		"ec2:DeleteInternetGateway", "ec2:DeleteRoute", "ec2:DeleteRouteTable", "ec2:DeleteSecurityGroup", "ec2:DeleteSubnet",
		"ec2:DeleteVpc", "ec2:DetachInternetGateway", "ec2:DisassociateRouteTable",
		"ec2:ModifySubnetAttribute", "ec2:ModifyVpcAttribute", "ec2:ReplaceRoute", "ec2:RevokeSecurityGroupIngress",
	},
	"NetworkBaseline": {
		"ec2:AssociateRouteTable", "ec2:AttachInternetGateway", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateRouteTable",
		"ec2:CreateSecurityGroup", "ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:ModifyVpcAttribute",
	},
	// Tags only as part of a creation (every creation tags itself): never
	// the bootstrap's tag on a VPC it did not make, which destroy would then
	// take.
	"TagOnCreate": {"ec2:CreateTags"},
	// The roles the bootstrap made or was handed, and only with the
	// boundary on them: whatever policy they get, no more than the stack's
	// roles do, on the stack's resources. Their trust is admin's alone.
	"RolesBounded": {"iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"},
	"RoleTags":     {"iam:TagRole"},
	// Only the managed policies the bootstrap attaches or takes off (AWS's
	// load-balancer policy, of an earlier version's infrastructure role),
	// never another (an AdministratorAccess on the deploy role); the
	// boundary holds any of them to the stack.
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
		"elasticloadbalancing:AddTags", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateRule",
		"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteRule", "elasticloadbalancing:DeleteTargetGroup",
		"elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
	},
	"Alarms":            {"cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"},
	"LogGroup":          {"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"},
	"ClusterAndService": {"ecs:CreateCluster", "ecs:CreateService", "ecs:DeleteCluster", "ecs:DeleteService", "ecs:PutClusterCapacityProviders", "ecs:UpdateService"},
	// Tags only as part of a creation, never on another's cluster or service.
	"ECSTagOnCreate": {"ecs:TagResource"},
	// The service's family; ECS takes no resource for deregistering.
	"TaskDefinitions":     {"ecs:RegisterTaskDefinition"},
	"DeregisterRevisions": {"ecs:DeregisterTaskDefinition"},
	"PassTaskRoles":       {"iam:PassRole"},
	// A strategy that shifts traffic: the service names the role ECS
	// moves traffic with.
	"PassInfrastructureRole": {"iam:PassRole"},
	"ECSServiceLinkedRole":   {"iam:CreateServiceLinkedRole"},
}

// adminOnly are the bootstrap's calls its role may not make, by design:
// the boundary is changed or deleted with admin credentials alone (a role
// that could rewrite it could lift it), and so is a role's trust (a role
// that could retrust one could assume it).
var adminOnly = []string{"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:ListPolicyVersions",
	"iam:UpdateAssumeRolePolicy"}

// bootstrapPolicy scopes bootstrapActions to the stack's names and tags:
// the roles it makes or was handed (never the bootstrap role itself, never
// an adopted one), the OIDC provider, its secrets, repository, log group,
// cluster, service, load balancer, alarms and network.
func (s *Stack) bootstrapPolicy() string {
	o, cfg, sc := s.get(), s.cfg, s.scope()
	arn := sc.arn
	roleARN := func(name string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", sc.Account, name) }
	execName := cmp.Or(lastSegment(o.ExecutionRoleARN), cfg.ExecutionRole)
	passRoles := []string{roleARN(execName)}
	if t := lastSegment(o.TaskRoleARN); t != "" && !slices.Contains(passRoles, roleARN(t)) {
		passRoles = append(passRoles, roleARN(t))
	}
	var roles []string
	if s.writableRole(execName, "execution-role") {
		roles = append(roles, roleARN(execName))
	}
	if s.writableRole(cfg.GitHub.Role, "deploy-role") {
		roles = append(roles, roleARN(cfg.GitHub.Role))
	}
	infraRole := cmp.Or(o.InfrastructureRoleARN, roleARN(cfg.InfrastructureRoleName()))
	if cfg.Shifts() && s.writableRole(lastSegment(infraRole), "infrastructure-role") {
		roles = append(roles, infraRole)
	}
	logGroup := sc.logGroupARN()
	var statements []map[string]any
	st := func(sid string, resource any, cond map[string]any) {
		if r, ok := resource.([]string); ok && len(r) == 0 {
			return // nothing to allow it on
		}
		statements = append(statements, statement(sid, bootstrapActions[sid], resource, cond))
	}
	// The stack's own: both tags, the bootstrap's and the stack's name.
	ours := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + TagManagedBy: ManagedByValue, "aws:ResourceTag/" + TagStack: cfg.Name}}
	tagged := map[string]any{"StringEquals": map[string]any{"aws:RequestTag/" + TagManagedBy: ManagedByValue, "aws:RequestTag/" + TagStack: cfg.Name}}
	bounded := map[string]any{"StringEquals": map[string]any{"iam:PermissionsBoundary": s.boundaryARN()}}
	var baseline []string
	for _, id := range append(append(append([]string{o.VPCID}, o.PublicSubnetIDs...), o.PrivateSubnetIDs...), append(o.SecurityGroupIDs, o.SecurityGroupID, o.LoadBalancerSecurityGroupID)...) {
		kind := map[string]string{"vpc": "vpc", "subnet": "subnet", "sg": "security-group"}[strings.SplitN(id, "-", 2)[0]]
		if a := arn("ec2", kind+"/"+id); kind != "" && !slices.Contains(baseline, a) {
			baseline = append(baseline, a)
		}
	}
	st("Read", "*", nil)
	st("NetworkCreateVPC", arn("ec2", "vpc/*"), tagged)
	st("NetworkCreate", []string{arn("ec2", "internet-gateway/*"), arn("ec2", "route-table/*"), arn("ec2", "security-group/*"), arn("ec2", "subnet/*")}, tagged)
	st("NetworkOurs", "*", ours)
	st("NetworkBaseline", baseline, nil)
	st("TagOnCreate", "*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": []string{
		"CreateVpc", "CreateSubnet", "CreateInternetGateway", "CreateRouteTable", "CreateSecurityGroup"}}})
	st("RolesBounded", roles, bounded)
	st("RoleTags", roles, nil)
	st("RolesManagedPolicies", roles, map[string]any{
		"ArnEquals":    map[string]any{"iam:PolicyARN": []string{executionPolicy, secretsRWPolicy, infrastructurePolicy}},
		"StringEquals": map[string]any{"iam:PermissionsBoundary": s.boundaryARN()},
	})
	st("OIDCProvider", fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", sc.Account, cfg.GitHub.TokenHost()), nil)
	st("Secrets", []string{sc.secret(sc.AppSecret), sc.secret(sc.APIKeySecret)}, nil)
	st("Repository", sc.repositoryARN(), nil)
	st("LogGroup", []string{logGroup, logGroup + ":*"}, nil)
	st("LoadBalancer", []string{
		arn("elasticloadbalancing", "loadbalancer/app/"+s.name("alb")+"/*"), arn("elasticloadbalancing", "listener/app/"+s.name("alb")+"/*"),
		arn("elasticloadbalancing", "listener-rule/app/"+s.name("alb")+"/*"),
		arn("elasticloadbalancing", "targetgroup/"+s.name("tg")+"/*"), arn("elasticloadbalancing", "targetgroup/"+s.name("tg2")+"/*"),
	}, nil)
	var alarms []string
	for _, a := range s.lbAlarmList() {
		alarms = append(alarms, arn("cloudwatch", "alarm:"+a.name))
	}
	st("Alarms", alarms, nil)
	st("ClusterAndService", []string{sc.clusterARN(), sc.serviceARN()}, nil)
	st("ECSTagOnCreate", []string{sc.clusterARN(), sc.serviceARN(), sc.familyARN()}, map[string]any{"StringEquals": map[string]any{
		"ecs:CreateAction": []string{"CreateCluster", "CreateService", "RegisterTaskDefinition"}}})
	st("TaskDefinitions", sc.familyARN(), nil)
	st("DeregisterRevisions", "*", nil)
	st("PassTaskRoles", passRoles, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
	if cfg.Shifts() {
		st("PassInfrastructureRole", []string{infraRole}, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs.amazonaws.com"}})
	}
	st("ECSServiceLinkedRole", fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", sc.Account),
		map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": "ecs.amazonaws.com"}})
	return policyDoc(statements...)
}
