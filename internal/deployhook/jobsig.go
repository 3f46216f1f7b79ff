package deployhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A job in the shared table says what a replica that takes it over will
// deploy: whoever may write the table could otherwise make every replica
// deploy any build to any target without a signature. With table keys
// (DEPLOY_HOOK_TABLE_KEYS, which the table never holds), each job carries
// an HMAC of what it deploys, and a replica takes over only a job whose
// HMAC one of its keys makes. The first key signs; the others, while a
// key is being rotated, only verify.

// ErrUnsigned is a job in the table whose signature no table key makes.
var ErrUnsigned = errors.New("the job in the shared table is not signed by this hook's table keys")

// ParseTableKeys reads DEPLOY_HOOK_TABLE_KEYS: base64 keys of 32 bytes or
// more, separated by spaces, the signing one first.
func ParseTableKeys(v string) ([][]byte, error) {
	var keys [][]byte
	for _, f := range strings.Fields(v) {
		k, err := base64.StdEncoding.DecodeString(f)
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("a table key is not base64 of 32 bytes or more: make one with openssl rand -base64 32")
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// signed is what a job's signature covers: what a replica that takes it
// over acts on. None of it changes after the job is made.
func signed(j Job) []byte {
	b, _ := json.Marshal(struct {
		ID, Target, SHA, Source string
		Created                 int64
		GitHub                  any
	}{j.ID, j.Target, j.SHA, j.Source, j.Created.UnixNano(), j.GitHubDeployment})
	return b
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// sign is j's signature under the first key; "" without keys.
func sign(keys [][]byte, j Job) string {
	if len(keys) == 0 {
		return ""
	}
	return base64.RawStdEncoding.EncodeToString(mac(keys[0], signed(j)))
}

// verify checks j's signature against every key; without keys every job
// passes.
func verify(keys [][]byte, j Job) error {
	if len(keys) == 0 {
		return nil
	}
	got, err := base64.RawStdEncoding.DecodeString(j.Sig)
	if err == nil {
		msg := signed(j)
		for _, k := range keys {
			if hmac.Equal(got, mac(k, msg)) {
				return nil
			}
		}
	}
	return fmt.Errorf("job %s (target %s, sha %.12s): %w", j.ID, j.Target, j.SHA, ErrUnsigned)
}
