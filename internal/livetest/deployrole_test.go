//go:build awslive

package livetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/autonote/deploy-action/internal/actioncli"
	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/bootstrap"
)

// TestBlueGreenAsTheDeployRole proves on a real account what the test bed
// judges with an evaluator: a blue/green deploy through its gate (the
// service deployment calls on the service and its deployments) and a
// keep-revisions prune (DeregisterTaskDefinition, which takes no
// resource), made by the terminal with exactly the deploy role's policy and
// boundary. The deploy role trusts GitHub's OIDC tokens alone, so the test
// makes a role of its own with the same documents, trusted by this account,
// and deletes it after. It runs a Fargate task behind a load balancer for
// some minutes (cents).
func TestBlueGreenAsTheDeployRole(t *testing.T) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		t.Fatal("set AWS_REGION (and credentials) to run the live test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	admin, err := awsenv.Load(ctx, region, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	n := fmt.Sprintf("dabg%d", time.Now().Unix()%100000)
	cfg := bootstrap.Named(n)
	cfg.Region, cfg.Endpoint, cfg.DeploymentStrategy, cfg.SmokePath = region, bootstrap.EndpointLoadBalancer, bootstrap.StrategyBlueGreen, "/health"
	cfg.BakeTime = 1
	cfg.VPCCIDR, cfg.PublicSubnets, cfg.PrivateSubnets = "10.251.0.0/16", []string{"10.251.1.0/24", "10.251.2.0/24"}, []string{"10.251.101.0/24", "10.251.102.0/24"}
	cfg.GitHub = &bootstrap.GitHub{Repository: "autonote/autonote", Branch: "main", Role: n + "-deploy"}
	stack := func() *bootstrap.Stack {
		s, err := bootstrap.New(bootstrap.NewClients(admin, os.Getenv), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	iamc := iam.NewFromConfig(admin)
	probe := n + "-probe"
	t.Cleanup(func() {
		_, _ = iamc.DeleteRolePolicy(context.Background(), &iam.DeleteRolePolicyInput{RoleName: aws.String(probe), PolicyName: aws.String("deploy")})
		_, _ = iamc.DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String(probe)})
		if _, err := stack().Destroy(context.Background(), func(s bootstrap.Step) { t.Logf("%s %s %s", s.Action, s.Kind, s.Name) }); err != nil {
			t.Errorf("destroy: %v: remove the resources tagged deploy-action:stack=%s by hand", err, n)
		}
	})
	s := stack()
	if _, err := s.Apply(ctx, func(s bootstrap.Step) { t.Logf("%s %s %s", s.Action, s.Kind, s.Name) }); err != nil {
		t.Fatalf("apply: %v", err)
	}
	o := s.Outputs()

	// A role with the deploy role's own policy and boundary, that these
	// credentials may assume.
	id, err := sts.NewFromConfig(admin).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(cfg.GitHub.Role), PolicyName: aws.String("deploy")})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, aws.ToString(id.Account))
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(probe), AssumeRolePolicyDocument: aws.String(trust), PermissionsBoundary: aws.String(o.BoundaryARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(probe), PolicyName: aws.String("deploy"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	var creds *sts.AssumeRoleOutput
	for range 30 { // IAM takes a few seconds to trust a new role
		creds, err = sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", aws.ToString(id.Account), probe)), RoleSessionName: aws.String("livetest")})
		if err == nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_REGION": region, "AWS_ACCESS_KEY_ID": aws.ToString(creds.Credentials.AccessKeyId),
		"AWS_SECRET_ACCESS_KEY": aws.ToString(creds.Credentials.SecretAccessKey), "AWS_SESSION_TOKEN": aws.ToString(creds.Credentials.SessionToken)}

	image := healthImage(t)
	deploy := func(sha string) string {
		var out bytes.Buffer
		err := actioncli.Run(ctx, []string{"deploy", "-aws-region", region, "-cluster", cfg.Cluster, "-service", cfg.Service, "-ecr-repository", cfg.ECRRepository,
			"-image", "oci:" + image, "-tag", sha, "-smoke-path", "/health", "-keep-revisions", "1", "-timeout", "25m"}, func(k string) string { return env[k] }, &out, "live")
		t.Logf("deploy %s:\n%s", sha[:7], out.String())
		if err != nil {
			t.Fatalf("deploy %s as the deploy role: %v", sha[:7], err)
		}
		return out.String()
	}
	first := deploy(sha())
	second := deploy(sha())
	for _, want := range []string{"POST_TEST_TRAFFIC_SHIFT", "status=succeeded"} {
		if !strings.Contains(second, want) {
			t.Errorf("the second deploy says nothing of %q", want)
		}
	}
	// keep-revisions 1: the revision of the first deploy is deregistered.
	arn := outputValue(first, "task-definition-arn")
	td, err := ecs.NewFromConfig(admin).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil || td.TaskDefinition.Status != "INACTIVE" {
		t.Errorf("the first deploy's revision %s after keep-revisions 1: %v %v, want INACTIVE", arn, err, td)
	}
}

func sha() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// outputValue is a name=value line the terminal prints.
func outputValue(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+"="); ok {
			return v
		}
	}
	return ""
}

// healthImage builds an image whose one binary answers 200 on /health at
// port 3000 (a static Go server on an empty base) as an OCI layout.
func healthImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := "package main\nimport \"net/http\"\nfunc main() {\n\thttp.HandleFunc(\"/health\", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(\"ok\")) })\n\tpanic(http.ListenAndServe(\":3000\", nil))\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, filepath.Join(dir, "main.go"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the health server: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	_ = tw.WriteHeader(&tar.Header{Name: "server", Mode: 0o755, Size: int64(len(b))})
	_, _ = tw.Write(b)
	_ = tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(layerTar.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/server"}, ExposedPorts: map[string]struct{}{"3000/tcp": {}}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "layout")
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return out
}
