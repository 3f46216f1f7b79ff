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
	"hash"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Signature errors; each is answered 401 and starts nothing.
var (
	ErrNoSignature       = errors.New("request is not signed: send webhook-id, webhook-timestamp and webhook-signature")
	ErrBadSignature      = errors.New("no signature matches a current secret")
	ErrStale             = errors.New("webhook-timestamp is outside the 5-minute tolerance")
	ErrBadID             = fmt.Errorf("webhook-id must be 1 to %d printable ASCII characters", MaxIDLength)
	ErrTooManySignatures = fmt.Errorf("webhook-signature carries more than %d signatures", MaxSignatures)
)

// MaxSignatures is how many entries one webhook-signature may carry: a
// sender rotating its secret sends two or three. Each entry beyond costs a
// comparison, so the count is bounded before the body is read.
const MaxSignatures = 8

// MaxIDLength bounds webhook-id, which the hook keeps to deduplicate.
const MaxIDLength = 256

// Tolerance is how far a signed request's timestamp may be from now.
const Tolerance = 5 * time.Minute

// Secret is a Standard Webhooks signing secret: whsec_ and base64 key
// bytes. It never prints.
type Secret struct {
	key []byte
	// macs are keyed HMAC-SHA256 hashes, reset and reused: keying one costs
	// two hash blocks, which every forged request would pay.
	macs *sync.Pool
}

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
		out = append(out, Secret{key: key, macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}})
	}
	return out, nil
}

// Sign returns the webhook-signature value of a message under the secret.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, strconv.FormatInt(ts.Unix(), 10), body))
}

func (s Secret) mac(id, ts string, body []byte) []byte {
	var m hash.Hash
	if s.macs != nil {
		m = s.macs.Get().(hash.Hash)
		m.Reset()
		defer s.macs.Put(m)
	} else {
		m = hmac.New(sha256.New, s.key)
	}
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignRequest sets the Standard Webhooks headers on req for body. A read
// (GET or HEAD), which has no body, is signed over ReadContent instead, so
// that its signature holds for that method and path alone.
func (s Secret) SignRequest(req *http.Request, id string, ts time.Time, body []byte) {
	if IsRead(req.Method) {
		body = ReadContent(req.Method, req.URL.EscapedPath())
	}
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", s.Sign(id, ts, body))
}

// IsRead reports whether a request of method reads: its signature is over
// ReadContent.
func IsRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// ReadContent is what a read is signed over in place of a body, so that a
// captured signed GET of one path opens no other: "GET /v1/targets".
func ReadContent(method, path string) []byte { return []byte(method + " " + path) }

// Signed is what a request's headers say of its signature, checked before
// its body is read.
type Signed struct {
	id, ts string
	sigs   [][]byte // the entries that decode to an HMAC-SHA256, at most MaxSignatures
}

// CheckHeaders checks what the headers alone can show, at a cost that does
// not grow with them: the three headers are there, the id is well-formed,
// the timestamp is within the tolerance, and webhook-signature carries at
// most MaxSignatures entries (it stops reading after one more).
func CheckHeaders(h http.Header, now time.Time) (Signed, error) {
	// The keys in canonical form: Get then finds them without building one.
	id, ts, sigs := h.Get("Webhook-Id"), h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature")
	if id == "" || ts == "" || sigs == "" {
		return Signed{}, ErrNoSignature
	}
	if len(id) > MaxIDLength || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return Signed{}, ErrBadID
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Signed{}, fmt.Errorf("%w: %q is not a Unix time", ErrStale, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return Signed{}, ErrStale
	}
	out := Signed{id: id, ts: ts}
	for n := 0; ; n++ {
		sigs = strings.TrimLeft(sigs, " ")
		if sigs == "" {
			return out, nil
		}
		if n == MaxSignatures {
			return Signed{}, ErrTooManySignatures
		}
		var entry string
		entry, sigs, _ = strings.Cut(sigs, " ")
		b64, ok := strings.CutPrefix(entry, "v1,")
		if !ok || base64.StdEncoding.DecodedLen(len(b64)) > sha256.Size+2 {
			continue // another scheme, or not an HMAC-SHA256
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && len(got) == sha256.Size {
			out.sigs = append(out.sigs, got)
		}
	}
}

// Verify computes the body's MAC once under each secret and compares it, in
// constant time, with each signature the headers carried.
func (sg Signed) Verify(body []byte, secrets []Secret) error {
	_, err := sg.Match(body, secrets)
	return err
}

// Match is Verify that also says which of the secrets signed the request.
func (sg Signed) Match(body []byte, secrets []Secret) (int, error) {
	if len(sg.sigs) == 0 {
		return -1, ErrBadSignature
	}
	for i, s := range secrets {
		want := s.mac(sg.id, sg.ts, body)
		for _, got := range sg.sigs {
			if hmac.Equal(got, want) {
				return i, nil
			}
		}
	}
	return -1, ErrBadSignature
}

// Verify checks a request's Standard Webhooks signature over body against
// every secret, before anything reads the body as JSON: CheckHeaders, then
// Signed.Verify.
func Verify(h http.Header, body []byte, now time.Time, secrets []Secret) error {
	sg, err := CheckHeaders(h, now)
	if err != nil {
		return err
	}
	return sg.Verify(body, secrets)
}
