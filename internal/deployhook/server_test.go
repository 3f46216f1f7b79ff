package deployhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/autonote/deploy-action/internal/testbed"

	"github.com/google/go-github/v62/github"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/hookapi"
)

const testConfig = `
targets:
  production:
    region: us-east-1
    cluster: autonote-server-cluster
    service: autonote-server-service
    ecr-repository: autonote/server
    url: https://api.autonote.example
  staging:
    region: us-east-1
    cluster: autonote-staging
    service: autonote-server-service
    ecr-repository: autonote/server
github:
  repositories: [Codertocat/Hello-World, octo-org/octo-repo]
  environments: {production: production}
  workflow: .github/workflows/test.yml
  branch: master
  target: production
`

const githubSecret = "It's a Secret to Everybody"

// fakeRunner stands in for ECS where a test needs to hold a job running;
// the deploy itself is tested against the test bed in cmd/deploy-hook.
type fakeRunner struct {
	run     func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error)
	calls   atomic.Int64
	running atomic.Int64
	maxSeen atomic.Int64
}

func (f *fakeRunner) Run(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
	f.calls.Add(1)
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if f.run == nil {
		report("deployed")
		return deployhook.Outcome{State: deployhook.StateSucceeded, TaskDefinition: "arn:td:2"}, nil
	}
	return f.run(ctx, j, report)
}

type hook struct {
	srv    *httptest.Server
	server *deployhook.Server
	runner *fakeRunner
	gh     *testbed.GitHubAPI
	secret stdwebhook.Secret
}

func newHook(t *testing.T, runner *fakeRunner) *hook {
	t.Helper()
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	// Only the test's sha is on the branch.
	gh := testbed.NewGitHubAPI(t, func(base, head string) bool { return base == "master" && head == sha })
	gh.SetBranchHead("master", runSHA)
	client := github.NewClient(nil)
	client.BaseURL, _ = url.Parse(gh.URL + "/")
	s, err := deployhook.NewServer(cfg, runner, deployhook.WithSecrets(mustSecrets(t, current+" "+next)...), deployhook.WithGitHubSecrets([]byte(githubSecret)), deployhook.WithGitHub(client), deployhook.WithRateLimit(100000))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &hook{srv: srv, server: s, runner: runner, gh: gh, secret: mustSecrets(t, current)[0]}
}

var idSeq atomic.Int64

func (h *hook) post(t *testing.T, body string, mutate func(*http.Request)) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/deployments", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.secret.SignRequest(req, fmt.Sprintf("msg_%d", idSeq.Add(1)), time.Now(), []byte(body))
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (h *hook) job(t *testing.T, id string) deployhook.Job {
	t.Helper()
	var j deployhook.Job
	if err := json.Unmarshal(h.jobRaw(t, id), &j); err != nil {
		t.Fatal(err)
	}
	return j
}

// jobRaw is the hook's answer to a signed GET of the job, as sent.
func (h *hook) jobRaw(t *testing.T, id string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/deployments/"+id, nil)
	h.secret.SignRequest(req, fmt.Sprintf("msg_get_%d", idSeq.Add(1)), time.Now(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET job %s: %s", id, resp.Status)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// waitJob polls the job until it has finished.
func (h *hook) waitJob(t *testing.T, id string) deployhook.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j := h.job(t, id)
		if j.State != deployhook.StateQueued && j.State != deployhook.StateRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, j.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

const sha = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"

// runSHA is the head_sha of workflow_run_completed.json: the branch's head
// in the GitHub stand-in.
const runSHA = "3484a3fb816e0859fd6e1cea078d76385ff50625"

func TestDeployRequest(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{})
	resp := h.post(t, `{"target":"production","sha":"`+sha+`"}`, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %s, want 202", resp.Status)
	}
	m := decode(t, resp)
	id, _ := m["id"].(string)
	if !strings.HasSuffix(m["status_url"].(string), "/v1/deployments/"+id) {
		t.Errorf("status_url = %v", m["status_url"])
	}
	j := h.waitJob(t, id)
	if j.State != deployhook.StateSucceeded || j.Target != "production" || j.SHA != sha || j.TaskDefinition != "arn:td:2" {
		t.Errorf("job = %+v", j)
	}
	// Behind a proxy that ends TLS, the status URL says https.
	behind := decode(t, h.post(t, `{"target":"production","sha":"`+strings.Repeat("d", 40)+`"}`, func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") }))
	if u, _ := behind["status_url"].(string); !strings.HasPrefix(u, "https://") {
		t.Errorf("status_url behind a TLS proxy = %q, want https", u)
	}
}

func TestBadRequestsStartNothing(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{})
	good := `{"target":"production","sha":"` + sha + `"}`
	tests := []struct {
		name   string
		body   string
		mutate func(*http.Request)
		want   int
	}{
		{"no signature", good, func(r *http.Request) { r.Header.Del("webhook-signature") }, 401},
		{"wrong signature", good, func(r *http.Request) { r.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=") }, 401},
		{"retired secret", good, func(r *http.Request) {
			mustSecrets(t, retired)[0].SignRequest(r, r.Header.Get("webhook-id"), time.Now(), []byte(good))
		}, 401},
		{"stale timestamp", good, func(r *http.Request) {
			h.secret.SignRequest(r, r.Header.Get("webhook-id"), time.Now().Add(-10*time.Minute), []byte(good))
		}, 401},
		{"future timestamp", good, func(r *http.Request) {
			h.secret.SignRequest(r, r.Header.Get("webhook-id"), time.Now().Add(10*time.Minute), []byte(good))
		}, 401},
		{"body too large", `{"target":"production","sha":"` + sha + `","pad":"` + strings.Repeat("x", 70<<10) + `"}`, nil, 413},
		{"malformed JSON", `{"target":`, nil, 400},
		{"unknown field", `{"target":"production","sha":"` + sha + `","force":true}`, nil, 400},
		{"two values", good + good, nil, 400},
		{"unknown target", `{"target":"prod","sha":"` + sha + `"}`, nil, 422},
		{"short sha", `{"target":"production","sha":"f95f852"}`, nil, 400},
		{"uppercase sha", `{"target":"production","sha":"` + strings.ToUpper(sha) + `"}`, nil, 400},
		{"wrong content type", good, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, 415},
		{"wrong method", good, func(r *http.Request) { r.Method = http.MethodPut }, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.post(t, tt.body, tt.mutate)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %s, want %d: %v", resp.Status, tt.want, decode(t, resp))
			}
		})
	}
	if n := h.runner.calls.Load(); n != 0 {
		t.Errorf("runner ran %d jobs, want none", n)
	}
}

func TestReplayedIDReturnsTheSameJob(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{})
	body := `{"target":"production","sha":"` + sha + `"}`
	sameID := func(r *http.Request) { h.secret.SignRequest(r, "msg_replayed", time.Now(), []byte(body)) }
	first := decode(t, h.post(t, body, sameID))
	resp := h.post(t, body, sameID)
	again := decode(t, resp)
	if resp.StatusCode != http.StatusOK || again["id"] != first["id"] {
		t.Errorf("replay: %s %v, want 200 and job %v", resp.Status, again, first["id"])
	}
	h.waitJob(t, first["id"].(string))
	if n := h.runner.calls.Load(); n != 1 {
		t.Errorf("runner ran %d jobs, want 1", n)
	}
}

func TestNewerRequestSupersedesTheQueuedOne(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	r := &fakeRunner{}
	r.run = func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		if j.SHA == strings.Repeat("a", 40) {
			<-release
		}
		return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
	}
	h := newHook(t, r)
	submit := func(s string) string {
		return decode(t, h.post(t, `{"target":"production","sha":"`+strings.Repeat(s, 40)+`"}`, nil))["id"].(string)
	}
	a, b, c := submit("a"), submit("b"), submit("c")
	other := decode(t, h.post(t, `{"target":"staging","sha":"`+strings.Repeat("d", 40)+`"}`, nil))["id"].(string)
	if j := h.waitJob(t, other); j.State != deployhook.StateSucceeded {
		t.Errorf("another target's job = %s, want it to run at once", j.State)
	}
	if j := h.job(t, b); j.State != deployhook.StateSuperseded {
		t.Errorf("job b = %s, want superseded", j.State)
	}
	if j := h.job(t, c); j.State != deployhook.StateQueued {
		t.Errorf("job c = %s, want queued behind a", j.State)
	}
	close(release)
	for _, id := range []string{a, c} {
		if j := h.waitJob(t, id); j.State != deployhook.StateSucceeded {
			t.Errorf("job %s = %s, want succeeded", id, j.State)
		}
	}
	if n := r.calls.Load(); n != 3 {
		t.Errorf("runner ran %d jobs, want 3 (a, c and staging's)", n)
	}
}

func TestManyRequestsToOneTarget(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{}
	r.run = func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		time.Sleep(time.Millisecond) // a deploy takes time; the lock must hold across it
		return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
	}
	h := newHook(t, r)
	var wg sync.WaitGroup
	ids := make([]string, 64)
	for i := range ids {
		wg.Go(func() {
			body := fmt.Sprintf(`{"target":"production","sha":"%040x"}`, i+1)
			ids[i], _ = decode(t, h.post(t, body, nil))["id"].(string)
		})
	}
	wg.Wait()
	done := 0
	for _, id := range ids {
		if j := h.waitJob(t, id); j.State == deployhook.StateSucceeded {
			done++
		} else if j.State != deployhook.StateSuperseded {
			t.Errorf("job %s = %s", id, j.State)
		}
	}
	if got := r.maxSeen.Load(); got != 1 {
		t.Errorf("%d deploys of one target ran at once, want 1", got)
	}
	if done < 1 || int64(done) != r.calls.Load() {
		t.Errorf("%d jobs succeeded, runner ran %d", done, r.calls.Load())
	}
}

// delivery sends a GitHub webhook signed the way GitHub signs it.
func (h *hook) delivery(t *testing.T, event, file, secret string) *http.Response {
	t.Helper()
	return h.deliver(t, event, testbed.GitHubPayload(t, file), secret, nil)
}

// deliver sends body as GitHub does, signed with secret; mutate may change
// the request before it goes.
func (h *hook) deliver(t *testing.T, event string, body []byte, secret string, mutate func(*http.Request)) *http.Response {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("delivery-%d", idSeq.Add(1)))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestGitHubWebhooks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, file, secret string
		want                      int
		wantSHA                   string
	}{
		{"ping", "ping", "ping.json", githubSecret, 200, ""},
		{"deployment", "deployment", "deployment.json", githubSecret, 202, sha},
		{"deployment from an app installation", "deployment", "deployment_with-installation.json", githubSecret, 202, sha},
		{"workflow_run completed, started by repository_dispatch", "workflow_run", "workflow_run_completed.json", githubSecret, 202, ""},
		{"workflow_run requested", "workflow_run", "workflow_run_requested.json", githubSecret, 202, ""},
		{"push is ignored", "push", "push.json", githubSecret, 202, ""},
		{"deployment_status is ignored", "deployment_status", "deployment_status.json", githubSecret, 202, ""},
		{"wrong secret", "deployment", "deployment.json", "not the secret", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHook(t, &fakeRunner{})
			resp := h.delivery(t, tt.event, tt.file, tt.secret)
			m := decode(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %s, want %d: %v", resp.Status, tt.want, m)
			}
			id, _ := m["id"].(string)
			if tt.wantSHA == "" {
				if id != "" || h.runner.calls.Load() != 0 {
					t.Errorf("a job was made: %v", m)
				}
				return
			}
			if j := h.waitJob(t, id); j.SHA != tt.wantSHA || j.State != deployhook.StateSucceeded {
				t.Errorf("job = %+v, want %s succeeded", j, tt.wantSHA)
			}
		})
	}
}

func TestGitHubDeploymentStatuses(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{})
	id := decode(t, h.delivery(t, "deployment", "deployment.json", githubSecret))["id"].(string)
	h.waitJob(t, id)
	deadline := time.Now().Add(5 * time.Second)
	for len(h.gh.Statuses()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	want := []string{
		"POST /repos/Codertocat/Hello-World/deployments/145988746/statuses in_progress ",
		"POST /repos/Codertocat/Hello-World/deployments/145988746/statuses success https://api.autonote.example",
	}
	if got := h.gh.Statuses(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statuses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGitHubRepositoryNotInConfig(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(testConfig, "Codertocat/Hello-World, ", "", 1)
	c, err := deployhook.ParseConfig([]byte(cfg), "test")
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{}
	s, _ := deployhook.NewServer(c, r, deployhook.WithGitHubSecrets([]byte(githubSecret)))
	srv := httptest.NewServer(s)
	defer srv.Close()
	h := &hook{srv: srv, runner: r}
	if resp := h.delivery(t, "deployment", "deployment.json", githubSecret); resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %s, want 403", resp.Status)
	}
	if r.calls.Load() != 0 {
		t.Error("a deploy ran")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"unknown key":         "targets:\n  p:\n    region: us-east-1\n    cluster: c\n    service: s\n    ecr-repository: e\n    colour: blue\n",
		"no targets":          "targets: {}\n",
		"missing fields":      "targets:\n  p:\n    region: us-east-1\n",
		"unmapped env":        "targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e}\ngithub:\n  environments: {production: nope}\n",
		"workflow, no branch": "targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e}\ngithub:\n  workflow: build.yml\n",
		"smoke path":          "targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e, smoke-path: health}\n",
		"bad timeout":         "targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e, pre-deploy-timeout: soon}\n",
		"negative keep":       "targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e, keep-revisions: -2}\n",
		"colon in a name":     "targets:\n  \"prod:eu\": {region: us-east-1, cluster: c, service: s, ecr-repository: e}\n",
		"slash in a name":     "targets:\n  prod/eu: {region: us-east-1, cluster: c, service: s, ecr-repository: e}\n",
	}
	for name, cfg := range tests {
		if _, err := deployhook.ParseConfig([]byte(cfg), name); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		} else if strings.Contains(name, "in a name") && !strings.Contains(err.Error(), "use 1 to 64 letters, digits") {
			t.Errorf("%s: %v, want it to say what a target name may hold", name, err)
		}
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 404, "/nope": 404} {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %s, want %d", path, resp.Status, want)
		}
	}
	h.server.SetReady(false)
	resp, _ := http.Get(h.srv.URL + "/readyz")
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while shutting down = %s, want 503", resp.Status)
	}
	rec := httptest.NewRecorder()
	h.server.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.Bytes()
	for _, want := range []string{`deploy_hook_requests_total{code="200",route="/healthz"}`, "deploy_hook_jobs", "deploy_hook_deploy_duration_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestShutdownLeavesWhatItMust(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	r := &fakeRunner{}
	r.run = func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		select {
		case <-block:
			return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
		case <-ctx.Done():
			return deployhook.Outcome{State: deployhook.StateFailed}, ctx.Err()
		}
	}
	h := newHook(t, r)
	running := decode(t, h.post(t, `{"target":"production","sha":"`+strings.Repeat("a", 40)+`"}`, nil))["id"]
	queued := decode(t, h.post(t, `{"target":"production","sha":"`+strings.Repeat("b", 40)+`"}`, nil))["id"]
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	left := h.server.Queue().Shutdown(ctx)
	var got []string
	for _, j := range left {
		got = append(got, fmt.Sprintf("%s %s", j.ID, j.State))
	}
	want := []string{fmt.Sprintf("%s %s", running, deployhook.StateInterrupted), fmt.Sprintf("%s %s", queued, deployhook.StateCancelled)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("left = %v, want %v", got, want)
	}
	for _, j := range left {
		if !strings.Contains(j.Error, "the deploy hook stopped") {
			t.Errorf("job %s %s says %q, want why it ended", j.ID, j.State, j.Error)
		}
	}
	resp := h.post(t, `{"target":"production","sha":"`+strings.Repeat("c", 40)+`"}`, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a request after shutdown = %s, want 503", resp.Status)
	}
	close(block)
}

func TestExampleConfig(t *testing.T) {
	t.Parallel()
	c, err := deployhook.LoadConfig("../../examples/deploy-hook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.Target != "production" || c.Targets["production"].Service != "autonote-server-service" {
		t.Errorf("config = %+v", c)
	}
}

// TestShutdownTellsGitHub: a GitHub deployment whose job the shutdown cuts
// short gets a last status, error, saying so; it is not left in_progress.
func TestShutdownTellsGitHub(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	defer close(block)
	h := newHook(t, &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return deployhook.Outcome{State: deployhook.StateFailed}, ctx.Err()
	}})
	if resp := h.delivery(t, "deployment", "deployment.json", githubSecret); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deployment delivery: %s", resp.Status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(h.gh.Statuses()) < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	h.server.Queue().Shutdown(ctx)
	got := h.gh.Statuses()
	if len(got) != 2 || !strings.Contains(got[0], " in_progress ") || !strings.Contains(got[1], " error ") {
		t.Errorf("statuses = %q, want in_progress then error", got)
	}
}

// TestJobAnswerFitsWhatTheActionReads: a job at the hook's own caps (its
// events at 1 MiB, written in HTML-like text json.Marshal would grow six
// times) is answered within hookapi.MaxJobBytes, the limit the action
// reads, with its newest events.
func TestJobAnswerFitsWhatTheActionReads(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("<td>&amp;</td>", 80) // 1,120 bytes, far more as json.Marshal writes it
	h := newHook(t, &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		for i := range 3000 {
			report(fmt.Sprintf("%04d %s", i, line))
		}
		return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
	}})
	id := decode(t, h.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	h.waitJob(t, id)
	raw := h.jobRaw(t, id)
	var j deployhook.Job
	if err := json.Unmarshal(raw, &j); err != nil || len(raw) > hookapi.MaxJobBytes {
		t.Fatalf("the answer is %d bytes (%v), want a job within %d", len(raw), err, hookapi.MaxJobBytes)
	}
	if last := j.Events[len(j.Events)-1]; !strings.Contains(last, "more events are not kept") && !strings.HasPrefix(last, "1999 ") {
		t.Errorf("the answer's last event is %.60q, want the newest kept", last)
	}
	t.Logf("a job at the hook's caps: %d events in an answer of %d KiB", len(j.Events), len(raw)>>10)
}
