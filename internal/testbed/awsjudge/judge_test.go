package awsjudge_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/autonote/deploy-action/internal/testbed/awsjudge"
	"github.com/autonote/deploy-action/internal/testbed/awsmodel"
	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

// TestRefusedAsAWSRefuses: a request that breaks AWS's rules never reaches
// the service behind the judge, is answered in the service's own protocol
// (so the SDK reads AWS's error code), and is held against the session of
// the key that signed it; a request nobody's session sent is an orphan.
func TestRefusedAsAWSRefuses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs botocore's service models (the aws CLI's): make test runs it")
	}
	dir, err := awsmodel.FindBotocore()
	if err != nil {
		t.Fatal(err)
	}
	var reached atomic.Int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"services":[],"failures":[]}`))
	})
	j := awsjudge.New("http://127.0.0.1:1", dir, (&iamsim.Lazy{}).Get)
	srv := httptest.NewServer(j.Handler(upstream))
	defer srv.Close()
	session := j.Session("AKIDSESSION")
	cfg := func(key string) aws.Config {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1, Credentials: credentials.NewStaticCredentialsProvider(key, "s", "")}
	}
	ctx := context.Background()

	_, err = ec2.NewFromConfig(cfg("AKIDSESSION")).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("the load balancer's")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterValue" || !strings.Contains(api.ErrorMessage(), "ec2-description") {
		t.Errorf("EC2 refusal = %v, want InvalidParameterValue naming the rule", err)
	}
	if _, err := ecs.NewFromConfig(cfg("AKIDSESSION")).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"s"}}); err != nil {
		t.Errorf("a good request: %v", err)
	}
	_, err = ecs.NewFromConfig(cfg("AKIDSTRANGER")).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("a.b")})
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		t.Errorf("ECS refusal = %v, want ValidationException", err)
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("%d requests reached the service, want the good one alone", n)
	}
	if vs := session.Violations(); len(vs) != 1 || vs[0].Kind != "request" || vs[0].Operation != "ec2:CreateSecurityGroup" {
		t.Errorf("session's violations = %v, want the security group's", vs)
	}
	if vs := j.Orphans(); len(vs) != 1 || vs[0].Operation != "ecs:CreateCluster" {
		t.Errorf("orphans = %v, want the stranger's cluster", vs)
	}
	if st := j.Stats(); st.Requests != 3 || st.Refused != 2 {
		t.Errorf("stats = %+v, want 3 requests, 2 refused", st)
	}
}
