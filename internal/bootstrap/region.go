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

// checkRegion refuses, before the first write, a config whose stack was
// made in another region: its IAM roles and boundary are account-wide, so
// the same name in another region would rewrite (and destroy would delete)
// what the first region's stack runs on. Resources made before the region
// tag carry none and are not judged by it.
func (s *Stack) checkRegion(ctx context.Context) error {
	roles := []string{s.cfg.ExecutionRole, s.cfg.InfrastructureRoleName()}
	if g := s.cfg.GitHub; g != nil {
		roles = append(roles, g.Role, g.BootstrapRole)
	}
	for _, name := range roles {
		if name == "" {
			continue
		}
		out, err := s.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			if skippable(err) {
				continue
			}
			return fmt.Errorf("get role %s: %w", name, err)
		}
		if err := s.sameRegion("role "+name, iamTag.of(out.Role.Tags)); err != nil {
			return err
		}
	}
	if s.acct == "" {
		return nil
	}
	out, err := s.c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::" + s.acct + ":policy/" + s.boundaryName())})
	if err != nil {
		if skippable(err) {
			return nil
		}
		return fmt.Errorf("get policy %s: %w", s.boundaryName(), err)
	}
	return s.sameRegion("permissions boundary "+s.boundaryName(), iamTag.of(out.Policy.Tags))
}

// sameRegion is an error when what carries this stack's tags says it was
// made in another region.
func (s *Stack) sameRegion(what string, tags map[string]string) error {
	made := tags[TagRegion]
	if tags[TagManagedBy] != ManagedByValue || tags[TagStack] != s.cfg.Name || made == "" || made == s.cfg.Region {
		return nil
	}
	return fmt.Errorf("region %s: stack %q was made in %s (its %s says so), and its IAM roles and boundary serve that region's stack: set region: %s to work on that stack, or give this one a name of its own (name:) so that it makes IAM resources of its own; nothing was changed",
		s.cfg.Region, s.cfg.Name, made, what, made)
}

// skippable is a read that says nothing of the region: the resource is
// not there, or these credentials may not read it (its own find says so).
func skippable(err error) bool {
	var nf *iamtypes.NoSuchEntityException
	return errors.As(err, &nf) || awserr.AccessDenied(err)
}
