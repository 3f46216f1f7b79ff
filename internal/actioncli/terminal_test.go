package actioncli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

var motoServer testbed.LazyMoto

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

// TestTerminalStatus runs "deploy-action status" as a person at a laptop
// would: flags for inputs, the shell's environment for credentials.
func TestTerminalStatus(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(100*time.Millisecond))
	ctx := context.Background()
	sha := testbed.SHA()
	bed.Sim.SetScenario(sha, ecssim.Scenario{Address: "192.0.2.2"})
	svc := testbed.Service{Cluster: "cli", Service: "cli-svc", Family: "cli", DesiredCount: 1, Public: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/autonote/server:" + sha), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}}}}}
	if _, err := bed.Seed(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := bed.WaitStable(ctx, "cli", "cli-svc"); err != nil {
		t.Fatal(err)
	}
	// The person holds the deploy role (the least that reads a status):
	// every call it makes is judged by IAM.
	deployer, err := bed.DeployRole(ctx, svc.Scope())
	if err != nil {
		t.Fatal(err)
	}
	env := deployer.Env()
	env["GITHUB_OUTPUT"] = "/nonexistent/output" // a runner's file left in the shell is not written to
	getenv := func(k string) string { return env[k] }

	var out bytes.Buffer
	if err := Run(ctx, []string{"status", "-cluster", "cli", "-service", "cli-svc", "-aws-region", "us-east-1"}, getenv, &out, "test"); err != nil {
		t.Fatalf("status: %v\n%s", err, out.String())
	}
	// A view to read, not name=value lines and Markdown.
	for _, want := range []string{"== read service", "service cli-svc in cluster cli\n", "  url          http://192.0.2.2:3000\n", "  commit       " + sha + "\n",
		"  tasks        1 running, 0 pending, 1 desired\n", "last deployments\n", "running tasks\n", " 192.0.2.2:3000 ", "latest events\n", "has reached a steady state"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, bad := range []string{"url=http", "| Commit |"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("a terminal's status prints %q, a runner's form:\n%s", bad, out.String())
		}
	}
	// For a script: the JSON alone.
	out.Reset()
	if err := Run(ctx, []string{"status", "-cluster", "cli", "-service", "cli-svc", "-aws-region", "us-east-1", "-output", "json"}, getenv, &out, "test"); err != nil {
		t.Fatalf("status -output json: %v\n%s", err, out.String())
	}
	var st struct {
		Service, Commit, URL string
		Running              int
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.Service != "cli-svc" || st.Commit != sha || st.URL != "http://192.0.2.2:3000" || st.Running != 1 {
		t.Errorf("status -output json: %v, %+v; want only the JSON of what runs:\n%s", err, st, out.String())
	}
	out.Reset()
	if err := Run(ctx, []string{"status", "-output", "yaml"}, getenv, &out, "test"); err == nil || !strings.Contains(err.Error(), `flag -output "yaml": give text or json`) {
		t.Errorf("-output yaml: %v", err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "::") {
			t.Errorf("a workflow command reached the terminal: %q", line)
		}
	}

	// Errors name flags, and credentials advice is a terminal's.
	bed.ExpectDenied("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/clii/cli-svc")
	out.Reset()
	err = Run(ctx, []string{"status", "-cluster", "clii", "-service", "cli-svc", "-aws-region", "us-east-1"}, getenv, &out, "test")
	if err == nil || !strings.Contains(err.Error(), "check flag -cluster and flag -aws-region") || strings.Contains(out.String()+err.Error(), "input") {
		t.Errorf("a wrong -cluster: %v\n%s; want the flags named, no input", err, out.String())
	}
	out.Reset()
	bare := map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "HOME": t.TempDir()}
	err = Run(ctx, []string{"status", "-aws-region", "us-east-1"}, func(k string) string { return bare[k] }, &out, "test")
	if err == nil || !strings.Contains(err.Error(), "AWS_PROFILE") || !strings.Contains(err.Error(), "aws sso login") || strings.Contains(err.Error(), "role-to-assume to a role the workflow") {
		t.Errorf("no credentials in a terminal: %v; want AWS_PROFILE and aws sso login advised", err)
	}
	for _, args := range [][]string{{"destroy"}, {"status", "-no-such-input", "x"}, {"status", "extra"}} {
		out.Reset()
		var usage UsageError
		if err := Run(ctx, args, getenv, &out, "test"); !errors.As(err, &usage) {
			t.Errorf("%q: %v, want a usage error (exit code 2)", args, err)
		}
	}
	out.Reset()
	if err := Run(ctx, []string{"rollback", "-h"}, getenv, &out, "test"); err != nil || !strings.Contains(out.String(), "-sha string") {
		t.Errorf("rollback -h: %v, printed %q; want the flags, sha among them", err, out.String())
	}
}

// TestSecretsNeverFromTheCommandLine: a secret input given as a flag is
// refused without its value repeated, with where to put it instead; the
// environment variable and the -NAME-file flag give it.
func TestSecretsNeverFromTheCommandLine(t *testing.T) {
	t.Parallel()
	const secret = "whsec_c2VjcmV0LXZhbHVlLTEyMzQ1Ng"
	for _, args := range [][]string{{"deploy", "-webhook-secret", secret}, {"deploy", "--webhook-secret=" + secret}, {"deploy", "-github-token", secret}} {
		_, _, err := terminalEnv(args, func(string) string { return "" }, io.Discard, "test")
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "never come from the command line") || !strings.Contains(err.Error(), "-file FILE") {
			t.Errorf("terminalEnv(%q) = %v; want refused, saying where to put it, without the value", args[1], err)
		}
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, _, err := terminalEnv([]string{"deploy", "-webhook-secret-file", file}, func(k string) string {
		return map[string]string{"GITHUB_TOKEN": "ghp_fromenv"}[k]
	}, io.Discard, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := env("INPUT_WEBHOOK-SECRET"); got != secret {
		t.Errorf("webhook-secret from -webhook-secret-file = %q, want the file's", got)
	}
	if got := env("INPUT_GITHUB-TOKEN"); got != "ghp_fromenv" {
		t.Errorf("github-token from GITHUB_TOKEN = %q", got)
	}
	if got := env("INPUT_WEBHOOK-SECRET-FILE"); got != "" {
		t.Errorf("the file flag leaked as an input: %q", got)
	}
}
