package deployhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/autonote/deploy-action/internal/ghdeploy"
	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/autonote/deploy-action/internal/stdwebhook"

	"github.com/google/go-github/v62/github"
)

// Bounds on the GitHub deliveries the hook reads. GitHub caps payloads at
// 25 MB; the events the hook acts on are a few tens of KB. A body is held
// as its bytes arrive, never as its Content-Length claims. One up to
// smallGitHubBody (a ping) is read at once; a larger one, up to
// maxGitHubBody, waits for one of largeGitHubBodies places, and gets 503
// if none frees within largeBodyWait; every body must arrive within
// bodyDeadline of its headers. With the caps on connections, no number of
// unauthenticated senders can make the hook hold more than that before a
// signature is checked, and no one address more than a quarter of the
// places.
const (
	maxGitHubBody     = 1 << 20
	smallGitHubBody   = 8 << 10
	largeGitHubBodies = 32
	largeBodyWait     = time.Second
	bodyDeadline      = 5 * time.Second
)

// bodyPlaces are the places for GitHub bodies over smallGitHubBody: so
// many in all, and a share of them for one address, so that one sender
// cannot hold them all.
type bodyPlaces struct {
	all   chan struct{}
	mu    sync.Mutex
	peers map[string]int
}

func newBodyPlaces() *bodyPlaces {
	return &bodyPlaces{all: make(chan struct{}, largeGitHubBodies), peers: map[string]int{}}
}

// take waits up to largeBodyWait for a place, refusing at once a peer
// that holds its share; release gives the place back.
func (p *bodyPlaces) take(peer string) (release func(), err error) {
	p.mu.Lock()
	if p.peers[peer] >= largeGitHubBodies/4 {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: too many large GitHub deliveries from %s at once", ErrBusy, peer)
	}
	p.peers[peer]++
	p.mu.Unlock()
	leave := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.peers[peer]--; p.peers[peer] <= 0 {
			delete(p.peers, peer)
		}
	}
	select {
	case p.all <- struct{}{}:
		return func() { <-p.all; leave() }, nil
	case <-time.After(largeBodyWait):
		leave()
		return nil, fmt.Errorf("%w: too many large GitHub deliveries at once", ErrBusy)
	}
}

// MaxEventAge is how old a GitHub event the hook acts on may be: a captured
// delivery replayed later, under any delivery id, is refused.
const MaxEventAge = 15 * time.Minute

// MaxRunAge is how long ago a workflow run may have been created for its
// completion to deploy without asking GitHub whether its SHA is still the
// branch's head: an older run's completion is a re-run in all but name.
const MaxRunAge = 6 * time.Hour

// handleGitHub takes GitHub webhooks: ping answers, deployment and a
// successful workflow_run deploy, everything else is acknowledged and
// ignored. The signature (X-Hub-Signature-256 only) is checked from the
// headers before the body is read, then under each secret once.
func (s *Server) handleGitHub() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.opts.githubSecrets) == 0 {
			writeError(w, fmt.Errorf("%w: GitHub webhooks are off: set GITHUB_WEBHOOK_SECRET", ErrNotFound))
			return
		}
		// Decided on the header first: the body of an event the hook does
		// not act on is never read.
		event := github.WebHookType(r)
		switch event {
		case "ping", "deployment", "workflow_run":
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"ignored": event[:min(len(event), 64)]})
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, fmt.Errorf("%w: set the webhook's content type to application/json", ErrUnsupportedMedia))
			return
		}
		sig, err := githubSignature(r.Header)
		if err != nil {
			writeError(w, err)
			return
		}
		// The body, waiting for a place included, arrives within
		// bodyDeadline or the connection ends: a slow sender holds
		// nothing longer.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyDeadline))
		if r.ContentLength > maxGitHubBody {
			writeError(w, fmt.Errorf("%w of %d bytes", ErrTooLarge, maxGitHubBody))
			return
		}
		if r.ContentLength < 0 || r.ContentLength > smallGitHubBody {
			release, err := s.largeBodies.take(s.clientAddr(r))
			if err != nil {
				writeError(w, err)
				return
			}
			defer release()
		}
		payload, signed, err := readGitHubBody(w, r, sig, s.opts.githubSecrets)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, fmt.Errorf("%w of %d bytes", ErrTooLarge, maxGitHubBody))
			return
		}
		if err != nil {
			writeError(w, fmt.Errorf("%w: read body: %v", ErrBadRequest, err))
			return
		}
		if !signed {
			writeError(w, fmt.Errorf("%w: X-Hub-Signature-256", stdwebhook.ErrBadSignature))
			return
		}
		r, cancel, ok := s.authenticated(w, r, "github")
		if !ok {
			return
		}
		defer cancel()
		parsed, err := github.ParseWebHook(event, payload)
		if err != nil {
			if strings.Contains(err.Error(), "unknown X-Github-Event") {
				writeJSON(w, http.StatusAccepted, map[string]string{"ignored": event})
				return
			}
			writeError(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
			return
		}
		switch e := parsed.(type) {
		case *github.PingEvent:
			writeJSON(w, http.StatusOK, map[string]string{"pong": e.GetZen()})
		case *github.DeploymentEvent:
			s.githubDeployment(w, r, e)
		case *github.WorkflowRunEvent:
			s.githubWorkflowRun(w, r, e)
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"ignored": event})
		}
	}
}

// githubSignature is the HMAC-SHA256 a delivery's X-Hub-Signature-256
// carries. GitHub's older SHA-1 header is not accepted.
func githubSignature(h http.Header) ([]byte, error) {
	v := h.Get("X-Hub-Signature-256")
	if v == "" {
		return nil, fmt.Errorf("%w: GitHub deliveries need X-Hub-Signature-256 (SHA-1 signatures are not accepted)", stdwebhook.ErrNoSignature)
	}
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	sig, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(sig) != sha256.Size {
		return nil, fmt.Errorf("%w: X-Hub-Signature-256 is not sha256=<64 hex>", stdwebhook.ErrBadSignature)
	}
	return sig, nil
}

// readGitHubBody reads a delivery's body, at most maxGitHubBody, hashing it
// under each secret as it arrives, and says whether one of the HMACs is
// the signature (compared in constant time).
func readGitHubBody(w http.ResponseWriter, r *http.Request, sig []byte, secrets [][]byte) ([]byte, bool, error) {
	var body bytes.Buffer // grows as bytes arrive: a claimed length costs nothing
	macs := make([]hash.Hash, len(secrets))
	sinks := []io.Writer{&body}
	for i, secret := range secrets {
		macs[i] = hmac.New(sha256.New, secret)
		sinks = append(sinks, macs[i])
	}
	if _, err := io.Copy(io.MultiWriter(sinks...), http.MaxBytesReader(w, r.Body, maxGitHubBody)); err != nil {
		return nil, false, err
	}
	signed := false
	for _, m := range macs {
		signed = hmac.Equal(m.Sum(nil), sig) || signed
	}
	return body.Bytes(), signed, nil
}

// fresh refuses an event older than MaxEventAge (or from the future).
func (s *Server) fresh(what string, at time.Time) error {
	if d := s.opts.now().Sub(at); at.IsZero() || d > MaxEventAge || d < -MaxEventAge {
		return fmt.Errorf("%w: %s is from %s, more than %v from now: a delivery is acted on only while fresh", ErrStaleEvent, what, at.UTC().Format(time.RFC3339), MaxEventAge)
	}
	return nil
}

func (s *Server) githubDeployment(w http.ResponseWriter, r *http.Request, e *github.DeploymentEvent) {
	repo := e.GetRepo().GetFullName()
	if !s.config.repositoryAllowed(repo) {
		writeError(w, fmt.Errorf("%w: repository %s is not in github.repositories", ErrForbidden, repo))
		return
	}
	d := e.GetDeployment()
	env := d.GetEnvironment()
	target, ok := s.config.GitHub.Environments[env]
	if !ok {
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": fmt.Sprintf("environment %q is not mapped to a target in github.environments", env)})
		return
	}
	sha := d.GetSHA()
	if !isFullSHA(sha) {
		writeError(w, fmt.Errorf("%w: deployment.sha %q is not a 40-character commit SHA", ErrBadRequest, sha))
		return
	}
	if err := s.fresh("deployment.created_at", d.GetCreatedAt().Time); err != nil {
		writeError(w, err)
		return
	}
	if err := s.deploymentAllowed(r.Context(), repo, d); err != nil {
		if s.opts.github != nil {
			_ = ghdeploy.Existing(s.opts.github, repo, d.GetID(), env).Status(r.Context(), ghdeploy.Error, "refused: "+err.Error(), "", "")
		}
		writeError(w, err)
		return
	}
	// Deduplicated on the deployment's id, which the signature covers: a
	// replay under a new X-GitHub-Delivery finds the job it already made.
	s.submit(w, r, Submission{Key: fmt.Sprintf("github:deployment:%d", d.GetID()), Target: target, SHA: sha, Source: "github:deployment",
		GitHub: &hookapi.GitHubDeployment{Repository: repo, ID: d.GetID(), Environment: env, EnvironmentURL: s.config.Targets[target].URL}})
}

// deploymentAllowed honours a deployment only from an allowed creator (when
// the config lists them) and of a SHA on the configured branch, as GitHub
// itself says, asked with the hook's token.
func (s *Server) deploymentAllowed(ctx context.Context, repo string, d *github.Deployment) error {
	gh := s.config.GitHub
	if len(gh.Deployers) > 0 && !slices.Contains(gh.Deployers, d.GetCreator().GetLogin()) {
		return fmt.Errorf("%w: deployment created by %q, who is not in github.deployers", ErrForbidden, d.GetCreator().GetLogin())
	}
	if s.opts.github == nil {
		return fmt.Errorf("%w: deployment events need GITHUB_TOKEN, to check with GitHub that the SHA is on %s", ErrForbidden, gh.Branch)
	}
	owner, name, _ := strings.Cut(repo, "/")
	cmp, _, err := s.opts.github.Repositories.CompareCommits(ctx, owner, name, gh.Branch, d.GetSHA(), nil)
	if err != nil {
		return fmt.Errorf("%w: could not check with GitHub that %s is on %s: %v", ErrForbidden, d.GetSHA()[:7], gh.Branch, err)
	}
	switch cmp.GetStatus() {
	case "identical", "behind": // the branch's head, or one of its ancestors
		return nil
	}
	return fmt.Errorf("%w: %s is not on %s (GitHub compares it as %s)", ErrForbidden, d.GetSHA()[:7], gh.Branch, cmp.GetStatus())
}

// errNotHead: a re-run (or an old run) of a SHA that is no longer the
// branch's head, which would deploy an older build.
var errNotHead = errors.New("not the branch's head")

// runAllowed honours a workflow_run only of an allowed actor (when the
// config lists deployers: both who started the run and who started this
// attempt), and only when its SHA is still the branch's head: a run that
// completes after a newer push (a slower build, a re-run of an old run,
// whose updated_at is fresh) must not put an older build over a newer one.
// Without GITHUB_TOKEN the head cannot be read: a first attempt created
// within MaxRunAge deploys then, anything else is refused.
func (s *Server) runAllowed(ctx context.Context, repo string, run *github.WorkflowRun) error {
	gh := s.config.GitHub
	if len(gh.Deployers) > 0 {
		for _, who := range []struct{ field, login string }{{"actor", run.GetActor().GetLogin()}, {"triggering_actor", run.GetTriggeringActor().GetLogin()}} {
			if who.login != "" && !slices.Contains(gh.Deployers, who.login) {
				return fmt.Errorf("%w: workflow_run.%s %q is not in github.deployers", ErrForbidden, who.field, who.login)
			}
		}
	}
	rerun := run.GetRunAttempt() > 1
	old := s.opts.now().Sub(run.GetCreatedAt().Time) > MaxRunAge
	why := "the run"
	switch {
	case rerun:
		why = "a re-run (attempt " + strconv.Itoa(run.GetRunAttempt()) + ")"
	case old:
		why = "a run created " + run.GetCreatedAt().UTC().Format(time.RFC3339)
	}
	if s.opts.github == nil {
		if !rerun && !old {
			return nil
		}
		return fmt.Errorf("%w: %s deploys only the head of %s, and checking it needs GITHUB_TOKEN", errNotHead, why, gh.Branch)
	}
	owner, name, _ := strings.Cut(repo, "/")
	b, _, err := s.opts.github.Repositories.GetBranch(ctx, owner, name, gh.Branch, 0)
	if err != nil {
		return fmt.Errorf("%w: could not read the head of %s to check %s: %v", ErrForbidden, gh.Branch, why, err)
	}
	if head := b.GetCommit().GetSHA(); head != run.GetHeadSHA() {
		return fmt.Errorf("%w: %s of %s, but %s is at %s now: not deploying an older build", errNotHead, why, run.GetHeadSHA()[:7], gh.Branch, head[:min(len(head), 7)])
	}
	return nil
}

func (s *Server) githubWorkflowRun(w http.ResponseWriter, r *http.Request, e *github.WorkflowRunEvent) {
	repo := e.GetRepo().GetFullName()
	if !s.config.repositoryAllowed(repo) {
		writeError(w, fmt.Errorf("%w: repository %s is not in github.repositories", ErrForbidden, repo))
		return
	}
	run := e.GetWorkflowRun()
	gh := s.config.GitHub
	ignore := func(why string) { writeJSON(w, http.StatusAccepted, map[string]string{"ignored": why}) }
	switch {
	case gh.Workflow == "":
		ignore("workflow_run: no github.workflow configured")
	case e.GetAction() != "completed" || run.GetConclusion() != "success":
		ignore(fmt.Sprintf("workflow_run %s/%s", e.GetAction(), run.GetConclusion()))
	case path.Base(e.GetWorkflow().GetPath()) != gh.Workflow:
		ignore("workflow_run of " + e.GetWorkflow().GetPath())
	case run.GetEvent() != "push":
		ignore("workflow_run triggered by " + run.GetEvent() + ": only a push deploys")
	case !strings.EqualFold(run.GetHeadRepository().GetFullName(), repo):
		ignore("workflow_run of " + run.GetHeadRepository().GetFullName() + ", not of " + repo + " itself (a fork)")
	case run.GetHeadBranch() != gh.Branch:
		ignore("workflow_run on branch " + run.GetHeadBranch())
	case !isFullSHA(run.GetHeadSHA()):
		writeError(w, fmt.Errorf("%w: workflow_run.head_sha %q is not a 40-character commit SHA", ErrBadRequest, run.GetHeadSHA()))
	default:
		if err := s.fresh("workflow_run.updated_at", run.GetUpdatedAt().Time); err != nil {
			writeError(w, err)
			return
		}
		if err := s.runAllowed(r.Context(), repo, run); err != nil {
			if errors.Is(err, errNotHead) {
				ignore(err.Error())
				return
			}
			writeError(w, err)
			return
		}
		// Deduplicated on the run and its attempt, which the signature covers.
		s.submit(w, r, Submission{Key: fmt.Sprintf("github:workflow_run:%d:%d", run.GetID(), run.GetRunAttempt()), Target: gh.Target, SHA: run.GetHeadSHA(), Source: "github:workflow_run"})
	}
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, sub Submission) {
	sub.JobURL = func(id string) string { return s.jobURL(r, id) }
	job, created, err := s.queue.Submit(r.Context(), sub)
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, hookapi.Accepted{ID: job.ID, State: job.State, StatusURL: s.jobURL(r, job.ID)})
}

// statusHooks report a job to the GitHub deployment it carries: in_progress
// when it starts, then success, or failure or error with the reason. A
// replica that takes the job over makes them again from the job.
func (s *Server) statusHooks(j Job) []JobHook {
	g := j.GitHubDeployment
	if g == nil || s.opts.github == nil {
		return nil
	}
	d := ghdeploy.Existing(s.opts.github, g.Repository, g.ID, g.Environment)
	return []JobHook{func(ctx context.Context, j Job) {
		state, desc := ghdeploy.InProgress, "deploying "+j.SHA[:7]+" to "+j.Target
		switch j.State {
		case StateSucceeded:
			state, desc = ghdeploy.Success, "deployed "+j.SHA[:7]+" to "+j.Target
		case StateRolledBack:
			state, desc = ghdeploy.Failure, "rolled back: "+j.Error
		case StateFailed:
			state, desc = ghdeploy.Failure, j.Error
			if j.TaskDefinition == "" {
				state = ghdeploy.Error // it failed before it changed anything
			}
		case StateInterrupted, StateCancelled, StateExpired:
			state, desc = ghdeploy.Error, j.Error
		}
		if err := d.Status(ctx, state, desc, g.LogURL, g.EnvironmentURL); err != nil {
			s.opts.log.Warn("could not report the deployment status to GitHub", "job", j.ID, "state", state, "error", err)
		}
	}}
}
