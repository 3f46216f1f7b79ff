package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
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
	// inline is the inline policy the config wants; adopted is the one an
	// adopted role gets ("" for none): only what a deploy needs of it.
	inline, adopted func() string
	record          func(o *Outputs, arn string)
	// bounded: the role gets the bootstrap's permissions boundary.
	bounded bool

	// Found.
	attached                            []string
	haveInline, haveTrust, haveBoundary string
	// To do.
	putTrust, putBoundary bool
	attach, detach        []string
	putInline             string
	deleteInline          bool
}

func (r *role) describe() (string, string) { return r.kind, r.name }
func (r *role) stage() int                 { return r.stg }

func (r *role) find(ctx context.Context) (found, error) {
	s := r.s
	out, err := s.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.name)})
	var nf *iamtypes.NoSuchEntityException
	if errors.As(err, &nf) {
		return found{}, nil
	}
	if err != nil {
		return found{}, fmt.Errorf("get role %s: %w", r.name, err)
	}
	arn := aws.ToString(out.Role.Arn)
	f := found{owner: s.owner(iamTagMap(out.Role.Tags)), id: arn}
	s.set(func(o *Outputs) { r.record(o, arn) })
	s.noteRole(r.name, f.owner)
	r.haveBoundary = ""
	if b := out.Role.PermissionsBoundary; b != nil {
		r.haveBoundary = aws.ToString(b.PermissionsBoundaryArn)
	}
	r.haveTrust = decodePolicy(aws.ToString(out.Role.AssumeRolePolicyDocument))
	ap, err := s.c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.name)})
	if err != nil {
		return f, fmt.Errorf("list policies of %s: %w", r.name, err)
	}
	r.attached = nil
	for _, p := range ap.AttachedPolicies {
		r.attached = append(r.attached, aws.ToString(p.PolicyArn))
	}
	r.haveInline = ""
	if rp, err := s.c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(r.inlineName)}); err == nil {
		r.haveInline = decodePolicy(aws.ToString(rp.PolicyDocument))
	} else if !errors.As(err, &nf) {
		return f, fmt.Errorf("get policy %s of %s: %w", r.inlineName, r.name, err)
	}

	r.putTrust, r.putBoundary, r.attach, r.detach, r.putInline, r.deleteInline = false, false, nil, nil, "", false
	var ds []drift
	boundaryOff := r.bounded && lastSegment(r.haveBoundary) != s.boundaryName()
	if boundaryOff {
		what := "it has no permissions boundary"
		if r.haveBoundary != "" {
			what = "its permissions boundary is " + r.haveBoundary + ", not the bootstrap's"
		}
		ds = append(ds, drift{what, "aws iam put-role-permissions-boundary --role-name " + r.name + " --permissions-boundary " + s.boundaryARN()})
	}
	if !samePolicy(r.haveTrust, r.trust()) {
		ds = append(ds, drift{"its trust policy differs from the config's", "aws iam update-assume-role-policy --role-name " + r.name + " --policy-document '" + r.trust() + "'"})
	}
	var missing, extra []string
	for _, p := range r.managed() {
		if !slices.Contains(r.attached, p) {
			missing = append(missing, p)
			ds = append(ds, drift{lastSegment(p) + " is not attached", "aws iam attach-role-policy --role-name " + r.name + " --policy-arn " + p})
		}
	}
	for _, p := range r.attached {
		if slices.Contains(r.managed(), p) {
			continue
		}
		extra = append(extra, p)
		if p == secretsRWPolicy {
			ds = append(ds, drift{"SecretsManagerReadWrite lets every task of this role read and change every secret in the account, where GetSecretValue on its own secrets is enough",
				"give it that (" + r.inline() + "), then aws iam detach-role-policy --role-name " + r.name + " --policy-arn " + p})
			continue
		}
		ds = append(ds, drift{lastSegment(p) + " is attached but not in the config", "aws iam detach-role-policy --role-name " + r.name + " --policy-arn " + p})
	}
	wantInline := r.inline()
	if enforce := f.owner == OwnerUs || slices.Contains(s.cfg.Manage, r.key); enforce && !samePolicy(r.haveInline, wantInline) && (r.haveInline != "" || wantInline != "") {
		ds = append(ds, drift{"policy " + r.inlineName + " differs from the config's", ""})
	}
	if s.sortDrift(&f, r.key, ds) {
		r.putTrust = !samePolicy(r.haveTrust, r.trust())
		r.putBoundary = boundaryOff
		r.attach, r.detach = missing, extra
		if wantInline != "" && !samePolicy(r.haveInline, wantInline) {
			r.putInline = wantInline
		}
		r.deleteInline = wantInline == "" && r.haveInline != ""
		return f, nil
	}
	// Adopted: only the inline policy a deploy needs, and only when the
	// role has none of that name or it is the one the bootstrap wrote.
	switch add := r.adopted(); {
	case add == "" || samePolicy(r.haveInline, add):
	case r.haveInline != "" && !readsSecretsOnly(r.haveInline):
		f.advice = append(f.advice, "it cannot read the secrets the bootstrap made, and its policy "+r.inlineName+" is not the bootstrap's: give it secretsmanager:GetSecretValue on them ("+r.inlineName+" would be "+add+")")
	default:
		r.putInline = add
		f.changes = append(f.changes, "add policy "+r.inlineName+": secretsmanager:GetSecretValue on the secrets the bootstrap made")
	}
	return f, nil
}

// readsSecretsOnly reports whether a policy has the shape of the one the
// bootstrap writes: one Allow of secretsmanager:GetSecretValue on secrets.
func readsSecretsOnly(doc string) bool {
	n, ok := normalPolicy(doc)
	if !ok || strings.Contains(n, "\n") {
		return false
	}
	var st struct {
		Effect   string
		Action   []string
		Resource []string
	}
	if json.Unmarshal([]byte(n), &st) != nil || st.Effect != "Allow" || !slices.Equal(st.Action, []string{"secretsmanager:GetSecretValue"}) {
		return false
	}
	return !slices.ContainsFunc(st.Resource, func(r string) bool { return !strings.HasPrefix(r, "arn:aws:secretsmanager:") })
}

func (r *role) create(ctx context.Context) (string, error) {
	s := r.s
	out, err := s.c.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust()), Tags: s.iamTags(), PermissionsBoundary: r.boundaryToSet(),
		Description: aws.String(fmt.Sprintf("%s (%s): made by the bootstrap", r.kind, s.cfg.Name)),
	})
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", r.name, err)
	}
	s.set(func(o *Outputs) { r.record(o, aws.ToString(out.Role.Arn)) })
	s.noteRole(r.name, OwnerUs)
	r.putTrust, r.putBoundary, r.attach, r.detach, r.putInline = false, false, r.managed(), nil, r.inline()
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
		if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String(r.inlineName), PolicyDocument: aws.String(r.putInline)}); err != nil {
			return fmt.Errorf("put policy %s on %s: %w", r.inlineName, r.name, err)
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
}

// boundaryToSet is the boundary a new role is made with, if any.
func (r *role) boundaryToSet() *string {
	if !r.bounded {
		return nil
	}
	return aws.String(r.s.boundaryARN())
}

func (s *Stack) iamTags() []iamtypes.Tag {
	var tags []iamtypes.Tag
	for k, v := range s.tagMap() {
		tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return tags
}

// executionRole is the role ECS pulls images, writes logs and reads
// secrets with: the one the running task definition names, else the config's.
func (s *Stack) executionRole() *role {
	name := s.cfg.ExecutionRole
	if td := s.found.taskDef; td != nil && aws.ToString(td.ExecutionRoleArn) != "" {
		name = roleName(aws.ToString(td.ExecutionRoleArn))
	}
	r := &role{s: s, kind: "execution role", key: "execution-role", name: name, stg: 2, inlineName: readSecretsPolicy, bounded: true,
		record: func(o *Outputs, arn string) { o.ExecutionRoleARN = arn }}
	r.trust = func() string {
		return policyDoc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
	}
	r.managed = func() []string {
		if s.cfg.SecretsReadWrite {
			return []string{executionPolicy, secretsRWPolicy}
		}
		return []string{executionPolicy}
	}
	r.inline = func() string {
		if s.cfg.SecretsReadWrite {
			return ""
		}
		return readSecrets(s.secretARNs(false))
	}
	r.adopted = func() string {
		// What the role reads already (SecretsManagerReadWrite, or the
		// policy the bootstrap wrote) needs no addition.
		var need []string
		for _, arn := range s.secretARNs(true) {
			if !slices.Contains(r.attached, secretsRWPolicy) && !grants(r.haveInline, "secretsmanager:GetSecretValue", arn) {
				need = append(need, arn)
			}
		}
		if len(need) == 0 {
			return ""
		}
		return readSecrets(s.secretARNs(true))
	}
	return r
}

func readSecrets(arns []string) string {
	if len(arns) == 0 {
		return ""
	}
	return policyDoc(map[string]any{"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": arns})
}
