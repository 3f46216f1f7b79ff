package bootstrap

// infrastructurePolicy is AWS's managed policy that lets ECS move traffic
// between a service's target groups: read the load balancer, register
// and deregister targets, modify its listeners and rules.
const infrastructurePolicy = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"

// infrastructureActions are what infrastructurePolicy allows: the boundary
// of a stack that shifts traffic allows them too.
var infrastructureActions = []string{
	"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
	"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:ModifyListener",
	"elasticloadbalancing:ModifyRule", "elasticloadbalancing:RegisterTargets",
}

// infrastructureRole is the role ECS shifts a blue/green, canary or
// linear service's traffic with (the service's
// loadBalancers[].advancedConfiguration.roleArn): trusted by ECS itself,
// with AWS's managed policy for load balancers and nothing else.
func (s *Stack) infrastructureRole() *role {
	return &role{s: s, kind: "infrastructure role", key: "infrastructure-role", name: s.cfg.InfrastructureRoleName(), stg: 2, bounded: true,
		// No inline policy: its policy is AWS's.
		trust: func() string {
			return policyDoc(map[string]any{"Sid": "AllowAccessToECSForInfrastructureManagement", "Effect": "Allow",
				"Principal": map[string]any{"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"})
		},
		managed: func() []string { return []string{infrastructurePolicy} },
		inline:  func() string { return "" },
		adopted: func() string { return "" },
		record:  func(o *Outputs, arn string) { o.InfrastructureRoleARN = arn },
	}
}
