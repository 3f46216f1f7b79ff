package bootstrap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// mutatingOps are the mutating operations a Calls counter saw, sorted.
func mutatingOps(c *bootstrap.Calls) []string {
	var out []string
	for op, n := range c.Ops() {
		if _, name, _ := strings.Cut(op, ":"); bootstrap.IsMutating(name) && n > 0 {
			out = append(out, op)
		}
	}
	slices.Sort(out)
	return out
}

// TestAdoptConsoleStack is issue 9's account: AutoNote's stack made by
// hand in the console, the shipped example config, plan then apply. Nothing
// that was there may change, and then the action deploys to it.
func TestAdoptConsoleStack(t *testing.T) {
	t.Parallel()
	// The console's names are the defaults: this test has a moto of its own.
	testbed.SkipShort(t, "moto")
	m, err := testbed.StartMoto(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	bed := testbed.New(t, m, ecssim.WithDuration(150*time.Millisecond))
	cfg, err := bootstrap.LoadConfig("../../examples/bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shaBefore, shaNext := testbed.SHA(), testbed.SHA()
	console := bed.ConsoleStack(t, testbed.ConsoleNames{Name: cfg.Name, ExecutionRole: "ecsTaskExecutionRole", Repository: cfg.ECRRepository,
		LogGroup: cfg.LogGroup, Cluster: cfg.Cluster, Family: cfg.Family, Service: cfg.Service, Container: cfg.Container}, shaBefore)
	ctx := context.Background()
	e := &env{bed: bed, cfg: cfg}

	steps, err := e.stack(t, 0).Plan(ctx)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if e.calls.Mutating() != 0 {
		t.Errorf("plan made mutating calls: %v", mutatingOps(e.calls))
	}
	byKind := map[string]bootstrap.Step{}
	for _, s := range steps {
		byKind[s.Kind+" "+s.Name] = s
	}
	var changes []string
	for _, s := range steps {
		if s.Action == bootstrap.Create || s.Action == bootstrap.Change {
			changes = append(changes, string(s.Action)+" "+s.Kind)
		}
	}
	if want := []string{"create permissions boundary", "create GitHub OIDC provider", "create deploy role"}; !slices.Equal(changes, want) {
		t.Errorf("plan proposes %q, want only %q:\n%s", changes, want, bootstrap.PlanTable("plan", steps))
	}
	for _, k := range []string{"vpc autonote-vpc 10.0.0.0/16", "internet gateway autonote-igw-1", "public subnet autonote-subnet-public1-us-east-1a 10.0.1.0/24",
		"private subnet autonote-subnet-private2-us-east-1b 10.0.102.0/24", "public route table autonote-rtb-public",
		"private route table autonote-rtb-private1-us-east-1a, autonote-rtb-private2-us-east-1b", "security group autonote-sg", "execution role ecsTaskExecutionRole", "app secret prod/autonote-backend",
		"API key secret prod/autonote-backend", "ECR repository autonote/server", "log group /ecs/autonote-server-task",
		"ECS cluster autonote-server-cluster", "task definition autonote-server-task", "ECS service autonote-server-service"} {
		if s, ok := byKind[k]; !ok || s.Owner != bootstrap.OwnerAdopted || s.Action != bootstrap.Exists {
			t.Errorf("%s: %+v, want adopted and exists", k, s)
		}
	}
	if got := byKind["vpc autonote-vpc 10.0.0.0/16"].ID; got != console.VPC {
		t.Errorf("adopted VPC %s, want the console's %s", got, console.VPC)
	}
	advice := strings.Join(bootstrap.Advice(steps), "\n")
	for _, want := range []string{"SecretsManagerReadWrite lets every task", "port 3000 is open to the whole internet", "tags are mutable",
		"no lifecycle rule keeping the newest 30 images", "no retention", "circuit breaker is off", "aws ecr put-image-tag-mutability --repository-name autonote/server"} {
		if !strings.Contains(advice, want) {
			t.Errorf("advice lacks %q:\n%s", want, advice)
		}
	}

	// Apply: the only mutating calls make the deploy role, its boundary and
	// the OIDC provider.
	s := e.stack(t, 0)
	applied, err := s.Apply(ctx, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	checkPlanCoversApply(t, steps, applied, e.calls)
	if got, want := mutatingOps(e.calls), []string{"IAM:CreateOpenIDConnectProvider", "IAM:CreatePolicy", "IAM:CreateRole", "IAM:PutRolePolicy"}; !slices.Equal(got, want) {
		t.Errorf("apply's mutating calls = %v, want %v", got, want)
	}
	var vpcs struct{ Vpcs []struct{ VpcId string } }
	e.cli(t, &vpcs, "ec2", "describe-vpcs", "--filters", "Name=cidr-block,Values=10.0.0.0/16")
	var igws struct {
		InternetGateways []struct{ InternetGatewayId string }
	}
	e.cli(t, &igws, "ec2", "describe-internet-gateways")
	var subnets struct{ Subnets []struct{ SubnetId string } }
	e.cli(t, &subnets, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+console.VPC)
	var sgs struct{ SecurityGroups []struct{ GroupName string } }
	e.cli(t, &sgs, "ec2", "describe-security-groups", "--filters", "Name=vpc-id,Values="+console.VPC)
	if len(vpcs.Vpcs) != 1 || len(igws.InternetGateways) != 1 || len(subnets.Subnets) != 4 || len(sgs.SecurityGroups) != 2 { // the VPC's default group and the console's
		t.Errorf("after apply: %d VPCs 10.0.0.0/16, %d gateways, %d subnets, %d security groups; want 1, 1, 4, 2", len(vpcs.Vpcs), len(igws.InternetGateways), len(subnets.Subnets), len(sgs.SecurityGroups))
	}
	var attached struct{ AttachedPolicies []struct{ PolicyName string } }
	e.cli(t, &attached, "iam", "list-attached-role-policies", "--role-name", "ecsTaskExecutionRole")
	var names []string
	for _, p := range attached.AttachedPolicies {
		names = append(names, p.PolicyName)
	}
	slices.Sort(names)
	if want := []string{"AmazonECSTaskExecutionRolePolicy", "SecretsManagerReadWrite"}; !slices.Equal(names, want) {
		t.Errorf("the shared role's policies = %v, want %v", names, want)
	}
	var inline struct{ PolicyNames []string }
	e.cli(t, &inline, "iam", "list-role-policies", "--role-name", "ecsTaskExecutionRole")
	var role struct {
		Role struct{ AssumeRolePolicyDocument any }
	}
	e.cli(t, &role, "iam", "get-role", "--role-name", "ecsTaskExecutionRole")
	if len(inline.PolicyNames) != 0 || !strings.Contains(fmt.Sprint(role.Role.AssumeRolePolicyDocument), "Sid:") {
		t.Errorf("the shared role changed: inline %v, trust %v", inline.PolicyNames, role.Role.AssumeRolePolicyDocument)
	}
	var repo struct {
		Repositories []struct{ ImageTagMutability string }
	}
	e.cli(t, &repo, "ecr", "describe-repositories", "--repository-names", "autonote/server")
	if repo.Repositories[0].ImageTagMutability != "MUTABLE" {
		t.Errorf("repository tags = %s, want MUTABLE as made", repo.Repositories[0].ImageTagMutability)
	}
	if _, err := bed.ECR().GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("autonote/server")}); err == nil || !strings.Contains(err.Error(), "LifecyclePolicyNotFound") {
		t.Errorf("the repository has a lifecycle policy now (%v)", err)
	}
	var value struct{ SecretString string }
	e.cli(t, &value, "secretsmanager", "get-secret-value", "--secret-id", console.SecretARN)
	if value.SecretString != console.SecretValue {
		t.Errorf("the app's secret changed")
	}
	var svcs struct {
		Services []struct {
			TaskDefinition       string
			NetworkConfiguration struct {
				AwsvpcConfiguration struct{ Subnets, SecurityGroups []string }
			}
		}
	}
	e.cli(t, &svcs, "ecs", "describe-services", "--cluster", cfg.Cluster, "--services", cfg.Service)
	if nc := svcs.Services[0].NetworkConfiguration.AwsvpcConfiguration; !slices.Equal(nc.Subnets, console.Public) || !slices.Equal(nc.SecurityGroups, []string{console.SecurityGroup}) ||
		svcs.Services[0].TaskDefinition != console.TaskDefinition {
		t.Errorf("service = %+v, want it as the console made it", svcs.Services[0])
	}
	var policy struct{ PolicyDocument any }
	e.cli(t, &policy, "iam", "get-role-policy", "--role-name", "autonote-deploy", "--policy-name", "deploy")
	doc := fmt.Sprint(policy.PolicyDocument)
	for _, want := range []string{"service/autonote-server-cluster/autonote-server-service", "role/ecsTaskExecutionRole", "repository/autonote/server"} {
		if !strings.Contains(doc, want) {
			t.Errorf("deploy policy lacks %q: %s", want, doc)
		}
	}
	o := s.Outputs()
	if !slices.Contains(o.Resources, bootstrap.Resource{Kind: "vpc", Name: "autonote-vpc 10.0.0.0/16", ID: console.VPC, Owner: bootstrap.OwnerAdopted}) ||
		!slices.ContainsFunc(o.Resources, func(r bootstrap.Resource) bool { return r.Kind == "deploy role" && r.Owner == bootstrap.OwnerUs }) {
		t.Errorf("outputs' resources = %+v, want the adopted VPC and our deploy role", o.Resources)
	}

	// A re-run changes nothing; destroy leaves everything the console made.
	if _, err := e.stack(t, 0).Apply(ctx, nil); err != nil || e.calls.Mutating() != 0 {
		t.Errorf("re-run: %v, mutating calls %v", err, mutatingOps(e.calls))
	}

	// The first build-and-push run: the action deploys the next build.
	if _, err := bed.PushRandomImage(ctx, cfg.ECRRepository, shaNext); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := bed.Env()
	for k, v := range map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_SHA": shaNext, "INPUT_REGISTRY": bed.Registry, "INPUT_TIMEOUT": "20s"} {
		env[k] = v
	}
	var log bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(&log))
	fast := ecsdeploy.Polling{Fast: 10 * time.Millisecond, Average: 10 * time.Millisecond, Slow: 20 * time.Millisecond}
	if err := action.Run(ctx, a, action.WithVersion("test"), action.WithPolling(fast)); err != nil {
		t.Fatalf("deploy to the adopted stack: %v\n%s", err, log.String())
	}
	out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	if !strings.Contains(string(out), "succeeded") {
		t.Errorf("action outputs:\n%s", out)
	}

	// The same console stack moved behind a load balancer: the plan says
	// that the adopted service is registered with the target group, and
	// that ECS starts new tasks for it (apply did, with the plan silent).
	lb := e.cfg
	lb.Endpoint = bootstrap.EndpointLoadBalancer
	lbEnv := *e
	lbEnv.cfg = lb
	lbPlan, err := lbEnv.stack(t, 0).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var serviceLine string
	for _, st := range lbPlan {
		if st.Kind == "ECS service" {
			serviceLine = string(st.Action) + ": " + st.Detail
		}
	}
	if !strings.HasPrefix(serviceLine, "change: ") || !strings.Contains(serviceLine, "register with the load balancer's target group") || !strings.Contains(serviceLine, "ECS starts new tasks") {
		t.Errorf("plan of endpoint: load-balancer on the adopted service: %q, want the registration and its new tasks shown", serviceLine)
	}

	// Destroy: the OIDC provider is the account's, and stays while another
	// role trusts it; once none does, it goes.
	ic := iam.NewFromConfig(bed.Config())
	other := strings.ReplaceAll(testbed.ConsoleTrust, `{"Service":"ecs-tasks.amazonaws.com"}`, `{"Federated":"`+o.OIDCProviderARN+`"}`)
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("another-tool"), AssumeRolePolicyDocument: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{{"deploy role", "permissions boundary"}, {"GitHub OIDC provider"}} {
		gone, err := e.stack(t, 0).Destroy(ctx, nil)
		if err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		var deleted []string
		for _, st := range gone {
			if st.Action == "deleted" {
				deleted = append(deleted, st.Kind)
			}
			if st.Kind == "GitHub OIDC provider" && st.Action == "left" && !strings.Contains(st.Detail, "another-tool still trust") {
				t.Errorf("the provider is left without saying why: %+v", st)
			}
		}
		if !slices.Equal(deleted, want) {
			t.Errorf("destroy deleted %v, want only %v", deleted, want)
		}
		if _, err := ic.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("another-tool")}); err != nil && want[0] == "deploy role" {
			t.Fatal(err)
		}
	}
}

// TestAdoptHalfMadeStack: the console's network, but no cluster or service
// yet. The bootstrap adopts the network and makes the rest inside it.
func TestAdoptHalfMadeStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	net := e.bed.ConsoleNetwork(t, e.cfg.Name)
	s := e.stack(t, 0)
	steps, err := s.Apply(ctx, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	owners := map[string]bootstrap.Owner{}
	for _, st := range steps {
		owners[st.Kind] = st.Owner
	}
	for kind, want := range map[string]bootstrap.Owner{"vpc": bootstrap.OwnerAdopted, "internet gateway": bootstrap.OwnerAdopted, "public subnet": bootstrap.OwnerAdopted,
		"public route table": bootstrap.OwnerAdopted, "private route table": bootstrap.OwnerAdopted, "security group": bootstrap.OwnerUs,
		"ECS cluster": bootstrap.OwnerUs, "ECS service": bootstrap.OwnerUs, "app secret": bootstrap.OwnerUs, "execution role": bootstrap.OwnerUs} {
		if owners[kind] != want {
			t.Errorf("%s is %q, want %q", kind, owners[kind], want)
		}
	}
	o := s.Outputs()
	if o.VPCID != net.VPC || !slices.Equal(o.PublicSubnetIDs, net.Public) || !slices.Equal(o.PrivateSubnetIDs, net.Private) {
		t.Errorf("outputs VPC %s subnets %v %v, want the console's %s %v %v", o.VPCID, o.PublicSubnetIDs, o.PrivateSubnetIDs, net.VPC, net.Public, net.Private)
	}
	var svcs struct {
		Services []struct {
			NetworkConfiguration struct{ AwsvpcConfiguration struct{ Subnets []string } }
		}
	}
	e.cli(t, &svcs, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service)
	if got := svcs.Services[0].NetworkConfiguration.AwsvpcConfiguration.Subnets; !slices.Equal(got, net.Public) {
		t.Errorf("the new service runs in %v, want the console's public subnets %v", got, net.Public)
	}
	var td struct {
		TaskDefinition struct {
			ContainerDefinitions []struct {
				Secrets []struct{ Name, ValueFrom string }
			}
		}
	}
	e.cli(t, &td, "ecs", "describe-task-definition", "--task-definition", e.cfg.Family)
	var injected []string
	for _, sec := range td.TaskDefinition.ContainerDefinitions[0].Secrets {
		injected = append(injected, sec.Name+"="+strings.TrimPrefix(sec.ValueFrom, o.AppSecretARN))
	}
	if want := []string{"DATABASE_URL=:DATABASE_URL::", "API_KEY=" + o.APIKeySecretARN}; !slices.Equal(injected, want) {
		t.Errorf("secrets = %v, want the app secret key by key and the API key: %v", injected, want)
	}
	if _, err := e.stack(t, 0).Apply(ctx, nil); err != nil || e.calls.Mutating() != 0 {
		t.Errorf("re-run: %v, mutating calls %v", err, mutatingOps(e.calls))
	}
	gone, err := e.stack(t, 0).Destroy(ctx, nil)
	if err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	var left []string
	for _, st := range gone {
		if st.Action == "left" {
			left = append(left, st.Kind)
		}
	}
	if len(left) != 8 { // the VPC, its gateway, 4 subnets, 2 route tables
		t.Errorf("destroy left %v, want the console's 8 network resources", left)
	}
	var vpcs struct{ Vpcs []struct{ VpcId string } }
	e.cli(t, &vpcs, "ec2", "describe-vpcs", "--vpc-ids", net.VPC)
	if len(vpcs.Vpcs) != 1 {
		t.Errorf("the console's VPC is gone")
	}
}

func TestAmbiguousVPCChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	ec := ec2.NewFromConfig(e.bed.Config())
	var ids []string
	for range 2 {
		v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(e.cfg.Name + "-vpc")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(v.Vpc.VpcId))
	}
	for _, verb := range []string{"plan", "apply"} {
		s := e.stack(t, 0)
		var err error
		if verb == "plan" {
			_, err = s.Plan(ctx)
		} else {
			_, err = s.Apply(ctx, nil)
		}
		if !errors.Is(err, bootstrap.ErrAmbiguous) || !strings.Contains(fmt.Sprint(err), ids[0]) || !strings.Contains(fmt.Sprint(err), ids[1]) || !strings.Contains(fmt.Sprint(err), "vpc-id") {
			t.Errorf("%s: %v, want an ambiguity that names %v and vpc-id", verb, err, ids)
		}
		if e.calls.Mutating() != 0 {
			t.Errorf("%s made mutating calls: %v", verb, mutatingOps(e.calls))
		}
	}
	// Naming the VPC settles it.
	e.cfg.VPCID = ids[1]
	steps, err := e.stack(t, 0).Plan(ctx)
	if err != nil || steps[0].ID != ids[1] || steps[0].Owner != bootstrap.OwnerAdopted {
		t.Errorf("plan with vpc-id: %v, first step %+v", err, steps[0])
	}
}
