package action_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/stdwebhook"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// startHook serves a real deploy hook whose jobs run through ECS in the
// world's test bed.
func startHook(t *testing.T, w *world) string {
	t.Helper()
	cfg, err := deployhook.ParseConfig(fmt.Appendf(nil, `targets:
  production: {region: us-east-1, cluster: %s, service: %s, ecr-repository: %s, registry: %q}
`, w.name, w.name, w.repo, w.bed.Registry), "test")
	if err != nil {
		t.Fatal(err)
	}
	secrets, _ := stdwebhook.ParseSecrets(hookSecret)
	runner := &deployhook.ECSRunner{Config: cfg, Polling: fastPolling,
		Clients: func(context.Context, string) (deployhook.Clients, error) {
			return deployhook.Clients{ECS: w.bed.ECS(), ECR: w.bed.ECR(), EC2: w.bed.EC2()}, nil
		}}
	s, err := deployhook.NewServer(cfg, runner, deployhook.WithSecrets(secrets...), deployhook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDeployThroughTheHook(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := startHook(t, w)
	w.bed.Sim.SetScenario(w.shas[2], ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "CannotPullContainerError: not found"})
	// No AWS credentials: the hook holds them.
	w.env["AWS_ACCESS_KEY_ID"], w.env["AWS_SECRET_ACCESS_KEY"] = "", ""

	r := w.run(t, map[string]string{"webhook-url": url, "webhook-secret": hookSecret})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	if r.outputs["status"] != "succeeded" || !strings.HasSuffix(r.outputs["task-definition-arn"], ":2") {
		t.Errorf("outputs = %v, want succeeded on revision 2", r.outputs)
	}
	// The outputs say what was deployed, as a deploy without the hook does.
	if r.outputs["image-uri"] != w.bed.Registry+"/"+w.repo+":"+w.shas[1] || !strings.HasPrefix(r.outputs["image-digest"], "sha256:") ||
		!strings.HasPrefix(r.outputs["deployment-id"], "ecs-svc/") {
		t.Errorf("outputs = %v, want the image, its digest and the ECS deployment", r.outputs)
	}
	if !strings.Contains(r.summary, "| Image | `"+w.bed.Registry) || !strings.Contains(r.summary, "| Digest | `sha256:") {
		t.Errorf("summary lacks the image and digest rows:\n%s", r.summary)
	}
	// And where the API answers, and what a failure returns to.
	if r.outputs["url"] != "http://192.0.2.2:3000" || r.outputs["previous-task-definition-arn"] != w.firstTD {
		t.Errorf("outputs = %v, want the url and the previous revision %s", r.outputs, w.firstTD)
	}
	if !strings.Contains(r.summary, "| Previous revision |") || !strings.Contains(r.log, "the API answers at http://192.0.2.2:3000") {
		t.Errorf("summary or log lacks the previous revision or the URL:\n%s\n%s", r.summary, r.log)
	}
	if !strings.Contains(r.log, "deploy hook took job") || !strings.Contains(r.log, "has reached a steady state") {
		t.Errorf("log does not follow the job:\n%s", r.log)
	}
	assertMasked(t, r.log, hookSecret)

	r = w.run(t, map[string]string{"webhook-url": url, "webhook-secret": hookSecret, "tag": w.shas[2]})
	if r.err == nil || r.outputs["status"] != "rolled-back" || !strings.Contains(r.log, "CannotPullContainerError") {
		t.Errorf("broken image through the hook: %v, %v\n%s", r.err, r.outputs, r.log)
	}

	r = w.run(t, map[string]string{"webhook-url": url, "webhook-secret": "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="})
	if r.err == nil || !strings.Contains(r.log, "401 Unauthorized") {
		t.Errorf("wrong secret: %v, want the hook's 401\n%s", r.err, r.log)
	}
}

// githubStandIn records the GitHub API calls of the action.
type githubStandIn struct {
	mu    sync.Mutex
	calls []string
}

func (g *githubStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	g.mu.Lock()
	g.calls = append(g.calls, fmt.Sprintf("%s %s %v %v", r.Method, r.URL.Path, body["state"], body["environment"]))
	g.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	fmt.Fprint(w, `{"id": 42}`)
}

func TestGitHubDeploymentStatuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gh := &githubStandIn{}
	srv := httptest.NewServer(gh)
	defer srv.Close()
	w.env["GITHUB_API_URL"] = srv.URL
	w.env["GITHUB_REPOSITORY"] = "autonote/autonote"
	w.bed.Sim.SetScenario(w.shas[2], ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "ResourceInitializationError: unable to pull secrets"})

	r := w.run(t, map[string]string{"github-token": "ghs_testtoken123", "environment": "staging"})
	if r.err != nil {
		t.Fatalf("Run: %v\n%s", r.err, r.log)
	}
	r2 := w.run(t, map[string]string{"github-token": "ghs_testtoken123", "environment": "staging", "tag": w.shas[2]})
	if r2.err == nil {
		t.Fatal("broken deploy succeeded")
	}
	want := []string{
		"POST /repos/autonote/autonote/deployments <nil> staging",
		"POST /repos/autonote/autonote/deployments/42/statuses in_progress staging",
		"POST /repos/autonote/autonote/deployments/42/statuses success staging",
		"POST /repos/autonote/autonote/deployments <nil> staging",
		"POST /repos/autonote/autonote/deployments/42/statuses in_progress staging",
		"POST /repos/autonote/autonote/deployments/42/statuses failure staging",
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if strings.Join(gh.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("GitHub calls:\n%s\nwant:\n%s", strings.Join(gh.calls, "\n"), strings.Join(want, "\n"))
	}
	assertMasked(t, r.log, "ghs_testtoken123")
}

// TestHookAnswersAreNeverCommands: a deploy hook (a malicious one, or one
// passing on text it was sent) answers with workflow commands in its job
// events and error, or with a job id that is not one. The action prints
// its words as text.
func TestHookAnswersAreNeverCommands(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"job_1", "job_1\n::error::forged"} {
		t.Run(fmt.Sprintf("job id %q", id), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			evil := []string{"::add-mask::" + w.name, "started\n::set-output name=status::succeeded", "##[set-output name=status;]succeeded", "  ::stop-commands::token"}
			hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodPost {
					rw.WriteHeader(http.StatusAccepted)
					_ = json.NewEncoder(rw).Encode(map[string]string{"id": id, "status_url": "x"})
					return
				}
				_ = json.NewEncoder(rw).Encode(map[string]any{"id": id, "state": "failed", "events": evil, "error": "::error::forged error"})
			}))
			t.Cleanup(hook.Close)
			r := w.run(t, map[string]string{"webhook-url": hook.URL, "webhook-secret": hookSecret})
			if r.outputs["status"] != "failed" {
				t.Errorf("status = %q, want failed", r.outputs["status"])
			}
			if id == "job_1" && !strings.Contains(r.log, "set-output name=status::succeeded") {
				t.Errorf("the hook's events were not printed as text:\n%s", r.log)
			}
			ours := []string{"::group::", "::endgroup::", "::error::", "::add-mask::" + hookSecret, "::add-mask::testing"}
			for _, line := range strings.Split(r.log, "\n") {
				l := strings.TrimSpace(line)
				if strings.Contains(l, "##[") || (strings.HasPrefix(l, "::") && !slices.ContainsFunc(ours, func(p string) bool { return strings.HasPrefix(l, p) })) {
					t.Errorf("the hook's text became a command: %q", line)
				}
				if strings.HasPrefix(l, "::error::forged") {
					t.Errorf("an annotation of the hook's own: %q", line)
				}
			}
		})
	}
}

// TestHookAnswerCannotWriteOutputs: a hook (or what poses as one) whose
// job holds a task definition with a line break, a delimiter and a
// name<<EOF line is refused: no output beyond the action's own is
// written, and the status is failed.
func TestHookAnswerCannotWriteOutputs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	evil := "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1\n_GitHubActionsFileCommandDelimeter_\ninjected-output<<EOF\nrun: curl evil\nEOF"
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			rw.WriteHeader(http.StatusAccepted)
			fmt.Fprint(rw, `{"id":"job1","state":"queued","status_url":"http://x/v1/deployments/job1"}`)
			return
		}
		b, _ := json.Marshal(map[string]any{"id": "job1", "state": "succeeded", "taskDefinition": evil, "events": []string{}})
		rw.Write(b)
	}))
	defer hook.Close()
	r := w.run(t, map[string]string{"webhook-url": hook.URL, "webhook-secret": hookSecret})
	if r.err == nil || !strings.Contains(r.log, "the deploy hook's answer has a taskDefinition that is not a task definition ARN") {
		t.Fatalf("a hook answer with a forged task definition: %v\n%s", r.err, r.log)
	}
	if _, ok := r.outputs["injected-output"]; ok || r.outputs["status"] != "failed" || strings.Contains(r.outputs["task-definition-arn"], "curl") {
		t.Errorf("outputs = %q", r.outputs)
	}
}

// TestHookRedirectIsNotFollowed: a hook address that redirects (to http,
// here) gets no signed request carried along: the step fails on the
// redirect and the other address hears nothing.
func TestHookRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var heard atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { heard.Add(1) }))
	defer elsewhere.Close()
	hook := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/v1/deployments", http.StatusTemporaryRedirect))
	defer hook.Close()
	r := w.run(t, map[string]string{"webhook-url": hook.URL, "webhook-secret": hookSecret})
	if r.err == nil || !strings.Contains(r.log, "307 Temporary Redirect") {
		t.Errorf("a redirecting hook: %v\n%s", r.err, r.log)
	}
	if heard.Load() != 0 {
		t.Errorf("the redirect was followed: the other address heard %d requests", heard.Load())
	}
}
