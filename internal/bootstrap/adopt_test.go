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
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// consoleNetwork is a VPC as the console's "VPC and more" wizard makes it:
// console names, no tags of ours, one private route table per zone.
type consoleNetwork struct {
	vpc, gateway, securityGroup string
	public, private             []string
}

func nameTag(kind ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

func buildConsoleNetwork(t *testing.T, c aws.Config, name string) consoleNetwork {
	t.Helper()
	ctx := context.Background()
	ec := ec2.NewFromConfig(c)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var n consoleNetwork
	v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: nameTag(ec2types.ResourceTypeVpc, name+"-vpc")})
	must(err)
	n.vpc = aws.ToString(v.Vpc.VpcId)
	gw, err := ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: nameTag(ec2types.ResourceTypeInternetGateway, name+"-igw-1")})
	must(err)
	n.gateway = aws.ToString(gw.InternetGateway.InternetGatewayId)
	_, err = ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(n.gateway), VpcId: aws.String(n.vpc)})
	must(err)
	publicRT, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.vpc), TagSpecifications: nameTag(ec2types.ResourceTypeRouteTable, name+"-rtb-public")})
	must(err)
	_, err = ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: publicRT.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.gateway)})
	must(err)
	for i, zone := range []string{"us-east-1a", "us-east-1b"} {
		pub, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.vpc), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(zone),
			TagSpecifications: nameTag(ec2types.ResourceTypeSubnet, fmt.Sprintf("%s-subnet-public%d-%s", name, i+1, zone))})
		must(err)
		priv, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.vpc), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", 101+i)), AvailabilityZone: aws.String(zone),
			TagSpecifications: nameTag(ec2types.ResourceTypeSubnet, fmt.Sprintf("%s-subnet-private%d-%s", name, i+1, zone))})
		must(err)
		n.public, n.private = append(n.public, aws.ToString(pub.Subnet.SubnetId)), append(n.private, aws.ToString(priv.Subnet.SubnetId))
		_, err = ec.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: pub.Subnet.SubnetId, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
		must(err)
		_, err = ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: publicRT.RouteTable.RouteTableId, SubnetId: pub.Subnet.SubnetId})
		must(err)
		privRT, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.vpc), TagSpecifications: nameTag(ec2types.ResourceTypeRouteTable, fmt.Sprintf("%s-rtb-private%d-%s", name, i+1, zone))})
		must(err)
		_, err = ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: privRT.RouteTable.RouteTableId, SubnetId: priv.Subnet.SubnetId})
		must(err)
	}
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name + "-sg"), VpcId: aws.String(n.vpc), Description: aws.String("allow 3000")})
	must(err)
	n.securityGroup = aws.ToString(sg.GroupId)
	_, err = ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3000), ToPort: aws.Int32(3000), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	must(err)
	return n
}

// consoleTrust is the trust policy the IAM console writes for an ECS task role.
const consoleTrust = `{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// consoleStack is AutoNote's baseline as it was clicked together: the
// network, the shared execution role with both managed policies, the app's
// secret under a name of its own injected key by key, a mutable repository
// without a lifecycle policy, a log group that keeps logs forever, the
// cluster, the task definition and the service, on cfg's names.
type consoleStack struct {
	consoleNetwork
	secretARN, secretValue, taskDefinition string
}

func buildConsoleStack(t *testing.T, bed *testbed.Bed, cfg bootstrap.Config, imageTag string) consoleStack {
	t.Helper()
	ctx := context.Background()
	c := bed.Config()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	st := consoleStack{consoleNetwork: buildConsoleNetwork(t, c, cfg.Name)}
	ic := iam.NewFromConfig(c)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(cfg.ExecutionRole), AssumeRolePolicyDocument: aws.String(consoleTrust)})
	must(err)
	for _, p := range []string{"service-role/AmazonECSTaskExecutionRolePolicy", "SecretsManagerReadWrite"} {
		_, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(cfg.ExecutionRole), PolicyArn: aws.String("arn:aws:iam::aws:policy/" + p)})
		must(err)
	}
	st.secretValue = `{"DATABASE_URL":"postgres://console/autonote","API_KEY":"console-made-key"}`
	sec, err := secretsmanager.NewFromConfig(c).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/" + cfg.Name + "-backend"), SecretString: aws.String(st.secretValue)})
	must(err)
	st.secretARN = aws.ToString(sec.ARN)
	repo, err := ecr.NewFromConfig(c).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(cfg.ECRRepository)})
	must(err)
	_, err = cloudwatchlogs.NewFromConfig(c).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(cfg.LogGroup)})
	must(err)
	ecsc := bed.ECS()
	_, err = ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cfg.Cluster)})
	must(err)
	td, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(cfg.Family), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: role.Role.Arn,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(cfg.Container), Image: aws.String(aws.ToString(repo.Repository.RepositoryUri) + ":" + imageTag), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(3000)}},
			Secrets: []ecstypes.Secret{
				{Name: aws.String("DATABASE_URL"), ValueFrom: aws.String(st.secretARN + ":DATABASE_URL::")},
				{Name: aws.String("API_KEY"), ValueFrom: aws.String(st.secretARN + ":API_KEY::")},
			},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": cfg.LogGroup, "awslogs-region": testbed.Region, "awslogs-stream-prefix": "ecs"}},
		}},
	})
	must(err)
	st.taskDefinition = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	_, err = ecsc.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(cfg.Cluster), ServiceName: aws.String(cfg.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: st.public, SecurityGroups: []string{st.securityGroup}, AssignPublicIp: ecstypes.AssignPublicIpEnabled}},
	})
	must(err)
	return st
}

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
	m, err := testbed.StartMoto(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	bed, err := testbed.Start(m, ecssim.WithDuration(150*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bed.Close)
	cfg, err := bootstrap.LoadConfig("../../examples/bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shaBefore, shaNext := testbed.SHA(), testbed.SHA()
	console := buildConsoleStack(t, bed, cfg, shaBefore)
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
	if want := []string{"create GitHub OIDC provider", "create deploy role"}; !slices.Equal(changes, want) {
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
	if got := byKind["vpc autonote-vpc 10.0.0.0/16"].ID; got != console.vpc {
		t.Errorf("adopted VPC %s, want the console's %s", got, console.vpc)
	}
	advice := strings.Join(bootstrap.Advice(steps), "\n")
	for _, want := range []string{"SecretsManagerReadWrite lets every task", "port 3000 is open to the whole internet", "tags are mutable",
		"no lifecycle rule keeping the newest 30 images", "no retention", "circuit breaker is off", "aws ecr put-image-tag-mutability --repository-name autonote/server"} {
		if !strings.Contains(advice, want) {
			t.Errorf("advice lacks %q:\n%s", want, advice)
		}
	}

	// Apply: the only mutating calls make the OIDC provider and the deploy role.
	s := e.stack(t, 0)
	if _, err := s.Apply(ctx, nil); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got, want := mutatingOps(e.calls), []string{"IAM:CreateOpenIDConnectProvider", "IAM:CreateRole", "IAM:PutRolePolicy"}; !slices.Equal(got, want) {
		t.Errorf("apply's mutating calls = %v, want %v", got, want)
	}
	var vpcs struct{ Vpcs []struct{ VpcId string } }
	e.cli(t, &vpcs, "ec2", "describe-vpcs", "--filters", "Name=cidr-block,Values=10.0.0.0/16")
	var igws struct {
		InternetGateways []struct{ InternetGatewayId string }
	}
	e.cli(t, &igws, "ec2", "describe-internet-gateways")
	var subnets struct{ Subnets []struct{ SubnetId string } }
	e.cli(t, &subnets, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+console.vpc)
	var sgs struct{ SecurityGroups []struct{ GroupName string } }
	e.cli(t, &sgs, "ec2", "describe-security-groups", "--filters", "Name=vpc-id,Values="+console.vpc)
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
	e.cli(t, &value, "secretsmanager", "get-secret-value", "--secret-id", console.secretARN)
	if value.SecretString != console.secretValue {
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
	if nc := svcs.Services[0].NetworkConfiguration.AwsvpcConfiguration; !slices.Equal(nc.Subnets, console.public) || !slices.Equal(nc.SecurityGroups, []string{console.securityGroup}) ||
		svcs.Services[0].TaskDefinition != console.taskDefinition {
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
	if !slices.Contains(o.Resources, bootstrap.Resource{Kind: "vpc", Name: "autonote-vpc 10.0.0.0/16", ID: console.vpc, Owner: bootstrap.OwnerAdopted}) ||
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
	if err := action.Run(ctx, a, action.Options{Version: "test", Polling: fast}); err != nil {
		t.Fatalf("deploy to the adopted stack: %v\n%s", err, log.String())
	}
	out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	if !strings.Contains(string(out), "succeeded") {
		t.Errorf("action outputs:\n%s", out)
	}

	gone, err := e.stack(t, 0).Destroy(ctx, nil)
	if err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	var deleted []string
	for _, st := range gone {
		if st.Action == "deleted" {
			deleted = append(deleted, st.Kind)
		}
	}
	slices.Sort(deleted)
	if want := []string{"GitHub OIDC provider", "deploy role"}; !slices.Equal(deleted, want) {
		t.Errorf("destroy deleted %v, want only %v", deleted, want)
	}
}

// TestAdoptHalfMadeStack: the console's network, but no cluster or service
// yet. The bootstrap adopts the network and makes the rest inside it.
func TestAdoptHalfMadeStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	net := buildConsoleNetwork(t, e.bed.Config(), e.cfg.Name)
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
	if o.VPCID != net.vpc || !slices.Equal(o.PublicSubnetIDs, net.public) || !slices.Equal(o.PrivateSubnetIDs, net.private) {
		t.Errorf("outputs VPC %s subnets %v %v, want the console's %s %v %v", o.VPCID, o.PublicSubnetIDs, o.PrivateSubnetIDs, net.vpc, net.public, net.private)
	}
	var svcs struct {
		Services []struct {
			NetworkConfiguration struct{ AwsvpcConfiguration struct{ Subnets []string } }
		}
	}
	e.cli(t, &svcs, "ecs", "describe-services", "--cluster", e.cfg.Cluster, "--services", e.cfg.Service)
	if got := svcs.Services[0].NetworkConfiguration.AwsvpcConfiguration.Subnets; !slices.Equal(got, net.public) {
		t.Errorf("the new service runs in %v, want the console's public subnets %v", got, net.public)
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
	e.cli(t, &vpcs, "ec2", "describe-vpcs", "--vpc-ids", net.vpc)
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
		v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: nameTag(ec2types.ResourceTypeVpc, e.cfg.Name+"-vpc")})
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
