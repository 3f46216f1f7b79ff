package action

import (
	"context"
	"fmt"
	"time"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ghdeploy"
)

// startGitHubDeployment records the deploy as a GitHub deployment of the
// commit, in_progress. A failure to reach GitHub is a warning: it must not
// stop a deploy.
func (r *runner) startGitHubDeployment(ctx context.Context) {
	a := r.a
	repo := a.Getenv("GITHUB_REPOSITORY")
	sha := r.in.Tag
	if r.in.Command == CommandRollback {
		sha = r.in.SHA
	}
	if repo == "" || sha == "" {
		a.Warningf("github-token is set but GITHUB_REPOSITORY or the commit is unknown: no GitHub deployment recorded")
		return
	}
	c, err := ghdeploy.Client(r.in.GitHubToken, a.Getenv("GITHUB_API_URL"))
	if err != nil {
		a.Warningf("%v", err)
		return
	}
	d, err := ghdeploy.Create(ctx, c, repo, sha, r.in.Environment, fmt.Sprintf("%s %s to %s", r.in.Command, sha, r.in.Service))
	if err != nil {
		a.Warningf("%v", err)
		return
	}
	r.gh = d
	if err := d.Status(ctx, ghdeploy.InProgress, "deploying to "+r.in.Service, r.runURL(), ""); err != nil {
		a.Warningf("%v", err)
	}
	a.Infof("GitHub deployment %d of %s to %s", d.ID, sha, r.in.Environment)
}

// finishGitHubDeployment moves the GitHub deployment to the run's result.
func (r *runner) finishGitHubDeployment(rep Report) {
	if r.gh == nil {
		return
	}
	status, runErr := rep.status(), rep.Err
	state, desc := ghdeploy.Success, "deployed to "+r.in.Service
	switch {
	case status == ecsdeploy.StatusStarted:
		state, desc = ghdeploy.InProgress, "rolling out to "+r.in.Service+" (not watched)"
	case status == ecsdeploy.StatusRolledBack:
		state, desc = ghdeploy.Failure, "rolled back"
	case !status.OK() && rep.Result != nil && rep.Result.DeploymentID != "":
		state, desc = ghdeploy.Failure, "rollout failed"
	case !status.OK():
		state, desc = ghdeploy.Error, "failed before the service changed"
	}
	if runErr != nil {
		desc += ": " + runErr.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.gh.Status(ctx, state, desc, r.runURL(), ""); err != nil {
		r.a.Warningf("%v", err)
	}
}

// runURL is the workflow run's page, for the deployment's log_url.
func (r *runner) runURL() string {
	g := r.a.Getenv
	if g("GITHUB_SERVER_URL") == "" || g("GITHUB_REPOSITORY") == "" || g("GITHUB_RUN_ID") == "" {
		return ""
	}
	return g("GITHUB_SERVER_URL") + "/" + g("GITHUB_REPOSITORY") + "/actions/runs/" + g("GITHUB_RUN_ID")
}
