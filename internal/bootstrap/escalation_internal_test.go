package bootstrap

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

var evaluator iamsim.Lazy

// executionManaged is AWS's AmazonECSTaskExecutionRolePolicy, which the
// execution role carries beside the bootstrap's read-app-secrets.
const executionManaged = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability",` +
	`"ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`

// everything is what the bootstrap role could write on a role it writes:
// the boundary must hold it.
const everything = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// TestNoRoleReachesBeyondItsStack judges, with the maintained evaluator and
// the documents the bootstrap renders, what each role it makes may do: what
// the stack needs is allowed, and every escalation (writing IAM, lifting the
// boundary, retrusting a role, passing another role, acting on another
// stack's or another team's resources) is denied.
func TestNoRoleReachesBeyondItsStack(t *testing.T) {
	t.Parallel()
	e, err := evaluator.Get()
	if err != nil {
		t.Fatal(err)
	}
	const acct = "123456789012"
	arn := func(service, res string) string { return "arn:aws:" + service + ":us-east-1:" + acct + ":" + res }
	iamARN := func(res string) string { return "arn:aws:iam::" + acct + ":" + res }
	cfg := Named("s")
	cfg.Region, cfg.Endpoint, cfg.DeploymentStrategy = "us-east-1", EndpointLoadBalancer, StrategyBlueGreen
	cfg.GitHub = &GitHub{Repository: "autonote/autonote", Branch: "main", Role: "s-deploy", BootstrapRole: "s-bootstrap", BootstrapEnvironment: "bootstrap"}
	s, err := New(Clients{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.acct = acct
	s.set(func(o *Outputs) {
		o.ExecutionRoleARN, o.OIDCProviderARN = iamARN("role/s-exec"), iamARN("oidc-provider/token.actions.githubusercontent.com")
		o.AppSecretARN, o.APIKeySecretARN = arn("secretsmanager", "secret:s/env-AbCdEf"), arn("secretsmanager", "secret:s/api-key-AbCdEf")
	})
	doc := func(d string) json.RawMessage { return json.RawMessage(d) }
	boundary := []iamsim.Policy{{Name: "s-boundary", Document: doc(s.boundaryPolicy())}}
	roles := map[string]struct {
		identity []iamsim.Policy
		boundary []iamsim.Policy
	}{
		"deploy":           {[]iamsim.Policy{{Name: "deploy", Document: doc(s.deployPolicy())}}, boundary},
		"deploy rewritten": {[]iamsim.Policy{{Name: "everything", Document: doc(everything)}}, boundary},
		"bootstrap":        {[]iamsim.Policy{{Name: "bootstrap", Document: doc(s.bootstrapPolicy())}}, nil},
		"execution":        {[]iamsim.Policy{{Name: "managed", Document: doc(executionManaged)}, {Name: "read-app-secrets", Document: doc(readSecrets(s.secretARNs(false)))}}, boundary},
		"infrastructure":   {[]iamsim.Policy{{Name: "shift-traffic", Document: doc(s.scope().InfrastructurePolicy())}}, boundary},
	}
	ours := map[string]any{"aws:ResourceTag/managed-by": ManagedByValue, "aws:ResourceTag/deploy-action:stack": "s"}
	others := map[string]any{"aws:ResourceTag/managed-by": ManagedByValue, "aws:ResourceTag/deploy-action:stack": "staging"}
	for _, tc := range []struct {
		role, name       string
		action, resource string
		context          map[string]any
		trust            string // a trust policy the request is judged against as the role's resource policy
		principal        string // another principal than the role (a service)
		allowed          bool
	}{
		// What the stack needs: allowed (the table can fail).
		{role: "deploy", name: "update its service", action: "ecs:UpdateService", resource: arn("ecs", "service/s-cluster/s-service"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/s-cluster")}, allowed: true},
		{role: "deploy", name: "answer its gate", action: "ecs:ContinueServiceDeployment", resource: arn("ecs", "service-deployment/s-cluster/s-service/abc"), allowed: true},
		{role: "deploy", name: "push to its repository", action: "ecr:PutImage", resource: arn("ecr", "repository/s/server"), allowed: true},
		{role: "deploy", name: "read the API key", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:s/api-key-AbCdEf"), allowed: true},
		{role: "bootstrap", name: "make a role with the boundary", action: "iam:CreateRole", resource: iamARN("role/s-deploy"), context: map[string]any{"iam:PermissionsBoundary": iamARN("policy/s-boundary")}, allowed: true},
		{role: "bootstrap", name: "change its own security group", action: "ec2:AuthorizeSecurityGroupIngress", resource: arn("ec2", "security-group/sg-1"), context: ours, allowed: true},
		{role: "infrastructure", name: "move its rule", action: "elasticloadbalancing:ModifyRule", resource: arn("elasticloadbalancing", "listener-rule/app/s-alb/1/2/3"), allowed: true},
		{role: "execution", name: "read its secret", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:s/env-AbCdEf"), allowed: true},
		{role: "infrastructure", name: "assumed by ECS for this account", action: "sts:AssumeRole", resource: iamARN("role/s-infra"), principal: "ecs.amazonaws.com",
			trust: s.scope().InfrastructureTrust(), context: map[string]any{"aws:SourceAccount": acct, "aws:SourceArn": arn("ecs", "service/s-cluster/s-service")}, allowed: true},

		// The deploy role, as the bootstrap writes it.
		{role: "deploy", name: "write its own policy", action: "iam:PutRolePolicy", resource: iamARN("role/s-deploy")},
		{role: "deploy", name: "attach AdministratorAccess", action: "iam:AttachRolePolicy", resource: iamARN("role/s-deploy"), context: map[string]any{"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}},
		{role: "deploy", name: "make a role", action: "iam:CreateRole", resource: iamARN("role/x")},
		{role: "deploy", name: "update another stack's service", action: "ecs:UpdateService", resource: arn("ecs", "service/staging-cluster/staging-service"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/staging-cluster")}},
		{role: "deploy", name: "read the app's secret", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:s/env-AbCdEf")},
		{role: "deploy", name: "read a secret named like the API key", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:s/api-key-admin-AbCdEf")},
		{role: "deploy", name: "push to another repository", action: "ecr:PutImage", resource: arn("ecr", "repository/payments/server")},
		{role: "deploy", name: "pass another role", action: "iam:PassRole", resource: iamARN("role/admin"), context: map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
		{role: "deploy", name: "pass its task role to EC2", action: "iam:PassRole", resource: iamARN("role/s-exec"), context: map[string]any{"iam:PassedToService": "ec2.amazonaws.com"}},
		{role: "deploy", name: "run another family", action: "ecs:RunTask", resource: arn("ecs", "task-definition/payments:1"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/s-cluster")}},
		{role: "deploy", name: "run its family in another cluster", action: "ecs:RunTask", resource: arn("ecs", "task-definition/s-task:1"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/payments")}},
		{role: "deploy", name: "register another family", action: "ecs:RegisterTaskDefinition", resource: arn("ecs", "task-definition/payments:9")},
		{role: "deploy", name: "tag its service", action: "ecs:TagResource", resource: arn("ecs", "service/s-cluster/s-service")},
		{role: "deploy", name: "read another log group", action: "logs:GetLogEvents", resource: arn("logs", "log-group:/ecs/payments:log-stream:x")},
		{role: "deploy", name: "stop a task in another cluster", action: "ecs:StopTask", resource: arn("ecs", "task/payments/1"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/payments")}},

		// The deploy role rewritten to "*" by the bootstrap role: the
		// boundary holds it to the stack.
		{role: "deploy rewritten", name: "make a user", action: "iam:CreateUser", resource: iamARN("user/x")},
		{role: "deploy rewritten", name: "update another stack's service", action: "ecs:UpdateService", resource: arn("ecs", "service/staging-cluster/staging-service"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/staging-cluster")}},
		{role: "deploy rewritten", name: "read another stack's secret", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:staging/env-AbCdEf")},
		{role: "deploy rewritten", name: "push to another repository", action: "ecr:PutImage", resource: arn("ecr", "repository/payments/server")},
		{role: "deploy rewritten", name: "pass the admin's role to tasks", action: "iam:PassRole", resource: iamARN("role/admin"), context: map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
		{role: "deploy rewritten", name: "move another team's rule", action: "elasticloadbalancing:ModifyRule", resource: arn("elasticloadbalancing", "listener-rule/app/payments-alb/1/2/3")},
		{role: "deploy rewritten", name: "run tasks in any cluster", action: "ecs:RunTask", resource: arn("ecs", "task-definition/payments:1"), context: map[string]any{"ecs:cluster": arn("ecs", "cluster/payments")}},

		// The bootstrap role.
		{role: "bootstrap", name: "make a role without the boundary", action: "iam:CreateRole", resource: iamARN("role/s-deploy")},
		{role: "bootstrap", name: "make a role with another boundary", action: "iam:CreateRole", resource: iamARN("role/s-deploy"), context: map[string]any{"iam:PermissionsBoundary": iamARN("policy/open")}},
		{role: "bootstrap", name: "attach AdministratorAccess to the deploy role", action: "iam:AttachRolePolicy", resource: iamARN("role/s-deploy"),
			context: map[string]any{"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess", "iam:PermissionsBoundary": iamARN("policy/s-boundary")}},
		{role: "bootstrap", name: "rewrite the boundary", action: "iam:CreatePolicyVersion", resource: iamARN("policy/s-boundary")},
		{role: "bootstrap", name: "delete the boundary", action: "iam:DeletePolicy", resource: iamARN("policy/s-boundary")},
		{role: "bootstrap", name: "lift a role's boundary", action: "iam:DeleteRolePermissionsBoundary", resource: iamARN("role/s-deploy")},
		{role: "bootstrap", name: "retrust the deploy role", action: "iam:UpdateAssumeRolePolicy", resource: iamARN("role/s-deploy"), context: map[string]any{"iam:PermissionsBoundary": iamARN("policy/s-boundary")}},
		{role: "bootstrap", name: "write its own policy", action: "iam:PutRolePolicy", resource: iamARN("role/s-bootstrap")},
		{role: "bootstrap", name: "write another stack's deploy role", action: "iam:PutRolePolicy", resource: iamARN("role/staging-deploy"), context: map[string]any{"iam:PermissionsBoundary": iamARN("policy/staging-boundary")}},
		{role: "bootstrap", name: "pass the admin's role", action: "iam:PassRole", resource: iamARN("role/admin"), context: map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
		{role: "bootstrap", name: "assume the deploy role", action: "sts:AssumeRole", resource: iamARN("role/s-deploy"), trust: s.deployRole().trust()},
		{role: "bootstrap", name: "delete another stack's security group", action: "ec2:DeleteSecurityGroup", resource: arn("ec2", "security-group/sg-2"), context: others},
		{role: "bootstrap", name: "open another stack's security group", action: "ec2:AuthorizeSecurityGroupIngress", resource: arn("ec2", "security-group/sg-2"), context: others},
		{role: "bootstrap", name: "open a security group made by hand", action: "ec2:AuthorizeSecurityGroupIngress", resource: arn("ec2", "security-group/sg-3")},
		{role: "bootstrap", name: "tag a VPC made by hand", action: "ec2:CreateTags", resource: arn("ec2", "vpc/vpc-3"), context: map[string]any{"aws:RequestTag/managed-by": ManagedByValue, "aws:TagKeys": []string{"managed-by"}}},
		{role: "bootstrap", name: "tag its service after the fact", action: "ecs:TagResource", resource: arn("ecs", "service/s-cluster/s-service")},
		{role: "bootstrap", name: "tag another service", action: "ecs:TagResource", resource: arn("ecs", "service/payments/payments"), context: map[string]any{"ecs:CreateAction": "CreateService"}},
		{role: "bootstrap", name: "add a rule to another team's listener", action: "elasticloadbalancing:CreateRule", resource: arn("elasticloadbalancing", "listener/app/payments-alb/1/2")},
		{role: "bootstrap", name: "read another stack's secret", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:staging/env-AbCdEf")},
		{role: "bootstrap", name: "read a secret named like its own", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:s/env-admin-AbCdEf")},
		{role: "bootstrap", name: "write an alarm named like its own", action: "cloudwatch:PutMetricAlarm", resource: arn("cloudwatch", "alarm:s-payments-5xx")},
		{role: "bootstrap", name: "update another service", action: "ecs:UpdateService", resource: arn("ecs", "service/payments/payments")},

		// The infrastructure role.
		{role: "infrastructure", name: "move another team's rule", action: "elasticloadbalancing:ModifyRule", resource: arn("elasticloadbalancing", "listener-rule/app/payments-alb/1/2/3")},
		{role: "infrastructure", name: "register into another target group", action: "elasticloadbalancing:RegisterTargets", resource: arn("elasticloadbalancing", "targetgroup/payments-tg/1")},
		{role: "infrastructure", name: "assumed by ECS for another account", action: "sts:AssumeRole", resource: iamARN("role/s-infra"), principal: "ecs.amazonaws.com",
			trust: s.scope().InfrastructureTrust(), context: map[string]any{"aws:SourceAccount": "999999999999", "aws:SourceArn": "arn:aws:ecs:us-east-1:999999999999:service/x/y"}},

		// The execution role the bootstrap makes: AWS's policy names "*",
		// the boundary the stack.
		{role: "execution", name: "read another stack's secret", action: "secretsmanager:GetSecretValue", resource: arn("secretsmanager", "secret:staging/env-AbCdEf")},
		{role: "execution", name: "pull from another repository", action: "ecr:BatchGetImage", resource: arn("ecr", "repository/payments/server")},
	} {
		t.Run(tc.role+": "+tc.name, func(t *testing.T) {
			t.Parallel()
			r := roles[tc.role]
			sim := iamsim.Simulation{Principal: "arn:aws:sts::" + acct + ":assumed-role/s-" + strings.Fields(tc.role)[0] + "/run", Action: tc.action, Resource: tc.resource,
				Account: acct, Context: tc.context, Identity: r.identity, Boundary: r.boundary}
			if tc.trust != "" {
				sim.ResourcePolicy = json.RawMessage(tc.trust)
			}
			if tc.principal != "" {
				sim.Principal, sim.Identity, sim.Boundary = tc.principal, nil, nil
			}
			d, err := e.Evaluate(context.Background(), sim)
			if err != nil {
				t.Fatal(err)
			}
			if d.Result == "Error" {
				t.Fatalf("the evaluator takes no such request: %s", d.Error)
			}
			if d.Allowed() != tc.allowed {
				t.Errorf("%s on %s: %s (allowed by %v, blocked by %v), want allowed %v", tc.action, tc.resource, d.Result, d.Allow, d.BlockedBy, tc.allowed)
			}
		})
	}
}
