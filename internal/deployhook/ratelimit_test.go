package deployhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/deployhook"
)

// TestRateLimitBuckets: a secret holder past its rate gets 429, but
// GitHub's signed deliveries, in a bucket of their own, are still
// answered; behind a trusted proxy each client named by X-Forwarded-For
// has its own bucket, and a client cannot take another's by writing the
// header itself.
func TestRateLimitBuckets(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithGitHubSecrets([]byte(githubSecret)),
		deployhook.WithRateLimit(3), deployhook.WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32")))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	secret := mustSecrets(t, current)[0]
	targets := func(forwarded string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/targets", nil)
		secret.SignRequest(req, fmt.Sprintf("msg_rate_%d", idSeq.Add(1)), time.Now(), nil)
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 3 {
		if code := targets("203.0.113.7"); code != http.StatusOK {
			t.Fatalf("request %d of a client within its rate: %d", i, code)
		}
	}
	if code := targets("203.0.113.7"); code != http.StatusTooManyRequests {
		t.Errorf("a client past its rate: %d, want 429", code)
	}
	// Its own spoofed header first: the proxy appends the address it saw.
	if code := targets("198.51.100.1, 203.0.113.7"); code != http.StatusTooManyRequests {
		t.Errorf("a client that writes another address first: %d, want its own bucket's 429", code)
	}
	if code := targets("198.51.100.1"); code != http.StatusOK {
		t.Errorf("another client behind the same proxy: %d, want 200", code)
	}
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	for i := range 3 {
		mac := hmac.New(sha256.New, []byte(githubSecret))
		mac.Write(ping)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/github", bytes.NewReader(ping))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "ping")
		req.Header.Set("X-Forwarded-For", "203.0.113.7") // whoever claims to be the flooder
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GitHub's delivery %d while a client is past its rate: %s, want 200", i, resp.Status)
		}
	}
}

// TestForwardedForFromAnUntrustedPeer: without -trusted-proxies, a client
// that writes X-Forwarded-For itself is still its TCP peer: it cannot get a
// fresh bucket by naming another address.
func TestForwardedForFromAnUntrustedPeer(t *testing.T) {
	t.Parallel()
	cfg, err := deployhook.ParseConfig([]byte(testConfig), "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := deployhook.NewServer(cfg, &fakeRunner{}, deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithRateLimit(1))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	secret := mustSecrets(t, current)[0]
	var codes []int
	for _, forwarded := range []string{"203.0.113.7", "198.51.100.1"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/targets", nil)
		secret.SignRequest(req, fmt.Sprintf("msg_rate_%d", idSeq.Add(1)), time.Now(), nil)
		req.Header.Set("X-Forwarded-For", forwarded)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != http.StatusOK || codes[1] != http.StatusTooManyRequests {
		t.Errorf("answers %v, want 200 then 429: the header of an untrusted peer names no client", codes)
	}
}
