package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/testbed/awsjudge"
)

// Account is the account moto serves.
const Account = awsjudge.Account

// As is a view of the bed whose clients and environment sign with a
// role's credentials, as the product would hold them on AWS: every request
// they send is judged against the role's policies as they are in moto.
// The bed's admin assumes the role for it (moto does not judge the trust;
// the role's is the bootstrap's).
func (b *Bed) As(ctx context.Context, roleARN string) (*Bed, error) {
	out, err := sts.NewFromConfig(b.Config()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("testbed")})
	if err != nil {
		return nil, fmt.Errorf("assume role %s: %w", roleARN, err)
	}
	c := out.Credentials
	view := *b
	view.accessKey, view.secretKey, view.sessionToken, view.role = aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken), roleARN
	return &view, nil
}

// Role is the role whose credentials the bed signs with, "" for its admin.
func (b *Bed) Role() string { return b.role }

// Scope is what a deploy role for a seeded service is scoped to, with the
// bootstrap's default names for what the seed does not make (the
// repository autonote/server, the log group /ecs/<service>, the secrets
// <service>/env and <service>/api-key, as bootstrap.Named names them).
func (s Service) Scope() bootstrap.Scope {
	return bootstrap.Scope{Region: Region, Account: Account, Stack: s.Service, Cluster: s.Cluster, Service: s.Service, Family: s.Family, ExecutionRole: s.ExecutionRole,
		Repository: "autonote/server", LogGroup: "/ecs/" + s.Service, AppSecret: s.Service + "/env", APIKeySecret: s.Service + "/api-key",
		LoadBalancer: s.Service + "-alb", TargetGroups: []string{s.Service + "-tg", s.Service + "-tg2"}, Shifts: s.BlueGreen}
}

// DeployRole makes the deploy role of a stack as the bootstrap writes it
// (its policy and its permissions boundary, Scope's), and returns the bed
// as that role: what the action, the terminal and the hook run as.
func (b *Bed) DeployRole(ctx context.Context, sc bootstrap.Scope) (*Bed, error) {
	boundary, err := b.policy(ctx, sc.Stack+"-boundary", sc.BoundaryPolicy())
	if err != nil {
		return nil, err
	}
	role, err := b.makeRole(ctx, sc.Stack+"-deploy", githubTrust, boundary, "deploy", sc.DeployPolicy())
	if err != nil {
		return nil, err
	}
	return b.As(ctx, role)
}

// InfrastructureRole makes the infrastructure role of a stack that
// shifts traffic as the bootstrap writes it (its policy, trust and
// boundary, Scope's) and returns its ARN: what ECS moves the service's
// traffic as, judged by IAM in the simulator's calls.
func (b *Bed) InfrastructureRole(ctx context.Context, sc bootstrap.Scope) (string, error) {
	boundary, err := b.policy(ctx, sc.Stack+"-boundary", sc.BoundaryPolicy())
	if err != nil {
		return "", err
	}
	return b.makeRole(ctx, sc.Stack+"-infra", sc.InfrastructureTrust(), boundary, "shift-traffic", sc.InfrastructurePolicy())
}

// ExecutionRole makes a task execution role trusted by ECS's tasks with
// one inline policy, and returns its ARN.
func (b *Bed) ExecutionRole(ctx context.Context, name, policy string) (string, error) {
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	c := iam.NewFromConfig(b.Config())
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("read-app-secrets"), PolicyDocument: aws.String(policy)}); err != nil {
		return "", fmt.Errorf("put policy read-app-secrets on %s: %w", name, err)
	}
	return aws.ToString(out.Role.Arn), nil
}

// githubTrust is a deploy role's trust, as the bootstrap writes it.
const githubTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},` +
	`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:autonote/autonote:ref:refs/heads/main"}}}]}`

// policy makes a managed policy, or finds it made, and returns its ARN.
func (b *Bed) policy(ctx context.Context, name, doc string) (string, error) {
	c := iam.NewFromConfig(b.Config())
	out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		if !strings.Contains(err.Error(), "EntityAlreadyExists") {
			return "", fmt.Errorf("create policy %s: %w", name, err)
		}
		return fmt.Sprintf("arn:aws:iam::%s:policy/%s", Account, name), nil
	}
	return aws.ToString(out.Policy.Arn), nil
}

// makeRole makes a role with a trust, a boundary and one inline policy, and
// returns its ARN.
func (b *Bed) makeRole(ctx context.Context, name, trust, boundary, policyName, doc string) (string, error) {
	c := iam.NewFromConfig(b.Config())
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
		PermissionsBoundary: aws.String(boundary), Tags: []iamtypes.Tag{{Key: aws.String(bootstrap.TagManagedBy), Value: aws.String(bootstrap.ManagedByValue)}}})
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(doc)}); err != nil {
		return "", fmt.Errorf("put policy %s on %s: %w", policyName, name, err)
	}
	return aws.ToString(out.Role.Arn), nil
}

// HookRole makes the deploy hook's role: for each target, what its deploy
// role may do (the bootstrap's deploy policy of that scope), and, with a
// shared table, the jobs policy docs/deploy-hook.md gives (jobsPolicy, ""
// for none). It returns the bed as that role: what the hook runs as.
func (b *Bed) HookRole(ctx context.Context, name, jobsPolicy string, scopes ...bootstrap.Scope) (*Bed, error) {
	c := iam.NewFromConfig(b.Config())
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return nil, fmt.Errorf("create role %s: %w", name, err)
	}
	policies := map[string]string{}
	for i, sc := range scopes {
		policies[fmt.Sprintf("deploy-%d", i)] = sc.DeployPolicy()
	}
	if jobsPolicy != "" {
		policies["jobs"] = jobsPolicy
	}
	for p, doc := range policies {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p), PolicyDocument: aws.String(doc)}); err != nil {
			return nil, fmt.Errorf("put policy %s on %s: %w", p, name, err)
		}
	}
	return b.As(ctx, aws.ToString(out.Role.Arn))
}

// JobsPolicy is the deploy hook's policy for its shared table, as
// docs/deploy-hook.md gives it (the block after <!-- jobs-policy -->), for
// table: the hook's tests run as what the docs tell a user to grant.
func JobsPolicy(table string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	doc, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docs", "deploy-hook.md"))
	if err != nil {
		return "", fmt.Errorf("read the hook's jobs policy: %w", err)
	}
	_, after, ok := strings.Cut(string(doc), "<!-- jobs-policy -->\n```json\n")
	policy, _, ok2 := strings.Cut(after, "\n```")
	if !ok || !ok2 {
		return "", fmt.Errorf("docs/deploy-hook.md has no jobs policy after <!-- jobs-policy -->")
	}
	return strings.NewReplacer("REGION", Region, "ACCOUNT", Account, "TABLE", table).Replace(policy), nil
}
