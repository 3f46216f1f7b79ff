package bootstrap

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// oidcProvider is GitHub's OIDC identity provider, which lets a workflow
// trade its token for a role's credentials.
type oidcProvider struct {
	s   *Stack
	arn string
}

func (p *oidcProvider) describe() (string, string) {
	return "GitHub OIDC provider", p.s.cfg.GitHub.TokenHost()
}
func (p *oidcProvider) stage() int { return 1 }

func (p *oidcProvider) find(ctx context.Context) (found, error) {
	s := p.s
	out, err := s.c.IAM.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return found{}, fmt.Errorf("list OIDC providers: %w", err)
	}
	for _, op := range out.OpenIDConnectProviderList {
		arn := aws.ToString(op.Arn)
		if !strings.HasSuffix(arn, ":oidc-provider/"+s.cfg.GitHub.TokenHost()) {
			continue
		}
		p.arn = arn
		s.set(func(o *Outputs) { o.OIDCProviderARN = arn })
		got, err := s.c.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		if err != nil {
			return found{}, fmt.Errorf("get OIDC provider: %w", err)
		}
		return found{owner: s.owner(iamTag.of(got.Tags)), whose: whoseOf(iamTag.of(got.Tags), s.cfg.Name), id: arn}, nil
	}
	return found{}, nil
}

func (p *oidcProvider) create(ctx context.Context) (string, error) {
	s := p.s
	out, err := s.c.IAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String("https://" + s.cfg.GitHub.TokenHost()), ClientIDList: []string{"sts.amazonaws.com"}, Tags: iamTag.list(s.tagMap()),
		// AWS no longer checks the thumbprint for this provider; the API still asks for one.
		ThumbprintList: []string{"6938fd4d98bab03faadb97b34396831e3780aea1"},
	})
	if err != nil {
		return "", fmt.Errorf("create the GitHub OIDC provider: %w", err)
	}
	p.arn = aws.ToString(out.OpenIDConnectProviderArn)
	s.set(func(o *Outputs) { o.OIDCProviderARN = p.arn })
	return p.arn, nil
}

func (p *oidcProvider) change(context.Context) error { return nil }

// destroy deletes the provider only when no role trusts it any more: it is
// one per account, and other roles (other stacks, other tools) may use it.
func (p *oidcProvider) destroy(ctx context.Context) error {
	var users []string
	pages := iam.NewListRolesPaginator(p.s.c.IAM, &iam.ListRolesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list the roles that may trust the GitHub OIDC provider: %w", err)
		}
		for _, r := range page.Roles {
			if strings.Contains(decodePolicy(aws.ToString(r.AssumeRolePolicyDocument)), p.arn) {
				users = append(users, aws.ToString(r.RoleName))
			}
		}
	}
	if len(users) > 0 {
		return &leftError{fmt.Sprintf("roles %s still trust it: delete them first, or delete it with aws iam delete-open-id-connect-provider", strings.Join(users, ", "))}
	}
	_, err := p.s.c.IAM.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(p.arn)})
	return wrap("delete the GitHub OIDC provider", err)
}
