package action_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/actioncli"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var motoServer testbed.LazyMoto

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" { // a run a test started (interrupt_test.go)
		actioncli.Main("test")
	}
	flag.Parse()
	os.Exit(motoServer.Run(m))
}

var fastPolling = ecsdeploy.Polling{Fast: 10 * time.Millisecond, Average: 10 * time.Millisecond, Slow: 20 * time.Millisecond}

// world is a seeded service, its images, and the environment a runner
// would give the action.
type world struct {
	bed     *testbed.Bed
	name    string
	repo    string
	env     map[string]string
	firstTD string
	shas    []string
	// logGroup is where the server container's awslogs lines go.
	logGroup string
	// deployRole is the role the action runs as.
	deployRole string
	// hosts routes the tasks' made-up addresses to the test's listeners
	// (the smoke check's dialer).
	hosts testbed.Hosts
}

var (
	worldMu  sync.Mutex
	worldSeq int
)

func newWorld(t *testing.T) *world {
	t.Helper()
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(150*time.Millisecond))
	worldMu.Lock()
	worldSeq++
	name := fmt.Sprintf("action-%d", worldSeq)
	worldMu.Unlock()
	ctx := context.Background()
	w := &world{bed: bed, name: name, repo: "autonote/" + name}
	// The name is this process's alone: "already exists" can only be the
	// SDK retrying this very call after an attempt that landed without a
	// good answer (seen once in CI under load), and the repository is
	// what the fixture wants.
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if _, err := bed.ECR().CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(w.repo)}); err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	for range 3 {
		sha := testbed.SHA()
		if _, err := bed.PushRandomImage(ctx, w.repo, sha); err != nil {
			t.Fatal(err)
		}
		w.shas = append(w.shas, sha)
	}
	// The tasks answer on a loopback address, as the seed's answer on
	// their public IPs; scenarios set later for one image win over this.
	bed.Sim.SetScenario(w.repo+":", ecssim.Scenario{Address: "192.0.2.2"})
	w.logGroup = "/ecs/" + name
	if _, err := cloudwatchlogs.NewFromConfig(bed.Config()).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(w.logGroup)}); err != nil {
		t.Fatal(err)
	}
	svc := testbed.Service{
		Cluster: name, Service: name, Family: name, DesiredCount: 1, CircuitBreaker: true, Rollback: true, Public: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/" + w.repo + ":" + w.shas[0]), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": w.logGroup, "awslogs-region": testbed.Region, "awslogs-stream-prefix": "ecs"}}}},
	}
	var err error
	if w.firstTD, err = bed.Seed(ctx, svc); err != nil {
		t.Fatal(err)
	}
	// The action runs as the deploy role the bootstrap writes for this
	// stack: every call it makes is judged by IAM.
	scope := svc.Scope()
	scope.Repository, scope.LogGroup = w.repo, w.logGroup
	deployer, err := bed.DeployRole(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	w.deployRole = deployer.Role()
	dir := t.TempDir()
	w.env = deployer.Env()
	for k, v := range map[string]string{
		"GITHUB_OUTPUT":        filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY":  filepath.Join(dir, "summary.md"),
		"GITHUB_SHA":           w.shas[1],
		"INPUT_CLUSTER":        name,
		"INPUT_SERVICE":        name,
		"INPUT_REGISTRY":       bed.Registry,
		"INPUT_ECR-REPOSITORY": w.repo,
		"INPUT_TIMEOUT":        "20s",
	} {
		w.env[k] = v
	}
	return w
}

// asAdmin runs the world's next runs with the bed's admin credentials
// instead of the deploy role's.
func (w *world) asAdmin() {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		w.env[k] = w.bed.Env()[k]
	}
}

// runResult is what the runner would show of one action run.
type runResult struct {
	err     error
	log     string
	outputs map[string]string
	summary string
}

func (w *world) run(t *testing.T, inputs map[string]string) runResult {
	t.Helper()
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	if c := inputs["command"]; c == "status" || c == "bootstrap" {
		delete(env, "INPUT_TIMEOUT") // the world's deploys' timeout: these commands take none
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	os.Remove(env["GITHUB_OUTPUT"])
	os.Remove(env["GITHUB_STEP_SUMMARY"])
	var out bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(&out))
	environ := func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	err := action.Run(context.Background(), a, action.WithVersion("test"), action.WithPolling(fastPolling), action.WithEnviron(environ), action.WithSmokeTransport(w.hosts.Transport()))
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	raw, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	return runResult{err: err, log: out.String(), outputs: parseOutputs(t, string(raw)), summary: string(summary)}
}

// parseOutputs reads a GITHUB_OUTPUT file: name<<DELIM, value lines, DELIM.
func parseOutputs(t *testing.T, raw string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(raw, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}

func TestDeploy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.run(t, nil)
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	want := map[string]string{
		"status":                       "succeeded",
		"image-uri":                    w.bed.Registry + "/" + w.repo + ":" + w.shas[1],
		"previous-task-definition-arn": w.firstTD,
	}
	for k, v := range want {
		if r.outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, r.outputs[k], v)
		}
	}
	for _, k := range []string{"image-digest", "task-definition-arn", "deployment-id"} {
		if r.outputs[k] == "" {
			t.Errorf("output %s is empty", k)
		}
	}
	for _, s := range []string{"::group::credentials", "::group::watch rollout", "::endgroup::", "has reached a steady state"} {
		if !strings.Contains(r.log, s) {
			t.Errorf("log lacks %q:\n%s", s, r.log)
		}
	}
	for _, s := range []string{"| Result | succeeded |", "```mermaid", "gantt", "watch rollout"} {
		if !strings.Contains(r.summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, r.summary)
		}
	}
	registryPassword := regexp.MustCompile(`::add-mask::(ecr-[a-z0-9]+)`).FindStringSubmatch(r.log)
	if registryPassword == nil {
		t.Fatalf("the registry's password was never masked:\n%s", r.log)
	}
	assertMasked(t, r.log, registryPassword[1], w.env["AWS_SECRET_ACCESS_KEY"], w.env["AWS_SESSION_TOKEN"])
	if !strings.Contains(r.log, "::notice::registry "+w.bed.Registry+" is used instead of the one ECR reports") ||
		!strings.Contains(r.log, "the execution role must be allowed to pull from it") {
		t.Errorf("the registry input's effect on the task definition goes unsaid:\n%s", r.log)
	}

	again := w.run(t, nil)
	if again.err != nil || again.outputs["status"] != "unchanged" {
		t.Errorf("second run: %v, status %q; want unchanged", again.err, again.outputs["status"])
	}
}

func TestStatusAndRedeploy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	deployed := w.run(t, nil)
	if deployed.err != nil {
		t.Fatalf("deploy: %v\n%s", deployed.err, deployed.log)
	}
	const url = "http://192.0.2.2:3000"
	if deployed.outputs["url"] != url || !strings.Contains(deployed.log, "the API answers at "+url) || !strings.Contains(deployed.summary, "| URL | "+url+" |") {
		t.Errorf("deploy's url output %q, log and summary should all say %s:\n%s\n%s", deployed.outputs["url"], url, deployed.log, deployed.summary)
	}

	updates := w.bed.Sim.Calls()["UpdateService"]
	st := w.run(t, map[string]string{"command": "status"})
	if st.err != nil {
		t.Fatalf("status: %v\n%s", st.err, st.log)
	}
	if n := w.bed.Sim.Calls()["UpdateService"]; n != updates {
		t.Errorf("status updated the service (%d UpdateService calls)", n-updates)
	}
	if st.outputs["status"] != "unchanged" || st.outputs["url"] != url || st.outputs["task-definition-arn"] != deployed.outputs["task-definition-arn"] {
		t.Errorf("status outputs = %v, want unchanged, %s, %s", st.outputs, url, deployed.outputs["task-definition-arn"])
	}
	for _, s := range []string{"| Commit | " + w.shas[1] + " |", "1 running of 1 desired", "### Last deployments", "| SUCCESSFUL |", "✅ stable"} {
		if !strings.Contains(st.summary, s) {
			t.Errorf("status summary lacks %q:\n%s", s, st.summary)
		}
	}
	if strings.Contains(st.log, "::group::registry") {
		t.Errorf("status logged in to the registry, which it does not need:\n%s", st.log)
	}

	again := w.run(t, map[string]string{"command": "redeploy"})
	if again.err != nil {
		t.Fatalf("redeploy: %v\n%s", again.err, again.log)
	}
	if again.outputs["status"] != "succeeded" || again.outputs["task-definition-arn"] != deployed.outputs["task-definition-arn"] ||
		again.outputs["deployment-id"] == deployed.outputs["deployment-id"] || again.outputs["image-uri"] != deployed.outputs["image-uri"] {
		t.Errorf("redeploy outputs = %v; want a new deployment of the same revision and image (%v)", again.outputs, deployed.outputs)
	}
	if !strings.Contains(again.log, "::group::watch rollout") {
		t.Errorf("redeploy did not watch its rollout:\n%s", again.log)
	}
	st = w.run(t, map[string]string{"command": "status"})
	if n := strings.Count(st.summary, "| `"+revision(deployed.outputs["task-definition-arn"])+"` | `"+w.shas[1]+"` | SUCCESSFUL |"); n != 2 {
		t.Errorf("status after the redeploy lists %d successful deployments of the revision, want 2:\n%s", n, st.summary)
	}
}

func revision(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// assertMasked checks that each secret was masked before it could print and
// appears nowhere else.
func assertMasked(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		mask := "::add-mask::" + s
		i := strings.Index(log, mask)
		if i < 0 {
			t.Errorf("secret %q never masked", s)
			continue
		}
		if strings.Contains(log[:i], s) || strings.Contains(strings.ReplaceAll(log, mask, ""), s) {
			t.Errorf("secret %q printed outside its mask", s)
		}
	}
}

// TestShortSHAAsTagNamesTheFullOne: deploy's tag is the full commit SHA
// the workflow tags builds with; a short one is told which tag holds the
// build, and nothing changes.
func TestShortSHAAsTagNamesTheFullOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bed.Sim.ResetCalls()
	r := w.run(t, map[string]string{"tag": w.shas[1][:7]})
	if r.err == nil || !strings.Contains(r.log, ":"+w.shas[1]+": input tag takes the full commit SHA") || strings.Contains(r.log, "push the image first") {
		t.Errorf("deploy of a short SHA: %v\n%s", r.err, r.log)
	}
	if calls := w.bed.Sim.Calls(); calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
		t.Errorf("a refused deploy changed the service: %v", calls)
	}
}

func TestDeployBrokenImageRollsBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bed.Sim.SetScenario(w.shas[2], ecssim.Scenario{Outcome: ecssim.Fail,
		StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref"})
	r := w.run(t, map[string]string{"tag": w.shas[2]})
	if !errors.Is(r.err, action.ErrFailed) {
		t.Fatalf("Run = %v, want ErrFailed", r.err)
	}
	if got := r.outputs["status"]; got != "rolled-back" {
		t.Errorf("status = %q, want rolled-back", got)
	}
	if got := r.outputs["task-definition-arn"]; got != w.firstTD {
		t.Errorf("task-definition-arn = %q, want the previous %q", got, w.firstTD)
	}
	if !strings.Contains(r.log, "::error::deployment ") || !strings.Contains(r.log, "CannotPullContainerError") {
		t.Errorf("log lacks an error annotation with the stopped reason:\n%s", r.log)
	}
	if !strings.Contains(r.summary, "| Stopped reasons | CannotPullContainerError") {
		t.Errorf("summary lacks the stopped reason:\n%s", r.summary)
	}
	if !regexp.MustCompile(`watch rollout \([^)]*\) :crit`).MatchString(r.summary) || regexp.MustCompile(`watch ECS rollback \([^)]*\) :crit`).MatchString(r.summary) {
		t.Errorf("timeline should mark the rollout failed and the rollback done:\n%s", r.summary)
	}
}

// TestCrashShowsTheContainersLastLines: a build that crashes at start is
// sent back, and the run shows why in the app's own words: the last lines
// its container wrote (as data: a line shaped like a workflow command is
// printed, not run), in the log, the error annotation (the last line) and
// the summary, with a link to the whole stream.
func TestCrashShowsTheContainersLastLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	lines := []string{"[Nest] 1  - LOG [NestFactory] Starting Nest application...", "::warning::not a command, a line", "Error: Cannot find module '/app/dist/main'"}
	w.bed.Sim.SetScenario(w.shas[2], ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1), Lines: lines})
	r := w.run(t, map[string]string{"tag": w.shas[2]})
	if !errors.Is(r.err, action.ErrFailed) || r.outputs["status"] != "rolled-back" {
		t.Fatalf("Run = %v, status %q; want rolled back\n%s", r.err, r.outputs["status"], r.log)
	}
	if !strings.Contains(r.log, "::group::last 3 log lines of stopped task") || !strings.Contains(r.log, "Cannot find module '/app/dist/main'") {
		t.Errorf("the log does not show the container's last lines:\n%s", r.log)
	}
	if strings.Contains(r.log, "\n::warning::not a command") {
		t.Errorf("a log line of the app ran as a workflow command:\n%s", r.log)
	}
	if !regexp.MustCompile(`::error::[^\n]*its log: \\?"Error: Cannot find module '/app/dist/main'`).MatchString(r.log) {
		t.Errorf("the error annotation does not give the last log line:\n%s", r.log)
	}
	stream := "ecs/server/"
	if !strings.Contains(r.summary, "<summary>Last 3 log lines of stopped task") || !strings.Contains(r.summary, "Error: Cannot find module") ||
		!strings.Contains(r.summary, "[The whole log stream](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/") ||
		!strings.Contains(r.summary, stream) {
		t.Errorf("the summary does not show the last lines and the stream:\n%s", r.summary)
	}
}

func TestRollbackBySHAPrefix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if r := w.run(t, nil); r.err != nil {
		t.Fatal(r.err)
	}
	r := w.run(t, map[string]string{"command": "rollback", "sha": w.shas[0][:7]})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	if got, want := r.outputs["image-uri"], w.bed.Registry+"/"+w.repo+":"+w.shas[0]; got != want {
		t.Errorf("image-uri = %q, want %q", got, want)
	}
	if r.outputs["status"] != "succeeded" {
		t.Errorf("status = %q, want succeeded", r.outputs["status"])
	}
	if got := r.outputs["task-definition-arn"]; got != w.firstTD {
		t.Errorf("task-definition-arn = %q, want the first revision %q reused", got, w.firstTD)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bed.Sim.ResetCalls()
	r := w.run(t, map[string]string{"dry-run": "true"})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if calls := w.bed.Sim.Calls(); calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
		t.Errorf("dry run called %v", calls)
	}
	if !strings.Contains(r.log, `"containerDefinitions"`) || !strings.Contains(r.log, w.shas[1]) {
		t.Errorf("dry run did not print the task definition with the new image:\n%s", r.log)
	}
	// What would change against the running revision, field by field, in
	// the log and the summary (ecspresso's diff).
	image := "~ containerDefinitions[server].image: "
	if !strings.Contains(r.log, "dry run: changes against the running revision") || !strings.Contains(r.log, image) ||
		!strings.Contains(r.log, w.shas[1]+`"`) || !strings.Contains(r.log, "~ service.taskDefinition: ") {
		t.Errorf("dry run did not show what changes against the running revision:\n%s", r.log)
	}
	if !strings.Contains(r.summary, "<details open><summary>Changes against the running revision</summary>") || !strings.Contains(r.summary, image) {
		t.Errorf("the summary does not show the dry run's changes:\n%s", r.summary)
	}
}

func TestBadInputFailsBeforeAnyChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		name   string
		inputs map[string]string
		env    map[string]string
		says   string
	}{
		{name: "unknown command", inputs: map[string]string{"command": "deploy-everything"}, says: `input command "deploy-everything" is not known: use deploy, rollback, redeploy, status or bootstrap`},
		{name: "timeout not a duration", inputs: map[string]string{"timeout": "soon"}, says: `input timeout "soon" is not a positive duration`},
		{name: "unknown on-rollout-in-progress", inputs: map[string]string{"on-rollout-in-progress": "cancel"}, says: `input on-rollout-in-progress "cancel" is not known: use wait`},
		{name: "webhook-url in plain http to another host", inputs: map[string]string{"webhook-url": "http://hooks.example.com", "webhook-secret": hookSecret}, says: `input webhook-url "http://hooks.example.com": give the hook's https:// address`},
		{name: "wait not a boolean", inputs: map[string]string{"wait": "maybe"}, says: `input wait "maybe" is not a boolean`},
		{name: "a hook target's setting with webhook-url", inputs: map[string]string{"webhook-url": "https://hooks.example.com", "webhook-secret": hookSecret, "fail-after": "3", "smoke-path": "/health"},
			says: "smoke-path, fail-after: the deploy hook's target sets these"},
		{name: "malformed sha", inputs: map[string]string{"command": "rollback", "sha": "xyz"}, says: "give the commit SHA of a build"},
		{name: "rollback without sha", inputs: map[string]string{"command": "rollback"}, says: "command rollback needs the sha input"},
		{name: "sha with no image", inputs: map[string]string{"command": "rollback", "sha": "1234567"}, says: "no image in"},
		{name: "tag with no image", inputs: map[string]string{"tag": "0000000000000000000000000000000000000000"}, says: "push the image first"},
		{name: "unknown service", inputs: map[string]string{"service": "nope"}, says: `service not found "nope"`},
		{name: "unknown cluster", inputs: map[string]string{"cluster": "nope"}, says: `cluster not found "nope"`},
		{name: "container not in the task definition", inputs: map[string]string{"container-name": "web"}, says: "(found: server)"},
		{name: "missing region", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, says: "no AWS region: set the aws-region input"},
		{name: "missing credentials", env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, says: "no AWS credentials"},
		{name: "bootstrap without a config says it plans the defaults", inputs: map[string]string{"command": "bootstrap", "dry-run": "true"},
			env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, says: "::warning::input bootstrap-config is not set: the built-in defaults (those of examples/bootstrap.yaml: stack autonote"},
		{name: "an input the action does not have", inputs: map[string]string{"smoke_path": "/health"}, says: "input smoke_path is not an input of this action: did you mean smoke-path?"},
		{name: "sha on deploy", inputs: map[string]string{"sha": "3484a3f"}, says: "command deploy does not use input sha: deploy deploys the build of tag"},
	}
	// The deploy role may describe its own service alone.
	w.bed.ExpectDenied("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/"+w.name+"/nope")
	w.bed.ExpectDenied("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/nope/"+w.name)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{bed: w.bed, name: w.name, repo: w.repo, firstTD: w.firstTD, shas: w.shas, env: maps.Clone(w.env)}
			maps.Copy(w.env, tt.env)
			w.bed.Sim.ResetCalls()
			r := w.run(t, tt.inputs)
			if r.err == nil {
				t.Fatalf("Run succeeded, want an error saying %q", tt.says)
			}
			if !strings.Contains(r.log, "::error::") || !strings.Contains(r.log, tt.says) {
				t.Errorf("log lacks an error saying %q:\n%s", tt.says, r.log)
			}
			if r.outputs["status"] != "failed" {
				t.Errorf("status = %q, want failed", r.outputs["status"])
			}
			if calls := w.bed.Sim.Calls(); calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
				t.Errorf("changed ECS: %v", calls)
			}
		})
	}
}

func TestRoleToAssumeThroughOIDC(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var audience string
	var mu sync.Mutex
	tokens := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer runner-request-token" {
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		audience = r.URL.Query().Get("audience")
		mu.Unlock()
		fmt.Fprint(rw, `{"value":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmF1dG9ub3RlL2F1dG9ub3RlOnJlZjpyZWZzL2hlYWRzL21haW4ifQ.c2ln"}`)
	}))
	defer tokens.Close()
	w.env["AWS_ACCESS_KEY_ID"], w.env["AWS_SECRET_ACCESS_KEY"], w.env["AWS_SESSION_TOKEN"] = "", "", ""
	w.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = tokens.URL + "/token"
	w.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "runner-request-token"
	w.bed.WebIdentity(w.deployRole)

	r := w.run(t, map[string]string{"role-to-assume": w.deployRole})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	mu.Lock()
	defer mu.Unlock()
	if audience != "sts.amazonaws.com" {
		t.Errorf("token audience = %q, want sts.amazonaws.com", audience)
	}
	assertMasked(t, r.log, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmF1dG9ub3RlL2F1dG9ub3RlOnJlZjpyZWZzL2hlYWRzL21haW4ifQ.c2ln")

	w.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = ""
	r = w.run(t, map[string]string{"role-to-assume": w.deployRole})
	if r.err == nil || !strings.Contains(r.log, "id-token: write") {
		t.Errorf("without a token endpoint: %v, want an error that asks for id-token: write\n%s", r.err, r.log)
	}
}

// ociImage writes a small random image as an OCI layout, as buildx's
// --output type=oci leaves one, and returns its folder.
func ociImage(t *testing.T) (string, v1.Image) {
	t.Helper()
	img, err := random.Image(32<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir, img
}

func TestPushThenDeploy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir, img := ociImage(t)
	sha := testbed.SHA()
	r := w.run(t, map[string]string{"image": "oci:" + dir, "tag": sha})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	want, _ := img.Digest()
	if r.outputs["image-digest"] != want.String() || r.outputs["status"] != "succeeded" {
		t.Errorf("outputs = %v, want digest %s and succeeded", r.outputs, want)
	}
	if !strings.Contains(r.log, "::group::push oci:") || !strings.Contains(r.summary, "| Push | ") {
		t.Errorf("push not reported:\n%s\n%s", r.log, r.summary)
	}

	w.env["INPUT_ECR-REPOSITORY"] = "autonote/never-created"
	w.bed.ExpectDenied("ecr:DescribeRepositories", "arn:aws:ecr:us-east-1:123456789012:repository/autonote/never-created")
	r = w.run(t, map[string]string{"image": "oci:" + dir, "tag": sha})
	if r.err == nil || !strings.Contains(r.log, "bootstrap apply") {
		t.Errorf("push to a missing repository: %v, want an error pointing to the bootstrap\n%s", r.err, r.log)
	}
}

// TestDryRunWithImagePushesNothing: a dry run with an image to push says
// what it would push and sends nothing (a pushed immutable tag could never
// be taken back).
func TestDryRunWithImagePushesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir, img := ociImage(t)
	writes := w.bed.RegistryWrites()
	sha := testbed.SHA()
	r := w.run(t, map[string]string{"image": "oci:" + dir, "tag": sha, "dry-run": "true"})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	if n := w.bed.RegistryWrites() - writes; n != 0 {
		t.Errorf("the dry run made %d writes to the registry, want none", n)
	}
	want, _ := img.Digest()
	if r.outputs["image-digest"] != want.String() || r.outputs["status"] != "unchanged" || !strings.Contains(r.log, "would push oci:"+dir) {
		t.Errorf("outputs = %v, want the digest it would push and unchanged:\n%s", r.outputs, r.log)
	}
}

func TestBootstrapCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.asAdmin() // the first apply is an administrator's
	cfg := filepath.Join(t.TempDir(), "bootstrap.yaml")
	n := w.name + "-boot"
	os.WriteFile(cfg, fmt.Appendf(nil, "name: %s\necr-repository: %s/server\nlog-group: /ecs/%s\ncluster: %s-cluster\nfamily: %s-task\nservice: %s-service\nexecution-role: %s-exec\napp-secret: %s/env\napi-key-secret: %s/api-key\n", n, n, n, n, n, n, n, n, n), 0o600)
	w.env["APP_SECRET_JSON"] = `{"OPENAI_API_KEY":"sk-test-very-secret"}`

	plan := w.run(t, map[string]string{"command": "bootstrap", "bootstrap-config": cfg, "dry-run": "true"})
	if plan.err != nil || plan.outputs["changes"] != "18" || !strings.Contains(plan.summary, "## Bootstrap plan") {
		t.Fatalf("plan: %v, outputs %v\n%s", plan.err, plan.outputs, plan.log)
	}
	if !strings.Contains(plan.log, "::warning::the service's port 3000 is open to the whole internet") {
		t.Errorf("no warning about 0.0.0.0/0:\n%s", plan.log)
	}
	if !strings.Contains(plan.log, "bootstrap plan (dry run: nothing is changed) of "+cfg) || strings.Contains(plan.log, "in cluster") ||
		!strings.Contains(plan.log, "18 of 18 resources to create or change; nothing was changed (dry run)") {
		t.Errorf("the plan's log does not say what it did:\n%s", plan.log)
	}
	apply := w.run(t, map[string]string{"command": "bootstrap", "bootstrap-config": cfg})
	if apply.err != nil || apply.outputs["status"] != "succeeded" || !strings.Contains(apply.outputs["bootstrap"], `"vpcId":"vpc-`) {
		t.Fatalf("apply: %v, outputs %v\n%s", apply.err, apply.outputs, apply.log)
	}
	if !strings.Contains(apply.summary, "flowchart TB") {
		t.Errorf("summary lacks the network diagram:\n%s", apply.summary)
	}
	assertMasked(t, apply.log, `{"OPENAI_API_KEY":"sk-test-very-secret"}`)
	again := w.run(t, map[string]string{"command": "bootstrap", "bootstrap-config": cfg, "dry-run": "true"})
	if again.outputs["changes"] != "0" {
		t.Errorf("plan after apply: %v", again.outputs)
	}
}

// TestRerunAfterAKilledRun is what a re-run meets when the run before it was
// killed right after its UpdateService: that run's rollout in flight.
func TestRerunAfterAKilledRun(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		build   string
		outcome ecssim.Outcome
		status  string
	}{{"good", ecssim.Complete, "succeeded"}, {"broken", ecssim.Fail, "rolled-back"}} {
		t.Run(tt.build, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.bed.Sim.SetScenario(w.shas[1], ecssim.Scenario{Outcome: tt.outcome, After: time.Second, StoppedReason: "Essential container in task exited"})
			ctx := context.Background()
			ecsc := w.bed.ECS()
			w.waitStable(t)
			td, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
				Family: aws.String(w.name), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
				NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(w.bed.Registry + "/" + w.repo + ":" + w.shas[1]), Essential: aws.Bool(true)}},
			})
			if err != nil {
				t.Fatal(err)
			}
			up, err := ecsc.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(w.name), Service: aws.String(w.name), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
			if err != nil {
				t.Fatal(err)
			}
			inFlight := aws.ToString(up.Service.Deployments[0].Id)
			w.bed.Sim.ResetCalls()

			r := w.run(t, nil)
			if r.outputs["status"] != tt.status {
				t.Fatalf("status %q (%v), want %q\n%s", r.outputs["status"], r.err, tt.status, r.log)
			}
			if calls := w.bed.Sim.Calls(); calls["RegisterTaskDefinition"] != 0 {
				t.Errorf("the re-run registered the build again: %v", calls)
			}
			if !strings.Contains(r.log, "already rolling out") || !strings.Contains(r.log, "a failed rollout returns to "+revisionOf(w.firstTD)) {
				t.Errorf("log does not say it watches the rollout in flight and where a failure returns:\n%s", r.log)
			}
			if !strings.Contains(r.summary, "| Rollback target | `"+revisionOf(w.firstTD)+"`, live since ") {
				t.Errorf("summary does not name the rollback target:\n%s", r.summary)
			}
			if tt.build == "good" && (r.outputs["deployment-id"] != inFlight || r.err != nil) {
				t.Errorf("deployment-id %q (%v), want the one in flight %q", r.outputs["deployment-id"], r.err, inFlight)
			}
			if tt.build == "broken" && r.outputs["task-definition-arn"] != w.firstTD {
				t.Errorf("task-definition-arn %q, want the last good %q", r.outputs["task-definition-arn"], w.firstTD)
			}
		})
	}
}

// waitStable waits until the seeded service's one deployment has completed.
func (w *world) waitStable(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.bed.WaitStable(ctx, w.name, w.name); err != nil {
		t.Fatal(err)
	}
}

func revisionOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// TestNoWaitSaysStarted: with wait: false nobody watched the rollout, so
// the run says started, not succeeded.
func TestNoWaitSaysStarted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.run(t, map[string]string{"wait": "false"})
	if r.err != nil || r.outputs["status"] != "started" || r.outputs["deployment-id"] == "" {
		t.Errorf("status %q deployment %q (%v), want started with the deployment it made", r.outputs["status"], r.outputs["deployment-id"], r.err)
	}
	if !strings.Contains(r.summary, "the rollout was not watched") {
		t.Errorf("summary does not say the rollout was not watched:\n%s", r.summary)
	}
}

// TestBootstrapCommandOneRegion: command bootstrap makes the baseline in one
// region. A config and an aws-region that differ are refused before any
// call; a config without a region takes aws-region, task definition too.
func TestBootstrapCommandOneRegion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.asAdmin() // the first apply is an administrator's
	n := w.name + "-region"
	names := fmt.Sprintf("name: %s\necr-repository: %s/server\nlog-group: /ecs/%s\ncluster: %s-cluster\nfamily: %s-task\nservice: %s-service\nexecution-role: %s-exec\napp-secret: %s/env\napi-key-secret: %s/api-key\n", n, n, n, n, n, n, n, n, n)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "us.yaml"), []byte("region: us-east-1\n"+names), 0o600)
	os.WriteFile(filepath.Join(dir, "none.yaml"), []byte(names), 0o600)
	vpcs := func(region string) int {
		out, err := ec2.NewFromConfig(w.bed.Config(), func(o *ec2.Options) { o.Region = region }).DescribeVpcs(context.Background(),
			&ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:deploy-action:stack"), Values: []string{n}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Vpcs)
	}

	split := w.run(t, map[string]string{"command": "bootstrap", "bootstrap-config": filepath.Join(dir, "us.yaml"), "aws-region": "eu-west-1"})
	if split.err == nil || !strings.Contains(split.log, "aws-region eu-west-1 and region us-east-1") {
		t.Errorf("differing regions: %v, want them named\n%s", split.err, split.log)
	}
	if vpcs("eu-west-1")+vpcs("us-east-1") != 0 {
		t.Fatal("a VPC was made although the regions differ")
	}

	one := w.run(t, map[string]string{"command": "bootstrap", "bootstrap-config": filepath.Join(dir, "none.yaml"), "aws-region": "eu-west-1"})
	if one.err != nil {
		t.Fatalf("apply in eu-west-1: %v\n%s", one.err, one.log)
	}
	if vpcs("eu-west-1") != 1 || vpcs("us-east-1") != 0 || !strings.Contains(one.outputs["bootstrap"], `"region":"eu-west-1"`) {
		t.Errorf("VPCs: eu-west-1 %d, us-east-1 %d; outputs %s; want all in eu-west-1", vpcs("eu-west-1"), vpcs("us-east-1"), one.outputs["bootstrap"])
	}
	td, err := ecs.NewFromConfig(w.bed.Config(), func(o *ecs.Options) { o.Region, o.BaseEndpoint = "eu-west-1", aws.String(w.bed.ECSURL) }).
		DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(n + "-task")})
	if err != nil {
		t.Fatal(err)
	}
	if got := td.TaskDefinition.ContainerDefinitions[0].LogConfiguration.Options["awslogs-region"]; got != "eu-west-1" {
		t.Errorf("awslogs-region = %q, want eu-west-1", got)
	}
}
