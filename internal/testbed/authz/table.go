package authz

import (
	"cmp"
	"fmt"
	"strings"
)

// table maps service:Operation to the checks it makes. Actions, resource
// types and condition keys follow the Service Authorization Reference;
// "implied" lines are the further authorizations AWS documents for a call
// (tagging on creation, passing a role).
var table = map[string]func(r *call){
	// ECS
	"ecs:ListClusters":           anyResource("ecs:ListClusters"),
	"ecs:ListServices":           func(r *call) { r.add("ecs:ListServices", "*", r.clusterKey()) },
	"ecs:ListTaskDefinitions":    anyResource("ecs:ListTaskDefinitions"),
	"ecs:DescribeTaskDefinition": anyResource("ecs:DescribeTaskDefinition"),
	// ECS takes no resource for deregistering a revision: a policy cannot
	// narrow it to one family.
	"ecs:DeregisterTaskDefinition": anyResource("ecs:DeregisterTaskDefinition"),
	"ecs:DescribeClusters": func(r *call) {
		names := r.list("clusters")
		if len(names) == 0 {
			names = []string{"default"}
		}
		for _, c := range names {
			r.add("ecs:DescribeClusters", r.arn("ecs", "cluster/"+lastPart(c)))
		}
	},
	"ecs:CreateCluster": func(r *call) {
		arn := r.arn("ecs", "cluster/"+cmp.Or(r.s("clusterName"), "default"))
		tags := r.tags("tags", "key", "value")
		r.create("ecs:CreateCluster", arn, tagContext(tags))
		r.tagOnCreate("ecs:TagResource", arn, tags, map[string]any{"ecs:CreateAction": "CreateCluster"})
	},
	"ecs:DeleteCluster": func(r *call) { r.add("ecs:DeleteCluster", r.arn("ecs", "cluster/"+lastPart(r.s("cluster")))) },
	"ecs:PutClusterCapacityProviders": func(r *call) {
		r.add("ecs:PutClusterCapacityProviders", r.arn("ecs", "cluster/"+lastPart(r.s("cluster"))))
	},
	"ecs:DescribeServices": func(r *call) {
		for _, s := range r.list("services") {
			r.add("ecs:DescribeServices", r.serviceARN(s), r.clusterKey())
		}
	},
	"ecs:CreateService": func(r *call) {
		arn := r.serviceARN(r.s("serviceName"))
		tags := r.tags("tags", "key", "value")
		r.create("ecs:CreateService", arn, r.clusterKey(), tagContext(tags))
		r.tagOnCreate("ecs:TagResource", arn, tags, map[string]any{"ecs:CreateAction": "CreateService"})
		r.passInfrastructureRoles()
	},
	"ecs:UpdateService": func(r *call) {
		r.add("ecs:UpdateService", r.serviceARN(r.s("service")), r.clusterKey())
		r.passInfrastructureRoles()
	},
	"ecs:DeleteService":          func(r *call) { r.add("ecs:DeleteService", r.serviceARN(r.s("service")), r.clusterKey()) },
	"ecs:ListServiceDeployments": func(r *call) { r.add("ecs:ListServiceDeployments", r.serviceARN(r.s("service")), r.clusterKey()) },
	"ecs:DescribeServiceDeployments": func(r *call) {
		for _, d := range r.list("serviceDeploymentArns") {
			r.serviceChild("ecs:DescribeServiceDeployments", d)
		}
	},
	"ecs:ContinueServiceDeployment": func(r *call) { r.serviceChild("ecs:ContinueServiceDeployment", r.s("serviceDeploymentArn")) },
	"ecs:StopServiceDeployment":     func(r *call) { r.serviceChild("ecs:StopServiceDeployment", r.s("serviceDeploymentArn")) },
	"ecs:DescribeServiceRevisions": func(r *call) {
		for _, d := range r.list("serviceRevisionArns") {
			r.serviceChild("ecs:DescribeServiceRevisions", d)
		}
	},
	"ecs:RegisterTaskDefinition": func(r *call) {
		family := r.s("family")
		rev, err := r.res.NextRevision(r.ctx, r.Region, family)
		if err != nil {
			r.fail(err)
			return
		}
		arn := r.arn("ecs", fmt.Sprintf("task-definition/%s:%d", family, rev))
		tags := r.tags("tags", "key", "value")
		r.create("ecs:RegisterTaskDefinition", arn, tagContext(tags))
		r.tagOnCreate("ecs:TagResource", arn, tags, map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"})
		// Implied: the roles the revision names are passed to ECS's tasks.
		for _, role := range []string{r.s("executionRoleArn"), r.s("taskRoleArn")} {
			r.passRole(role, "ecs-tasks.amazonaws.com")
		}
	},
	"ecs:RunTask": func(r *call) {
		arn, exec, task, err := r.res.TaskDefinition(r.ctx, r.Region, r.s("taskDefinition"))
		if err != nil {
			r.fail(err)
			return
		}
		tags := r.tags("tags", "key", "value")
		r.add("ecs:RunTask", arn, r.clusterKey(), tagContext(tags))
		r.tagOnCreate("ecs:TagResource", r.arn("ecs", "task/"+r.clusterName()+"/0000000000000000"), tags, map[string]any{"ecs:CreateAction": "RunTask"})
		// Implied: running a task passes the roles of its revision (and
		// of the overrides) to ECS's tasks.
		for _, role := range []string{exec, task, r.s("overrides.executionRoleArn"), r.s("overrides.taskRoleArn")} {
			r.passRole(role, "ecs-tasks.amazonaws.com")
		}
	},
	"ecs:StopTask":  func(r *call) { r.add("ecs:StopTask", r.taskARN(r.s("task")), r.clusterKey()) },
	"ecs:ListTasks": func(r *call) { r.add("ecs:ListTasks", "*", r.clusterKey()) },
	"ecs:DescribeTasks": func(r *call) {
		for _, t := range r.list("tasks") {
			r.add("ecs:DescribeTasks", r.taskARN(t), r.clusterKey())
		}
	},
	"ecs:TagResource": func(r *call) {
		r.add("ecs:TagResource", r.s("resourceArn"), tagContext(r.tags("tags", "key", "value")))
	},

	// ECR (the registry API's push and pull are judged by the test bed's
	// registry, as the same actions)
	"ecr:GetAuthorizationToken": anyResource("ecr:GetAuthorizationToken"),
	"ecr:DescribeRepositories": func(r *call) {
		names := r.list("repositoryNames")
		if len(names) == 0 {
			r.add("ecr:DescribeRepositories", r.arn("ecr", "repository/*"))
		}
		for _, n := range names {
			r.add("ecr:DescribeRepositories", r.repository(n))
		}
	},
	"ecr:CreateRepository": func(r *call) {
		arn := r.repository(r.s("repositoryName"))
		tags := r.tags("tags", "Key", "Value")
		r.create("ecr:CreateRepository", arn, tagContext(tags))
		// Implied: a repository created with tags is tagged by ecr:TagResource.
		r.tagOnCreate("ecr:TagResource", arn, tags, nil)
	},
	"ecr:DeleteRepository":              repositoryAction("ecr:DeleteRepository"),
	"ecr:DescribeImages":                repositoryAction("ecr:DescribeImages"),
	"ecr:BatchGetImage":                 repositoryAction("ecr:BatchGetImage"),
	"ecr:ListImages":                    repositoryAction("ecr:ListImages"),
	"ecr:PutImage":                      repositoryAction("ecr:PutImage"),
	"ecr:BatchCheckLayerAvailability":   repositoryAction("ecr:BatchCheckLayerAvailability"),
	"ecr:GetLifecyclePolicy":            repositoryAction("ecr:GetLifecyclePolicy"),
	"ecr:PutLifecyclePolicy":            repositoryAction("ecr:PutLifecyclePolicy"),
	"ecr:PutImageScanningConfiguration": repositoryAction("ecr:PutImageScanningConfiguration"),
	"ecr:PutImageTagMutability":         repositoryAction("ecr:PutImageTagMutability"),
	"ecr:ListTagsForResource":           func(r *call) { r.add("ecr:ListTagsForResource", r.s("resourceArn")) },
	"ecr:TagResource":                   tagging("ecr:TagResource", "resourceArn", "tags", "Key", "Value"),

	// IAM
	"iam:ListRoles":                  anyResource("iam:ListRoles"),
	"iam:ListPolicies":               anyResource("iam:ListPolicies"),
	"iam:ListOpenIDConnectProviders": anyResource("iam:ListOpenIDConnectProviders"),
	"iam:GetRole":                    roleAction("iam:GetRole", false),
	"iam:GetRolePolicy":              roleAction("iam:GetRolePolicy", false),
	"iam:ListRolePolicies":           roleAction("iam:ListRolePolicies", false),
	"iam:ListAttachedRolePolicies":   roleAction("iam:ListAttachedRolePolicies", false),
	"iam:ListRoleTags":               roleAction("iam:ListRoleTags", false),
	"iam:PutRolePolicy":              roleAction("iam:PutRolePolicy", true),
	"iam:DeleteRolePolicy":           roleAction("iam:DeleteRolePolicy", true),
	"iam:DeleteRole":                 roleAction("iam:DeleteRole", true),
	"iam:UpdateAssumeRolePolicy":     roleAction("iam:UpdateAssumeRolePolicy", true),
	"iam:AttachRolePolicy": func(r *call) {
		roleAction("iam:AttachRolePolicy", true)(r)
		r.checks[len(r.checks)-1].Context["iam:PolicyARN"] = r.s("PolicyArn")
	},
	"iam:DetachRolePolicy": func(r *call) {
		roleAction("iam:DetachRolePolicy", true)(r)
		r.checks[len(r.checks)-1].Context["iam:PolicyARN"] = r.s("PolicyArn")
	},
	"iam:PutRolePermissionsBoundary": func(r *call) {
		r.add("iam:PutRolePermissionsBoundary", r.roleARN(r.s("RoleName")), map[string]any{"iam:PermissionsBoundary": r.s("PermissionsBoundary")})
	},
	"iam:TagRole": func(r *call) {
		r.add("iam:TagRole", r.roleARN(r.s("RoleName")), tagContext(r.tags("Tags", "Key", "Value")))
	},
	"iam:CreateRole": func(r *call) {
		arn := r.iamARN("role" + cmp.Or(r.s("Path"), "/") + r.s("RoleName"))
		tags := r.tags("Tags", "Key", "Value")
		ctx := tagContext(tags)
		if b := r.s("PermissionsBoundary"); b != "" {
			ctx = merge(ctx, map[string]any{"iam:PermissionsBoundary": b})
		}
		r.create("iam:CreateRole", arn, ctx)
		r.tagOnCreate("iam:TagRole", arn, tags, nil)
	},
	"iam:CreateServiceLinkedRole": func(r *call) {
		service := r.s("AWSServiceName")
		name := map[string]string{"ecs.amazonaws.com": "AWSServiceRoleForECS", "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing"}[service]
		r.create("iam:CreateServiceLinkedRole", r.iamARN("role/aws-service-role/"+service+"/"+cmp.Or(name, "AWSServiceRole")), map[string]any{"iam:AWSServiceName": service})
	},
	"iam:GetPolicy":           policyAction("iam:GetPolicy"),
	"iam:GetPolicyVersion":    policyAction("iam:GetPolicyVersion"),
	"iam:ListPolicyVersions":  policyAction("iam:ListPolicyVersions"),
	"iam:CreatePolicyVersion": policyAction("iam:CreatePolicyVersion"),
	"iam:DeletePolicyVersion": policyAction("iam:DeletePolicyVersion"),
	"iam:DeletePolicy":        policyAction("iam:DeletePolicy"),
	"iam:ListPolicyTags":      policyAction("iam:ListPolicyTags"),
	"iam:CreatePolicy": func(r *call) {
		arn := r.iamARN("policy" + cmp.Or(r.s("Path"), "/") + r.s("PolicyName"))
		tags := r.tags("Tags", "Key", "Value")
		r.create("iam:CreatePolicy", arn, tagContext(tags))
		r.tagOnCreate("iam:TagPolicy", arn, tags, nil)
	},
	"iam:CreateOpenIDConnectProvider": func(r *call) {
		host := r.s("Url")
		host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
		arn := r.iamARN("oidc-provider/" + host)
		tags := r.tags("Tags", "Key", "Value")
		r.create("iam:CreateOpenIDConnectProvider", arn, tagContext(tags))
		r.tagOnCreate("iam:TagOpenIDConnectProvider", arn, tags, nil)
	},
	"iam:GetOpenIDConnectProvider":    func(r *call) { r.add("iam:GetOpenIDConnectProvider", r.s("OpenIDConnectProviderArn")) },
	"iam:DeleteOpenIDConnectProvider": func(r *call) { r.add("iam:DeleteOpenIDConnectProvider", r.s("OpenIDConnectProviderArn")) },
	"iam:TagOpenIDConnectProvider": func(r *call) {
		r.add("iam:TagOpenIDConnectProvider", r.s("OpenIDConnectProviderArn"), tagContext(r.tags("Tags", "Key", "Value")))
	},

	// STS: a role's trust is judged by the test bed, against the caller.
	"sts:AssumeRole":                func(r *call) { r.add("sts:AssumeRole", r.s("RoleArn")) },
	"sts:AssumeRoleWithWebIdentity": func(r *call) { r.add("sts:AssumeRoleWithWebIdentity", r.s("RoleArn")) },
	"sts:GetCallerIdentity":         func(r *call) {}, // needs no permission

	// Secrets Manager
	"secretsmanager:ListSecrets": anyResource("secretsmanager:ListSecrets"),
	"secretsmanager:CreateSecret": func(r *call) {
		// The new secret's ARN ends in a suffix AWS draws: any six characters.
		arn := r.arn("secretsmanager", "secret:"+r.s("Name")+"-AbCdEf")
		tags := r.tags("Tags", "Key", "Value")
		r.create("secretsmanager:CreateSecret", arn, tagContext(tags), map[string]any{"secretsmanager:Name": r.s("Name")})
		r.tagOnCreate("secretsmanager:TagResource", arn, tags, nil)
	},
	"secretsmanager:DescribeSecret": secretAction("secretsmanager:DescribeSecret"),
	"secretsmanager:GetSecretValue": secretAction("secretsmanager:GetSecretValue"),
	"secretsmanager:PutSecretValue": secretAction("secretsmanager:PutSecretValue"),
	"secretsmanager:DeleteSecret":   secretAction("secretsmanager:DeleteSecret"),
	"secretsmanager:TagResource": func(r *call) {
		secretAction("secretsmanager:TagResource")(r)
		if n := len(r.checks); n > 0 {
			r.checks[n-1].Context = merge(r.checks[n-1].Context, tagContext(r.tags("Tags", "Key", "Value")))
		}
	},

	// CloudWatch Logs
	"logs:DescribeLogGroups": anyResource("logs:DescribeLogGroups"),
	"logs:CreateLogGroup": func(r *call) {
		arn := r.arn("logs", "log-group:"+r.s("logGroupName"))
		tags := stringMap(r.at("tags"))
		r.create("logs:CreateLogGroup", arn, tagContext(tags))
		r.tagOnCreate("logs:TagResource", arn, tags, nil)
	},
	"logs:DeleteLogGroup":     func(r *call) { r.add("logs:DeleteLogGroup", r.arn("logs", "log-group:"+r.s("logGroupName"))) },
	"logs:PutRetentionPolicy": func(r *call) { r.add("logs:PutRetentionPolicy", r.arn("logs", "log-group:"+r.s("logGroupName"))) },
	"logs:GetLogEvents": func(r *call) {
		group := r.s("logGroupName")
		if group == "" {
			group = strings.TrimPrefix(lastARNPart(r.s("logGroupIdentifier"), "log-group:"), "")
		}
		r.add("logs:GetLogEvents", r.arn("logs", "log-group:"+group+":log-stream:"+r.s("logStreamName")))
	},
	"logs:ListTagsForResource": func(r *call) { r.add("logs:ListTagsForResource", strings.TrimSuffix(r.s("resourceArn"), ":*")) },
	"logs:TagResource": func(r *call) {
		r.add("logs:TagResource", strings.TrimSuffix(r.s("resourceArn"), ":*"), tagContext(stringMap(r.at("tags"))))
	},

	// CloudWatch
	"cloudwatch:DescribeAlarms": func(r *call) {
		names := r.list("AlarmNames")
		if len(names) == 0 {
			r.add("cloudwatch:DescribeAlarms", r.arn("cloudwatch", "alarm:*"))
		}
		for _, n := range names {
			r.add("cloudwatch:DescribeAlarms", r.arn("cloudwatch", "alarm:"+n))
		}
	},
	"cloudwatch:PutMetricAlarm": func(r *call) {
		arn := r.arn("cloudwatch", "alarm:"+r.s("AlarmName"))
		tags := r.tags("Tags", "Key", "Value")
		r.add("cloudwatch:PutMetricAlarm", arn, tagContext(tags))
		r.tagOnCreate("cloudwatch:TagResource", arn, tags, nil)
	},
	"cloudwatch:DeleteAlarms": func(r *call) {
		for _, n := range r.list("AlarmNames") {
			r.add("cloudwatch:DeleteAlarms", r.arn("cloudwatch", "alarm:"+n))
		}
	},
	"cloudwatch:ListTagsForResource": func(r *call) { r.add("cloudwatch:ListTagsForResource", r.s("ResourceARN")) },
	"cloudwatch:TagResource":         tagging("cloudwatch:TagResource", "ResourceARN", "Tags", "Key", "Value"),

	// Elastic Load Balancing v2. Its names live only once made: a
	// creation is judged on the ARN the new resource will have.
	"elbv2:DescribeLoadBalancers":          anyResource("elasticloadbalancing:DescribeLoadBalancers"),
	"elbv2:DescribeTargetGroups":           anyResource("elasticloadbalancing:DescribeTargetGroups"),
	"elbv2:DescribeTargetGroupAttributes":  anyResource("elasticloadbalancing:DescribeTargetGroupAttributes"),
	"elbv2:DescribeListeners":              anyResource("elasticloadbalancing:DescribeListeners"),
	"elbv2:DescribeRules":                  anyResource("elasticloadbalancing:DescribeRules"),
	"elbv2:DescribeTags":                   anyResource("elasticloadbalancing:DescribeTags"),
	"elbv2:DescribeTargetHealth":           anyResource("elasticloadbalancing:DescribeTargetHealth"),
	"elbv2:DescribeLoadBalancerAttributes": anyResource("elasticloadbalancing:DescribeLoadBalancerAttributes"),
	"elbv2:DescribeListenerCertificates":   anyResource("elasticloadbalancing:DescribeListenerCertificates"),
	"elbv2:CreateLoadBalancer": func(r *call) {
		arn := r.arn("elasticloadbalancing", "loadbalancer/app/"+r.s("Name")+"/0000000000000000")
		tags := r.tags("Tags", "Key", "Value")
		r.create("elasticloadbalancing:CreateLoadBalancer", arn, tagContext(tags))
		r.tagOnCreate("elasticloadbalancing:AddTags", arn, tags, map[string]any{"elasticloadbalancing:CreateAction": "CreateLoadBalancer"})
	},
	"elbv2:CreateTargetGroup": func(r *call) {
		arn := r.arn("elasticloadbalancing", "targetgroup/"+r.s("Name")+"/0000000000000000")
		tags := r.tags("Tags", "Key", "Value")
		r.create("elasticloadbalancing:CreateTargetGroup", arn, tagContext(tags))
		r.tagOnCreate("elasticloadbalancing:AddTags", arn, tags, map[string]any{"elasticloadbalancing:CreateAction": "CreateTargetGroup"})
	},
	"elbv2:CreateListener": func(r *call) {
		lb := r.s("LoadBalancerArn")
		tags := r.tags("Tags", "Key", "Value")
		r.add("elasticloadbalancing:CreateListener", lb, tagContext(tags))
		r.tagOnCreate("elasticloadbalancing:AddTags", strings.Replace(lb, ":loadbalancer/", ":listener/", 1)+"/0000000000000000", tags,
			map[string]any{"elasticloadbalancing:CreateAction": "CreateListener"})
	},
	"elbv2:CreateRule": func(r *call) {
		l := r.s("ListenerArn")
		tags := r.tags("Tags", "Key", "Value")
		r.add("elasticloadbalancing:CreateRule", l, tagContext(tags))
		r.tagOnCreate("elasticloadbalancing:AddTags", strings.Replace(l, ":listener/", ":listener-rule/", 1)+"/0000000000000000", tags,
			map[string]any{"elasticloadbalancing:CreateAction": "CreateRule"})
	},
	"elbv2:DeleteLoadBalancer":           arnAction("elasticloadbalancing:DeleteLoadBalancer", "LoadBalancerArn"),
	"elbv2:DeleteTargetGroup":            arnAction("elasticloadbalancing:DeleteTargetGroup", "TargetGroupArn"),
	"elbv2:DeleteRule":                   arnAction("elasticloadbalancing:DeleteRule", "RuleArn"),
	"elbv2:DeleteListener":               arnAction("elasticloadbalancing:DeleteListener", "ListenerArn"),
	"elbv2:ModifyRule":                   arnAction("elasticloadbalancing:ModifyRule", "RuleArn"),
	"elbv2:ModifyListener":               arnAction("elasticloadbalancing:ModifyListener", "ListenerArn"),
	"elbv2:ModifyTargetGroup":            arnAction("elasticloadbalancing:ModifyTargetGroup", "TargetGroupArn"),
	"elbv2:ModifyTargetGroupAttributes":  arnAction("elasticloadbalancing:ModifyTargetGroupAttributes", "TargetGroupArn"),
	"elbv2:ModifyLoadBalancerAttributes": arnAction("elasticloadbalancing:ModifyLoadBalancerAttributes", "LoadBalancerArn"),
	"elbv2:RegisterTargets":              arnAction("elasticloadbalancing:RegisterTargets", "TargetGroupArn"),
	"elbv2:DeregisterTargets":            arnAction("elasticloadbalancing:DeregisterTargets", "TargetGroupArn"),
	"elbv2:SetRulePriorities": func(r *call) {
		for _, p := range r.maps("RulePriorities") {
			arn, _ := p["RuleArn"].(string)
			r.add("elasticloadbalancing:SetRulePriorities", arn)
		}
	},
	"elbv2:AddTags": func(r *call) {
		for _, arn := range r.list("ResourceArns") {
			r.add("elasticloadbalancing:AddTags", arn, tagContext(r.tags("Tags", "Key", "Value")))
		}
	},

	// EC2: Describe calls take no resource.
	"ec2:DescribeAvailabilityZones":  anyResource("ec2:DescribeAvailabilityZones"),
	"ec2:DescribeInternetGateways":   anyResource("ec2:DescribeInternetGateways"),
	"ec2:DescribeNetworkInterfaces":  anyResource("ec2:DescribeNetworkInterfaces"),
	"ec2:DescribeRouteTables":        anyResource("ec2:DescribeRouteTables"),
	"ec2:DescribeSecurityGroups":     anyResource("ec2:DescribeSecurityGroups"),
	"ec2:DescribeSecurityGroupRules": anyResource("ec2:DescribeSecurityGroupRules"),
	"ec2:DescribeSubnets":            anyResource("ec2:DescribeSubnets"),
	"ec2:DescribeVpcAttribute":       anyResource("ec2:DescribeVpcAttribute"),
	"ec2:DescribeVpcs":               anyResource("ec2:DescribeVpcs"),
	"ec2:DescribeTags":               anyResource("ec2:DescribeTags"),
	"ec2:DescribeAddresses":          anyResource("ec2:DescribeAddresses"),
	"ec2:CreateVpc":                  func(r *call) { r.ec2Create("CreateVpc", "vpc", "vpc-0new00000000000", "") },
	"ec2:CreateSubnet":               func(r *call) { r.ec2Create("CreateSubnet", "subnet", "subnet-0new00000000000", r.s("VpcId")) },
	"ec2:CreateSecurityGroup": func(r *call) {
		r.ec2Create("CreateSecurityGroup", "security-group", "sg-0new00000000000", r.s("VpcId"))
	},
	"ec2:CreateRouteTable": func(r *call) {
		r.ec2Create("CreateRouteTable", "route-table", "rtb-0new00000000000", r.s("VpcId"))
	},
	"ec2:CreateInternetGateway": func(r *call) { r.ec2Create("CreateInternetGateway", "internet-gateway", "igw-0new00000000000", "") },
	"ec2:AttachInternetGateway": func(r *call) {
		r.add("ec2:AttachInternetGateway", r.ec2("internet-gateway", r.s("InternetGatewayId")))
		r.add("ec2:AttachInternetGateway", r.ec2("vpc", r.s("VpcId")))
	},
	"ec2:DetachInternetGateway": func(r *call) {
		r.add("ec2:DetachInternetGateway", r.ec2("internet-gateway", r.s("InternetGatewayId")))
		r.add("ec2:DetachInternetGateway", r.ec2("vpc", r.s("VpcId")))
	},
	"ec2:AssociateRouteTable": func(r *call) {
		r.add("ec2:AssociateRouteTable", r.ec2("route-table", r.s("RouteTableId")))
		if sn := r.s("SubnetId"); sn != "" {
			r.add("ec2:AssociateRouteTable", r.ec2("subnet", sn))
		}
	},
	"ec2:DisassociateRouteTable": func(r *call) {
		rt, sn, err := r.res.RouteTableOfAssociation(r.ctx, r.Region, r.s("AssociationId"))
		if err != nil {
			r.fail(err)
			return
		}
		r.add("ec2:DisassociateRouteTable", r.ec2("route-table", rt))
		if sn != "" {
			r.add("ec2:DisassociateRouteTable", r.ec2("subnet", sn))
		}
	},
	"ec2:CreateRoute":      func(r *call) { r.add("ec2:CreateRoute", r.ec2("route-table", r.s("RouteTableId"))) },
	"ec2:ReplaceRoute":     func(r *call) { r.add("ec2:ReplaceRoute", r.ec2("route-table", r.s("RouteTableId"))) },
	"ec2:DeleteRoute":      func(r *call) { r.add("ec2:DeleteRoute", r.ec2("route-table", r.s("RouteTableId"))) },
	"ec2:DeleteRouteTable": func(r *call) { r.add("ec2:DeleteRouteTable", r.ec2("route-table", r.s("RouteTableId"))) },
	"ec2:DeleteSubnet":     func(r *call) { r.add("ec2:DeleteSubnet", r.ec2("subnet", r.s("SubnetId"))) },
	"ec2:DeleteVpc":        func(r *call) { r.add("ec2:DeleteVpc", r.ec2("vpc", r.s("VpcId"))) },
	"ec2:DeleteInternetGateway": func(r *call) {
		r.add("ec2:DeleteInternetGateway", r.ec2("internet-gateway", r.s("InternetGatewayId")))
	},
	"ec2:DeleteSecurityGroup": func(r *call) { r.add("ec2:DeleteSecurityGroup", r.ec2("security-group", r.s("GroupId"))) },
	"ec2:AuthorizeSecurityGroupIngress": func(r *call) {
		r.add("ec2:AuthorizeSecurityGroupIngress", r.ec2("security-group", r.s("GroupId")))
	},
	"ec2:RevokeSecurityGroupIngress": func(r *call) {
		r.add("ec2:RevokeSecurityGroupIngress", r.ec2("security-group", r.s("GroupId")))
	},
	"ec2:ModifySubnetAttribute": func(r *call) { r.add("ec2:ModifySubnetAttribute", r.ec2("subnet", r.s("SubnetId"))) },
	"ec2:ModifyVpcAttribute":    func(r *call) { r.add("ec2:ModifyVpcAttribute", r.ec2("vpc", r.s("VpcId"))) },
	"ec2:CreateTags": func(r *call) {
		tags := r.tags("Tags", "Key", "Value")
		for _, id := range r.list("Resources") {
			r.add("ec2:CreateTags", r.ec2(ec2Kind(id), id), tagContext(tags))
		}
	},

	// DynamoDB (the deploy hook's job table)
	"dynamodb:GetItem":       tableAction("dynamodb:GetItem"),
	"dynamodb:PutItem":       tableAction("dynamodb:PutItem"),
	"dynamodb:UpdateItem":    tableAction("dynamodb:UpdateItem"),
	"dynamodb:DeleteItem":    tableAction("dynamodb:DeleteItem"),
	"dynamodb:Scan":          tableAction("dynamodb:Scan"),
	"dynamodb:Query":         tableAction("dynamodb:Query"),
	"dynamodb:DescribeTable": tableAction("dynamodb:DescribeTable"),

	// ACM
	"acm:DescribeCertificate": func(r *call) { r.add("acm:DescribeCertificate", r.s("CertificateArn")) },
}

// anyResource judges an action that takes no resource.
func anyResource(action string) func(r *call) {
	return func(r *call) { r.add(action, "*") }
}

// tagging judges a tagging call: the resource its member names, with the
// tags it gives.
func tagging(action, arnMember, tagsMember, key, value string) func(r *call) {
	return func(r *call) { r.add(action, r.s(arnMember), tagContext(r.tags(tagsMember, key, value))) }
}

// tagOnCreate is the implied authorization of tags given at creation.
func (r *call) tagOnCreate(action, arn string, tags map[string]string, ctx map[string]any) {
	if len(tags) > 0 {
		r.create(action, arn, tagContext(tags), ctx)
	}
}

// passRole is the implied iam:PassRole of a role a request hands to a service.
func (r *call) passRole(role, service string) {
	if role == "" {
		return
	}
	if !strings.HasPrefix(role, "arn:") {
		role = r.iamARN("role/" + role)
	}
	r.add("iam:PassRole", role, map[string]any{"iam:PassedToService": service})
}

// passInfrastructureRoles: a service whose load balancers carry an
// infrastructure role (blue/green, canary, linear) passes it to ECS.
func (r *call) passInfrastructureRoles() {
	for _, lb := range r.maps("loadBalancers") {
		if adv, ok := lb["advancedConfiguration"].(map[string]any); ok {
			role, _ := adv["roleArn"].(string)
			r.passRole(role, "ecs.amazonaws.com")
		}
	}
}

func (r *call) clusterName() string { return lastPart(cmp.Or(r.s("cluster"), "default")) }

func (r *call) clusterKey() map[string]any {
	return map[string]any{"ecs:cluster": r.arn("ecs", "cluster/"+r.clusterName())}
}

// serviceARN is the ARN of a service named by name or ARN, in the
// request's cluster.
func (r *call) serviceARN(s string) string {
	if strings.HasPrefix(s, "arn:") {
		return s
	}
	return r.arn("ecs", "service/"+r.clusterName()+"/"+s)
}

func (r *call) taskARN(t string) string {
	if strings.HasPrefix(t, "arn:") {
		return t
	}
	return r.arn("ecs", "task/"+r.clusterName()+"/"+t)
}

// serviceChild judges an action on a service deployment or revision: AWS
// authorizes both it and its service.
func (r *call) serviceChild(action, arn string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		r.fail(fmt.Errorf("%q is not an ARN", arn))
		return
	}
	kind, path, _ := strings.Cut(parts[5], "/")
	segs := strings.Split(path, "/")
	if len(segs) < 3 {
		r.fail(fmt.Errorf("%q is not a %s ARN", arn, kind))
		return
	}
	service := strings.Join(parts[:5], ":") + ":service/" + segs[0] + "/" + segs[1]
	cluster := strings.Join(parts[:5], ":") + ":cluster/" + segs[0]
	r.add(action, service, map[string]any{"ecs:cluster": cluster})
	r.add(action, arn, map[string]any{"ecs:cluster": cluster, "ecs:service": service})
}

func (r *call) repository(name string) string { return r.arn("ecr", "repository/"+name) }

func repositoryAction(action string) func(r *call) {
	return func(r *call) { r.add(action, r.repository(r.s("repositoryName"))) }
}

func (r *call) roleARN(name string) string { return r.iamARN("role/" + name) }

// roleAction judges an action on the role a request names; bounded: the
// boundary the role has is a condition key of the action.
func roleAction(action string, bounded bool) func(r *call) {
	return func(r *call) {
		ctx := map[string]any{}
		if bounded {
			b, err := r.res.RoleBoundary(r.ctx, r.s("RoleName"))
			if err != nil {
				r.fail(err)
				return
			}
			if b != "" {
				ctx["iam:PermissionsBoundary"] = b
			}
		}
		r.add(action, r.roleARN(r.s("RoleName")), ctx)
	}
}

func policyAction(action string) func(r *call) {
	return func(r *call) { r.add(action, r.s("PolicyArn")) }
}

func secretAction(action string) func(r *call) {
	return func(r *call) {
		arn, err := r.res.SecretARN(r.ctx, r.Region, r.s("SecretId"))
		if err != nil {
			r.fail(err)
			return
		}
		r.add(action, arn, map[string]any{"secretsmanager:SecretId": arn})
	}
}

func arnAction(action, member string) func(r *call) {
	return func(r *call) { r.add(action, r.s(member)) }
}

func tableAction(action string) func(r *call) {
	return func(r *call) {
		// A read of an index is authorized on the index's ARN.
		if index := r.s("IndexName"); index != "" {
			r.add(action, r.arn("dynamodb", "table/"+r.s("TableName")+"/index/"+index))
			return
		}
		r.add(action, r.arn("dynamodb", "table/"+r.s("TableName")))
	}
}

func (r *call) ec2(kind, id string) string { return r.arn("ec2", kind+"/"+id) }

// ec2Create judges an EC2 creation: the new resource with the tags the
// request gives it (and ec2:CreateTags for them, with ec2:CreateAction),
// and the VPC it is made in.
func (r *call) ec2Create(op, kind, placeholder, vpc string) {
	tags := map[string]string{}
	for _, spec := range r.maps("TagSpecifications") {
		if t, _ := spec["ResourceType"].(string); t != kind {
			continue
		}
		items, _ := spec["Tags"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			k, _ := m["Key"].(string)
			v, _ := m["Value"].(string)
			tags[k] = v
		}
	}
	arn := r.ec2(kind, placeholder)
	r.create("ec2:"+op, arn, tagContext(tags))
	if vpc != "" {
		r.add("ec2:"+op, r.ec2("vpc", vpc))
	}
	r.tagOnCreate("ec2:CreateTags", arn, tags, map[string]any{"ec2:CreateAction": op})
}

// ec2Kind is the resource type of an EC2 id by its prefix.
func ec2Kind(id string) string {
	prefix, _, _ := strings.Cut(id, "-")
	return map[string]string{"vpc": "vpc", "subnet": "subnet", "sg": "security-group", "rtb": "route-table", "igw": "internet-gateway",
		"eni": "network-interface", "eipalloc": "elastic-ip"}[prefix]
}

// stringMap reads a JSON map of strings (CloudWatch Logs' tags).
func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// lastARNPart is what follows marker in an ARN (a log group's name).
func lastARNPart(arn, marker string) string {
	_, after, ok := strings.Cut(arn, marker)
	if !ok {
		return arn
	}
	return strings.TrimSuffix(after, ":*")
}
