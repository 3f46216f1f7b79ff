package deployhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/autonote/deploy-action/internal/ghdeploy"
	"github.com/autonote/deploy-action/internal/stdwebhook"

	"github.com/google/go-github/v62/github"
)

// maxGitHubBody bounds a GitHub delivery; GitHub caps payloads at 25 MB,
// the events the hook acts on are a few tens of KB.
const maxGitHubBody = 5 << 20

// handleGitHub takes GitHub webhooks: ping answers, deployment and a
// successful workflow_run deploy, everything else is acknowledged and
// ignored.
func (s *Server) handleGitHub() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.deps.GitHubSecret) == 0 {
			writeError(w, fmt.Errorf("%w: GitHub webhooks are off: set GITHUB_WEBHOOK_SECRET", ErrNotFound))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxGitHubBody)
		payload, err := github.ValidatePayload(r, s.deps.GitHubSecret)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, fmt.Errorf("%w of %d bytes", ErrTooLarge, maxGitHubBody))
				return
			}
			if strings.Contains(err.Error(), "Content-Type") {
				writeError(w, fmt.Errorf("%w: %v", ErrUnsupportedMedia, err))
				return
			}
			writeError(w, fmt.Errorf("%w: %v", stdwebhook.ErrBadSignature, err))
			return
		}
		event := github.WebHookType(r)
		delivery := github.DeliveryID(r)
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
			s.githubDeployment(w, r, delivery, e)
		case *github.WorkflowRunEvent:
			s.githubWorkflowRun(w, r, delivery, e)
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"ignored": event})
		}
	}
}

func (s *Server) githubDeployment(w http.ResponseWriter, r *http.Request, delivery string, e *github.DeploymentEvent) {
	repo := e.GetRepo().GetFullName()
	if !s.deps.Config.repositoryAllowed(repo) {
		writeError(w, fmt.Errorf("%w: repository %s is not in github.repositories", ErrForbidden, repo))
		return
	}
	env := e.GetDeployment().GetEnvironment()
	target, ok := s.deps.Config.GitHub.Environments[env]
	if !ok {
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": fmt.Sprintf("environment %q is not mapped to a target in github.environments", env)})
		return
	}
	sha := e.GetDeployment().GetSHA()
	if !isFullSHA(sha) {
		writeError(w, fmt.Errorf("%w: deployment.sha %q is not a 40-character commit SHA", ErrBadRequest, sha))
		return
	}
	var hooks []JobHook
	if s.deps.GitHub != nil {
		hooks = append(hooks, s.deploymentStatuses(r, repo, e.GetDeployment().GetID(), env, s.deps.Config.Targets[target].URL))
	}
	s.submit(w, r, "github:"+delivery, target, sha, "github:deployment", hooks...)
}

func (s *Server) githubWorkflowRun(w http.ResponseWriter, r *http.Request, delivery string, e *github.WorkflowRunEvent) {
	repo := e.GetRepo().GetFullName()
	if !s.deps.Config.repositoryAllowed(repo) {
		writeError(w, fmt.Errorf("%w: repository %s is not in github.repositories", ErrForbidden, repo))
		return
	}
	run := e.GetWorkflowRun()
	gh := s.deps.Config.GitHub
	switch {
	case gh.Workflow == "":
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": "workflow_run: no github.workflow configured"})
	case e.GetAction() != "completed" || run.GetConclusion() != "success":
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": fmt.Sprintf("workflow_run %s/%s", e.GetAction(), run.GetConclusion())})
	case path.Base(e.GetWorkflow().GetPath()) != gh.Workflow:
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": "workflow_run of " + e.GetWorkflow().GetPath()})
	case run.GetHeadBranch() != gh.Branch:
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": "workflow_run on branch " + run.GetHeadBranch()})
	case !isFullSHA(run.GetHeadSHA()):
		writeError(w, fmt.Errorf("%w: workflow_run.head_sha %q is not a 40-character commit SHA", ErrBadRequest, run.GetHeadSHA()))
	default:
		s.submit(w, r, "github:"+delivery, gh.Target, run.GetHeadSHA(), "github:workflow_run")
	}
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, key, target, sha, source string, hooks ...JobHook) {
	job, created, err := s.queue.Submit(r.Context(), key, target, sha, source, hooks...)
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"id": job.ID, "state": job.State, "status_url": s.jobURL(r, job.ID)})
}

// deploymentStatuses reports a job to a GitHub deployment: in_progress when
// it starts, then success, or failure or error with the reason.
func (s *Server) deploymentStatuses(r *http.Request, repository string, id int64, env, envURL string) JobHook {
	d := ghdeploy.Existing(s.deps.GitHub, repository, id, env)
	return func(ctx context.Context, j Job) {
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
		}
		if err := d.Status(ctx, state, desc, s.jobURL(r, j.ID), envURL); err != nil {
			s.deps.Log.Warn("could not report the deployment status to GitHub", "job", j.ID, "state", state, "error", err)
		}
	}
}
