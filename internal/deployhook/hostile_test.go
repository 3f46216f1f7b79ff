package deployhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/autonote/deploy-action/internal/testbed"
)

// TestConcurrentSubmitsOfOneKeyMakeOneJob: eight submissions of one
// webhook-id at once make one job, every round (the race of issue 10 made
// two in 50 of 3,000 rounds).
func TestConcurrentSubmitsOfOneKeyMakeOneJob(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	defer close(hold)
	h := newHook(t, &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
	}})
	q := h.server.Queue()
	for round := range 300 {
		key := fmt.Sprintf("api:msg_race_%d", round)
		var created atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				if _, ok, err := q.Submit(context.Background(), deployhook.Submission{Key: key, Target: "production", SHA: sha, Source: "api"}); err == nil && ok {
					created.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := created.Load(); n != 1 {
			t.Fatalf("round %d: %d jobs for one webhook-id, want 1", round, n)
		}
	}
}

// TestRejectedRequestsAreCountedNotLogged: forged requests, and unsigned
// ones the hook answers (GitHub events it ignores, probes), write no line
// each, and nothing of theirs (a request id of the client's) reaches the
// log; their counts are logged per interval, and at shutdown.
func TestRejectedRequestsAreCountedNotLogged(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	var log testbed.SyncBuffer
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithGitHubSecrets([]byte("gh-secret")),
		deployhook.WithRateLimit(100000), deployhook.WithLogger(slog.New(slog.NewJSONHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	forged := `msg_forged {"msg":"request","status":200}`
	for i := range 200 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/deployments", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", forged)
		req.Header.Set("webhook-id", fmt.Sprintf("msg_%d", i))
		req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
		req.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged request: %s", resp.Status)
		}
	}
	for range 300 { // an event the hook ignores is answered 202, unread and unsigned
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/github", strings.NewReader(`{}`))
		req.Header.Set("X-GitHub-Event", "push")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("unsigned push event: %s", resp.Status)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", forged)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.SetReady(false)

	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var requests, rejected []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, `"msg":"request"`):
			requests = append(requests, l)
		case strings.Contains(l, `"msg":"refused or unsigned requests"`):
			rejected = append(rejected, l)
		}
	}
	if len(requests) != 0 {
		t.Errorf("request lines = %q, want none", requests)
	}
	// One line per 10 s: one here, two if the machine was slow enough.
	refused, ignored := 0, 0
	for _, l := range rejected {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		n, _ := m["401"].(float64)
		refused += int(n)
		n, _ = m["202"].(float64)
		ignored += int(n)
	}
	if len(rejected) == 0 || len(rejected) > 2 || refused != 200 || ignored != 300 {
		t.Errorf("count lines = %q, want one or two counting 200 answers 401 and 300 answers 202 in all", rejected)
	}
	if strings.Contains(log.String(), "msg_forged") {
		t.Errorf("the client's request id reached the log:\n%s", log.String())
	}
}

// TestPerTargetSecrets: production has secrets of its own; staging is
// opened by DEPLOY_HOOK_SECRETS. A secret of one neither deploys nor reads
// the other's jobs.
func TestPerTargetSecrets(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(strings.Replace(testConfig, "    url: https://api.autonote.example\n", "    url: https://api.autonote.example\n    secrets-env: PRODUCTION_HOOK_SECRETS\n", 1)), "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(mustSecrets(t, current)...)); err == nil || !strings.Contains(err.Error(), "PRODUCTION_HOOK_SECRETS") {
		t.Errorf("a target whose secrets-env holds nothing: %v, want an error naming it", err)
	}
	shared, prod := mustSecrets(t, current)[0], mustSecrets(t, next)[0]
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(shared), deployhook.WithTargetSecrets(map[string][]stdwebhook.Secret{"production": {prod}}), deployhook.WithRateLimit(100000))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	call := func(secret stdwebhook.Secret, method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		secret.SignRequest(req, fmt.Sprintf("msg_t_%d", idSeq.Add(1)), time.Now(), []byte(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	deploy := func(target string) string { return `{"target":"` + target + `","sha":"` + sha + `"}` }
	for _, tt := range []struct {
		name          string
		secret, other stdwebhook.Secret
		target        string
		want          int
	}{
		{"the shared secret deploys staging", shared, prod, "staging", http.StatusAccepted},
		{"the shared secret does not deploy production", shared, prod, "production", http.StatusForbidden},
		{"production's secret deploys production", prod, shared, "production", http.StatusAccepted},
		{"production's secret does not deploy staging", prod, shared, "staging", http.StatusForbidden},
	} {
		code, m := call(tt.secret, http.MethodPost, "/v1/deployments", deploy(tt.target))
		if code != tt.want {
			t.Errorf("%s: %d %v, want %d", tt.name, code, m, tt.want)
			continue
		}
		if code != http.StatusAccepted {
			continue
		}
		// Reading the job: its target's secret may, the other may not.
		id, _ := m["id"].(string)
		if code, _ := call(tt.secret, http.MethodGet, "/v1/deployments/"+id, ""); code != http.StatusOK {
			t.Errorf("%s: reading its own job: %d, want 200", tt.name, code)
		}
		if code, _ := call(tt.other, http.MethodGet, "/v1/deployments/"+id, ""); code != http.StatusForbidden {
			t.Errorf("%s: the other secret reads the job: %d, want 403", tt.name, code)
		}
	}
}

// TestGitHubTrust: what a GitHub event must be to start a deploy, and what
// a captured delivery can no longer do.
func TestGitHubTrust(t *testing.T) {
	t.Parallel()
	set := testbed.SetJSON
	push := set("workflow_run.event", "push")
	both := func(fs ...func(map[string]any)) func(map[string]any) {
		return func(m map[string]any) {
			for _, f := range fs {
				f(m)
			}
		}
	}
	old := time.Now().Add(-2 * deployhook.MaxEventAge).UTC().Format(time.RFC3339)
	tests := []struct {
		name, event, file string
		edit              func(map[string]any)
		mutate            func(*http.Request)
		want              int
		wantJob           bool
	}{
		{"a deployment of a SHA on the branch", "deployment", "deployment.json", nil, nil, 202, true},
		{"a deployment of a SHA not on the branch", "deployment", "deployment.json", set("deployment.sha", strings.Repeat("a", 40)), nil, 403, false},
		{"a stale deployment", "deployment", "deployment.json", set("deployment.created_at", old), nil, 422, false},
		{"a deployment from the future", "deployment", "deployment.json", set("deployment.created_at", time.Now().Add(2*deployhook.MaxEventAge).UTC().Format(time.RFC3339)), nil, 422, false},
		{"a workflow_run of a push", "workflow_run", "workflow_run_completed.json", push, nil, 202, true},
		{"a workflow_run of a pull request", "workflow_run", "workflow_run_completed.json", set("workflow_run.event", "pull_request"), nil, 202, false},
		{"a workflow_run from a fork whose branch is master", "workflow_run", "workflow_run_completed.json", both(push, set("workflow_run.head_repository.full_name", "mallory/octo-repo")), nil, 202, false},
		{"a stale workflow_run", "workflow_run", "workflow_run_completed.json", both(push, set("workflow_run.updated_at", old)), nil, 422, false},
		{"a re-run of the branch's head", "workflow_run", "workflow_run_completed.json", both(push, set("workflow_run.run_attempt", 2)), nil, 202, true},
		{"a fresh run of an older build (a newer push landed first)", "workflow_run", "workflow_run_completed.json", both(push, set("workflow_run.head_sha", strings.Repeat("c", 40))), nil, 202, false},
		{"a re-run of an older build", "workflow_run", "workflow_run_completed.json", both(push, set("workflow_run.run_attempt", 2), set("workflow_run.head_sha", strings.Repeat("c", 40))), nil, 202, false},
		{"a 20-day-old run's completion of an older build", "workflow_run", "workflow_run_completed.json",
			both(push, set("workflow_run.created_at", time.Now().Add(-20*24*time.Hour).UTC().Format(time.RFC3339)), set("workflow_run.head_sha", strings.Repeat("c", 40))), nil, 202, false},
		{"signed with SHA-1 only", "deployment", "deployment.json", nil, func(r *http.Request) {
			m := hmac.New(sha1.New, []byte(githubSecret))
			body, _ := io.ReadAll(r.Body)
			m.Write(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.Header.Del("X-Hub-Signature-256")
			r.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
		}, 401, false},
		{"a malformed signature", "deployment", "deployment.json", nil, func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", "sha256=zz") }, 401, false},
		{"form-encoded", "deployment", "deployment.json", nil, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 415, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHook(t, &fakeRunner{})
			resp := h.deliver(t, tt.event, testbed.GitHubPayload(t, tt.file, edits(tt.edit)...), githubSecret, tt.mutate)
			m := decode(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %s, want %d: %v", resp.Status, tt.want, m)
			}
			if _, made := m["id"]; made != tt.wantJob {
				t.Errorf("job made: %v, want %v (%v)", made, tt.wantJob, m)
			}
		})
	}

	t.Run("deployers apply to workflow runs", func(t *testing.T) {
		t.Parallel()
		cfg, err := deployhook.ParseConfig([]byte(strings.Replace(testConfig, "  target: production\n", "  target: production\n  deployers: [Codertocat]\n", 1)), "test")
		if err != nil {
			t.Fatal(err)
		}
		r := &fakeRunner{}
		s, _ := deployhook.NewServer(cfg, r, deployhook.WithGitHubSecrets([]byte(githubSecret)))
		srv := httptest.NewServer(s)
		defer srv.Close()
		h := &hook{srv: srv, runner: r}
		for who, want := range map[string]int{"Codertocat": http.StatusAccepted, "mallory": http.StatusForbidden} {
			resp := h.deliver(t, "workflow_run", testbed.GitHubPayload(t, "workflow_run_completed.json", push, set("workflow_run.triggering_actor.login", who)), githubSecret, nil)
			if resp.StatusCode != want {
				t.Errorf("a run triggered by %s: %s, want %d", who, resp.Status, want)
			}
		}
	})

	t.Run("a refused deployment says so on GitHub", func(t *testing.T) {
		t.Parallel()
		h := newHook(t, &fakeRunner{})
		h.deliver(t, "deployment", testbed.GitHubPayload(t, "deployment.json", set("deployment.sha", strings.Repeat("b", 40))), githubSecret, nil)
		if got := strings.Join(h.gh.Statuses(), "\n"); !strings.Contains(got, "POST /repos/Codertocat/Hello-World/deployments/145988746/statuses error") {
			t.Errorf("statuses sent: %q, want an error status", got)
		}
	})

	for _, tt := range []struct {
		name, event, file string
		edit, again       func(map[string]any)
		wantSame          bool
	}{
		{"a deployment replayed under a new delivery id", "deployment", "deployment.json", nil, nil, true},
		{"a workflow_run replayed under a new delivery id", "workflow_run", "workflow_run_completed.json", push, push, true},
		{"a workflow_run's second attempt", "workflow_run", "workflow_run_completed.json", push, both(push, set("workflow_run.run_attempt", 2)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hold := make(chan struct{})
			defer close(hold)
			h := newHook(t, &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
				<-hold
				return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
			}})
			first := decode(t, h.deliver(t, tt.event, testbed.GitHubPayload(t, tt.file, edits(tt.edit)...), githubSecret, nil))
			resp := h.deliver(t, tt.event, testbed.GitHubPayload(t, tt.file, edits(tt.again)...), githubSecret, nil)
			again := decode(t, resp)
			if same := first["id"] == again["id"]; same != tt.wantSame || (tt.wantSame && resp.StatusCode != http.StatusOK) {
				t.Errorf("first %v, again %v (%s): same job %v, want %v", first, again, resp.Status, same, tt.wantSame)
			}
		})
	}

	t.Run("deployment events without GITHUB_TOKEN", func(t *testing.T) {
		t.Parallel()
		cfg, _ := deployhook.ParseConfig([]byte(testConfig), "test")
		r := &fakeRunner{}
		s, _ := deployhook.NewServer(cfg, r, deployhook.WithGitHubSecrets([]byte("old secret"), []byte(githubSecret)))
		srv := httptest.NewServer(s)
		defer srv.Close()
		h := &hook{srv: srv, runner: r}
		if resp := h.deliver(t, "deployment", testbed.GitHubPayload(t, "deployment.json"), githubSecret, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status = %s, want 403: the SHA cannot be checked", resp.Status)
		}
		if resp := h.deliver(t, "workflow_run", testbed.GitHubPayload(t, "workflow_run_completed.json", push), githubSecret, nil); resp.StatusCode != http.StatusAccepted {
			t.Errorf("the second of two secrets (rotation): %s, want 202", resp.Status)
		}
	})

	t.Run("a deployer not in github.deployers", func(t *testing.T) {
		t.Parallel()
		cfg, err := deployhook.ParseConfig([]byte(testConfig+"  deployers: [octocat]\n"), "test")
		if err != nil {
			t.Fatal(err)
		}
		r := &fakeRunner{}
		s, _ := deployhook.NewServer(cfg, r, deployhook.WithGitHubSecrets([]byte(githubSecret)))
		srv := httptest.NewServer(s)
		defer srv.Close()
		resp := (&hook{srv: srv, runner: r}).deliver(t, "deployment", testbed.GitHubPayload(t, "deployment.json"), githubSecret, nil)
		if m := decode(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(fmt.Sprint(m), "Codertocat") {
			t.Errorf("status = %s %v, want 403 naming the creator", resp.Status, m)
		}
	})
}

// TestRateLimitAfterAuthentication: a client's signed requests past its
// limit get 429 with Retry-After; forged ones are refused 401 as cheaply
// as ever, and are not what the limit counts.
func TestRateLimitAfterAuthentication(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithRateLimit(3))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	h := &hook{srv: srv, server: s, secret: mustSecrets(t, current)[0]}
	forged := func(r *http.Request) { r.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=") }
	for range 10 {
		if resp := h.post(t, `{"target":"production","sha":"`+sha+`"}`, forged); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged: %s, want 401", resp.Status)
		}
	}
	var codes []int
	for i := range 5 {
		resp := h.post(t, fmt.Sprintf(`{"target":"production","sha":"%040x"}`, i+1), nil)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		if resp.Header.Get("X-RateLimit-Remaining") != "" {
			t.Error("the budget is told to the client")
		}
	}
	if fmt.Sprint(codes) != "[202 202 202 429 429]" {
		t.Errorf("signed requests = %v, want three accepted, then 429", codes)
	}
}

// edits is an edit for testbed.GitHubPayload, or none when it is nil.
func edits(edit func(map[string]any)) []func(map[string]any) {
	if edit == nil {
		return nil
	}
	return []func(map[string]any){edit}
}

// TestReplayAcrossTargetsAndUnknownNames: staging's secret reusing the
// webhook-id production's request had gets a job of staging's own, never
// production's back; an unknown target's answer names no target.
func TestReplayAcrossTargetsAndUnknownNames(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(strings.Replace(testConfig, "    url: https://api.autonote.example\n", "    url: https://api.autonote.example\n    secrets-env: PRODUCTION_HOOK_SECRETS\n", 1)), "test")
	if err != nil {
		t.Fatal(err)
	}
	shared, prod := mustSecrets(t, current)[0], mustSecrets(t, next)[0]
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(shared), deployhook.WithTargetSecrets(map[string][]stdwebhook.Secret{"production": {prod}}), deployhook.WithRateLimit(100000))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	call := func(secret stdwebhook.Secret, id, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/deployments", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		secret.SignRequest(req, id, time.Now(), []byte(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	code, prodJob := call(prod, "msg_shared_id", `{"target":"production","sha":"`+sha+`"}`)
	if code != http.StatusAccepted {
		t.Fatalf("production's deploy: %d %s", code, prodJob)
	}
	code, stagingJob := call(shared, "msg_shared_id", `{"target":"staging","sha":"`+sha+`"}`)
	if code != http.StatusAccepted || stagingJob == prodJob || strings.Contains(stagingJob, "Idempotent") {
		t.Errorf("staging's request with production's id: %d %s, want a job of its own (production's: %s)", code, stagingJob, prodJob)
	}
	code, body := call(shared, "msg_unknown", `{"target":"nope","sha":"`+sha+`"}`)
	if code != http.StatusUnprocessableEntity || strings.Contains(body, "staging") || strings.Contains(body, "production") {
		t.Errorf("an unknown target: %d %s, want 422 naming no target", code, body)
	}
}

// TestJobEventsAreBounded: a job whose migration prints 3000 lines of 8 KiB
// keeps each line cut at 4 KiB with a marker, at most 1 MiB in all, and
// says it kept no more.
func TestJobEventsAreBounded(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		for range 3000 {
			report(strings.Repeat("é", 4<<10)) // 8 KiB of two-byte runes
		}
		return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
	}})
	id := decode(t, h.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	var j deployhook.Job
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if j = h.job(t, id); j.State.Done() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	total := 0
	for _, e := range j.Events {
		total += len(e)
		if len(e) > deployhook.MaxEventBytes+64 || !utf8.ValidString(e) {
			t.Fatalf("an event of %d bytes (valid UTF-8: %v)", len(e), utf8.ValidString(e))
		}
	}
	if total > deployhook.MaxJobEventBytes+200 || !strings.Contains(j.Events[len(j.Events)-1], "more events are not kept") || !strings.Contains(j.Events[0], "bytes cut") {
		t.Errorf("%d events, %d bytes, last %q", len(j.Events), total, j.Events[len(j.Events)-1][:min(80, len(j.Events[len(j.Events)-1]))])
	}
}

// TestSignedReadsBindMethodPathAndID: a captured signed GET of one job,
// replayed to /v1/targets or to the same path, is refused.
func TestSignedReadsBindMethodPathAndID(t *testing.T) {
	t.Parallel()
	h := newHook(t, &fakeRunner{})
	id := decode(t, h.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	get := func(path string, sign func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
		sign(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var captured http.Header
	first := get("/v1/deployments/"+id, func(r *http.Request) {
		h.secret.SignRequest(r, "msg_captured_read", time.Now(), nil)
		captured = r.Header.Clone()
	})
	if first != http.StatusOK {
		t.Fatalf("the signed read: %d, want 200", first)
	}
	replay := func(r *http.Request) { r.Header = captured.Clone() }
	if code := get("/v1/targets", replay); code != http.StatusUnauthorized {
		t.Errorf("the read's signature on /v1/targets: %d, want 401", code)
	}
	if code := get("/v1/deployments/"+id, replay); code != http.StatusUnauthorized {
		t.Errorf("the same read again: %d, want 401", code)
	}
}
