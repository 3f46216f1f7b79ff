package deployhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/autonote/deploy-action/internal/testbed"
	"github.com/google/go-github/v62/github"
)

const (
	current = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	next    = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
	retired = "whsec_cmV0aXJlZC1zZWNyZXQtbm8tbG9uZ2VyLWluLXVzZQ=="
)

func mustSecrets(t testing.TB, s string) []stdwebhook.Secret {
	t.Helper()
	secrets, err := stdwebhook.ParseSecrets(s)
	if err != nil {
		t.Fatal(err)
	}
	return secrets
}

func FuzzDecodeDeployRequest(f *testing.F) {
	f.Add([]byte(`{"target":"production","sha":"f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}`))
	f.Add([]byte(`{"target":"production","sha":"F95F852B"}`))
	f.Add([]byte(`{"target":1}`))
	f.Add([]byte(`[]`))
	targets := map[string]deployhook.Target{"production": {}}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := deployhook.DecodeDeployRequest(body, targets)
		if err != nil {
			return
		}
		if req.Target != "production" || len(req.SHA) != 40 || strings.Trim(req.SHA, "0123456789abcdef") != "" {
			t.Fatalf("accepted %q as %+v", body, req)
		}
	})
}

// FuzzGitHubRoute sends the GitHub route any event, body and signature. A
// delivery not signed with the secret is refused before it is parsed (or,
// of an event the hook does not act on, acknowledged unread), and nothing
// it holds makes a job or a 5xx; a signed one never makes a 5xx
// either, and makes a job only as a push-started workflow_run of the
// configured workflow and branch, or a deployment (the stand-in says every
// SHA is on the branch).
func FuzzGitHubRoute(f *testing.F) {
	for _, file := range []string{"deployment.json", "workflow_run_completed.json", "ping.json", "push.json"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "github-webhooks", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.TrimSuffix(file[:strings.Index(file, ".")], "_completed"), raw, true)
	}
	f.Add("deployment", []byte(`{"deployment":{"sha":"x"}}`), false)
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	api := testbed.NewGitHubAPI(f, func(string, string) bool { return true })
	client := github.NewClient(nil)
	client.BaseURL, _ = url.Parse(api.URL + "/")
	runner := &fakeRunner{}
	s, err := deployhook.NewServer(cfg, runner, deployhook.WithGitHubSecrets([]byte(githubSecret)), deployhook.WithGitHub(client), deployhook.WithRateLimit(1<<30), deployhook.WithClock(func() time.Time { return time.Date(2020, 10, 5, 16, 40, 0, 0, time.UTC) }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event string, body []byte, sign bool) {
		req := httptest.NewRequest(http.MethodPost, "/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", event)
		if sign {
			m := hmac.New(sha256.New, []byte(githubSecret))
			m.Write(body)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		} else {
			req.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("ab", 32))
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", event, body, rec.Code, rec.Body)
		}
		made := strings.Contains(rec.Body.String(), `"status_url"`)
		ignoredUnread := rec.Code == http.StatusAccepted && strings.Contains(rec.Body.String(), `"ignored"`) && event != "ping" && event != "deployment" && event != "workflow_run"
		if !sign && ((rec.Code != http.StatusUnauthorized && !ignoredUnread) || made) {
			t.Fatalf("unsigned %s: %d %s", event, rec.Code, rec.Body)
		}
		if made && event != "deployment" && event != "workflow_run" {
			t.Fatalf("a %s event made a job: %s", event, rec.Body)
		}
	})
}

// FuzzParseConfig: any YAML is either refused with an error or gives a
// config whose every target has what a deploy needs, and whose GitHub
// mappings name targets that exist.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(testConfig))
	f.Add([]byte("targets:\n  p: {region: us-east-1, cluster: c, service: s, ecr-repository: e}\n"))
	f.Add([]byte("targets: {}\n"))
	f.Add([]byte("github:\n  environments: {production: nope}\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := deployhook.ParseConfig(raw, "fuzz")
		if err != nil {
			return
		}
		if len(c.Targets) == 0 {
			t.Fatalf("accepted a config without targets: %q", raw)
		}
		for name, tg := range c.Targets {
			if tg.Region == "" || tg.Cluster == "" || tg.Service == "" || tg.Repository == "" {
				t.Fatalf("accepted target %s without what a deploy needs: %+v", name, tg)
			}
		}
		for env, target := range c.GitHub.Environments {
			if _, ok := c.Targets[target]; !ok {
				t.Fatalf("accepted environment %s mapped to missing target %q", env, target)
			}
		}
		if c.GitHub.Workflow != "" {
			if _, ok := c.Targets[c.GitHub.Target]; !ok || c.GitHub.Branch == "" {
				t.Fatalf("accepted workflow %s without a target or branch", c.GitHub.Workflow)
			}
		}
	})
}

// FuzzWorkflowRunRouting: a signed workflow_run whose fields vary makes a
// job only when it is a successful push run of the configured workflow on
// the branch, from the repository itself, of a full SHA, and, for a
// re-run, of the branch's head (the stand-in's head is runSHA).
func FuzzWorkflowRunRouting(f *testing.F) {
	f.Add("completed", "success", "push", "master", runSHA, 1, "Codertocat/Hello-World", ".github/workflows/test.yml")
	f.Add("completed", "success", "push", "master", strings.Repeat("c", 40), 2, "Codertocat/Hello-World", ".github/workflows/test.yml")
	f.Add("completed", "failure", "pull_request", "feature", runSHA, 1, "mallory/Hello-World", ".github/workflows/other.yml")
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	api := testbed.NewGitHubAPI(f, func(string, string) bool { return true })
	api.SetBranchHead("master", runSHA)
	client := github.NewClient(nil)
	client.BaseURL, _ = url.Parse(api.URL + "/")
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithGitHubSecrets([]byte(githubSecret)), deployhook.WithGitHub(client), deployhook.WithRateLimit(1<<30))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, action, conclusion, event, branch, headSHA string, attempt int, headRepo, workflow string) {
		body := testbed.GitHubPayload(t, "workflow_run_completed.json",
			testbed.SetJSON("action", action), testbed.SetJSON("workflow_run.conclusion", conclusion), testbed.SetJSON("workflow_run.event", event),
			testbed.SetJSON("workflow_run.head_branch", branch), testbed.SetJSON("workflow_run.head_sha", headSHA), testbed.SetJSON("workflow_run.run_attempt", attempt),
			testbed.SetJSON("workflow_run.head_repository.full_name", headRepo), testbed.SetJSON("workflow.path", workflow))
		req := httptest.NewRequest(http.MethodPost, "/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "workflow_run")
		m := hmac.New(sha256.New, []byte(githubSecret))
		m.Write(body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		made := strings.Contains(rec.Body.String(), `"status_url"`)
		want := action == "completed" && conclusion == "success" && event == "push" && branch == "master" && strings.EqualFold(headRepo, "Codertocat/Hello-World") &&
			path.Base(workflow) == "test.yml" && len(headSHA) == 40 && strings.Trim(headSHA, "0123456789abcdef") == "" && (attempt <= 1 || headSHA == runSHA)
		if made && !want {
			t.Fatalf("a job for action %q conclusion %q event %q branch %q sha %q attempt %d repo %q workflow %q: %s", action, conclusion, event, branch, headSHA, attempt, headRepo, workflow, rec.Body)
		}
	})
}
