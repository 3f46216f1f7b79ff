package bootstrap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/autonote/deploy-action/internal/awserr"
)

// role is an IAM role with a trust policy, attached managed policies and
// one inline policy of the bootstrap's.
type role struct {
	s          *Stack
	kind, key  string // key names it in the config's manage list
	name       string
	stg        int
	trust      func() string
	managed    func() []string
	inlineName string
	// stackInlineName is the inline policy this stack writes on the role
	// when it adopted it ("" for none): a name of its own, so that each
	// stack that uses a shared role writes its own policy and never
	// another's.
	stackInlineName string
	// inline is the inline policy the config wants; adopted is the one an
	// adopted role gets ("" for none): only what a deploy needs of it.
	inline, adopted func() string
	record          func(o *Outputs, arn string)
	// bounded: the role gets the bootstrap's permissions boundary.
	bounded bool

	// Found.
	attached                    []string
	haveInline, haveStackInline string
	// To do.
	putTrust, putBoundary    bool
	attach, detach           []string
	putInline, putInlineName string
	deleteInline             bool
}

func (r *role) describe() (string, string) { return r.kind, r.name }

// planNote says what IAM cannot narrow in the role's policy.
func (r *role) planNote() string {
	if r.key != "deploy-role" {
		return ""
	}
	return "note: IAM takes no resource for ecs:DeregisterTaskDefinition, so keep-revisions' permission reaches every family's revisions (docs/security.md)"
}
func (r *role) stage() int { return r.stg }

func (r *role) find(ctx context.Context) (found, error) {
	s := r.s
	seen, err := r.read(ctx)
	if err != nil || seen == nil {
		return found{}, err
	}
	s.set(func(o *Outputs) { r.record(o, seen.arn) })
	r.attached, r.haveInline, r.haveStackInline = seen.attached, seen.inline, seen.stackInline
	v := judgeRole(*seen, roleWant{
		name: r.name, key: r.key, inlineName: r.inlineName, stackInlineName: r.stackInlineName, stack: s.cfg.Name, managed: slices.Contains(s.cfg.Manage, r.key),
		trust: r.trust(), policies: r.managed(), inline: r.inline(), adopted: r.adopted(),
		bounded: r.bounded, boundaryName: s.boundaryName(), boundaryARN: s.boundaryARN(),
	})
	s.noteRole(r.name, v.owner)
	r.putTrust, r.putBoundary, r.attach, r.detach, r.putInline, r.putInlineName, r.deleteInline = v.putTrust, v.putBoundary, v.attach, v.detach, v.putInline, v.putInlineName, v.deleteInline
	if v.putInlineName != "" && v.putInlineName == r.stackInlineName && seen.boundary != "" {
		if err := r.boundaryAllows(ctx, seen.boundary, v.putInline); err != nil {
			return found{}, err
		}
	}
	return v.found, nil
}

// boundaryAllows is an error when the permissions boundary of a role the
// stack adopted would not let the policy the stack adds take effect: a
// role another stack made carries that stack's boundary, which reads
// only that stack's secrets, and tasks of this one could not start.
func (r *role) boundaryAllows(ctx context.Context, boundaryARN, policy string) error {
	iamc := r.s.c.IAM
	got, err := iamc.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(boundaryARN)})
	if err != nil {
		return fmt.Errorf("get the permissions boundary %s of %s: %w", boundaryARN, r.name, err)
	}
	v, err := iamc.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(boundaryARN), VersionId: got.Policy.DefaultVersionId})
	if err != nil {
		return fmt.Errorf("get the permissions boundary %s of %s: %w", boundaryARN, r.name, err)
	}
	boundary := decodePolicy(aws.ToString(v.PolicyVersion.Document))
	for g := range policyGrants(policy) {
		if !grants(boundary, g.action, g.resource) {
			whose := ""
			if t := iamTag.of(got.Policy.Tags); t[TagManagedBy] == ManagedByValue && t[TagStack] != "" {
				whose = " (stack " + t[TagStack] + "'s)"
			}
			return fmt.Errorf("%s %s: its permissions boundary %s%s does not allow %s on %s, so the policy this stack would add could not take effect and its tasks could not read their secrets: give this stack an execution role of its own (execution-role: %s-exec), or widen that boundary; nothing was changed",
				r.kind, r.name, lastSegment(boundaryARN), whose, g.action, g.resource, r.s.cfg.Name)
		}
	}
	return nil
}

// roleSeen is a role as IAM has it.
type roleSeen struct {
	arn                     string
	tags                    map[string]string
	trust, inline, boundary string // the documents, decoded; the boundary's ARN
	stackInline             string // the policy of this stack's own name, decoded
	attached                []string
}

// read gets the role, its managed policies and its inline policy of the
// bootstrap's name: nil when there is no such role.
func (r *role) read(ctx context.Context) (*roleSeen, error) {
	iamc := r.s.c.IAM
	out, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.name)})
	var nf *iamtypes.NoSuchEntityException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get role %s: %w", r.name, err)
	}
	seen := &roleSeen{arn: aws.ToString(out.Role.Arn), tags: iamTag.of(out.Role.Tags), trust: decodePolicy(aws.ToString(out.Role.AssumeRolePolicyDocument))}
	if b := out.Role.PermissionsBoundary; b != nil {
		seen.boundary = aws.ToString(b.PermissionsBoundaryArn)
	}
	ap, err := iamc.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.name)})
	if err != nil {
		return nil, fmt.Errorf("list policies of %s: %w", r.name, err)
	}
	for _, p := range ap.AttachedPolicies {
		seen.attached = append(seen.attached, aws.ToString(p.PolicyArn))
	}
	if r.inlineName == "" { // the bootstrap writes no inline policy on it
		return seen, nil
	}
	for name, doc := range map[string]*string{r.inlineName: &seen.inline, r.stackInlineName: &seen.stackInline} {
		if name == "" {
			continue
		}
		if rp, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(name)}); err == nil {
			*doc = decodePolicy(aws.ToString(rp.PolicyDocument))
		} else if !errors.As(err, &nf) {
			return nil, fmt.Errorf("get policy %s of %s: %w", name, r.name, err)
		}
	}
	return seen, nil
}

// roleWant is what the config asks of a role.
type roleWant struct {
	name, key, inlineName, stack string
	// stackInlineName is the policy this stack writes on the role when it
	// is adopted.
	stackInlineName string
	managed         bool // handed over: key in manage
	trust           string
	policies        []string // managed policies attached
	inline          string   // the inline policy ("" for none)
	// adopted is the inline policy an adopted role gets, "" for none:
	// only what a deploy needs of it.
	adopted string
	// bounded: the role carries the boundary of that name, at that ARN.
	bounded                   bool
	boundaryName, boundaryARN string
}

// roleVerdict is what the judge found, and what apply is to do to the role.
type roleVerdict struct {
	found
	putTrust, putBoundary bool
	attach, detach        []string
	// putInline is written as the policy putInlineName.
	putInline, putInlineName string
	deleteInline             bool
}

// judgeRole compares a role with the config: a role of ours (or handed
// over) is repaired; an adopted one gets only what a deploy needs, and
// advice on the rest.
func judgeRole(seen roleSeen, want roleWant) roleVerdict {
	v := roleVerdict{found: found{owner: ownerOf(seen.tags, want.stack), whose: whoseOf(seen.tags, want.stack), id: seen.arn}}
	name := want.name
	var ds []drift
	boundaryOff := want.bounded && lastSegment(seen.boundary) != want.boundaryName
	if boundaryOff {
		what := "it has no permissions boundary"
		if seen.boundary != "" {
			what = "its permissions boundary is " + seen.boundary + ", not the bootstrap's"
		}
		ds = append(ds, drift{what, "aws iam put-role-permissions-boundary --role-name " + name + " --permissions-boundary " + want.boundaryARN})
	}
	if !samePolicy(seen.trust, want.trust) {
		ds = append(ds, drift{"its trust policy differs from the config's: " + policyDiff(seen.trust, want.trust), "aws iam update-assume-role-policy --role-name " + name + " --policy-document '" + want.trust + "'"})
	}
	var missing, extra []string
	for _, p := range want.policies {
		if !slices.Contains(seen.attached, p) {
			missing = append(missing, p)
			ds = append(ds, drift{lastSegment(p) + " is not attached", "aws iam attach-role-policy --role-name " + name + " --policy-arn " + p})
		}
	}
	for _, p := range seen.attached {
		if slices.Contains(want.policies, p) {
			continue
		}
		extra = append(extra, p)
		if p == secretsRWPolicy {
			ds = append(ds, drift{"SecretsManagerReadWrite lets every task of this role read and change every secret in the account, where GetSecretValue on its own secrets is enough",
				"give it that (" + want.inline + "), then aws iam detach-role-policy --role-name " + name + " --policy-arn " + p})
			continue
		}
		ds = append(ds, drift{lastSegment(p) + " is attached but not in the config", "aws iam detach-role-policy --role-name " + name + " --policy-arn " + p})
	}
	if enforce := v.owner == OwnerUs || want.managed; enforce && !samePolicy(seen.inline, want.inline) && (seen.inline != "" || want.inline != "") {
		ds = append(ds, drift{"policy " + want.inlineName + " differs from the config's: " + cmp.Or(policyDiff(seen.inline, want.inline), "written in another form"), ""})
	}
	if sortDrift(&v.found, want.key, want.managed, ds) {
		v.putTrust = !samePolicy(seen.trust, want.trust)
		v.putBoundary = boundaryOff
		v.attach, v.detach = missing, extra
		if want.inline != "" && !samePolicy(seen.inline, want.inline) {
			v.putInline, v.putInlineName = want.inline, want.inlineName
		}
		v.deleteInline = want.inline == "" && seen.inline != ""
		return v
	}
	// Adopted: only the inline policy a deploy needs, under this stack's
	// own name: a role that several stacks use (production's and
	// staging's) gets one policy of each, and none rewrites another's or
	// one written by hand.
	switch add := want.adopted; {
	case add == "" || samePolicy(seen.stackInline, add):
	case want.stackInlineName == "":
		v.advice = append(v.advice, "it cannot read the secrets the bootstrap made: give it secretsmanager:GetSecretValue on them ("+add+")")
	default:
		v.putInline, v.putInlineName = add, want.stackInlineName
		v.changes = append(v.changes, "add policy "+want.stackInlineName+": secretsmanager:GetSecretValue on this stack's secrets, beside the role's other policies (none of which it changes)")
	}
	return v
}

func (r *role) create(ctx context.Context) (string, error) {
	s := r.s
	out, err := s.c.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust()), Tags: iamTag.list(s.tagMap()), PermissionsBoundary: r.boundaryToSet(),
		Description: aws.String(fmt.Sprintf("%s (%s): made by the bootstrap", r.kind, s.cfg.Name)),
	})
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", r.name, err)
	}
	s.set(func(o *Outputs) { r.record(o, aws.ToString(out.Role.Arn)) })
	s.noteRole(r.name, OwnerUs)
	r.putTrust, r.putBoundary, r.attach, r.detach, r.putInline, r.putInlineName = false, false, r.managed(), nil, r.inline(), r.inlineName
	if err := r.change(ctx); err != nil {
		return "", err
	}
	return aws.ToString(out.Role.Arn), nil
}

func (r *role) change(ctx context.Context) error {
	iamc := r.s.c.IAM
	name := aws.String(r.name)
	// The boundary first: the bootstrap role may write a role only once
	// it is on.
	if r.putBoundary {
		if _, err := iamc.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: name, PermissionsBoundary: aws.String(r.s.boundaryARN())}); err != nil {
			return fmt.Errorf("put the permissions boundary on %s: %w", r.name, err)
		}
	}
	if r.putTrust {
		if _, err := iamc.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: aws.String(r.trust())}); err != nil {
			if awserr.AccessDenied(err) {
				return fmt.Errorf("update trust of %s: %w (a role's trust is changed with admin credentials alone, never the bootstrap role's: run this apply once with admin credentials)", r.name, err)
			}
			return fmt.Errorf("update trust of %s: %w", r.name, err)
		}
	}
	for _, p := range r.attach {
		if _, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(p)}); err != nil {
			return fmt.Errorf("attach %s to %s: %w", p, r.name, err)
		}
	}
	for _, p := range r.detach {
		if _, err := iamc.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: aws.String(p)}); err != nil {
			return fmt.Errorf("detach %s from %s: %w", p, r.name, err)
		}
	}
	if r.putInline != "" {
		if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String(r.putInlineName), PolicyDocument: aws.String(r.putInline)}); err != nil {
			return fmt.Errorf("put policy %s on %s: %w", r.putInlineName, r.name, err)
		}
	}
	if r.deleteInline {
		if _, err := iamc.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(r.inlineName)}); err != nil {
			return fmt.Errorf("delete policy %s from %s: %w", r.inlineName, r.name, err)
		}
	}
	return nil
}

func (r *role) destroy(ctx context.Context) error {
	iamc := r.s.c.IAM
	if r.s.asRole == r.name {
		// A role may not delete itself (the bootstrap role's policy names
		// every role but its own): nothing is asked that IAM would refuse.
		return &leftError{"the credentials are this role's own, and a role does not delete itself: with admin credentials, " + strings.Join(r.deleteCommands(), " && ")}
	}
	// Another stack that adopted this role wrote a policy of its own on
	// it: the role serves that stack too, and the last stack using it is
	// the one that deletes it.
	names, err := r.s.c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(r.name)})
	if err != nil && !awserr.AccessDenied(err) {
		return fmt.Errorf("list the policies of %s: %w", r.name, err)
	}
	if names != nil {
		var others []string
		for _, n := range names.PolicyNames {
			if n != r.inlineName {
				others = append(others, n)
			}
		}
		if len(others) > 0 {
			return &leftError{fmt.Sprintf("it carries policies this stack did not write (%s): another stack (or someone) uses it; it is deleted once they are gone: destroy that stack first, or delete them by hand", strings.Join(others, ", "))}
		}
	}
	err = func() error {
		for _, p := range r.attached {
			if _, err := iamc.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(r.name), PolicyArn: aws.String(p)}); err != nil {
				return fmt.Errorf("detach %s: %w", p, err)
			}
		}
		if r.haveInline != "" {
			if _, err := iamc.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(r.inlineName)}); err != nil {
				return fmt.Errorf("delete policy %s: %w", r.inlineName, err)
			}
		}
		_, err := iamc.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(r.name)})
		return wrap("delete role "+r.name, err)
	}()
	if awserr.AccessDenied(err) {
		// Credentials that may not write this role: the rest of destroy
		// goes on.
		return &leftError{"these credentials may not delete it: with admin credentials, " + strings.Join(r.deleteCommands(), " && ")}
	}
	return err
}

// releaseNote says what destroy takes back from a role the stack adopted.
func (r *role) releaseNote() string {
	if r.stackInlineName == "" || r.haveStackInline == "" {
		return ""
	}
	return "its policy " + r.stackInlineName + " (this stack's) is deleted"
}

// release takes back, from a role the stack adopted, the policy it wrote
// there under its own name; the role and everything else on it stay.
func (r *role) release(ctx context.Context) (string, error) {
	if r.stackInlineName == "" || r.haveStackInline == "" {
		return "", nil
	}
	_, err := r.s.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(r.stackInlineName)})
	switch {
	case awserr.AccessDenied(err):
		// The bootstrap role writes no adopted role: an administrator's
		// apply added the policy, and takes it back.
		return "its policy " + r.stackInlineName + " (this stack's) left: these credentials may not write an adopted role; with admin credentials, aws iam delete-role-policy --role-name " + r.name + " --policy-name " + r.stackInlineName, nil
	case err != nil:
		return "", fmt.Errorf("delete this stack's policy %s from %s: %w", r.stackInlineName, r.name, err)
	}
	return "its policy " + r.stackInlineName + " (this stack's) deleted", nil
}

// deleteCommands delete the role with the aws CLI.
func (r *role) deleteCommands() []string {
	var cmds []string
	for _, p := range r.attached {
		cmds = append(cmds, "aws iam detach-role-policy --role-name "+r.name+" --policy-arn "+p)
	}
	if r.haveInline != "" {
		cmds = append(cmds, "aws iam delete-role-policy --role-name "+r.name+" --policy-name "+r.inlineName)
	}
	return append(cmds, "aws iam delete-role --role-name "+r.name)
}

// boundaryToSet is the boundary a new role is made with, if any.
func (r *role) boundaryToSet() *string {
	if !r.bounded {
		return nil
	}
	return aws.String(r.s.boundaryARN())
}
