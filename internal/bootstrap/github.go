package bootstrap

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }

// oidcProvider is GitHub's OIDC identity provider, which lets a workflow
// trade its token for a role's credentials.
func (s *Stack) oidcProvider() resource {
	var tagged bool
	return resource{kind: "GitHub OIDC provider", name: githubOIDCHost, stage: 1,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.IAM.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
			if err != nil {
				return "", "", fmt.Errorf("list OIDC providers: %w", err)
			}
			for _, p := range out.OpenIDConnectProviderList {
				arn := aws.ToString(p.Arn)
				if !strings.HasSuffix(arn, "/"+githubOIDCHost) {
					continue
				}
				s.set(func(o *Outputs) { o.OIDCProviderARN = arn })
				got, err := s.c.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
				if err != nil {
					return "", "", fmt.Errorf("get OIDC provider: %w", err)
				}
				m := map[string]string{}
				for _, t := range got.Tags {
					m[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				tagged = s.taggedByUs(m)
				return Exists, arn, nil
			}
			return Create, "", nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.IAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String("https://" + githubOIDCHost), ClientIDList: []string{"sts.amazonaws.com"}, Tags: s.iamTags(),
				// AWS no longer checks the thumbprint for this provider; the API still asks for one.
				ThumbprintList: []string{"6938fd4d98bab03faadb97b34396831e3780aea1"},
			})
			if err != nil {
				return fmt.Errorf("create the GitHub OIDC provider: %w", err)
			}
			tagged = true
			s.set(func(o *Outputs) { o.OIDCProviderARN = aws.ToString(out.OpenIDConnectProviderArn) })
			return nil
		},
		destroy: func(ctx context.Context) (bool, error) {
			arn := s.get().OIDCProviderARN
			if !tagged || arn == "" {
				return false, nil
			}
			_, err := s.c.IAM.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
			return true, wrap("delete the GitHub OIDC provider", err)
		},
	}
}

// deployRole is the role the workflow assumes: trusted only by the
// configured repository's branch, allowed only what a deploy does.
func (s *Stack) deployRole() resource {
	g := s.cfg.GitHub
	return s.role("deploy role", g.Role, 3,
		func() string {
			return policyDoc(map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"Federated": s.get().OIDCProviderARN},
				"Action":    "sts:AssumeRoleWithWebIdentity",
				"Condition": map[string]any{"StringEquals": map[string]any{
					githubOIDCHost + ":aud": "sts.amazonaws.com",
					githubOIDCHost + ":sub": fmt.Sprintf("repo:%s:ref:refs/heads/%s", g.Repository, g.Branch),
				}},
			})
		},
		func() []string { return nil },
		func() string { return s.deployPolicy() },
		deployPolicy,
		func(o *Outputs, arn string) { o.DeployRoleARN = arn })
}

// deployPolicy allows exactly what the action does, and no "*" action.
func (s *Stack) deployPolicy() string {
	o := s.get()
	account := accountOf(o.RepositoryARN)
	service := fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", s.cfg.Region, account, s.cfg.Cluster, s.cfg.Service)
	return policyDoc(
		map[string]any{"Sid": "EcrLogin", "Effect": "Allow", "Action": []string{"ecr:GetAuthorizationToken"}, "Resource": "*"},
		map[string]any{"Sid": "EcrPush", "Effect": "Allow", "Resource": o.RepositoryARN, "Action": []string{
			"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
			"ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:ListImages",
			"ecr:PutImage", "ecr:UploadLayerPart"}},
		map[string]any{"Sid": "TaskDefinitions", "Effect": "Allow", "Resource": "*", "Action": []string{
			"ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition", "ecs:TagResource"}},
		map[string]any{"Sid": "Service", "Effect": "Allow", "Resource": service, "Action": []string{"ecs:DescribeServices", "ecs:UpdateService"}},
		map[string]any{"Sid": "Tasks", "Effect": "Allow", "Resource": "*", "Action": []string{"ecs:ListTasks", "ecs:DescribeTasks"},
			"Condition": map[string]any{"ArnEquals": map[string]any{"ecs:cluster": o.ClusterARN}}},
		map[string]any{"Sid": "PassExecutionRole", "Effect": "Allow", "Resource": o.ExecutionRoleARN, "Action": []string{"iam:PassRole"},
			"Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
	)
}
