package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/autonote/deploy-action/internal/testbed"
)

var motoServer = testbed.LazyMoto{Size: 2}

func TestMain(m *testing.M) {
	if os.Getenv(asHook) == "1" { // a replica a test started (takeover_test.go)
		if ahead, err := time.ParseDuration(os.Getenv(clockAhead)); err == nil {
			clock = func() time.Time { return time.Now().Add(ahead) }
		}
		main()
		return
	}
	os.Exit(motoServer.Run(m))
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// startHook runs the hook as main does, against the test bed, and waits
// for /healthz.
func startHook(t *testing.T, bed *testbed.Bed, cluster string, extra ...string) (string, context.CancelFunc, chan error, *testbed.SyncBuffer) {
	t.Helper()
	cfg := fmt.Sprintf(`targets:
  production:
    region: us-east-1
    cluster: %s
    service: %s
    ecr-repository: autonote/server
    registry: %s
`, cluster, cluster, bed.Registry)
	return startHookWith(t, bed, cfg, map[string]string{"DEPLOY_HOOK_SECRETS": secret}, extra...)
}

// startHookWith runs the hook with a config and secrets of the test's own.
func startHookWith(t *testing.T, bed *testbed.Bed, cfg string, secrets map[string]string, extra ...string) (string, context.CancelFunc, chan error, *testbed.SyncBuffer) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "hook.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The hook runs as its role: each target's deploy policy and, with a
	// shared table, the jobs policy of docs/deploy-hook.md.
	env := hookRole(t, bed, file, extra).Env()
	for k, v := range secrets {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testbed.SyncBuffer{}
	done := make(chan error, 1)
	args := append([]string{"-config", file, "-addr", addr, "-grace", "30s", "-metrics-addr", "127.0.0.1:0"}, extra...)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, out, out) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("hook never healthy: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr, cancel, done, out
}

// hookRole makes the role the hook runs as for the targets of a config
// file: the deploy role policy of each, and the jobs policy of the docs for
// the table -dynamodb-table in args names.
func hookRole(t *testing.T, bed *testbed.Bed, file string, args []string) *testbed.Bed {
	t.Helper()
	cfg, err := deployhook.LoadConfig(file)
	if err != nil {
		return bed // a config the hook refuses: it calls nothing
	}
	var scopes []bootstrap.Scope
	for _, name := range slices.Sorted(maps.Keys(cfg.Targets)) {
		tg := cfg.Targets[name]
		sc := testbed.Service{Cluster: tg.Cluster, Service: tg.Service, Family: tg.Service}.Scope()
		sc.Region, sc.Repository = tg.Region, tg.Repository
		scopes = append(scopes, sc)
	}
	jobs := ""
	if i := slices.Index(args, "-dynamodb-table"); i >= 0 && i+1 < len(args) {
		if jobs, err = testbed.JobsPolicy(args[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	role, err := bed.HookRole(context.Background(), fmt.Sprintf("hook-%d", time.Now().UnixNano()), jobs, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return role
}

func signed(t *testing.T, method, url, body string) *http.Response {
	t.Helper()
	s, _ := stdwebhook.ParseSecrets(secret)
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	s[0].SignRequest(req, fmt.Sprintf("msg_%d", time.Now().UnixNano()), time.Now(), []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func waitJob(t *testing.T, url string) deployhook.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := signed(t, http.MethodGet, url, "")
		var j deployhook.Job
		_ = json.NewDecoder(resp.Body).Decode(&j)
		resp.Body.Close()
		if j.State != deployhook.StateQueued && j.State != deployhook.StateRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", j.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHookDeploysThroughECS(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(300*time.Millisecond))
	ctx := context.Background()
	good, missing := testbed.SHA(), testbed.SHA()
	for _, sha := range []string{"first", good} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	bed.Sim.SetScenario(good, ecssim.Scenario{Address: "192.0.2.2"})
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: "hook", Service: "hook", Family: "hook", DesiredCount: 1, CircuitBreaker: true, Rollback: true, Public: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/autonote/server:first"), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}}}}}); err != nil {
		t.Fatal(err)
	}
	base, cancel, done, out := startHook(t, bed, "hook")

	resp := signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+good+`"}`)
	var accepted struct {
		ID        string `json:"id"`
		StatusURL string `json:"status_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST = %s", resp.Status)
	}
	j := waitJob(t, accepted.StatusURL)
	if j.State != deployhook.StateSucceeded || !strings.HasSuffix(j.TaskDefinition, "hook:2") {
		t.Errorf("job = %+v, want succeeded on hook:2", j)
	}

	resp = signed(t, http.MethodGet, base+"/v1/targets", "")
	var targets hookapi.Targets
	_ = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(targets.Targets) != 1 {
		t.Fatalf("GET /v1/targets = %s, %+v", resp.Status, targets)
	}
	if ts := targets.Targets[0]; ts.Name != "production" || ts.Commit != good || ts.URL != "http://192.0.2.2:3000" || ts.Running != 1 ||
		len(ts.Deployments) != 2 || ts.Deployments[0].Status != "SUCCESSFUL" || ts.Error != "" {
		t.Errorf("target = %+v, want production running %s at http://192.0.2.2:3000 after two deployments", ts, good)
	}
	if resp, err := http.Get(base + "/v1/targets"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET /v1/targets: %v %v, want 401", err, resp)
	} else {
		resp.Body.Close()
	}

	resp = signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+missing+`"}`)
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	j = waitJob(t, accepted.StatusURL)
	if j.State != deployhook.StateFailed || !strings.Contains(j.Error, "no image for sha "+missing) {
		t.Errorf("job for a missing image = %+v, want failed with the reason", j)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	for _, want := range []string{`"msg":"listening"`, `"msg":"request"`, `"msg":"stopped"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if strings.Contains(out.String(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
		t.Error("the secret is in the log")
	}
}

// TestHookRunsTheLifecycle: a target with a migration, a smoke check and
// keep-revisions deploys as the action does.
func TestHookRunsTheLifecycle(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(200*time.Millisecond))
	ctx := context.Background()
	good := testbed.SHA()
	for _, sha := range []string{"first", good} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cloudwatchlogs.NewFromConfig(bed.Config()).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/life")}); err != nil {
		t.Fatal(err)
	}
	// The tasks' public address is loopback and their container port the
	// one this test listens on: no fixed address, nothing shared.
	bed.Sim.SetScenario("autonote/server:", ecssim.Scenario{Address: "127.0.0.1"})
	bed.Sim.SetTaskScenario("migrate", ecssim.TaskScenario{Lines: []string{"applied 0007_notes_index"}})
	l, port := listenAPI(t)
	api := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
		}
	})}
	go func() { _ = api.Serve(l) }()
	defer api.Close()
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: "life", Service: "life", Family: "life", DesiredCount: 1, Public: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/autonote/server:first"), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(port)}},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/life", "awslogs-region": testbed.Region, "awslogs-stream-prefix": "ecs"}}}}}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`targets:
  production:
    region: us-east-1
    cluster: life
    service: life
    ecr-repository: autonote/server
    registry: %s
    pre-deploy-command: [npm, run, migrate]
    pre-deploy-timeout: 1m
    smoke-path: /health
    smoke-timeout: 10s
    keep-revisions: 1
`, bed.Registry)
	base, cancel, done, _ := startHookWith(t, bed, cfg, map[string]string{"DEPLOY_HOOK_SECRETS": secret})
	defer func() { cancel(); <-done }()

	resp := signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+good+`"}`)
	var accepted struct {
		StatusURL string `json:"status_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	j := waitJob(t, accepted.StatusURL)
	events := strings.Join(j.Events, "\n")
	if j.State != deployhook.StateSucceeded {
		t.Fatalf("job = %s: %s\n%s", j.State, j.Error, events)
	}
	for _, want := range []string{"phase: pre-deploy command", "task: applied 0007_notes_index", "phase: smoke check"} {
		if !strings.Contains(events, want) {
			t.Errorf("job events lack %q:\n%s", want, events)
		}
	}
}

// TestHookJobMeetsAnActionsRollout: a hook job for build B arrives while an
// action's rollout of build A is in flight. The job waits for A to settle,
// then deploys B; the rollback target is then A, the last stable revision.
func TestHookJobMeetsAnActionsRollout(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(200*time.Millisecond))
	ctx := context.Background()
	a, b := testbed.SHA(), testbed.SHA()
	for _, sha := range []string{"first", a, b} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	bed.Sim.SetScenario(a, ecssim.Scenario{Outcome: ecssim.Complete, After: time.Second})
	image := func(sha string) *string { return aws.String(bed.Registry + "/autonote/server:" + sha) }
	const name = "hook-inflight"
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: name, Service: name, Family: name, DesiredCount: 1, CircuitBreaker: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: image("first"), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := bed.WaitStable(wctx, name, name); err != nil {
		t.Fatal(err)
	}
	ecsc := bed.ECS()
	// The hook first, so that A is still rolling out when B's job arrives.
	base, cancel, done, _ := startHook(t, bed, name)
	defer func() { cancel(); <-done }()
	// The action's rollout of A, in flight.
	startRollout(t, ecsc, name, types.ContainerDefinition{Name: aws.String("server"), Image: image(a), Essential: aws.Bool(true)})

	j := deploy(t, base, b)
	if j.State != deployhook.StateSucceeded || !strings.HasSuffix(j.TaskDefinition, name+":3") {
		t.Fatalf("job = %+v, want succeeded on %s:3 (B, after A's :2)", j, name)
	}
	if !slices.Contains(j.Events, "phase: wait for rollout in progress") {
		t.Errorf("the job did not wait for A's rollout: %q", j.Events)
	}
	out, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(name), Services: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Services[0].TaskDefinition); !strings.HasSuffix(got, name+":3") {
		t.Errorf("service runs %s, want B's %s:3", got, name)
	}
}

// TestOversizedHeadersAreRefused: 20,000 forged signatures (960 KB of
// header) are refused by the HTTP server before any handler runs.
func TestOversizedHeadersAreRefused(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t))
	base, cancel, done, _ := startHook(t, bed, "oversized")
	defer func() { cancel(); <-done }()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/deployments", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", "msg_1")
	req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	req.Header.Set("webhook-signature", strings.Repeat("v1,"+strings.Repeat("A", 43)+"= ", 20000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("960 KB of headers: %s, want 431", resp.Status)
	}
}

// TestMetricsOnTheirOwnAddress: /metrics answers on -metrics-addr only.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := l.Addr().String()
	l.Close()
	base, cancel, done, _ := startHook(t, bed, "metrics", "-metrics-addr", metrics)
	defer func() { cancel(); <-done }()
	for url, want := range map[string]int{base + "/metrics": http.StatusNotFound, "http://" + metrics + "/metrics": http.StatusOK} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusOK && !strings.Contains(string(body), "deploy_hook_requests_total")) {
			t.Errorf("GET %s = %s, want %d with the hook's metrics", url, resp.Status, want)
		}
	}
}

func TestSlowClientIsCutOff(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t))
	base, cancel, done, _ := startHook(t, bed, "slow", "-read-header-timeout", "200ms")
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1/deployments HTTP/1.1\r\nHost: hook\r\nX-Slow: ")
	// Far past the 200ms header timeout; only a server that never cuts the
	// client off reaches this deadline.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Error("the server held a client that never finished its headers")
	case err == nil && !strings.Contains(string(buf[:n]), "408"):
		t.Errorf("read %q, want the connection closed or a 408", buf[:n])
	}
}

func TestRunRefusesBadSetup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hook.yaml")
	os.WriteFile(cfg, []byte("targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e}\n"), 0o600)
	tests := []struct {
		args []string
		env  map[string]string
		says string
	}{
		{nil, nil, "-config is required"},
		{[]string{"-config", filepath.Join(dir, "missing.yaml")}, nil, "no such file"},
		{[]string{"-config", cfg}, nil, "no secrets"},
		{[]string{"-config", cfg}, map[string]string{"DEPLOY_HOOK_SECRETS": "plain"}, "whsec_"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("run(%v) = %v, want an error saying %q", tt.args, err, tt.says)
		}
	}
}

func TestHookWithASharedTable(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t))
	db, table, err := bed.HookTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base, cancel, done, _ := startHook(t, bed, "shared", "-dynamodb-table", table, "-replica-id", "test-replica")
	defer func() { cancel(); <-done }()
	sha := testbed.SHA()
	resp := signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+sha+`"}`)
	var accepted struct {
		ID        string `json:"id"`
		StatusURL string `json:"status_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if j := waitJob(t, accepted.StatusURL); j.State != deployhook.StateFailed || !strings.Contains(j.Error, "no image for sha") {
		t.Errorf("job = %+v", j)
	}
	got, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: "job#" + accepted.ID}}})
	if err != nil || got.Item == nil {
		t.Errorf("the job is not in the shared table: %v", err)
	}
}

// TestHookTargetTakesTheActionsSettings: a target with env, secrets, a
// smoke check that needs the API key, a pre-deploy command written as a
// string and on-rollout-in-progress: supersede deploys as the action
// would: the revision carries the env and the secrets by ARN, the app got
// the key, no secret value is in the job's events, and the rollout in
// flight was superseded, not waited for. A build whose app echoes the key
// in its 500 fails its smoke check with the key masked in the job's error.
func TestHookTargetTakesTheActionsSettings(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(200*time.Millisecond))
	ctx := context.Background()
	inFlight, good, echoing := testbed.SHA(), testbed.SHA(), testbed.SHA()
	for _, sha := range []string{"first", inFlight, good, echoing} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	const apiKey, dbURL = "k3y-4e1b9c0f7a2d6e5b", "postgres://app:pa55@db.internal/autonote"
	sm := secretsmanager.NewFromConfig(bed.Config())
	envSecret, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("spec/env"), SecretString: aws.String(`{"DATABASE_URL":"` + dbURL + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("spec/api-key"), SecretString: aws.String(apiKey)}); err != nil {
		t.Fatal(err)
	}
	bed.Sim.SetScenario(inFlight, ecssim.Scenario{Outcome: ecssim.Complete, After: time.Minute})
	bed.Sim.SetScenario(good, ecssim.Scenario{Address: "127.0.0.1"})
	l, port := listenAPI(t)
	var keyed atomic.Int64
	var echo atomic.Bool
	api := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if echo.Load() {
			http.Error(w, "key "+r.Header.Get("X-API-KEY")+" is revoked", http.StatusInternalServerError)
			return
		}
		if r.Header.Get("X-API-KEY") != apiKey {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		keyed.Add(1)
	})}
	go func() { _ = api.Serve(l) }()
	defer api.Close()
	const name = "spec"
	image := func(sha string) *string { return aws.String(bed.Registry + "/autonote/server:" + sha) }
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: name, Service: name, Family: name, DesiredCount: 1, Public: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: image("first"), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(port)}}}}}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`targets:
  production:
    region: us-east-1
    cluster: %[1]s
    service: %[1]s
    ecr-repository: autonote/server
    registry: %[2]s
    env: {NODE_ENV: production, LOG_LEVEL: info}
    secrets: [DATABASE_URL=spec/env:DATABASE_URL]
    pre-deploy-command: npm run migration:run
    smoke-path: /health
    smoke-timeout: 10s
    smoke-header: X-API-KEY
    smoke-header-secret: spec/api-key
    on-rollout-in-progress: supersede
`, name, bed.Registry)
	base, cancel, done, out := startHookWith(t, bed, cfg, map[string]string{"DEPLOY_HOOK_SECRETS": secret})
	defer func() { cancel(); <-done }()

	ecsc := bed.ECS()
	startRollout(t, ecsc, name, types.ContainerDefinition{Name: aws.String("server"), Image: image(inFlight), Essential: aws.Bool(true),
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(port)}}})

	j := deploy(t, base, good)
	events := strings.Join(j.Events, "\n")
	if j.State != deployhook.StateSucceeded {
		t.Fatalf("job = %s: %s\n%s", j.State, j.Error, events)
	}
	if slices.Contains(j.Events, "phase: wait for rollout in progress") {
		t.Errorf("the job waited for the rollout in flight, though the target says supersede:\n%s", events)
	}
	for _, want := range []string{"phase: pre-deploy command", "phase: smoke check"} {
		if !strings.Contains(events, want) {
			t.Errorf("job events lack %q:\n%s", want, events)
		}
	}
	if keyed.Load() == 0 {
		t.Error("the smoke check never reached the app with its API key")
	}
	for _, v := range []string{apiKey, dbURL} {
		if strings.Contains(events, v) || strings.Contains(out.String(), v) {
			t.Errorf("a secret value is in the job's events or the hook's log")
		}
	}
	defer func() {
		echo.Store(true)
		bed.Sim.SetScenario(echoing, ecssim.Scenario{Address: "127.0.0.1"})
		j := deploy(t, base, echoing)
		if j.State == deployhook.StateSucceeded || !strings.Contains(j.Error, "key *** is revoked") || strings.Contains(j.Error+strings.Join(j.Events, "\n"), apiKey) {
			t.Errorf("a smoke check answered with the key: job %s, error %q; want it failed, the key masked", j.State, j.Error)
		}
	}()
	td, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(j.TaskDefinition)})
	if err != nil {
		t.Fatal(err)
	}
	c := td.TaskDefinition.ContainerDefinitions[0]
	var env, secrets []string
	for _, kv := range c.Environment {
		env = append(env, aws.ToString(kv.Name)+"="+aws.ToString(kv.Value))
	}
	for _, s := range c.Secrets {
		secrets = append(secrets, aws.ToString(s.Name)+"="+aws.ToString(s.ValueFrom))
	}
	slices.Sort(env)
	if want := []string{"LOG_LEVEL=info", "NODE_ENV=production"}; !slices.Equal(env, want) {
		t.Errorf("revision's environment = %q, want %q", env, want)
	}
	if want := []string{"DATABASE_URL=" + aws.ToString(envSecret.ARN) + ":DATABASE_URL::"}; !slices.Equal(secrets, want) {
		t.Errorf("revision's secrets = %q, want %q", secrets, want)
	}
}

// startRollout starts a rollout of a revision of c in the service name (of
// the same cluster), as another pipeline would, without watching it.
func startRollout(t *testing.T, ecsc *ecs.Client, name string, c types.ContainerDefinition) {
	t.Helper()
	ctx := context.Background()
	td, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(name), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{c}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecsc.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(name), Service: aws.String(name), TaskDefinition: td.TaskDefinition.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
}

// deploy asks the hook at base to deploy sha to production and waits for
// the job to end.
func deploy(t *testing.T, base, sha string) deployhook.Job {
	t.Helper()
	resp := signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+sha+`"}`)
	var accepted struct {
		StatusURL string `json:"status_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/deployments = %s", resp.Status)
	}
	return waitJob(t, accepted.StatusURL)
}

// TestStartupSaysWhatIsMissing: a github block without
// GITHUB_WEBHOOK_SECRET is said at start (POST /github would answer 404);
// a target's secrets-env naming an empty variable is refused with what to
// put in it.
func TestStartupSaysWhatIsMissing(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t))
	cfg := "targets:\n  production: {region: us-east-1, cluster: c, service: s, ecr-repository: autonote/server}\ngithub:\n  repositories: [autonote/autonote]\n  environments: {production: production}\n  branch: main\n"
	_, cancel, done, out := startHookWith(t, bed, cfg, map[string]string{"DEPLOY_HOOK_SECRETS": secret})
	cancel()
	<-done
	if !strings.Contains(out.String(), "the config has a github block but GITHUB_WEBHOOK_SECRET is not set") {
		t.Errorf("no warning about the missing GitHub secret:\n%s", out.String())
	}

	file := filepath.Join(t.TempDir(), "hook.yaml")
	os.WriteFile(file, []byte("targets:\n  production: {region: us-east-1, cluster: c, service: s, ecr-repository: e, secrets-env: PROD_SECRETS}\n"), 0o600)
	env := map[string]string{"DEPLOY_HOOK_SECRETS": secret}
	err := run(context.Background(), []string{"-config", file, "-addr", "127.0.0.1:0", "-metrics-addr", ""}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PROD_SECRETS (its secrets-env) is empty or unset") || strings.Contains(err.Error(), "<nil>") {
		t.Errorf("an empty secrets-env: %v", err)
	}
}

// TestSIGTERMPastGraceInterrupts: a single in-memory replica stopped while
// a deploy runs and past its grace ends that job interrupted, saying what
// the service runs at that moment (ECS goes on), and the job queued behind
// it cancelled; the log says both.
func TestSIGTERMPastGraceInterrupts(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(200*time.Millisecond))
	ctx := context.Background()
	hangs, next := testbed.SHA(), testbed.SHA()
	for _, sha := range []string{"first", hangs, next} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	bed.Sim.SetScenario(hangs, ecssim.Scenario{Outcome: ecssim.Hang})
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: "term", Service: "term", Family: "term", DesiredCount: 1,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/autonote/server:first"), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	base, cancel, done, out := startHook(t, bed, "term", "-grace", "300ms")
	post := func(sha string) {
		resp := signed(t, http.MethodPost, base+"/v1/deployments", `{"target":"production","sha":"`+sha+`"}`)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %s", resp.Status)
		}
	}
	post(hangs)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "service updated") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	post(next)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log := out.String()
	for _, want := range []string{`"state":"interrupted"`, "the deploy hook stopped while the deploy ran", "service term runs term:", `"state":"cancelled"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// listenAPI listens where a test's tasks answer: on loopback, at a port of
// its own, which the test's task definition names as its container port
// (a task's URL is its public address and that port).
func listenAPI(t *testing.T) (net.Listener, int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l, int32(l.Addr().(*net.TCPAddr).Port)
}
