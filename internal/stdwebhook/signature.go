// Package stdwebhook signs and verifies requests the Standard Webhooks way:
// webhook-id, webhook-timestamp and webhook-signature (v1, base64 of an
// HMAC-SHA256 of id.timestamp.body), several secrets at once for rotation,
// a 5-minute tolerance.
package stdwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature errors; each is answered 401 and starts nothing.
var (
	ErrNoSignature  = errors.New("request is not signed: send webhook-id, webhook-timestamp and webhook-signature")
	ErrBadSignature = errors.New("no signature matches a current secret")
	ErrStale        = errors.New("webhook-timestamp is outside the 5-minute tolerance")
)

// Tolerance is how far a signed request's timestamp may be from now.
const Tolerance = 5 * time.Minute

// Secret is a Standard Webhooks signing secret: whsec_ and base64 key
// bytes. It never prints.
type Secret struct{ key []byte }

func (Secret) String() string       { return "whsec_[redacted]" }
func (Secret) LogValue() slog.Value { return slog.StringValue("whsec_[redacted]") }

// ParseSecrets parses space-separated whsec_ secrets; several are accepted
// at once so that a secret can be rotated without downtime.
func ParseSecrets(s string) ([]Secret, error) {
	var out []Secret
	for i, f := range strings.Fields(s) {
		b64, ok := strings.CutPrefix(f, "whsec_")
		if !ok {
			return nil, fmt.Errorf("secret %d does not start with whsec_: give Standard Webhooks secrets, whsec_ and base64", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("secret %d: the part after whsec_ must be base64 of at least 16 bytes", i+1)
		}
		out = append(out, Secret{key: key})
	}
	return out, nil
}

// Sign returns the webhook-signature value of a message under the secret.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, strconv.FormatInt(ts.Unix(), 10), body))
}

func (s Secret) mac(id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignRequest sets the Standard Webhooks headers on req for body.
func (s Secret) SignRequest(req *http.Request, id string, ts time.Time, body []byte) {
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", s.Sign(id, ts, body))
}

// Verify checks a request's Standard Webhooks signature over body against
// every secret, in constant time per comparison, before anything reads the
// body as JSON.
func Verify(h http.Header, body []byte, now time.Time, secrets []Secret) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not a Unix time", ErrStale, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	for _, sig := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if hmac.Equal(got, s.mac(id, ts, body)) {
				return nil
			}
		}
	}
	return ErrBadSignature
}
