// Package awsenv loads the AWS configuration of a run from the environment
// the tool was handed, not the process's: the action's inputs arrive that
// way, and tests hand each run an environment of its own.
package awsenv

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Load builds an aws.Config for region: static keys when getenv has them,
// the SDK's default chain otherwise; AWS_ENDPOINT_URL, the shared config
// files and AWS_EC2_METADATA_DISABLED as getenv says; five attempts per call.
func Load(ctx context.Context, region string, getenv func(string) string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithRetryMaxAttempts(5)}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		opts = append(opts, config.WithBaseEndpoint(u))
	}
	if strings.EqualFold(getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if f := getenv("AWS_CONFIG_FILE"); f != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{f}))
	}
	if f := getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{f}))
	}
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts, extra...)...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// Endpoint is AWS_ENDPOINT_URL_<SERVICE> from getenv, nil when unset; set
// it as the client's BaseEndpoint.
func Endpoint(getenv func(string) string, service string) *string {
	if u := getenv("AWS_ENDPOINT_URL_" + service); u != "" {
		return aws.String(u)
	}
	return nil
}

// EndpointOr is AWS_ENDPOINT_URL_<SERVICE> from getenv, else base (the
// client's BaseEndpoint so far): o.BaseEndpoint = EndpointOr(getenv, "ECS", o.BaseEndpoint).
func EndpointOr(getenv func(string) string, service string, base *string) *string {
	if u := Endpoint(getenv, service); u != nil {
		return u
	}
	return base
}

// SDK is one client of every AWS service the tools call, each at the
// endpoint AWS_ENDPOINT_URL_<SERVICE> in getenv names when it does (the
// test bed: moto, the ECS simulator), else the SDK's. Making one costs no
// call; each front end keeps the ones it uses.
type SDK struct {
	ECS        *ecs.Client
	ECR        *ecr.Client
	EC2        *ec2.Client
	IAM        *iam.Client
	Secrets    *secretsmanager.Client
	Logs       *cloudwatchlogs.Client
	CloudWatch *cloudwatch.Client
	ELB        *elb.Client
	DynamoDB   *dynamodb.Client
	STS        *sts.Client
}

// NewSDK makes the clients of cfg.
func NewSDK(cfg aws.Config, getenv func(string) string) SDK {
	at := func(service string, base *string) *string { return EndpointOr(getenv, service, base) }
	return SDK{
		ECS:        ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = at("ECS", o.BaseEndpoint) }),
		ECR:        ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = at("ECR", o.BaseEndpoint) }),
		EC2:        ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = at("EC2", o.BaseEndpoint) }),
		IAM:        iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = at("IAM", o.BaseEndpoint) }),
		Secrets:    secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = at("SECRETS_MANAGER", o.BaseEndpoint) }),
		Logs:       cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = at("CLOUDWATCH_LOGS", o.BaseEndpoint) }),
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = at("CLOUDWATCH", o.BaseEndpoint) }),
		ELB:        elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = at("ELASTIC_LOAD_BALANCING_V2", o.BaseEndpoint) }),
		DynamoDB:   dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = at("DYNAMODB", o.BaseEndpoint) }),
		STS:        sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = at("STS", o.BaseEndpoint) }),
	}
}
