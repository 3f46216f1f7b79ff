package testbed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHubPayload reads a real GitHub webhook payload from the module's
// testdata/github-webhooks and brings its timestamps to now
// (deployment.created_at, workflow_run.created_at, run_started_at and
// updated_at), since the hook acts only on fresh events; edits change it
// further, in order.
func GitHubPayload(t testing.TB, file string, edits ...func(map[string]any)) []byte {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "testdata", "github-webhooks", file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if d, ok := m["deployment"].(map[string]any); ok {
		d["created_at"] = now
	}
	if run, ok := m["workflow_run"].(map[string]any); ok {
		run["updated_at"], run["created_at"], run["run_started_at"] = now, now, now
	}
	for _, edit := range edits {
		edit(m)
	}
	out, _ := json.Marshal(m)
	return out
}

// SetJSON is an edit for GitHubPayload that sets the value at a dotted path
// (workflow_run.head_repository.full_name).
func SetJSON(path string, v any) func(map[string]any) {
	return func(m map[string]any) {
		keys := strings.Split(path, ".")
		for _, k := range keys[:len(keys)-1] {
			m = m[k].(map[string]any)
		}
		m[keys[len(keys)-1]] = v
	}
}

// SyncBuffer is a buffer that a server's goroutines write (a log) while a
// test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// GitHubAPI is a local stand-in for the part of GitHub's API the hook
// calls: compare (is a SHA on a branch?) and deployment statuses, which it
// records.
type GitHubAPI struct {
	URL      string
	mu       sync.Mutex
	statuses []string          // "METHOD path state environment_url"
	heads    map[string]string // branch -> its head's SHA
}

// SetBranchHead makes GET .../branches/{branch} answer with sha as its head.
func (g *GitHubAPI) SetBranchHead(branch, sha string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.heads[branch] = sha
}

// NewGitHubAPI serves the stand-in for the test's lifetime. onBranch says
// whether head is on base: GitHub then compares it as "behind", else
// "diverged".
func NewGitHubAPI(t testing.TB, onBranch func(base, head string) bool) *GitHubAPI {
	g := &GitHubAPI{heads: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := strings.LastIndex(r.URL.Path, "/branches/"); i >= 0 && r.Method == http.MethodGet {
			g.mu.Lock()
			head, ok := g.heads[r.URL.Path[i+len("/branches/"):]]
			g.mu.Unlock()
			if !ok {
				http.Error(w, `{"message":"Branch not found"}`, http.StatusNotFound)
				return
			}
			fmt.Fprintf(w, `{"name":%q,"commit":{"sha":%q}}`, r.URL.Path[i+len("/branches/"):], head)
			return
		}
		if i := strings.LastIndex(r.URL.Path, "/compare/"); i >= 0 && r.Method == http.MethodGet {
			base, head, _ := strings.Cut(r.URL.Path[i+len("/compare/"):], "...")
			status := "diverged"
			if onBranch(base, head) {
				status = "behind"
			}
			fmt.Fprintf(w, `{"status":%q}`, status)
			return
		}
		var req map[string]string
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &req)
		g.mu.Lock()
		g.statuses = append(g.statuses, fmt.Sprintf("%s %s %s %s", r.Method, r.URL.Path, req["state"], req["environment_url"]))
		g.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":1}`)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// Statuses are the calls other than compare, in order.
func (g *GitHubAPI) Statuses() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.statuses...)
}
