// Package ghdeploy records deploys as GitHub deployments and moves their
// statuses, through go-github, so a repository's Environments page shows
// what is live. The action and the deploy hook both use it.
package ghdeploy

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"
)

// Client returns a go-github client for token; apiURL, when set, is the
// API base (GitHub Enterprise, or a local stand-in in tests).
func Client(token, apiURL string) (*github.Client, error) {
	c := github.NewClient(nil).WithAuthToken(token)
	if apiURL != "" {
		u, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
		}
		c.BaseURL = u
	}
	return c, nil
}

// State is a GitHub deployment status state.
type State string

// The states a deploy moves a GitHub deployment through.
const (
	InProgress State = "in_progress"
	Success    State = "success"
	Failure    State = "failure" // the deploy ran and did not succeed
	Error      State = "error"   // the deploy failed before it changed anything
)

// Deployment is one GitHub deployment of a repository.
type Deployment struct {
	client      *github.Client
	Owner, Repo string
	ID          int64
	Environment string
}

// Create records a deployment of sha to environment in repository
// (owner/name). It skips GitHub's merge and status checks: the commit was
// already built and tested by the time it is deployed.
func Create(ctx context.Context, c *github.Client, repository, sha, environment, description string) (*Deployment, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok {
		return nil, fmt.Errorf("repository %q is not owner/name", repository)
	}
	d, _, err := c.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{
		Ref:              github.String(sha),
		Environment:      github.String(environment),
		Description:      github.String(truncate(description, 140)),
		AutoMerge:        github.Bool(false),
		RequiredContexts: &[]string{},
	})
	if err != nil {
		return nil, fmt.Errorf("create GitHub deployment of %s to %s: %w", sha, environment, err)
	}
	return Existing(c, repository, d.GetID(), environment), nil
}

// Existing is a deployment GitHub already made (the deploy hook gets its
// id from the deployment event).
func Existing(c *github.Client, repository string, id int64, environment string) *Deployment {
	owner, repo, _ := strings.Cut(repository, "/")
	return &Deployment{client: c, Owner: owner, Repo: repo, ID: id, Environment: environment}
}

// Status moves the deployment to state; logURL points to the run, and
// environmentURL, on success, to the deployed service.
func (d *Deployment) Status(ctx context.Context, state State, description, logURL, environmentURL string) error {
	req := &github.DeploymentStatusRequest{
		State:       github.String(string(state)),
		Description: github.String(truncate(description, 140)),
		Environment: github.String(d.Environment),
	}
	if logURL != "" {
		req.LogURL = github.String(logURL)
	}
	if environmentURL != "" && state == Success {
		req.EnvironmentURL = github.String(environmentURL)
	}
	if _, _, err := d.client.Repositories.CreateDeploymentStatus(ctx, d.Owner, d.Repo, d.ID, req); err != nil {
		return fmt.Errorf("set GitHub deployment %d to %s: %w", d.ID, state, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
