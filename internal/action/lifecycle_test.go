package action_test

import (
	"context"
	"errors"

	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/ecssim"
)

// serviceTD is the task definition the world's service runs now.
func (w *world) serviceTD(t *testing.T) string {
	t.Helper()
	out, err := w.bed.ECS().DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(w.name), Services: []string{w.name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe service: %v", err)
	}
	return aws.ToString(out.Services[0].TaskDefinition)
}

func (w *world) secret(t *testing.T, name, value string) string {
	t.Helper()
	out, err := secretsmanager.NewFromConfig(w.bed.Config()).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

func TestPreDeployCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bed.Sim.SetTaskScenario("migrate-ok", ecssim.TaskScenario{Lines: []string{"Running migrations", "applied 0042_add_notes", "::error::not a command, a line"}})
	w.bed.Sim.SetTaskScenario("migrate-bad", ecssim.TaskScenario{Lines: []string{"Running migrations", "error: relation \"notes\" already exists"}, ExitCode: 1})
	w.bed.Sim.SetTaskScenario("migrate-hang", ecssim.TaskScenario{Lines: []string{"waiting for the lock"}, Hang: true})

	t.Run("migration runs first, its lines in order", func(t *testing.T) {
		r := w.run(t, map[string]string{"pre-deploy-command": "npm run migrate-ok"})
		if r.err != nil {
			t.Fatalf("Run: %v\n%s", r.err, r.log)
		}
		group := strings.Index(r.log, "::group::pre-deploy command")
		a, b := strings.Index(r.log, "Running migrations"), strings.Index(r.log, "applied 0042_add_notes")
		update := strings.Index(r.log, "::group::update service")
		if group < 0 || a < group || b < a || update < b {
			t.Errorf("the migration's lines are not in order between its group and the service update:\n%s", r.log)
		}
		if strings.Contains(r.log, "\n::error::not a command") {
			t.Errorf("a task's log line became a workflow command:\n%s", r.log)
		}
		if r.outputs["pre-deploy-exit-code"] != "0" || !strings.Contains(r.summary, "| Pre-deploy command | exit code 0 in") {
			t.Errorf("exit code output %q, summary:\n%s", r.outputs["pre-deploy-exit-code"], r.summary)
		}
	})

	for _, tt := range []struct {
		name, command, timeout string
		says                   []string
		code                   string
	}{
		{"migration exits 1", `["npm", "run", "migrate-bad"]`, "", []string{"pre-deploy command failed: exit code 1", `relation "notes" already exists`, "the service was not changed"}, "1"},
		{"migration hangs past its timeout", "npm run migrate-hang", "1s", []string{"still running after pre-deploy-timeout 1s, so it was stopped", "waiting for the lock"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, updates := w.serviceTD(t), w.bed.Sim.Calls()["UpdateService"]
			r := w.run(t, map[string]string{"tag": w.shas[2], "pre-deploy-command": tt.command, "pre-deploy-timeout": tt.timeout})
			if !errors.Is(r.err, action.ErrFailed) || r.outputs["status"] != "failed" {
				t.Fatalf("Run = %v, status %q; want failed", r.err, r.outputs["status"])
			}
			if after := w.serviceTD(t); after != before || w.bed.Sim.Calls()["UpdateService"] != updates {
				t.Errorf("the service changed: %s -> %s", before, after)
			}
			for _, s := range tt.says {
				if !strings.Contains(r.log, s) || !strings.Contains(r.summary, s) {
					t.Errorf("log and summary should both say %q:\n%s\n%s", s, r.log, r.summary)
				}
			}
			if r.outputs["pre-deploy-exit-code"] != tt.code {
				t.Errorf("pre-deploy-exit-code = %q, want %q", r.outputs["pre-deploy-exit-code"], tt.code)
			}
		})
	}
	stopped, err := w.bed.ECS().ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(w.name), DesiredStatus: types.DesiredStatusRunning, StartedBy: aws.String("deploy-action/pre-deploy")})
	if err != nil || len(stopped.TaskArns) != 0 {
		t.Errorf("pre-deploy tasks still running: %v %v", stopped, err)
	}
}

// apiServer serves the seed's health check on addr: 200 with the API
// key, 401 without it; broken answers 500 to everything.
func apiServer(t *testing.T, w *world, host, key string, broken bool) *sync.Map {
	t.Helper()
	seen := &sync.Map{}
	w.hosts.Serve(t, host, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.Path+" "+r.Header.Get("X-API-KEY"), true)
		switch {
		case broken:
			http.Error(w, "Internal Server Error: Nest can't resolve dependencies", http.StatusInternalServerError)
		case r.Header.Get("X-API-KEY") != key:
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		default:
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		}
	}))
	return seen
}

func TestSmokeCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const key = "k-8f1d2c3b4a5e6f708192a3b4c5d6e7f8"
	secret := w.name + "/api-key"
	w.secret(t, secret, key)
	// Each build's tasks answer on a (made-up) public address of their own,
	// which the test's dialer routes to a real server: the good build's
	// checks the key, the bad build's fails.
	w.bed.Sim.SetScenario(w.shas[1], ecssim.Scenario{Address: "192.0.2.3"})
	w.bed.Sim.SetScenario(w.shas[2], ecssim.Scenario{Address: "192.0.2.4"})
	good := apiServer(t, w, "192.0.2.3", key, false)
	apiServer(t, w, "192.0.2.4", key, true)

	r := w.run(t, map[string]string{"smoke-path": "/health", "smoke-header": "X-API-KEY", "smoke-header-secret": secret})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	if _, ok := good.Load("/health " + key); !ok {
		t.Error("the smoke check never sent the API key")
	}
	if r.outputs["url"] != "http://192.0.2.3:3000" || !strings.Contains(r.log, "::group::smoke check") {
		t.Errorf("url %q; log:\n%s", r.outputs["url"], r.log)
	}
	if !strings.Contains(r.log, "the smoke check's header goes in clear text over plain HTTP") {
		t.Errorf("the run does not say the key went in clear text to a task's public address:\n%s", r.log)
	}
	assertMasked(t, r.log, key)
	passed := w.serviceTD(t)

	r = w.run(t, map[string]string{"tag": w.shas[2], "smoke-path": "/health", "smoke-timeout": "1s", "smoke-header": "X-API-KEY", "smoke-header-secret": secret})
	if !errors.Is(r.err, action.ErrFailed) || r.outputs["status"] != "rolled-back" {
		t.Fatalf("Run = %v, status %q; want rolled-back\n%s", r.err, r.outputs["status"], r.log)
	}
	for _, s := range []string{"smoke check: no 2xx within 1s: GET http://192.0.2.4:3000/health: 500 Internal Server Error", "rolled back"} {
		if !strings.Contains(r.log, s) || !strings.Contains(r.summary, s) {
			t.Errorf("log and summary should both say %q:\n%s\n%s", s, r.log, r.summary)
		}
	}
	if got := w.serviceTD(t); got != passed {
		t.Errorf("after a failed smoke check the service runs %s, want %s", got, passed)
	}
	assertMasked(t, r.log, key)

	r = w.run(t, map[string]string{"tag": w.shas[2], "smoke-path": "health"})
	if r.err == nil || !strings.Contains(r.log, `input smoke-path "health": give a path that starts with /`) {
		t.Errorf("a bad smoke-path: %v\n%s", r.err, r.log)
	}
}

func TestEnvSecretsRevisions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	arn := w.secret(t, w.name+"/env", `{"DATABASE_URL":"postgres://db/autonote"}`)
	const plain = "plain-value-4d1f"
	w.bed.ExpectDenied("secretsmanager:DescribeSecret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:"+w.name+"/nothing-AbCdEf")

	for _, tt := range []struct {
		name   string
		inputs map[string]string
		says   string
	}{
		{"secrets line without =", map[string]string{"secrets": "DATABASE_URL"}, "input secrets, line 1: want KEY=secret-name-or-arn[:json-key]"},
		// The deploy role may describe its stack's secrets: one of them
		// that does not exist is said not to, another name is refused.
		{"unknown secret", map[string]string{"secrets": "DATABASE_URL=" + w.name + "/api-key:DATABASE_URL"}, "there is no secret " + w.name + "/api-key"},
		{"another stack's secret", map[string]string{"secrets": "DATABASE_URL=" + w.name + "/nothing:DATABASE_URL"}, "these credentials may not describe secret " + w.name + "/nothing"},
		{"env value never echoed", map[string]string{"env": "not a line " + plain}, "input env, line 1: want KEY=VALUE"},
		{"negative keep-revisions", map[string]string{"keep-revisions": "-1"}, "input keep-revisions"},
	} {
		registers := w.bed.Sim.Calls()["RegisterTaskDefinition"]
		r := w.run(t, tt.inputs)
		if r.err == nil || !strings.Contains(r.log, tt.says) || strings.Contains(r.log, plain) {
			t.Errorf("%s: %v, want an error saying %q and no value:\n%s", tt.name, r.err, tt.says, r.log)
		}
		if w.bed.Sim.Calls()["RegisterTaskDefinition"] != registers {
			t.Errorf("%s: a revision was registered", tt.name)
		}
	}

	r := w.run(t, map[string]string{"env": "NODE_ENV=production\nFEATURE_KEY=" + plain, "secrets": "DATABASE_URL=" + w.name + "/env:DATABASE_URL"})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	assertMasked(t, r.log, plain)
	td, err := w.bed.ECS().DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(r.outputs["task-definition-arn"])})
	if err != nil {
		t.Fatal(err)
	}
	c := td.TaskDefinition.ContainerDefinitions[0]
	env := map[string]string{}
	for _, kv := range c.Environment {
		env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if env["NODE_ENV"] != "production" || env["FEATURE_KEY"] != plain || len(c.Secrets) != 1 || aws.ToString(c.Secrets[0].ValueFrom) != arn+":DATABASE_URL::" {
		t.Errorf("registered environment %v and secrets %+v, want the inputs' (DATABASE_URL from %s:DATABASE_URL::)", env, c.Secrets, arn)
	}

	second := r.outputs["task-definition-arn"]
	r = w.run(t, map[string]string{"tag": w.shas[2], "keep-revisions": "1"})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	status := func(arn string) types.TaskDefinitionStatus {
		out, err := w.bed.ECS().DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return out.TaskDefinition.Status
	}
	if status(w.firstTD) != types.TaskDefinitionStatusInactive || status(second) != types.TaskDefinitionStatusActive || status(r.outputs["task-definition-arn"]) != types.TaskDefinitionStatusActive {
		t.Errorf("keep-revisions 1: first %s, rollback target %s, new %s; want INACTIVE, ACTIVE, ACTIVE", status(w.firstTD), status(second), status(r.outputs["task-definition-arn"]))
	}
	if !strings.Contains(r.summary, "| Old revisions deregistered | 1,") {
		t.Errorf("summary does not say what keep-revisions took:\n%s", r.summary)
	}

	registers := w.bed.Sim.Calls()["RegisterTaskDefinition"]
	r = w.run(t, map[string]string{"task-definition": second})
	if r.err != nil || r.outputs["task-definition-arn"] != second || w.serviceTD(t) != second || w.bed.Sim.Calls()["RegisterTaskDefinition"] != registers {
		t.Errorf("deploying revision %s as it is: %v, outputs %v; service runs %s", second, r.err, r.outputs, w.serviceTD(t))
	}
}
