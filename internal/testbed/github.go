package testbed

import (
	"bytes"
	"encoding/json"
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
// (deployment.created_at, workflow_run.updated_at), since the hook acts only
// on fresh events; edits change it further, in order.
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
		run["updated_at"] = now
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
