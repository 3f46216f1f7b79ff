package bootstrap

// infrastructurePolicy is AWS's managed policy that lets ECS move traffic
// between a service's target groups, on every load balancer of the
// account. An earlier version attached it; the infrastructure role now has
// a policy of its own, scoped to the stack's load balancer
// (Scope.InfrastructurePolicy), and apply takes AWS's off.
const infrastructurePolicy = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"

// infrastructureInline names the infrastructure role's policy.
const infrastructureInline = "shift-traffic"

// infrastructureRole is the role ECS shifts a blue/green, canary or
// linear service's traffic with (the service's
// loadBalancers[].advancedConfiguration.roleArn): trusted by ECS alone for
// this account's services, allowed to move the stack's listener rules and
// register tasks in its two target groups, and nothing else.
func (s *Stack) infrastructureRole() *role {
	return &role{s: s, kind: "infrastructure role", key: "infrastructure-role", name: s.cfg.InfrastructureRoleName(), stg: 2, bounded: true,
		inlineName: infrastructureInline,
		trust:      func() string { return s.scope().InfrastructureTrust() },
		managed:    func() []string { return nil },
		inline:     func() string { return s.scope().InfrastructurePolicy() },
		adopted:    func() string { return "" },
		record:     func(o *Outputs, arn string) { o.InfrastructureRoleARN = arn },
	}
}
