package bootstrap

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/autonote/deploy-action/internal/awserr"
)

// boundary is the permissions boundary of every role the bootstrap makes
// (the execution and deploy roles, and the infrastructure role of a
// strategy that shifts traffic): whatever policy a role gets later, it
// may do no more than a deploy, a task's start and a traffic shift do, on
// the stack's own resources. It is what keeps the bootstrap role, which
// writes those roles' policies, from making one of them an administrator
// or reaching another stack: the bootstrap role may write a role only with
// this boundary on it, and may not change the boundary.
type boundary struct {
	s      *Stack
	arn    string
	update bool
}

func (b *boundary) describe() (string, string) { return "permissions boundary", b.s.boundaryName() }
func (b *boundary) stage() int                 { return 1 }

func (s *Stack) boundaryName() string { return s.name("boundary") }

// boundaryARN is the boundary's ARN: the one found or made, else the one
// it will have.
func (s *Stack) boundaryARN() string {
	if a := s.get().BoundaryARN; a != "" {
		return a
	}
	return fmt.Sprintf("arn:aws:iam::%s:policy/%s", s.account(), s.boundaryName())
}

// boundaryPolicy is the stack's boundary (Scope.BoundaryPolicy).
func (s *Stack) boundaryPolicy() string { return s.scope().BoundaryPolicy() }

func (b *boundary) find(ctx context.Context) (found, error) {
	seen, err := b.read(ctx)
	if err != nil || seen == nil {
		return found{}, err
	}
	b.arn = seen.arn
	b.s.set(func(o *Outputs) { o.BoundaryARN = seen.arn })
	f := judgeBoundary(*seen, b.s.owner(seen.tags), b.s.boundaryPolicy())
	b.update = f.owner == OwnerUs && len(f.changes) > 0
	return f, nil
}

// boundarySeen is the policy of the boundary's name, as IAM has it.
type boundarySeen struct {
	arn, doc string
	tags     map[string]string
}

// read finds the policy of the boundary's name: nil when there is none.
func (b *boundary) read(ctx context.Context) (*boundarySeen, error) {
	s := b.s
	arn := ""
	pages := iam.NewListPoliciesPaginator(s.c.IAM, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
	for arn == "" && pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		for _, p := range page.Policies {
			if aws.ToString(p.PolicyName) == s.boundaryName() {
				arn = aws.ToString(p.Arn)
			}
		}
	}
	if arn == "" {
		return nil, nil
	}
	got, err := s.c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("get policy %s: %w", arn, err)
	}
	v, err := s.c.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: got.Policy.DefaultVersionId})
	if err != nil {
		return nil, fmt.Errorf("get policy %s version %s: %w", arn, aws.ToString(got.Policy.DefaultVersionId), err)
	}
	return &boundarySeen{arn: arn, doc: decodePolicy(aws.ToString(v.PolicyVersion.Document)), tags: iamTag.of(got.Policy.Tags)}, nil
}

// judgeBoundary compares the boundary found with the one the roles need.
func judgeBoundary(seen boundarySeen, owner Owner, want string) found {
	f := found{owner: owner, id: seen.arn}
	switch {
	case samePolicy(seen.doc, want):
	case owner == OwnerUs:
		f.changes = append(f.changes, "its actions differ from what the roles under it do (a role the config adds, such as the infrastructure role of a deployment-strategy, or another version of deploy-action): "+policyDiff(seen.doc, want)+": a new default version, which admin credentials may make and the bootstrap role may not")
	default:
		f.advice = append(f.advice, "a policy of this name exists and is not the bootstrap's: the roles the bootstrap makes get it as their boundary as it is; delete it, or give the stack another name, to have the bootstrap's")
	}
	return f
}

func (b *boundary) create(ctx context.Context) (string, error) {
	s := b.s
	out, err := s.c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String(s.boundaryName()), PolicyDocument: aws.String(s.boundaryPolicy()), Tags: iamTag.list(s.tagMap()),
		Description: aws.String(fmt.Sprintf("permissions boundary of the roles the bootstrap makes (%s)", s.cfg.Name)),
	})
	if err != nil {
		return "", fmt.Errorf("create policy %s: %w", s.boundaryName(), err)
	}
	b.arn = aws.ToString(out.Policy.Arn)
	s.set(func(o *Outputs) { o.BoundaryARN = b.arn })
	return b.arn, nil
}

// change makes the config's document the default version, deleting the
// oldest one first when IAM's five are used.
func (b *boundary) change(ctx context.Context) error {
	if !b.update {
		return nil
	}
	iamc := b.s.c.IAM
	vs, err := iamc.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(b.arn)})
	if err != nil {
		return fmt.Errorf("list versions of %s: %w", b.arn, err)
	}
	if len(vs.Versions) >= 5 {
		oldest := ""
		for _, v := range vs.Versions {
			if !v.IsDefaultVersion && (oldest == "" || aws.ToString(v.VersionId) < oldest) {
				oldest = aws.ToString(v.VersionId)
			}
		}
		if _, err := iamc.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(b.arn), VersionId: aws.String(oldest)}); err != nil {
			return fmt.Errorf("delete version %s of %s: %w", oldest, b.arn, err)
		}
	}
	_, err = iamc.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(b.arn), PolicyDocument: aws.String(b.s.boundaryPolicy()), SetAsDefault: true})
	return wrap("set the document of "+b.arn, err)
}

// destroy deletes the boundary once its roles are gone (they are, newest
// first). The bootstrap role may not: that is left to admin credentials.
func (b *boundary) destroy(ctx context.Context) error {
	iamc := b.s.c.IAM
	if b.s.asRole != "" && b.s.cfg.GitHub != nil && b.s.asRole == b.s.cfg.GitHub.BootstrapRole {
		return &leftError{"the bootstrap role may not delete it (a role that could change the boundary could lift it): aws iam delete-policy --policy-arn " + b.arn + " with admin credentials"}
	}
	vs, err := iamc.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(b.arn)})
	if err == nil {
		for _, v := range vs.Versions {
			if !v.IsDefaultVersion {
				if _, err = iamc.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(b.arn), VersionId: v.VersionId}); err != nil {
					break
				}
			}
		}
	}
	if err == nil {
		_, err = iamc.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(b.arn)})
	}
	var conflict *iamtypes.DeleteConflictException
	switch {
	case errors.As(err, &conflict):
		return &leftError{"a role still has it as its boundary: " + err.Error()}
	case awserr.AccessDenied(err):
		return &leftError{"these credentials may not delete it (the bootstrap role may not): aws iam delete-policy --policy-arn " + b.arn + " with admin credentials"}
	}
	return wrap("delete policy "+b.arn, err)
}
