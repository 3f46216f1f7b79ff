package deployhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// syncBuffer is a log written by the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
				if _, ok, err := q.Submit(context.Background(), key, "production", sha, "api"); err == nil && ok {
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

// TestRejectedRequestsAreCountedNotLogged: forged requests write no line
// each, and nothing of theirs (a request id of the client's) reaches the
// log; their counts are logged per interval, and at shutdown.
func TestRejectedRequestsAreCountedNotLogged(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	s, err := deployhook.NewServer(deployhook.Deps{Config: cfg, Runner: &fakeRunner{}, Secrets: mustSecrets(t, current), RateLimit: 100000,
		Log: slog.New(slog.NewJSONHandler(&log, nil))})
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
		case strings.Contains(l, `"msg":"rejected requests"`):
			rejected = append(rejected, l)
		}
	}
	if len(requests) != 1 || !strings.Contains(requests[0], `"path":"/healthz"`) {
		t.Errorf("request lines = %q, want the one for /healthz", requests)
	}
	if len(rejected) != 1 || !strings.Contains(rejected[0], `"401":200`) {
		t.Errorf("rejected lines = %q, want one counting 200 answers 401", rejected)
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
	if _, err := deployhook.NewServer(deployhook.Deps{Config: cfg, Runner: &fakeRunner{}, Secrets: mustSecrets(t, current)}); err == nil || !strings.Contains(err.Error(), "PRODUCTION_HOOK_SECRETS") {
		t.Errorf("a target whose secrets-env holds nothing: %v, want an error naming it", err)
	}
	shared, prod := mustSecrets(t, current)[0], mustSecrets(t, next)[0]
	s, err := deployhook.NewServer(deployhook.Deps{Config: cfg, Runner: &fakeRunner{}, Secrets: []stdwebhook.Secret{shared},
		TargetSecrets: map[string][]stdwebhook.Secret{"production": {prod}}, RateLimit: 100000})
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
