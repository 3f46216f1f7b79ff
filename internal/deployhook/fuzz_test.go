package deployhook_test

import (
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/stdwebhook"
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
