package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// asHook makes the test binary the hook itself when the test runs it as
// a child process: a replica that can be killed with SIGKILL.
const asHook = "DEPLOY_HOOK_TEST_AS_MAIN"

// startReplica runs the hook as a separate process (this test binary, as
// main), and waits for /healthz.
func startReplica(t *testing.T, env map[string]string, cfgFile string, extra ...string) (string, *exec.Cmd, *testbed.SyncBuffer) {
	t.Helper()
	return startHookProcess(t, os.Args[0], env, cfgFile, extra...)
}

// startHookProcess runs bin (the test binary as main, or a build of the
// hook) with the config and flags, and waits for /healthz.
func startHookProcess(t *testing.T, bin string, env map[string]string, cfgFile string, extra ...string) (string, *exec.Cmd, *testbed.SyncBuffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, append([]string{"-config", cfgFile, "-addr", addr, "-metrics-addr", ""}, extra...)...)
	cmd.Env = []string{asHook + "=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &testbed.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + addr, cmd, out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never healthy:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getJob reads a job through a replica.
func getJob(t *testing.T, base, id string) deployhook.Job {
	t.Helper()
	resp := signed(t, http.MethodGet, base+"/v1/deployments/"+id, "")
	defer resp.Body.Close()
	var j deployhook.Job
	_ = json.NewDecoder(resp.Body).Decode(&j)
	return j
}

// waitEvent waits until a job's events hold want.
func waitEvent(t *testing.T, base, id, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j := getJob(t, base, id)
		if slices.ContainsFunc(j.Events, func(e string) bool { return strings.Contains(e, want) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never said %q: %+v", id, want, j)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// TestKilledReplicasJobsAreCarriedOn kills (SIGKILL) the only replica while
// it runs one deploy and has another queued behind it, then starts a new
// replica: the new one takes both over from the table, carries the running
// deploy on from what ECS shows (one registration and one UpdateService for
// it, no second deploy), runs the queued one, and GitHub hears the end. The
// same with a broken build ends rolled back on the last stable revision.
func TestKilledReplicasJobsAreCarriedOn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outcome ecssim.Outcome
		want    deployhook.State
		github  string
	}{
		{"good build", ecssim.Complete, deployhook.StateSucceeded, "success"},
		{"broken build", ecssim.Fail, deployhook.StateRolledBack, "failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			carryOn(t, tc.outcome, tc.want, tc.github)
		})
	}
}

func carryOn(t *testing.T, outcome ecssim.Outcome, want deployhook.State, githubState string) {
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(4*time.Second))
	ctx := context.Background()
	db, table, err := bed.HookTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := "carry-" + table
	build, queued := testbed.SHA(), testbed.SHA()
	for _, sha := range []string{"first", build, queued} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	if outcome == ecssim.Fail {
		bed.Sim.SetScenario(build, ecssim.Scenario{Outcome: ecssim.Fail, After: 3 * time.Second, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1)})
	}
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: name, Service: name, Family: name, DesiredCount: 1,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/autonote/server:first"), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	ecsc := bed.ECS()
	stable := serviceTaskDefinition(t, ecsc, name)

	gh := testbed.NewGitHubAPI(t, func(string, string) bool { return true })
	cfgFile := filepath.Join(t.TempDir(), "hook.yaml")
	cfg := fmt.Sprintf(`targets:
  production: {region: us-east-1, cluster: %s, service: %s, ecr-repository: autonote/server, registry: %q}
github:
  repositories: [Codertocat/Hello-World]
  environments: {production: production}
  branch: master
`, name, name, bed.Registry)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const githubSecret = "carry-on-github-secret"
	leases := []string{"-dynamodb-table", table, "-lease", "1500ms", "-heartbeat", "250ms", "-grace", "1s"}
	env := hookRole(t, bed, cfgFile, leases).Env() // both replicas run as the hook's role
	env["DEPLOY_HOOK_SECRETS"], env["GITHUB_WEBHOOK_SECRET"], env["GITHUB_TOKEN"], env["GITHUB_API_URL"] = secret, githubSecret, "test-token", gh.URL
	bed.Sim.ResetCalls()

	a, replicaA, _ := startReplica(t, env, cfgFile, append(leases, "-replica-id", "replica-a")...)
	body := testbed.GitHubPayload(t, "deployment.json", testbed.SetJSON("deployment.sha", build))
	req, _ := http.NewRequest(http.MethodPost, a+"/github", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "deployment")
	req.Header.Set("X-GitHub-Delivery", "delivery-"+name)
	m := hmac.New(sha256.New, []byte(githubSecret))
	m.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&first)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || first.ID == "" {
		t.Fatalf("deployment event: %s", resp.Status)
	}
	second := postDeploy(t, a, queued)
	waitEvent(t, a, first.ID, "phase: watch rollout")
	if err := replicaA.Process.Kill(); err != nil { // SIGKILL: no shutdown, no word to the table
		t.Fatal(err)
	}
	_ = replicaA.Wait()
	if j := getJobFromTable(t, db, table, first.ID); j.State != deployhook.StateRunning || j.Holder != "replica-a" {
		t.Fatalf("after the kill the table holds %s by %q, want running by replica-a", j.State, j.Holder)
	}

	// No replica is left; a new one starts a while later.
	time.Sleep(500 * time.Millisecond)
	b, _, logB := startReplica(t, env, cfgFile, append(leases, "-replica-id", "replica-b")...)
	one := waitFinal(t, b, first.ID)
	two := waitFinal(t, b, second)
	if one.State != want || one.Holder != "replica-b" || !slices.ContainsFunc(one.Events, func(e string) bool {
		return strings.Contains(e, "taken over by replica replica-b from replica replica-a")
	}) {
		t.Errorf("the killed replica's running job ended %s held by %q (want %s by replica-b, saying it was taken over): %+v\n%s", one.State, one.Holder, want, one, logB.String())
	}
	if two.State != deployhook.StateSucceeded || !slices.ContainsFunc(two.Events, func(e string) bool { return strings.Contains(e, "taken over") }) {
		t.Errorf("the queued job ended %s: %+v", two.State, two)
	}
	t.Logf("the job carried on: %s", strings.Join(one.Events, "\n"))
	calls := bed.Sim.Calls()
	if calls["RegisterTaskDefinition"] != 2 || calls["UpdateService"] > 2+boolInt(outcome == ecssim.Fail) {
		t.Errorf("simulator calls %v: want one registration and one UpdateService per job (and one more to roll the broken build back), never the carried-on build twice", calls)
	}
	if want == deployhook.StateRolledBack && one.TaskDefinition != stable {
		t.Errorf("rolled back to %q, want the last stable revision %s", one.TaskDefinition, stable)
	}
	var last string
	for _, st := range gh.Statuses() {
		if strings.Contains(st, "/deployments/145988746/statuses") {
			last = st
		}
	}
	if !strings.Contains(last, " "+githubState+" ") {
		t.Errorf("GitHub's last status is %q, want %s:\n%v", last, githubState, gh.Statuses())
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// postDeploy asks a replica for a deploy and returns the job's id.
func postDeploy(t *testing.T, base, sha string) string {
	t.Helper()
	resp := signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+sha+`"}`)
	defer resp.Body.Close()
	var accepted struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/deployments = %s", resp.Status)
	}
	return accepted.ID
}

// waitFinal waits until a job ends, read through a replica. The deadline
// guards against a hang, not a pace: a job behind another one on a loaded
// machine (four test packages at once) took over 40 s.
func waitFinal(t *testing.T, base, id string) deployhook.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j := getJob(t, base, id)
		if j.ID == id && j.State.Done() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s: %+v", id, j.State, j)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// getJobFromTable reads a job as the table holds it.
func getJobFromTable(t *testing.T, db *dynamodb.Client, table, id string) deployhook.Job {
	t.Helper()
	j, ok, err := deployhook.NewDynamoStore(db, table).GetJob(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("job %s is not in the table: %v", id, err)
	}
	return j
}

func serviceTaskDefinition(t *testing.T, ecsc *ecs.Client, name string) string {
	t.Helper()
	out, err := ecsc.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(name), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe service: %v", err)
	}
	return aws.ToString(out.Services[0].TaskDefinition)
}
