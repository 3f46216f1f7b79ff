package awsmodel_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/testbed/awsmodel"
)

// models opens botocore's models, which the aws CLI brings.
func models(t *testing.T) *awsmodel.Models {
	t.Helper()
	if testing.Short() {
		t.Skip("needs botocore's service models (the aws CLI's): make test runs it")
	}
	dir, err := awsmodel.FindBotocore()
	if err != nil {
		t.Fatal(err)
	}
	return awsmodel.Open(dir)
}

// capture serves every request with an empty answer and keeps it, judged.
type capture struct {
	m  *awsmodel.Models
	mu sync.Mutex
	// last request's decoded form and what it broke
	req        *awsmodel.Request
	violations []awsmodel.Violation
	err        error
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := c.m.Decode(r, body)
	c.mu.Lock()
	c.req, c.err, c.violations = req, err, nil
	if err == nil {
		c.violations = awsmodel.Validate(req)
	}
	c.mu.Unlock()
	http.Error(w, "captured", http.StatusTeapot)
}

// newCapture serves a capture and returns it with an SDK configuration
// that sends to it.
func newCapture(t *testing.T) (*capture, aws.Config) {
	t.Helper()
	c := &capture{m: models(t)}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, config(srv.URL)
}

func config(url string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDCAPTURE", "secret", "")}
}

// TestRequestsAgainstAWSRules sends each request with the real SDK and
// judges what reached the wire.
func TestRequestsAgainstAWSRules(t *testing.T) {
	t.Parallel()
	c, cfg := newCapture(t)
	ctx := context.Background()
	tags := []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("managed-by"), Value: aws.String("deploy-action")}}}}
	fargate := func(cpu, mem, family, container string) func() {
		return func() {
			_, _ = ecs.NewFromConfig(cfg).RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), Cpu: aws.String(cpu), Memory: aws.String(mem),
				RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, NetworkMode: ecstypes.NetworkModeAwsvpc,
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String(container), Image: aws.String("x")}}})
		}
	}
	canary := func(percent float64) func() {
		return func() {
			_, _ = ecs.NewFromConfig(cfg).UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("s"), DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
				Strategy: ecstypes.DeploymentStrategyCanary, CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(percent), CanaryBakeTimeInMinutes: aws.Int32(2)}}})
		}
	}
	for _, tc := range []struct {
		name string
		send func()
		want string // the rule broken, "" for none
		path string
	}{
		{"a security group as the bootstrap names it", func() {
			_, _ = ec2.NewFromConfig(cfg).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("autonote-lb"), Description: aws.String("autonote: the load balancer listeners"), VpcId: aws.String("vpc-1"), TagSpecifications: tags})
		}, "", ""},
		{"an apostrophe in a security group's description", func() {
			_, _ = ec2.NewFromConfig(cfg).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("autonote-lb"), Description: aws.String("autonote: the load balancer's listeners"), VpcId: aws.String("vpc-1")})
		}, "ec2-description", "Description"},
		{"a rule's description with an apostrophe", func() {
			_, _ = ec2.NewFromConfig(cfg).AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-1"), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3000), ToPort: aws.Int32(3000),
				IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("the world's")}}}}})
		}, "ec2-description", "IpPermissions[0].IpRanges[0].Description"},
		{"a role name of 65 characters", func() {
			_, _ = iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(strings.Repeat("r", 65)), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
		}, "length", "RoleName"},
		{"a role as the bootstrap makes it", func() {
			_, _ = iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("autonote-deploy"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
				PermissionsBoundary: aws.String("arn:aws:iam::123456789012:policy/autonote-boundary"), Tags: []iamtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("deploy-action")}}})
		}, "", ""},
		{"a space in a role name", func() {
			_, _ = iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("auto note"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
		}, "pattern", "RoleName"},
		{"Fargate 256 with 512", fargate("256", "512", "autonote-server-task", "server"), "", ""},
		{"Fargate 1 vCPU with 3 GB", fargate("1 vCPU", "3 GB", "autonote-server-task", "server"), "", ""},
		{"Fargate 256 with 4096", fargate("256", "4096", "autonote-server-task", "server"), "fargate-size", "cpu"},
		{"Fargate 300", fargate("300", "512", "autonote-server-task", "server"), "fargate-size", "cpu"},
		{"a dot in a family", fargate("256", "512", "autonote.server", "server"), "ecs-name", "family"},
		{"a dot in a container name", fargate("256", "512", "autonote", "api.server"), "ecs-name", "containerDefinitions[0].name"},
		{"a retention of 30 days", func() {
			_, _ = cloudwatchlogs.NewFromConfig(cfg).PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/autonote"), RetentionInDays: aws.Int32(30)})
		}, "", ""},
		{"a retention of 31 days", func() {
			_, _ = cloudwatchlogs.NewFromConfig(cfg).PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/autonote"), RetentionInDays: aws.Int32(31)})
		}, "retention-days", "retentionInDays"},
		{"a space in a log group name", func() {
			_, _ = cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/auto note")})
		}, "pattern", "logGroupName"},
		{"a canary of 10 %", canary(10), "", ""},
		{"a canary of 12.34 %", canary(12.34), "percent-step", "deploymentConfiguration.canaryConfiguration.canaryPercent"},
		{"a target group name of 34 characters", func() {
			_, _ = elb.NewFromConfig(cfg).CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(strings.Repeat("t", 30) + "-tg2")})
		}, "elb-name", "Name"},
		{"a listener rule with a header condition", func() {
			_, _ = elb.NewFromConfig(cfg).CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2"), Priority: aws.Int32(49999),
				Conditions: []elbtypes.RuleCondition{{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Deploy-Test"), Values: []string{"abc"}}}},
				Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1")}}})
		}, "", ""},
		{"a space in a secret name", func() {
			_, _ = secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("autonote/app secret"), SecretString: aws.String("{}")})
		}, "secret-name", "Name"},
		{"an alarm with dimensions", func() {
			_, _ = cloudwatch.NewFromConfig(cfg).PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
				EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), MetricName: aws.String("m"), Namespace: aws.String("AWS/ApplicationELB"), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
				Dimensions: []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/t/1")}}})
		}, "", ""},
		{"an item over 400 KB", func() {
			_, _ = dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]ddbtypes.AttributeValue{
				"pk": &ddbtypes.AttributeValueMemberS{Value: "job"}, "events": &ddbtypes.AttributeValueMemberS{Value: strings.Repeat("<", 410*1024)}}})
		}, "item-size", "Item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.send() // the subtests run in turn: the server keeps the last request
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.err != nil {
				t.Fatalf("decode: %v", c.err)
			}
			var got []string
			for _, v := range c.violations {
				got = append(got, v.Rule+" at "+v.Path)
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("broke %q, want no rule broken (params %v)", got, c.req.Params)
			case tc.want != "" && !contains(got, tc.want+" at "+tc.path):
				t.Errorf("broke %q, want %s at %s (params %v)", got, tc.want, tc.path, c.req.Params)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestQueryDecoding: the parameters of query and EC2 query requests come
// back as the model names them, lists and nested structures included.
func TestQueryDecoding(t *testing.T) {
	t.Parallel()
	c, cfg := newCapture(t)
	ctx := context.Background()
	_, _ = ec2.NewFromConfig(cfg).CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("us-east-1a"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSubnet, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}, {Key: aws.String("k2"), Value: aws.String("v2")}}}}})
	got := fmt.Sprint(c.req.Params)
	want := "map[AvailabilityZone:us-east-1a CidrBlock:10.0.1.0/24 TagSpecifications:[map[ResourceType:subnet Tags:[map[Key:k Value:v] map[Key:k2 Value:v2]]]] VpcId:vpc-1]"
	if got != want || len(c.req.Unknown) > 0 {
		t.Errorf("CreateSubnet decoded as %s (unknown %v), want %s", got, c.req.Unknown, want)
	}
	_, _ = iam.NewFromConfig(cfg).TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []iamtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	if got, want := fmt.Sprint(c.req.Params), "map[RoleName:r Tags:[map[Key:a Value:b]]]"; got != want || c.req.Operation != "TagRole" || c.req.AccessKey != "AKIDCAPTURE" {
		t.Errorf("TagRole decoded as %s %s by %s, want %s", c.req.Operation, got, c.req.AccessKey, want)
	}
}

// TestUnknownAndMissingMembers: a member the input does not have, and a
// required one left out, as a hand-made request would.
func TestUnknownAndMissingMembers(t *testing.T) {
	t.Parallel()
	m := models(t)
	for _, tc := range []struct {
		name, target, body, form string
		want                     []string
	}{
		{"json: unknown", "AmazonEC2ContainerServiceV20141113.DescribeServices", `{"cluster":"c","services":["s"],"servicez":1}`, "", []string{"unknown at servicez"}},
		{"json: missing", "AmazonEC2ContainerServiceV20141113.DescribeServices", `{"cluster":"c"}`, "", []string{"required at services"}},
		{"json: enum", "AmazonEC2ContainerServiceV20141113.ListServices", `{"launchType":"LAMBDA"}`, "", []string{"enum at launchType"}},
		{"query: unknown", "", "", "Action=GetRole&Version=2010-05-08&RoleName=r&RoleNme=r", []string{"unknown at RoleNme"}},
		{"query: missing", "", "", "Action=GetRole&Version=2010-05-08", []string{"required at RoleName"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body + tc.form
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(body))
			svc := "ecs"
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			} else {
				svc = "iam"
			}
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/"+svc+"/aws4_request, SignedHeaders=host, Signature=x")
			req, err := m.Decode(r, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range awsmodel.Validate(req) {
				got = append(got, v.Rule+" at "+v.Path)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("broke %q, want %q", got, tc.want)
			}
		})
	}
}
