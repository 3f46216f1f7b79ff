package stdwebhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/stdwebhook"
)

func mustSecrets(t testing.TB, s string) []stdwebhook.Secret {
	t.Helper()
	secrets, err := stdwebhook.ParseSecrets(s)
	if err != nil {
		t.Fatal(err)
	}
	return secrets
}

const (
	current = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	next    = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
	retired = "whsec_cmV0aXJlZC1zZWNyZXQtbm8tbG9uZ2VyLWluLXVzZQ=="
)

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"target":"production","sha":"f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}`)
	accepted := mustSecrets(t, current+" "+next)
	sign := func(secret string, id string, ts time.Time, b []byte) http.Header {
		h := http.Header{}
		req := &http.Request{Header: h}
		mustSecrets(t, secret)[0].SignRequest(req, id, ts, b)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"signed by the current secret", sign(current, "msg_1", now, body), body, nil},
		{"signed by the next secret during rotation", sign(next, "msg_1", now, body), body, nil},
		{"signed by a retired secret", sign(retired, "msg_1", now, body), body, stdwebhook.ErrBadSignature},
		{"body changed after signing", sign(current, "msg_1", now, body), append([]byte(" "), body...), stdwebhook.ErrBadSignature},
		{"id changed after signing", func() http.Header { h := sign(current, "msg_1", now, body); h.Set("webhook-id", "msg_2"); return h }(), body, stdwebhook.ErrBadSignature},
		{"four minutes old", sign(current, "msg_1", now.Add(-4*time.Minute), body), body, nil},
		{"stale", sign(current, "msg_1", now.Add(-6*time.Minute), body), body, stdwebhook.ErrStale},
		{"from the future", sign(current, "msg_1", now.Add(6*time.Minute), body), body, stdwebhook.ErrStale},
		{"timestamp not a number", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-timestamp", "yesterday")
			return h
		}(), body, stdwebhook.ErrStale},
		{"no signature", http.Header{}, body, stdwebhook.ErrNoSignature},
		{"several signatures, one good", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-signature", "v1,bm9wZQ== v2,whatever "+h.Get("webhook-signature"))
			return h
		}(), body, nil},
		{"signature not base64", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-signature", "v1,!!!")
			return h
		}(), body, stdwebhook.ErrBadSignature},
		{"eight signatures, the good one last", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-signature", strings.Repeat("v1,bm9wZQ== ", 7)+h.Get("webhook-signature"))
			return h
		}(), body, nil},
		{"nine signatures, even with the good one last", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-signature", strings.Repeat("v1,bm9wZQ== ", 8)+h.Get("webhook-signature"))
			return h
		}(), body, stdwebhook.ErrTooManySignatures},
		{"20,000 forged signatures", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-signature", strings.Repeat("v1,"+strings.Repeat("A", 44)+" ", 20000))
			return h
		}(), body, stdwebhook.ErrTooManySignatures},
		{"an entry of another length is ignored", func() http.Header {
			h := sign(current, "msg_1", now, body)
			h.Set("webhook-signature", "v1,"+strings.Repeat("A", 4000)+" "+h.Get("webhook-signature"))
			return h
		}(), body, nil},
		{"id too long", sign(current, strings.Repeat("m", 257), now, body), body, stdwebhook.ErrBadID},
		{"id with a control character", sign(current, "msg_1\x00", now, body), body, stdwebhook.ErrBadID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := stdwebhook.Verify(tt.header, tt.body, now, accepted)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestStandardWebhooksVector checks the signing against the example in the
// Standard Webhooks specification.
func TestStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	s := mustSecrets(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")[0]
	got := s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// TestGitHubVector checks GitHub's published example of X-Hub-Signature-256
// with the same HMAC the hook's GitHub route relies on.
func TestGitHubVector(t *testing.T) {
	t.Parallel()
	m := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
	m.Write([]byte("Hello, World!"))
	if got, want := "sha256="+hex.EncodeToString(m.Sum(nil)), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseSecrets(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"plain-secret", "whsec_***", "whsec_c2hvcnQ="} {
		if _, err := stdwebhook.ParseSecrets(bad); err == nil {
			t.Errorf("ParseSecrets(%q) succeeded, want an error", bad)
		}
	}
	s := mustSecrets(t, current+"  "+next)
	if len(s) != 2 {
		t.Fatalf("got %d secrets, want 2", len(s))
	}
	if got := s[0].String(); got != "whsec_[redacted]" {
		t.Errorf("String() = %q: a secret must not print", got)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("msg_1", int64(1_800_000_000), []byte(`{"target":"production"}`), "v1,abc")
	f.Add("", int64(0), []byte{}, "")
	secrets := mustSecrets(f, current)
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, id string, ts int64, body []byte, sig string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sig)
		// A forged signature never passes.
		if err := stdwebhook.Verify(h, body, now, secrets); err == nil {
			t.Fatalf("forged signature %q accepted", sig)
		}
		// A real one passes when fresh and its id well-formed, and only for
		// its own body.
		if ts < now.Unix()-60 || ts > now.Unix()+60 {
			return
		}
		if id == "" || len(id) > stdwebhook.MaxIDLength || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			h.Set("webhook-signature", secrets[0].Sign(id, time.Unix(ts, 0), body))
			if err := stdwebhook.Verify(h, body, now, secrets); err == nil && id != "" {
				t.Fatalf("malformed id %q accepted", id)
			}
			return
		}
		h.Set("webhook-signature", secrets[0].Sign(id, time.Unix(ts, 0), body))
		if err := stdwebhook.Verify(h, body, now, secrets); err != nil {
			t.Fatalf("genuine signature refused: %v", err)
		}
		if err := stdwebhook.Verify(h, append(body, 'x'), now, secrets); err == nil {
			t.Fatal("signature accepted for another body")
		}
	})
}

// BenchmarkVerify: a request of a 64 KiB body with one forged signature,
// with eight (the most the hook compares), and with 20,000 (the attack of
// issue 10, 960 KB of header); two secrets configured. The 20,000 must cost
// no more than one: it is refused from its headers.
func BenchmarkVerify(b *testing.B) {
	secrets := mustSecrets(b, current+" "+next)
	now := time.Unix(1_800_000_000, 0)
	body := make([]byte, 64<<10)
	forged := "v1," + strings.Repeat("A", 43) + "= "
	for _, n := range []int{1, 8, 20000} {
		b.Run(fmt.Sprintf("%d-signatures", n), func(b *testing.B) {
			h := http.Header{}
			h.Set("webhook-id", "msg_1")
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			h.Set("webhook-signature", strings.Repeat(forged, n))
			for b.Loop() {
				if err := stdwebhook.Verify(h, body, now, secrets); err == nil {
					b.Fatal("forged signature accepted")
				}
			}
		})
	}
}
