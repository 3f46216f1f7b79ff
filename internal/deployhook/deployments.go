package deployhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/autonote/deploy-action/internal/stdwebhook"

	"github.com/go-chi/chi/v5"
)

// MaxBody is the largest signed deploy request the hook reads.
const MaxBody = 64 << 10

// DeployRequest is the body of POST /v1/deployments.
type DeployRequest = hookapi.DeployRequest

// DecodeDeployRequest parses a deploy request strictly: one JSON object,
// no unknown fields, a known target and a 40-character SHA.
func DecodeDeployRequest(body []byte, targets map[string]Target) (DeployRequest, error) {
	var req DeployRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%w: body is not a deploy request: %v", ErrBadRequest, err)
	}
	if dec.More() {
		return req, fmt.Errorf("%w: body holds more than one JSON value", ErrBadRequest)
	}
	if !isFullSHA(req.SHA) {
		return req, fmt.Errorf("%w: sha %q is not a commit SHA of 40 lowercase hex characters", ErrBadRequest, req.SHA)
	}
	if _, ok := targets[req.Target]; !ok {
		// Named none: a secret of one target learns nothing of the others.
		return req, fmt.Errorf("%w %q: check the name in the hook's config (GET /v1/targets lists those your secret opens)", ErrUnknownTarget, req.Target[:min(len(req.Target), 64)])
	}
	return req, nil
}

func isFullSHA(s string) bool {
	return len(s) == 40 && strings.Trim(s, "0123456789abcdef") == ""
}

// readSigned reads a bounded body and checks its Standard Webhooks
// signature before anything parses it.
func (s *Server) readSigned(w http.ResponseWriter, r *http.Request) ([]byte, key, error) {
	signed, err := stdwebhook.CheckHeaders(r.Header, s.opts.now())
	if err != nil {
		return nil, 0, err // before the body is read: a forged request costs no more than its headers
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyDeadline))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, 0, fmt.Errorf("%w of %d bytes", ErrTooLarge, MaxBody)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: read body: %v", ErrBadRequest, err)
	}
	content := body
	if stdwebhook.IsRead(r.Method) {
		if len(body) > 0 {
			return nil, 0, fmt.Errorf("%w: a %s has no body", ErrBadRequest, r.Method)
		}
		content = stdwebhook.ReadContent(r.Method, r.URL.EscapedPath())
	}
	i, err := signed.Match(content, s.keys.secrets)
	if err != nil {
		return nil, 0, err
	}
	return body, key(i), nil
}

// signedRead admits a signed request that only reads (a GET): its
// signature checked (else 401), its client within its rate (else 429).
func (s *Server) signedRead(w http.ResponseWriter, r *http.Request) (*http.Request, key, context.CancelFunc, bool) {
	_, k, err := s.readSigned(w, r)
	if err == nil && !s.firstRead(r.Context(), k, r.Header.Get("webhook-id")) {
		err = fmt.Errorf("%w: webhook-id %s was used for a read already: sign each read with an id of its own", stdwebhook.ErrBadID, r.Header.Get("webhook-id"))
	}
	if err != nil {
		writeError(w, err)
		return r, k, func() {}, false
	}
	r, cancel, ok := s.authenticated(w, r, "")
	return r, k, cancel, ok
}

// firstRead reports whether a signed read's id is new: here, and with a
// shared store at every replica (a captured read replays at none). A store
// that cannot be reached leaves the check to this replica, saying so: a
// replayed read gets only what its signer could read.
func (s *Server) firstRead(ctx context.Context, k key, id string) bool {
	if !s.reads.first(id, s.opts.now()) {
		return false
	}
	if s.queue.shared == nil {
		return true
	}
	mine := newID()
	owner, err := s.queue.shared.Claim(ctx, fmt.Sprintf("read:%d:%s", k, id), mine)
	if err != nil {
		s.opts.log.Warn("could not record a read's id in the shared store: only this replica refuses its replay", "error", err)
		return true
	}
	return owner == mine
}

func (s *Server) handleCreateDeployment() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, ErrUnsupportedMedia)
			return
		}
		body, k, err := s.readSigned(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		req, err := DecodeDeployRequest(body, s.config.Targets)
		if err != nil {
			writeError(w, err)
			return
		}
		r, cancel, ok := s.admit(w, r, k, req.Target)
		if !ok {
			return
		}
		defer cancel()
		// Keyed on the target and the id: another target's secret reusing an
		// id gets a job of its own target, never another's back.
		job, created, err := s.queue.Submit(r.Context(), Submission{Key: apiKey(req.Target, r.Header.Get("webhook-id")), Target: req.Target, SHA: req.SHA, Source: "api"})
		if err != nil {
			writeError(w, err)
			return
		}
		status := http.StatusAccepted
		if !created {
			status = http.StatusOK // a repeated webhook-id: the job it already made
			w.Header().Set("Idempotent-Replayed", "true")
		}
		url := s.jobURL(r, job.ID)
		w.Header().Set("Location", url)
		writeJSON(w, status, hookapi.Accepted{ID: job.ID, State: job.State, StatusURL: url})
	}
}

func (s *Server) handleGetDeployment() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, k, cancel, ok := s.signedRead(w, r)
		if !ok {
			return
		}
		defer cancel()
		job, ok := s.queue.Get(r.Context(), chi.URLParam(r, "id"))
		if !ok {
			writeError(w, fmt.Errorf("%w: no job %s", ErrNotFound, chi.URLParam(r, "id")))
			return
		}
		if err := s.keys.authorize(k, job.Target); err != nil {
			writeError(w, err)
			return
		}
		// Within what the action reads: the replica keeps more events.
		raw, err := fit(job, hookapi.MaxJobBytes)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(raw, '\n'))
	}
}

// apiKey is the dedupe key of a signed request: its target and its
// webhook-id, the target's length first, so that no pair of a target and
// an id makes another pair's key.
func apiKey(target, id string) string {
	return fmt.Sprintf("api:%d:%s:%s", len(target), target, id)
}
