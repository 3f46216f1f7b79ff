package action

import (
	"context"
	"fmt"
	"sync"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/sethvargo/go-githubactions"
)

// stsAudience is the audience AWS expects in a GitHub OIDC token.
const stsAudience = "sts.amazonaws.com"

// loadAWS builds the one aws.Config of a run from the action's environment:
// static keys when the environment has them, else the role through the
// workflow's OIDC token, else the SDK's default chain. It fails early, with
// what to do, when no credentials can be had.
func loadAWS(ctx context.Context, a *githubactions.Action, in Inputs) (aws.Config, error) {
	getenv := a.Getenv
	if in.RoleToAssume != "" {
		// The role's credentials replace any keys in the environment.
		getenv = func(k string) string {
			if k == "AWS_ACCESS_KEY_ID" {
				return ""
			}
			return a.Getenv(k)
		}
	} else if a.Getenv("AWS_ACCESS_KEY_ID") != "" {
		a.AddMask(a.Getenv("AWS_SECRET_ACCESS_KEY"))
		if tok := a.Getenv("AWS_SESSION_TOKEN"); tok != "" {
			a.AddMask(tok)
		}
	}
	cfg, err := awsenv.Load(ctx, in.Region, getenv)
	if err != nil {
		return cfg, err
	}
	if in.RoleToAssume != "" {
		token := &oidcToken{a: a}
		provider := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg, func(o *sts.Options) {
			if u := awsenv.Endpoint(getenv, "STS"); u != nil {
				o.BaseEndpoint = u
			}
		}), in.RoleToAssume, token,
			func(o *stscreds.WebIdentityRoleOptions) {
				o.RoleSessionName = sessionName(getenv)
			})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	cfg.Credentials = &maskedCredentials{next: cfg.Credentials, a: a, masked: map[string]bool{}}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		switch {
		case in.terminal && in.RoleToAssume != "":
			return cfg, fmt.Errorf("flag -role-to-assume %s: assuming a role takes a GitHub Actions OIDC token, which only a workflow has: %w (in a terminal, use a profile that assumes it: role_arn and source_profile in ~/.aws/config, then AWS_PROFILE=NAME)", in.RoleToAssume, err)
		case in.terminal:
			return cfg, fmt.Errorf("no AWS credentials: %w (set AWS_PROFILE to one of your profiles, and run aws sso login --profile NAME first if it signs in with SSO; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", err)
		}
		if in.RoleToAssume != "" {
			return cfg, fmt.Errorf("assume role %s with the workflow's OIDC token: %w (give the job `permissions: id-token: write`, and check that the role trusts token.actions.githubusercontent.com for this repository and branch: its sub condition must match repo:OWNER/REPO:ref:refs/heads/BRANCH)", in.RoleToAssume, err)
		}
		return cfg, fmt.Errorf("no AWS credentials: %w (set role-to-assume to a role the workflow may assume with OIDC, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", err)
	}
	return cfg, nil
}

// maskedCredentials masks every credential its provider hands out, the
// refreshed ones of a long run too, each once, before the SDK uses it.
type maskedCredentials struct {
	next   aws.CredentialsProvider
	a      *githubactions.Action
	mu     sync.Mutex
	masked map[string]bool
}

func (m *maskedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.next.Retrieve(ctx)
	if err != nil {
		return c, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range []string{c.SecretAccessKey, c.SessionToken} {
		if v != "" && !m.masked[v] {
			m.a.AddMask(v)
			m.masked[v] = true
		}
	}
	return c, nil
}

// oidcToken fetches the workflow's OIDC token for AWS, masked at once.
type oidcToken struct{ a *githubactions.Action }

func (t *oidcToken) GetIdentityToken() ([]byte, error) {
	tok, err := t.a.GetIDToken(context.Background(), stsAudience)
	if err != nil {
		return nil, fmt.Errorf("get the workflow's OIDC token: %w", err)
	}
	t.a.AddMask(tok)
	return []byte(tok), nil
}

func sessionName(getenv func(string) string) string {
	name := "deploy-action"
	if id := getenv("GITHUB_RUN_ID"); id != "" {
		name += "-" + id
	}
	return name
}
