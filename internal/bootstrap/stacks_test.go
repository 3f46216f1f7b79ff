package bootstrap_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/autonote/deploy-action/internal/bootstrap"
)

// TestStacksShareARoleEachWithItsOwnPolicy: production and staging, each a
// stack of its own, both use the execution role made by hand
// (ecsTaskExecutionRole, as AutoNote's console made it). Each writes its
// own policy on it, under a name with its stack and region; staging's
// apply leaves production's as it was, and staging's destroy takes back
// its own policy alone and leaves the role.
func TestStacksShareARoleEachWithItsOwnPolicy(t *testing.T) {
	t.Parallel()
	prod, staging := newEnv(t, false), newEnv(t, false)
	shared := prod.cfg.Name + "-shared-exec"
	prod.cfg.ExecutionRole, staging.cfg.ExecutionRole = shared, shared
	staging.bed = prod.bed
	ctx := context.Background()
	iamc := iam.NewFromConfig(prod.bed.Config())
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(shared),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	policy := func(name string) string {
		t.Helper()
		out, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(shared), PolicyName: aws.String(name)})
		if err != nil {
			return ""
		}
		return aws.ToString(out.PolicyDocument)
	}
	prodPolicy, stagingPolicy := "read-app-secrets-"+prod.cfg.Name+"-us-east-1", "read-app-secrets-"+staging.cfg.Name+"-us-east-1"

	prod.applyAsPlanned(t)
	before := policy(prodPolicy)
	if !strings.Contains(before, prod.cfg.AppSecret) {
		t.Fatalf("production's policy %s = %q, want it to read %s", prodPolicy, before, prod.cfg.AppSecret)
	}
	plan, err := staging.stack(t, 0).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if table := bootstrap.PlanTable("plan", plan); !strings.Contains(table, "add policy "+stagingPolicy) {
		t.Errorf("staging's plan does not name the policy it adds to the shared role:\n%s", table)
	}
	staging.applyAsPlanned(t)
	if after := policy(prodPolicy); after != before {
		t.Errorf("staging's apply changed production's policy:\n%s\nwas\n%s", after, before)
	}
	if got := policy(stagingPolicy); !strings.Contains(got, staging.cfg.AppSecret) || strings.Contains(got, prod.cfg.AppSecret) {
		t.Errorf("staging's policy %s = %q, want its own secrets alone", stagingPolicy, got)
	}
	if again, err := prod.stack(t, 0).Plan(ctx); err != nil || bootstrap.Changes(again) != 0 {
		t.Errorf("production's plan after staging's apply: %v\n%s", err, bootstrap.PlanTable("plan", again))
	}

	steps, err := staging.stack(t, 0).Destroy(ctx, nil)
	if err != nil {
		t.Fatalf("staging's destroy: %v", err)
	}
	var said string
	for _, st := range steps {
		if st.Kind == "execution role" {
			said = st.Detail
		}
	}
	if !strings.Contains(said, stagingPolicy+" (this stack's) deleted") {
		t.Errorf("destroy says of the shared role %q, want its own policy named as deleted", said)
	}
	if policy(stagingPolicy) != "" || policy(prodPolicy) != before {
		t.Errorf("after staging's destroy: its policy %q (want gone), production's changed: %v", policy(stagingPolicy), policy(prodPolicy) != before)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(shared)}); err != nil {
		t.Errorf("staging's destroy removed the shared role: %v", err)
	}
}

// TestAnotherRegionIsAnotherStack: the same config with another region
// (the example's region: us-west-2, against a stack made in us-east-1)
// stops before the first write, naming the region, in plan, apply and
// destroy: the stack's IAM roles are account-wide and serve us-east-1.
func TestAnotherRegionIsAnotherStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	e.applyAsPlanned(t)
	e.cfg.Region = "us-west-2"
	for verb, run := range map[string]func(*bootstrap.Stack) error{
		"plan":    func(s *bootstrap.Stack) error { _, err := s.Plan(ctx); return err },
		"apply":   func(s *bootstrap.Stack) error { _, err := s.Apply(ctx, nil); return err },
		"destroy": func(s *bootstrap.Stack) error { _, err := s.Destroy(ctx, nil); return err },
	} {
		s := e.stack(t, 0)
		err := run(s)
		if err == nil || !strings.Contains(err.Error(), "region us-west-2") || !strings.Contains(err.Error(), "was made in us-east-1") {
			t.Errorf("%s in another region: %v, want refused, naming both regions", verb, err)
		}
		if n := e.calls.Mutating(); n != 0 {
			t.Errorf("%s in another region made %d changes", verb, n)
		}
	}
	e.cfg.Region = "us-east-1"
	if steps, err := e.stack(t, 0).Plan(ctx); err != nil || bootstrap.Changes(steps) != 0 {
		t.Errorf("the stack in its own region: %v, %d changes", err, bootstrap.Changes(steps))
	}
}

// TestVPCIDOfAnotherVPCChangesNothing: vpc-id naming a VPC other than the
// one the service runs in is a config error before the first write (it
// made subnets there, then failed on the gateway, and advised destroy).
func TestVPCIDOfAnotherVPCChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	runs := e.applyAsPlanned(t).Outputs().VPCID
	other, err := ec2.NewFromConfig(e.bed.Config()).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}) // the block the issue met: the config fits it
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.VPCID = aws.ToString(other.Vpc.VpcId)
	for verb, run := range map[string]func(*bootstrap.Stack) error{
		"plan":  func(s *bootstrap.Stack) error { _, err := s.Plan(ctx); return err },
		"apply": func(s *bootstrap.Stack) error { _, err := s.Apply(ctx, nil); return err },
	} {
		err := run(e.stack(t, 0))
		if err == nil || !strings.Contains(err.Error(), "vpc-id "+e.cfg.VPCID) || !strings.Contains(err.Error(), "runs in "+runs) ||
			strings.Contains(err.Error(), "destroy") {
			t.Errorf("%s with the vpc-id of another VPC: %v; want refused, naming the service's VPC, never advising destroy", verb, err)
		}
		if n := e.calls.Mutating(); n != 0 {
			t.Errorf("%s made %d changes: %v", verb, n, e.calls.ByStep())
		}
	}
	e.cfg.VPCID = runs
	if steps, err := e.stack(t, 0).Plan(ctx); err != nil || bootstrap.Changes(steps) != 0 {
		t.Errorf("vpc-id of the service's own VPC: %v, %d changes", err, bootstrap.Changes(steps))
	}
}

// TestARoleAnotherStackMadeIsNotShared: production made its execution
// role, with its boundary, which reads production's secrets alone. A
// staging stack naming that role is refused before the first write (its
// policy could not take effect: its tasks would not start). A policy
// someone else wrote on production's role keeps production's destroy from
// deleting the role, and it says why; once it is gone, destroy deletes it.
func TestARoleAnotherStackMadeIsNotShared(t *testing.T) {
	t.Parallel()
	prod, staging := newEnv(t, false), newEnv(t, false)
	staging.bed, staging.cfg.ExecutionRole = prod.bed, prod.cfg.ExecutionRole
	prod.applyAsPlanned(t)
	ctx := context.Background()
	for verb, run := range map[string]func(*bootstrap.Stack) error{
		"plan":  func(s *bootstrap.Stack) error { _, err := s.Plan(ctx); return err },
		"apply": func(s *bootstrap.Stack) error { _, err := s.Apply(ctx, nil); return err },
	} {
		err := run(staging.stack(t, 0))
		if err == nil || !strings.Contains(err.Error(), "its permissions boundary "+prod.cfg.Name+"-boundary (stack "+prod.cfg.Name+"'s) does not allow") ||
			!strings.Contains(err.Error(), "execution-role: "+staging.cfg.Name+"-exec") {
			t.Errorf("staging's %s on production's role: %v, want refused, saying why and what to do", verb, err)
		}
	}
	iamc := iam.NewFromConfig(prod.bed.Config())
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(prod.cfg.ExecutionRole), PolicyName: aws.String("by-hand"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogStream","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	detailOf := func(steps []bootstrap.Step) string {
		for _, st := range steps {
			if st.Kind == "execution role" {
				return string(st.Action) + ": " + st.Detail
			}
		}
		return ""
	}
	steps, err := prod.stack(t, 0).Destroy(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := detailOf(steps); !strings.HasPrefix(got, "left: ") || !strings.Contains(got, "by-hand") {
		t.Errorf("destroy says of a role with a policy it did not write %q, want it left, naming the policy", got)
	}
	if _, err := iamc.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(prod.cfg.ExecutionRole), PolicyName: aws.String("by-hand")}); err != nil {
		t.Fatal(err)
	}
	if steps, err = prod.stack(t, 0).Destroy(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := detailOf(steps); !strings.HasPrefix(got, "deleted") {
		t.Errorf("destroy, the other policy gone: %q, want the role deleted", got)
	}
}
