package bootstrap_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/testbed"
)

// Four servers: the package's parallel applies (the convergence tests make
// over a hundred stacks) spread over them.
var motoServer = testbed.LazyMoto{Size: 4}

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

var seq atomic.Int64

// env is one test's stack: a bed, a config of names of its own, clients
// that count their calls.
type env struct {
	bed   *testbed.Bed
	cfg   bootstrap.Config
	calls *bootstrap.Calls
	opts  []bootstrap.Option
	// runner is who runs the bootstrap: the bed's admin (the first apply
	// is an administrator's), or the bootstrap role (asBootstrapRole).
	runner *testbed.Bed
}

func newEnv(t *testing.T, withGitHub bool) *env {
	t.Helper()
	bed := testbed.New(t, motoServer.Get(t))
	n := fmt.Sprintf("s%d", seq.Add(1))
	cfg := bootstrap.Named(n)
	cfg.Region = testbed.Region
	if withGitHub {
		cfg.GitHub = &bootstrap.GitHub{Repository: "autonote/autonote", Branch: "main", Role: n + "-deploy"}
	}
	return &env{bed: bed, cfg: cfg}
}

func (e *env) stack(t *testing.T, failAt int) *bootstrap.Stack {
	t.Helper()
	return e.stackWith(t, bootstrap.NewCalls(failAt))
}

func (e *env) stackWith(t *testing.T, calls *bootstrap.Calls) *bootstrap.Stack {
	t.Helper()
	e.calls = calls
	runner := cmp.Or(e.runner, e.bed)
	cfg := runner.Config()
	cfg.APIOptions = append(cfg.APIOptions, e.calls.APIOption)
	s, err := bootstrap.New(bootstrap.NewClients(cfg, runner.Getenv), e.cfg,
		append([]bootstrap.Option{bootstrap.WithAppSecret([]byte(`{"DATABASE_URL":"postgres://db/autonote"}`))}, e.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withBootstrapRole has the stack make the bootstrap role (for the
// bootstrap environment's jobs), as bootstrap.yml needs.
func (e *env) withBootstrapRole() {
	e.cfg.GitHub.BootstrapRole, e.cfg.GitHub.BootstrapEnvironment = e.cfg.Name+"-bootstrap", "bootstrap"
}

// asBootstrapRole runs the next stacks as the bootstrap role, as
// bootstrap.yml does from GitHub once an administrator's apply made it:
// every call is judged against the policy the bootstrap wrote on it.
func (e *env) asBootstrapRole(t *testing.T) {
	t.Helper()
	r, err := e.bed.As(context.Background(), "arn:aws:iam::"+testbed.Account+":role/"+e.cfg.GitHub.BootstrapRole)
	if err != nil {
		t.Fatal(err)
	}
	e.runner = r
}

// applyAsPlanned plans, then applies, as a user does, and fails the test
// when apply did what the plan did not show: each mutating call apply
// makes belongs to a resource the plan showed as created or changed, and a
// change apply reports is worded as the plan worded it. It returns the
// stack that applied.
func (e *env) applyAsPlanned(t *testing.T) *bootstrap.Stack {
	t.Helper()
	ctx := context.Background()
	plan, err := e.stack(t, 0).Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	s := e.stack(t, 0)
	steps, err := s.Apply(ctx, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	checkPlanCoversApply(t, plan, steps, e.calls)
	return s
}

// checkPlanCoversApply holds what apply did (its steps, the mutating
// calls it made for each) to the plan printed before it.
func checkPlanCoversApply(t *testing.T, plan, applied []bootstrap.Step, calls *bootstrap.Calls) {
	t.Helper()
	planned := map[string]bootstrap.Step{}
	for _, st := range plan {
		planned[st.Kind+" "+st.Name] = st
	}
	for step, ops := range calls.ByStep() {
		st, ok := planned[step]
		switch {
		case step == "":
			t.Errorf("apply made %v outside any step of the plan", ops)
		case !ok || st.Action != bootstrap.Create && st.Action != bootstrap.Change:
			t.Errorf("apply made %v for %s, which the plan showed as %q:\n%s", ops, step, st.Action, bootstrap.PlanTable("plan", plan))
		}
	}
	for _, st := range applied {
		if st.Action != bootstrap.Change {
			continue
		}
		if p := planned[st.Kind+" "+st.Name]; "changed: "+p.Detail != st.Detail {
			t.Errorf("apply %s %s: %q; the plan said %q", st.Kind, st.Name, st.Detail, p.Detail)
		}
	}
}

// asAdmin runs the next stacks with the bed's admin credentials.
func (e *env) asAdmin() { e.runner = nil }

// cli runs the aws CLI against the bed: an independent check of what the
// bootstrap made.
func (e *env) cli(t *testing.T, out any, args ...string) {
	t.Helper()
	cmd := exec.Command("aws", append(args, "--output", "json")...)
	cmd.Env = os.Environ()
	for k, v := range e.bed.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	raw, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, raw)
	}
}

func TestFreshApplyMakesTheBaseline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	steps, err := e.stack(t, 0).Apply(ctx, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n := len(steps); n != 20 {
		t.Errorf("apply made %d steps, want 20", n)
	}
	s := e.stack(t, 0)
	out, err := s.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := s.Outputs()

	var vpcs struct {
		Vpcs []struct{ VpcId, CidrBlock string }
	}
	e.cli(t, &vpcs, "ec2", "describe-vpcs", "--filters", "Name=tag:deploy-action:stack,Values="+e.cfg.Name)
	if len(vpcs.Vpcs) != 1 || vpcs.Vpcs[0].CidrBlock != "10.0.0.0/16" {
		t.Fatalf("VPCs = %+v, want one 10.0.0.0/16", vpcs)
	}
	vpc := vpcs.Vpcs[0].VpcId
	for _, attr := range []string{"enableDnsSupport", "enableDnsHostnames"} {
		var a map[string]any
		e.cli(t, &a, "ec2", "describe-vpc-attribute", "--vpc-id", vpc, "--attribute", attr)
		if v, _ := a[strings.ToUpper(attr[:1])+attr[1:]].(map[string]any); v["Value"] != true {
			t.Errorf("%s = %v, want on", attr, a)
		}
	}
	var subnets struct {
		Subnets []struct {
			SubnetId, CidrBlock, AvailabilityZone string
			MapPublicIpOnLaunch                   bool
		}
	}
	e.cli(t, &subnets, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+vpc)
	got := map[string]string{}
	zones := map[string]bool{}
	for _, sn := range subnets.Subnets {
		got[sn.CidrBlock] = fmt.Sprintf("%s public-ip=%v", sn.AvailabilityZone, sn.MapPublicIpOnLaunch)
		zones[sn.AvailabilityZone] = true
	}
	want := map[string]string{
		"10.0.1.0/24": "us-east-1a public-ip=true", "10.0.2.0/24": "us-east-1b public-ip=true",
		"10.0.101.0/24": "us-east-1a public-ip=false", "10.0.102.0/24": "us-east-1b public-ip=false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("subnets = %v, want %v", got, want)
	}
	var igws struct {
		InternetGateways []struct {
			InternetGatewayId string
			Attachments       []struct{ VpcId string }
			Tags              []struct{ Key, Value string }
		}
	}
	e.cli(t, &igws, "ec2", "describe-internet-gateways", "--filters", "Name=attachment.vpc-id,Values="+vpc)
	if len(igws.InternetGateways) != 1 || !slices.ContainsFunc(igws.InternetGateways[0].Tags, func(t struct{ Key, Value string }) bool { return t.Key == "Name" && t.Value == e.cfg.Name+"-igw-1" }) {
		t.Errorf("internet gateways = %+v, want %s-igw-1 attached", igws, e.cfg.Name)
	}
	var rts struct {
		RouteTables []struct {
			RouteTableId string
			Routes       []struct{ DestinationCidrBlock, GatewayId string }
			Associations []struct {
				SubnetId string
				Main     bool
			}
		}
	}
	e.cli(t, &rts, "ec2", "describe-route-tables", "--route-table-ids", o.PublicRouteTableID, o.PrivateRouteTableID)
	for _, rt := range rts.RouteTables {
		public := rt.RouteTableId == o.PublicRouteTableID
		var internet bool
		for _, r := range rt.Routes {
			if r.DestinationCidrBlock == "0.0.0.0/0" {
				internet = r.GatewayId == o.InternetGatewayID
			}
		}
		var assoc []string
		for _, a := range rt.Associations {
			assoc = append(assoc, a.SubnetId)
		}
		wantAssoc := o.PrivateSubnetIDs
		if public {
			wantAssoc = o.PublicSubnetIDs
		}
		slices.Sort(assoc)
		wantSorted := slices.Sorted(slices.Values(wantAssoc))
		if internet != public || !slices.Equal(assoc, wantSorted) {
			t.Errorf("route table %s (public=%v): internet route %v, subnets %v; want %v, %v", rt.RouteTableId, public, internet, assoc, public, wantSorted)
		}
	}
	var sgs struct {
		SecurityGroups []struct {
			IpPermissions []struct {
				IpProtocol       string
				FromPort, ToPort int
				IpRanges         []struct{ CidrIp string }
			}
		}
	}
	e.cli(t, &sgs, "ec2", "describe-security-groups", "--group-ids", o.SecurityGroupID)
	if p := sgs.SecurityGroups[0].IpPermissions; len(p) != 1 || p[0].FromPort != 3000 || p[0].IpRanges[0].CidrIp != "0.0.0.0/0" {
		t.Errorf("ingress = %+v, want TCP 3000 from 0.0.0.0/0", p)
	}
	var role struct {
		Role struct{ AssumeRolePolicyDocument any }
	}
	e.cli(t, &role, "iam", "get-role", "--role-name", e.cfg.ExecutionRole)
	if doc := fmt.Sprint(role.Role.AssumeRolePolicyDocument); !strings.Contains(doc, "ecs-tasks.amazonaws.com") {
		t.Errorf("execution role trust = %s", doc)
	}
	var attached struct{ AttachedPolicies []struct{ PolicyArn string } }
	e.cli(t, &attached, "iam", "list-attached-role-policies", "--role-name", e.cfg.ExecutionRole)
	if len(attached.AttachedPolicies) != 1 || !strings.HasSuffix(attached.AttachedPolicies[0].PolicyArn, "/AmazonECSTaskExecutionRolePolicy") {
		t.Errorf("attached = %+v", attached)
	}
	var inline struct{ PolicyDocument any }
	e.cli(t, &inline, "iam", "get-role-policy", "--role-name", e.cfg.ExecutionRole, "--policy-name", "read-app-secrets")
	if doc := fmt.Sprint(inline.PolicyDocument); !strings.Contains(doc, "secretsmanager:GetSecretValue") || !strings.Contains(doc, o.AppSecretARN) || strings.Contains(doc, "secretsmanager:*") {
		t.Errorf("secret read policy = %s, want GetSecretValue on the app's secrets only", doc)
	}
	var repos struct {
		Repositories []struct {
			ImageTagMutability         string
			ImageScanningConfiguration struct{ ScanOnPush bool }
		}
	}
	e.cli(t, &repos, "ecr", "describe-repositories", "--repository-names", e.cfg.ECRRepository)
	if r := repos.Repositories[0]; r.ImageTagMutability != "IMMUTABLE" || !r.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("repository = %+v", r)
	}
	var lp struct{ LifecyclePolicyText string }
	e.cli(t, &lp, "ecr", "get-lifecycle-policy", "--repository-name", e.cfg.ECRRepository)
	if !strings.Contains(lp.LifecyclePolicyText, `"countNumber":30`) {
		t.Errorf("lifecycle = %s", lp.LifecyclePolicyText)
	}
	var groups struct {
		LogGroups []struct {
			LogGroupName    string
			RetentionInDays int
		}
	}
	e.cli(t, &groups, "logs", "describe-log-groups", "--log-group-name-prefix", e.cfg.LogGroup)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].RetentionInDays != 30 {
		t.Errorf("log groups = %+v", groups)
	}
	var clusters struct {
		Clusters []struct{ CapacityProviders []string }
	}
	e.cli(t, &clusters, "ecs", "describe-clusters", "--clusters", e.cfg.Cluster)
	if len(clusters.Clusters) != 1 || !slices.Contains(clusters.Clusters[0].CapacityProviders, "FARGATE") {
		t.Errorf("clusters = %+v", clusters)
	}
	var td struct {
		TaskDefinition struct {
			NetworkMode, Cpu, Memory string
			ContainerDefinitions     []struct {
				PortMappings     []struct{ ContainerPort int }
				Secrets          []struct{ Name, ValueFrom string }
				LogConfiguration struct{ LogDriver string }
			}
		}
	}
	e.cli(t, &td, "ecs", "describe-task-definition", "--task-definition", e.cfg.Family)
	if c := td.TaskDefinition.ContainerDefinitions[0]; td.TaskDefinition.NetworkMode != "awsvpc" || c.PortMappings[0].ContainerPort != 3000 || len(c.Secrets) != 2 || c.LogConfiguration.LogDriver != "awslogs" {
		t.Errorf("task definition = %+v", td)
	}
	var svcs struct {
		Services []struct {
			DesiredCount            int
			LaunchType              string
			DeploymentConfiguration struct {
				DeploymentCircuitBreaker struct{ Enable, Rollback bool }
			}
			NetworkConfiguration struct {
				AwsvpcConfiguration struct {
					Subnets        []string
					AssignPublicIp string
				}
			}
			Tags []struct{ Key, Value string }
		}
	}
	e.cli(t, &svcs, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service, "--include", "TAGS")
	sv := svcs.Services[0]
	if sv.DesiredCount != 0 || sv.LaunchType != "FARGATE" || !sv.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback ||
		sv.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != "ENABLED" ||
		!slices.Equal(sv.NetworkConfiguration.AwsvpcConfiguration.Subnets, o.PublicSubnetIDs) ||
		!slices.Contains(sv.Tags, struct{ Key, Value string }{"deploy-action:desired-count", "1"}) {
		t.Errorf("service = %+v", sv)
	}
	var deployRole struct {
		Role struct{ AssumeRolePolicyDocument any }
	}
	e.cli(t, &deployRole, "iam", "get-role", "--role-name", e.cfg.GitHub.Role)
	if doc := fmt.Sprint(deployRole.Role.AssumeRolePolicyDocument); !strings.Contains(doc, "repo:autonote/autonote:ref:refs/heads/main") || !strings.Contains(doc, "sts.amazonaws.com") {
		t.Errorf("deploy role trust = %s", doc)
	}
	var deployPolicy struct{ PolicyDocument any }
	e.cli(t, &deployPolicy, "iam", "get-role-policy", "--role-name", e.cfg.GitHub.Role, "--policy-name", "deploy")
	if doc := fmt.Sprint(deployPolicy.PolicyDocument); strings.Contains(doc, `:*`) && strings.Contains(doc, "Action:*") || !strings.Contains(doc, "iam:PassRole") ||
		!strings.Contains(doc, "ecs:ListServices") || !strings.Contains(doc, "ecs:ListServiceDeployments") || !strings.Contains(doc, "ec2:DescribeNetworkInterfaces") || !strings.Contains(doc, "ecr:CreateRepository") || !strings.Contains(doc, "ecs:CreateAction:[RegisterTaskDefinition RunTask]") {
		t.Errorf("deploy policy = %s", doc)
	}
	// Narrowed to what a deploy needs: revisions of its own family are
	// registered (ECS takes no resource for deregistering one), and of the
	// secrets only the API key's value is read, by its name and AWS's six
	// characters.
	if doc := fmt.Sprint(deployPolicy.PolicyDocument); !strings.Contains(doc, "Action:[ecs:RegisterTaskDefinition] Effect:Allow Resource:arn:aws:ecs:"+testbed.Region+":123456789012:task-definition/"+e.cfg.Family+":*") ||
		!strings.Contains(doc, "Action:[secretsmanager:GetSecretValue] Effect:Allow Resource:arn:aws:secretsmanager:"+testbed.Region+":123456789012:secret:"+e.cfg.APIKeySecret+"-??????") ||
		strings.Count(doc, "secretsmanager:GetSecretValue") != 1 {
		t.Errorf("deploy policy is not narrowed to its family and the API key: %s", doc)
	}

	// What IAM cannot narrow is said in the plan, on the deploy role.
	for _, st := range out {
		if st.Kind == "deploy role" && !strings.Contains(st.Detail, "ecs:DeregisterTaskDefinition") {
			t.Errorf("the plan's deploy role says nothing of what IAM cannot narrow: %+v", st)
		}
	}
	// The second apply changes nothing and says so.
	if n := bootstrap.Changes(out); n != 0 {
		t.Errorf("plan after apply has %d changes: %+v", n, out)
	}
	e.applyAsPlanned(t)
	if n := e.calls.Mutating(); n != 0 {
		t.Errorf("second apply made %d mutating calls: %v", n, e.calls.Ops())
	}
}

func TestInterruptedApplyConverges(t *testing.T) {
	t.Parallel()
	converges(t, func(*env) {}, true)
}

// TestInterruptedLoadBalancerApplyConverges: the same with endpoint:
// load-balancer, failing each mutating call (losing answers is left to the
// test above: the load balancer's resources are found by name, as the
// others are, and the run would double this package's time).
func TestInterruptedLoadBalancerApplyConverges(t *testing.T) {
	t.Parallel()
	converges(t, func(e *env) { e.cfg.Endpoint = bootstrap.EndpointLoadBalancer }, false)
}

// TestInterruptedBlueGreenApplyConverges: the same with
// deployment-strategy: blue-green and smoke-path: the alternate target
// group, the infrastructure role, the two listener rules and the
// service's strategy and PAUSE hook are each found again by a re-run, and
// none is made twice.
func TestInterruptedBlueGreenApplyConverges(t *testing.T) {
	t.Parallel()
	converges(t, func(e *env) {
		e.cfg.Endpoint, e.cfg.DeploymentStrategy, e.cfg.SmokePath = bootstrap.EndpointLoadBalancer, bootstrap.StrategyBlueGreen, "/health"
	}, false)
}

// converges fails each mutating call of a fresh apply of the config that
// setup makes (with lose, then loses each one's answer), and checks each
// time that a re-run finishes the baseline and the next plan has nothing
// to do.
func converges(t *testing.T, setup func(*env), lose bool) {
	e := newEnv(t, false)
	setup(e)
	if _, err := e.stack(t, 0).Apply(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	total := e.calls.Mutating()
	if total < 20 {
		t.Fatalf("a fresh apply made %d mutating calls; expected more", total)
	}
	runs := total
	if lose {
		runs = 2 * total
	}
	for k := 1; k <= runs; k++ {
		lose := k > total
		call := (k-1)%total + 1
		name := fmt.Sprint("fail at mutating call ", call)
		if lose {
			name = fmt.Sprint("lose the answer to mutating call ", call)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, false)
			setup(e)
			ctx := context.Background()
			calls := bootstrap.NewCalls(call)
			if lose {
				calls.LoseAnswer()
			}
			if _, err := e.stackWith(t, calls).Apply(ctx, nil); err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("Apply with a failure at %d: %v", call, err)
			}
			e.applyAsPlanned(t)
			s := e.stack(t, 0)
			steps, err := s.Plan(ctx)
			if err != nil || bootstrap.Changes(steps) != 0 {
				t.Fatalf("plan after the re-run: %v %+v", err, steps)
			}
			c := e.bed.Config()
			ec := ec2.NewFromConfig(c)
			vpcs, _ := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:deploy-action:stack"), Values: []string{e.cfg.Name}}}})
			if len(vpcs.Vpcs) != 1 {
				t.Fatalf("%d VPCs, want 1", len(vpcs.Vpcs))
			}
			vpc := vpcs.Vpcs[0].VpcId
			subnets, _ := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpc}}}})
			igws, _ := ec.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: aws.String("tag:deploy-action:stack"), Values: []string{e.cfg.Name}}}})
			n := 0
			pages := secretsmanager.NewListSecretsPaginator(secretsmanager.NewFromConfig(c), &secretsmanager.ListSecretsInput{})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, sec := range page.SecretList {
					if strings.HasPrefix(aws.ToString(sec.Name), e.cfg.Name+"/") {
						n++
					}
				}
			}
			if len(subnets.Subnets) != 4 || len(igws.InternetGateways) != 1 || n != 2 {
				t.Errorf("after the re-run: %d subnets, %d gateways, %d secrets; want 4, 1, 2", len(subnets.Subnets), len(igws.InternetGateways), n)
			}
			if e.cfg.Shifts() {
				listener := s.Outputs().ProductionRuleARN
				listener = strings.Replace(listener[:strings.LastIndex(listener, "/")], ":listener-rule/", ":listener/", 1)
				rules, err := elb.NewFromConfig(c).DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(listener)})
				if err != nil || len(rules.Rules) != 3 {
					t.Errorf("after the re-run, the production listener's rules: %v, %d; want the default, production and test rules", err, len(rules.Rules))
				}
			}
		})
	}
}

func TestDriftIsPlannedAndRepaired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	s := e.applyAsPlanned(t)
	o := s.Outputs()
	c := e.bed.Config()
	if _, err := ec2.NewFromConfig(c).AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(o.SecurityGroupID),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudwatchlogs.NewFromConfig(c).PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(e.cfg.LogGroup), RetentionInDays: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	steps, err := e.stack(t, 0).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, st := range steps {
		if st.Action == bootstrap.Change {
			changes = append(changes, st.Kind+": "+st.Detail)
		}
	}
	want := []string{"log group: retention 3 days, the config says 30", "security group: ingress tcp 22-22 is not in the config"}
	if strings.Join(changes, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan changes:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
	e.applyAsPlanned(t)
	if steps, _ := e.stack(t, 0).Plan(ctx); bootstrap.Changes(steps) != 0 {
		t.Errorf("drift not repaired: %+v", steps)
	}
}

// TestNewAppSecretIsAChange gives a baseline a new APP_SECRET_JSON: plan
// names the keys that differ (never a value), apply writes the secret, and
// the next plan has nothing to do.
func TestNewAppSecretIsAChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	e.applyAsPlanned(t)
	const next = `{"DATABASE_URL":"postgres://db2-host-7f3a/autonote","JWT_SECRET":"s3cr3t-value"}`
	e.opts = []bootstrap.Option{bootstrap.WithAppSecret([]byte(next))}
	steps, err := e.stack(t, 0).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var secret *bootstrap.Step
	for i := range steps {
		if steps[i].Kind == "app secret" && steps[i].Name == e.cfg.AppSecret {
			secret = &steps[i]
		}
	}
	if secret == nil || secret.Action != bootstrap.Change || !strings.Contains(secret.Detail, "adds JWT_SECRET; changes DATABASE_URL") {
		t.Fatalf("plan of the app secret = %+v, want a change naming the keys", secret)
	}
	for _, st := range steps {
		if strings.Contains(st.Line(), "s3cr3t-value") || strings.Contains(st.Line(), "db2-host-7f3a") {
			t.Errorf("plan prints a secret value: %s", st.Line())
		}
	}
	e.applyAsPlanned(t)
	var got struct{ SecretString string }
	e.cli(t, &got, "secretsmanager", "get-secret-value", "--secret-id", e.cfg.AppSecret)
	if got.SecretString != next {
		t.Errorf("secret holds %q after apply, want APP_SECRET_JSON", got.SecretString)
	}
	if steps, err := e.stack(t, 0).Plan(ctx); err != nil || bootstrap.Changes(steps) != 0 {
		t.Errorf("plan after apply: %v, %d changes, want none", err, bootstrap.Changes(steps))
	}
}

// TestBootstrapRoleOnGitHubEnterprise makes the bootstrap's own role for a
// GitHub Enterprise Server: the provider is the server's token issuer, each
// role trusts its own subject, and the bootstrap role may change the
// baseline's roles but never itself.
func TestBootstrapRoleOnGitHubEnterprise(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	const issuer = "github.example.com/_services/token"
	e.cfg.GitHub.TokenURL = "https://" + issuer
	e.cfg.GitHub.BootstrapRole = e.cfg.Name + "-bootstrap"
	e.cfg.GitHub.BootstrapEnvironment = "bootstrap"
	s := e.applyAsPlanned(t)
	o := s.Outputs()
	if !strings.HasSuffix(o.OIDCProviderARN, ":oidc-provider/"+issuer) || o.BootstrapRoleARN == "" {
		t.Fatalf("provider %q, bootstrap role %q; want the enterprise issuer's provider and a role", o.OIDCProviderARN, o.BootstrapRoleARN)
	}
	var role struct {
		Role struct{ AssumeRolePolicyDocument map[string]any }
	}
	e.cli(t, &role, "iam", "get-role", "--role-name", e.cfg.GitHub.BootstrapRole)
	trust, _ := json.Marshal(role.Role.AssumeRolePolicyDocument)
	if !strings.Contains(string(trust), `"`+issuer+`:sub":"repo:autonote/autonote:environment:bootstrap"`) {
		t.Errorf("bootstrap role trusts %s, want the bootstrap environment's jobs through %s", trust, issuer)
	}
	e.cli(t, &role, "iam", "get-role", "--role-name", e.cfg.GitHub.Role)
	trust, _ = json.Marshal(role.Role.AssumeRolePolicyDocument)
	if !strings.Contains(string(trust), `"`+issuer+`:sub":"repo:autonote/autonote:ref:refs/heads/main"`) {
		t.Errorf("deploy role trusts %s, want main's jobs through %s", trust, issuer)
	}
	var policy struct{ PolicyDocument map[string]any }
	e.cli(t, &policy, "iam", "get-role-policy", "--role-name", e.cfg.GitHub.BootstrapRole, "--policy-name", "bootstrap")
	doc, _ := json.Marshal(policy.PolicyDocument)
	for _, want := range []string{"role/" + e.cfg.ExecutionRole, "role/" + e.cfg.GitHub.Role, "iam:PutRolePolicy", e.cfg.ECRRepository, `"aws:ResourceTag/managed-by":"deploy-action-bootstrap"`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("bootstrap policy lacks %s:\n%s", want, doc)
		}
	}
	if strings.Contains(string(doc), "role/"+e.cfg.GitHub.BootstrapRole) {
		t.Errorf("the bootstrap role may change itself:\n%s", doc)
	}
	// It attaches only the managed policies the bootstrap uses, and tags EC2
	// resources only while creating them.
	for _, want := range []string{`"iam:PolicyARN":["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy","arn:aws:iam::aws:policy/SecretsManagerReadWrite","arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"]`,
		`"Action":["ec2:CreateTags"]`, `"ec2:CreateAction":["CreateVpc","CreateSubnet","CreateInternetGateway","CreateRouteTable","CreateSecurityGroup"]`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("bootstrap policy lacks %s:\n%s", want, doc)
		}
	}
	// Every write of a role needs the boundary on it, where IAM can check
	// it; EC2 writes on "*" need the bootstrap's tag; the rest name the
	// baseline's own VPC, subnets and groups.
	boundaryARN := "arn:aws:iam::123456789012:policy/" + e.cfg.Name + "-boundary"
	for _, st := range policy.PolicyDocument["Statement"].([]any) {
		m := st.(map[string]any)
		acts, _ := json.Marshal(m["Action"])
		cond, _ := json.Marshal(m["Condition"])
		res, _ := json.Marshal(m["Resource"])
		if (strings.Contains(string(acts), "iam:AttachRolePolicy") || strings.Contains(string(acts), "ec2:CreateTags")) && m["Condition"] == nil {
			t.Errorf("statement %v allows %s unconditioned", m["Sid"], acts)
		}
		for _, a := range []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"} {
			if strings.Contains(string(acts), `"`+a+`"`) && !strings.Contains(string(cond), `"iam:PermissionsBoundary":"`+boundaryARN+`"`) {
				t.Errorf("statement %v allows %s without the boundary: %s", m["Sid"], a, cond)
			}
		}
		for _, a := range []string{"iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeleteRolePermissionsBoundary", "iam:SetDefaultPolicyVersion"} {
			if strings.Contains(string(acts), `"`+a+`"`) {
				t.Errorf("statement %v allows %s: the role could lift the boundary", m["Sid"], a)
			}
		}
		for _, a := range []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:ModifySubnetAttribute", "ec2:CreateSubnet"} {
			if strings.Contains(string(acts), `"`+a+`"`) && m["Condition"] == nil && (strings.Contains(string(res), "*") || !strings.Contains(string(res), o.VPCID)) {
				t.Errorf("statement %v allows %s on %s with no condition: only the baseline's resources may be named", m["Sid"], a, res)
			}
		}
	}
	// The roles it writes carry the boundary, which allows no IAM write
	// but passing a role to tasks.
	var bounded struct {
		Role struct {
			PermissionsBoundary struct{ PermissionsBoundaryArn string }
		}
	}
	for _, name := range []string{e.cfg.GitHub.Role, e.cfg.ExecutionRole} {
		e.cli(t, &bounded, "iam", "get-role", "--role-name", name)
		if got := bounded.Role.PermissionsBoundary.PermissionsBoundaryArn; got != boundaryARN {
			t.Errorf("role %s has boundary %q, want %s", name, got, boundaryARN)
		}
	}
	var version struct {
		PolicyVersion struct{ Document map[string]any }
	}
	e.cli(t, &version, "iam", "get-policy-version", "--policy-arn", boundaryARN, "--version-id", "v1")
	bdoc, _ := json.Marshal(version.PolicyVersion.Document)
	for _, want := range []string{"ecs:UpdateService", "ecr:PutImage", "secretsmanager:GetSecretValue", "logs:PutLogEvents", `"iam:PassedToService":"ecs-tasks.amazonaws.com"`} {
		if !strings.Contains(string(bdoc), want) {
			t.Errorf("the boundary lacks %s:\n%s", want, bdoc)
		}
	}
	for _, st := range version.PolicyVersion.Document["Statement"].([]any) {
		acts, _ := json.Marshal(st.(map[string]any)["Action"])
		if strings.Contains(string(acts), `*"`) || (strings.Contains(string(acts), `"iam:`) && string(acts) != `["iam:PassRole"]`) {
			t.Errorf("the boundary allows %s", acts)
		}
	}
	// From GitHub, as the bootstrap role: the re-plan and the destroy
	// make only calls its policy allows (the test bed judges each), and
	// destroy leaves the role itself and the boundary to an administrator.
	e.asBootstrapRole(t)
	if steps, err := e.stack(t, 0).Plan(ctx); err != nil || bootstrap.Changes(steps) != 0 {
		t.Errorf("re-plan: %v, %d changes; want none: %+v", err, bootstrap.Changes(steps), steps)
	}
	steps, err := e.stack(t, 0).Destroy(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]string{}
	for _, st := range steps {
		if st.Action == "left" {
			left[st.Kind] = st.Detail
		}
	}
	if !strings.Contains(left["bootstrap role"], "aws iam delete-role --role-name "+e.cfg.GitHub.BootstrapRole) || !strings.Contains(left["permissions boundary"], "admin credentials") ||
		!strings.Contains(left["GitHub OIDC provider"], e.cfg.GitHub.BootstrapRole) || len(left) != 3 {
		t.Errorf("destroy as the bootstrap role left %v; want the role itself, the boundary and the provider it trusts, each with the administrator's commands", left)
	}
	var roles struct{ Roles []struct{ RoleName string } }
	e.cli(t, &roles, "iam", "list-roles")
	for _, r := range roles.Roles {
		if r.RoleName == e.cfg.GitHub.Role || r.RoleName == e.cfg.ExecutionRole {
			t.Errorf("destroy as the bootstrap role left %s", r.RoleName)
		}
	}
	e.asAdmin()
	if _, err := e.stack(t, 0).Destroy(ctx, nil); err != nil {
		t.Fatal(err)
	}
	e.cli(t, &roles, "iam", "list-roles")
	for _, r := range roles.Roles {
		if r.RoleName == e.cfg.GitHub.BootstrapRole {
			t.Error("the administrator's destroy left the bootstrap role")
		}
	}
}

// TestRollbackAlarms puts the config's alarms on the service as deployment
// alarms with rollback; an alarm that does not exist is refused first.
func TestRollbackAlarms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	alarm := e.cfg.Name + "-target-5xx"
	if _, err := cloudwatch.NewFromConfig(e.bed.Config()).PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(alarm), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	e.cfg.RollbackAlarms = []string{alarm, "no-such-alarm"}
	if _, err := e.stack(t, 0).Apply(ctx, nil); err == nil || !strings.Contains(err.Error(), "no CloudWatch alarm no-such-alarm") || e.calls.Mutating() != 0 {
		t.Fatalf("apply with a missing alarm: %v after %d mutating calls, want a refusal before any", err, e.calls.Mutating())
	}
	e.cfg.RollbackAlarms = []string{alarm}
	e.applyAsPlanned(t)
	var svc struct {
		Services []struct {
			DeploymentConfiguration struct {
				Alarms struct {
					AlarmNames       []string
					Enable, Rollback bool
				}
				DeploymentCircuitBreaker struct{ Enable bool }
			}
		}
	}
	e.cli(t, &svc, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service, "--endpoint-url", e.bed.ECSURL)
	if len(svc.Services) != 1 || !slices.Equal(svc.Services[0].DeploymentConfiguration.Alarms.AlarmNames, []string{alarm}) ||
		!svc.Services[0].DeploymentConfiguration.Alarms.Rollback || !svc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker.Enable {
		t.Fatalf("service deployment configuration = %+v, want the alarm with rollback, and the circuit breaker kept", svc)
	}
	if _, err := e.bed.ECS().UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(e.cfg.Cluster), Service: aws.String(e.cfg.Service),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	steps, err := e.stack(t, 0).Plan(ctx)
	if err != nil || bootstrap.Changes(steps) != 1 {
		t.Fatalf("plan after the alarms were taken off: %v, %d changes, want 1", err, bootstrap.Changes(steps))
	}
	e.applyAsPlanned(t)
	if steps, err := e.stack(t, 0).Plan(ctx); err != nil || bootstrap.Changes(steps) != 0 {
		t.Errorf("plan after apply: %v, %d changes, want none", err, bootstrap.Changes(steps))
	}
}

func TestDestroyTakesOnlyWhatItMade(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force-delete-secrets=", force), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, false)
			e.opts = []bootstrap.Option{bootstrap.WithForceDeleteSecrets(force)}
			ctx := context.Background()
			c := e.bed.Config()
			ec := ec2.NewFromConfig(c)
			mine, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
			if err != nil {
				t.Fatal(err)
			}
			e.applyAsPlanned(t)
			steps, err := e.stack(t, 0).Destroy(ctx, nil)
			if err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			if len(steps) != 18 {
				t.Errorf("destroy took %d steps, want 18: %+v", len(steps), steps)
			}
			if _, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(mine.Vpc.VpcId)}}); err != nil {
				t.Errorf("the untagged VPC is gone: %v", err)
			}
			after, err := e.stack(t, 0).Plan(ctx)
			if !force {
				// The secrets wait out their recovery window, and a new apply says so.
				sec, derr := secretsmanager.NewFromConfig(c).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.cfg.AppSecret)})
				if derr != nil || sec.DeletedDate == nil {
					t.Errorf("app secret after destroy: %v, deleted %v; want it scheduled for deletion", derr, sec)
				}
				if err == nil || !strings.Contains(err.Error(), "scheduled for deletion: restore it") {
					t.Errorf("plan after destroy: %v, want the secret's recovery window named", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range after {
				if st.Action != bootstrap.Create {
					t.Errorf("after destroy %s %s still %s", st.Kind, st.Name, st.Action)
				}
			}
		})
	}
}

func TestBadConfigFailsBeforeAnyChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*bootstrap.Config)
		says   string
	}{
		{"overlapping subnets", func(c *bootstrap.Config) { c.PrivateSubnets[0] = "10.0.1.0/25" }, "overlap"},
		{"subnet outside the VPC", func(c *bootstrap.Config) { c.PublicSubnets[1] = "10.1.2.0/24" }, "outside the VPC"},
		{"not a CIDR", func(c *bootstrap.Config) { c.VPCCIDR = "10.0.0.0" }, "is not a CIDR block"},
		{"missing region", func(c *bootstrap.Config) { c.Region = "" }, "no region"},
		{"bad ingress", func(c *bootstrap.Config) { c.IngressCIDRs = []string{"everyone"} }, "ingress-cidrs"},
		{"token url not https", func(c *bootstrap.Config) {
			c.GitHub = &bootstrap.GitHub{Repository: "a/b", Branch: "main", Role: "r", TokenURL: "http://github.example.com/_services/token"}
		}, "github.token-url"},
		{"bootstrap role is the deploy role", func(c *bootstrap.Config) {
			c.GitHub = &bootstrap.GitHub{Repository: "a/b", Branch: "main", Role: "r", BootstrapRole: "r", BootstrapEnvironment: "bootstrap"}
		}, "a role of its own"},
		{"domain without a load balancer", func(c *bootstrap.Config) { c.Domain = "api.autonote.example" }, "domain \"api.autonote.example\" is the name on the load balancer's certificate"},
		{"certificate of another region", func(c *bootstrap.Config) {
			c.Endpoint, c.CertificateARN = bootstrap.EndpointLoadBalancer, "arn:aws:acm:eu-west-1:123456789012:certificate/0f3c"
		}, "certificate-arn is a certificate of eu-west-1, and the load balancer is in us-east-1"},
		{"certificate of the wrong shape", func(c *bootstrap.Config) {
			c.Endpoint, c.CertificateARN = bootstrap.EndpointLoadBalancer, "arn:aws:iam::123456789012:server-certificate/x"
		}, "is not an ACM certificate ARN"},
		{"bootstrap role without an environment", func(c *bootstrap.Config) {
			c.GitHub = &bootstrap.GitHub{Repository: "a/b", Branch: "main", Role: "r", BootstrapRole: "b"}
		}, "github.bootstrap-role \"b\" needs github.bootstrap-environment"},
	}
	for _, tt := range tests {
		cfg := bootstrap.Default()
		cfg.Region = "us-east-1"
		cfg.PublicSubnets = slices.Clone(cfg.PublicSubnets)
		cfg.PrivateSubnets = slices.Clone(cfg.PrivateSubnets)
		tt.mutate(&cfg)
		if _, err := bootstrap.New(bootstrap.Clients{}, cfg); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.says)
		}
	}

	e := newEnv(t, false)
	e.cfg.AvailabilityZones = []string{"us-east-1a", "us-east-1z"}
	_, err := e.stack(t, 0).Apply(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "us-east-1z is not in region us-east-1") || e.calls.Mutating() != 0 {
		t.Errorf("zone the region lacks: %v after %d mutating calls", err, e.calls.Mutating())
	}

	dir := t.TempDir()
	os.WriteFile(dir+"/c.yaml", []byte("vpc-cidr: 10.0.0.0/16\nvpc_name: oops\n"), 0o600)
	if _, err := bootstrap.LoadConfig(dir + "/c.yaml"); err == nil || !strings.Contains(err.Error(), "vpc_name") {
		t.Errorf("unknown key: %v", err)
	}
}
