package testbed

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ConsoleNames are the names a person gave the stack in the console.
type ConsoleNames struct {
	Name, ExecutionRole, Repository, LogGroup, Cluster, Family, Service, Container string
}

// Console is what ConsoleNetwork and ConsoleStack made.
type Console struct {
	VPC, Gateway, SecurityGroup string
	Public, Private             []string
	// SecretARN is the app's secret, SecretValue what it holds;
	// TaskDefinition the revision the service runs.
	SecretARN, SecretValue, TaskDefinition string
}

// ConsoleTrust is the trust policy the IAM console writes for an ECS task role.
const ConsoleTrust = `{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func nameTag(kind ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

// ConsoleNetwork makes a VPC as the console's "VPC and more" wizard does:
// console names and no tags of the bootstrap's; 10.0.0.0/16, two public and
// two private subnets in us-east-1a and b, the gateway <name>-igw-1, one
// public route table and one private route table per zone, and a security
// group <name>-sg with TCP 3000 open to the world.
func (b *Bed) ConsoleNetwork(t testing.TB, name string) Console {
	t.Helper()
	ctx := context.Background()
	ec := ec2.NewFromConfig(b.Config())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("build the console network: %v", err)
		}
	}
	var n Console
	v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: nameTag(ec2types.ResourceTypeVpc, name+"-vpc")})
	must(err)
	n.VPC = aws.ToString(v.Vpc.VpcId)
	gw, err := ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: nameTag(ec2types.ResourceTypeInternetGateway, name+"-igw-1")})
	must(err)
	n.Gateway = aws.ToString(gw.InternetGateway.InternetGatewayId)
	_, err = ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(n.Gateway), VpcId: aws.String(n.VPC)})
	must(err)
	publicRT, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.VPC), TagSpecifications: nameTag(ec2types.ResourceTypeRouteTable, name+"-rtb-public")})
	must(err)
	_, err = ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: publicRT.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.Gateway)})
	must(err)
	for i, zone := range []string{"us-east-1a", "us-east-1b"} {
		pub, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.VPC), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(zone),
			TagSpecifications: nameTag(ec2types.ResourceTypeSubnet, fmt.Sprintf("%s-subnet-public%d-%s", name, i+1, zone))})
		must(err)
		priv, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.VPC), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", 101+i)), AvailabilityZone: aws.String(zone),
			TagSpecifications: nameTag(ec2types.ResourceTypeSubnet, fmt.Sprintf("%s-subnet-private%d-%s", name, i+1, zone))})
		must(err)
		n.Public, n.Private = append(n.Public, aws.ToString(pub.Subnet.SubnetId)), append(n.Private, aws.ToString(priv.Subnet.SubnetId))
		_, err = ec.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: pub.Subnet.SubnetId, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
		must(err)
		_, err = ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: publicRT.RouteTable.RouteTableId, SubnetId: pub.Subnet.SubnetId})
		must(err)
		privRT, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.VPC), TagSpecifications: nameTag(ec2types.ResourceTypeRouteTable, fmt.Sprintf("%s-rtb-private%d-%s", name, i+1, zone))})
		must(err)
		_, err = ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: privRT.RouteTable.RouteTableId, SubnetId: priv.Subnet.SubnetId})
		must(err)
	}
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name + "-sg"), VpcId: aws.String(n.VPC), Description: aws.String("allow 3000")})
	must(err)
	n.SecurityGroup = aws.ToString(sg.GroupId)
	_, err = ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3000), ToPort: aws.Int32(3000), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	must(err)
	return n
}

// ConsoleStack makes AutoNote's baseline as it was clicked together: the
// console network, the shared execution role with the console's trust
// policy and both managed policies (AmazonECSTaskExecutionRolePolicy and
// SecretsManagerReadWrite), the app's secret under a name of its own
// (prod/<name>-backend) injected key by key, a mutable repository without a
// lifecycle policy, a log group that keeps logs forever, the cluster, the
// task definition (image <repository URI>:imageTag) and the service on the
// public subnets and the console's group, circuit breaker off.
func (b *Bed) ConsoleStack(t testing.TB, n ConsoleNames, imageTag string) Console {
	t.Helper()
	ctx := context.Background()
	c := b.Config()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("build the console stack: %v", err)
		}
	}
	st := b.ConsoleNetwork(t, n.Name)
	ic := iam.NewFromConfig(c)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n.ExecutionRole), AssumeRolePolicyDocument: aws.String(ConsoleTrust)})
	must(err)
	for _, p := range []string{"service-role/AmazonECSTaskExecutionRolePolicy", "SecretsManagerReadWrite"} {
		_, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(n.ExecutionRole), PolicyArn: aws.String("arn:aws:iam::aws:policy/" + p)})
		must(err)
	}
	st.SecretValue = `{"DATABASE_URL":"postgres://console/autonote","API_KEY":"console-made-key"}`
	sec, err := secretsmanager.NewFromConfig(c).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/" + n.Name + "-backend"), SecretString: aws.String(st.SecretValue)})
	must(err)
	st.SecretARN = aws.ToString(sec.ARN)
	repo, err := ecr.NewFromConfig(c).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n.Repository)})
	must(err)
	_, err = cloudwatchlogs.NewFromConfig(c).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(n.LogGroup)})
	must(err)
	ecsc := b.ECS()
	_, err = ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(n.Cluster)})
	must(err)
	td, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(n.Family), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: role.Role.Arn,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(n.Container), Image: aws.String(aws.ToString(repo.Repository.RepositoryUri) + ":" + imageTag), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(3000)}},
			Secrets: []ecstypes.Secret{
				{Name: aws.String("DATABASE_URL"), ValueFrom: aws.String(st.SecretARN + ":DATABASE_URL::")},
				{Name: aws.String("API_KEY"), ValueFrom: aws.String(st.SecretARN + ":API_KEY::")},
			},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": n.LogGroup, "awslogs-region": Region, "awslogs-stream-prefix": "ecs"}},
		}},
	})
	must(err)
	st.TaskDefinition = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	_, err = ecsc.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(n.Cluster), ServiceName: aws.String(n.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: st.Public, SecurityGroups: []string{st.SecurityGroup}, AssignPublicIp: ecstypes.AssignPublicIpEnabled}},
	})
	must(err)
	return st
}
