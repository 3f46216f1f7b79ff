package awsjudge

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/autonote/deploy-action/internal/testbed/authz"
)

// registryToken forwards ecr:GetAuthorizationToken and hands out a
// registry password of the caller's own, so the registry's requests are
// judged as the principal that asked for it (ECR authorizes each push
// and pull as the IAM actions of registryAction).
func (j *Judge) registryToken(w http.ResponseWriter, r *http.Request, next http.Handler, p principal) {
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	next.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if rec.code == http.StatusOK {
		var out struct {
			AuthorizationData []map[string]any `json:"authorizationData"`
		}
		if json.Unmarshal(body, &out) == nil && len(out.AuthorizationData) > 0 {
			password := "ecr-" + strings.ToLower(rand.Text())
			for _, d := range out.AuthorizationData {
				d["authorizationToken"] = base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
			}
			j.mu.Lock()
			j.tokens[password] = p
			j.mu.Unlock()
			body, _ = json.Marshal(out)
			rec.header.Del("Content-Length")
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(body)
}

var registryPath = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags)/(.*)$`)

// registryAction is the ECR action a registry request is authorized as
// (the ECR user guide, "Private registry authentication": what docker
// push and pull need), "" for one that needs none (the /v2/ ping).
func registryAction(r *http.Request) (action, repository string) {
	m := registryPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return "", ""
	}
	repo, kind, rest := m[1], m[2], m[3]
	switch {
	case kind == "manifests" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return "ecr:BatchGetImage", repo
	case kind == "manifests" && r.Method == http.MethodPut:
		return "ecr:PutImage", repo
	case kind == "manifests" && r.Method == http.MethodDelete:
		return "ecr:BatchDeleteImage", repo
	case kind == "tags":
		return "ecr:ListImages", repo
	case kind == "blobs" && strings.HasPrefix(rest, "uploads/") && r.Method == http.MethodPost:
		return "ecr:InitiateLayerUpload", repo
	case kind == "blobs" && strings.HasPrefix(rest, "uploads/") && r.Method == http.MethodPut && r.URL.Query().Get("digest") != "":
		return "ecr:CompleteLayerUpload", repo
	case kind == "blobs" && strings.HasPrefix(rest, "uploads/"):
		return "ecr:UploadLayerPart", repo
	case kind == "blobs" && r.Method == http.MethodHead:
		return "ecr:BatchCheckLayerAvailability", repo
	case kind == "blobs":
		return "ecr:GetDownloadUrlForLayer", repo
	}
	return "", repo
}

// Registry judges a registry's requests as the principal whose password
// (from GetAuthorizationToken) they carry, as ECR does, and hands next
// those it allows with the registry's own password; upstream is that
// password, which the test bed's own pushes use and which is not judged.
func (j *Judge) Registry(region, upstream string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if ok && password != upstream {
			j.mu.Lock()
			p, known := j.tokens[password]
			j.mu.Unlock()
			if !known {
				w.Header().Set("WWW-Authenticate", `Basic realm="testbed"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"not a password ECR handed out"}]}`, http.StatusUnauthorized)
				return
			}
			if action, repo := registryAction(r); action != "" && p.role != "" {
				arn := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", region, Account, repo)
				if denied := j.evaluate(r.Context(), p, "registry:"+r.Method, region, []authz.Check{{Action: action, Resource: arn, Context: map[string]any{}, Exists: true}}); denied != "" {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": denied}}})
					return
				}
			}
			r.SetBasicAuth(user, upstream)
		}
		next.ServeHTTP(w, r)
	})
}
