// Package hookapi is the deploy hook's wire format: what a caller sends to
// POST /v1/deployments and what the hook answers there and at
// GET /v1/deployments/{id}. The hook and the action both use it, so the two
// sides cannot drift apart.
package hookapi

import "time"

// State is where a job is.
type State string

// The states of a job.
const (
	StateQueued     State = "queued"
	StateRunning    State = "running"
	StateSucceeded  State = "succeeded"
	StateFailed     State = "failed"
	StateRolledBack State = "rolled-back"
	StateSuperseded State = "superseded"
	// StateInterrupted: the hook stopped (past its grace) while the deploy
	// ran; the job's error says what the service ran at that moment.
	StateInterrupted State = "interrupted"
	// StateCancelled: the hook stopped before the job ran.
	StateCancelled State = "cancelled"
	// StateExpired: a replica took the job over while it was still queued,
	// longer after it was accepted than the config's bound: nothing was
	// deployed.
	StateExpired State = "expired"
)

// MaxJobBytes is the most a job's JSON takes, as the hook serves it at
// GET /v1/deployments/{id} (past it, its oldest events are left out) and
// as the action reads it: one limit, so a job the hook keeps is always one
// the action can read.
const MaxJobBytes = 1 << 20

// Done reports whether a job in this state has ended.
func (s State) Done() bool { return s != StateQueued && s != StateRunning }

// DeployRequest is the body of POST /v1/deployments.
type DeployRequest struct {
	Target string `json:"target"`
	SHA    string `json:"sha"`
}

// Accepted is the answer to POST /v1/deployments: 202 for a new job, 200
// for a webhook-id seen before.
type Accepted struct {
	ID        string `json:"id"`
	State     State  `json:"state"`
	StatusURL string `json:"status_url"`
}

// Job is one deploy of a SHA to a target, as GET /v1/deployments/{id} shows it.
type Job struct {
	ID             string `json:"id"`
	Target         string `json:"target"`
	SHA            string `json:"sha"`
	Source         string `json:"source"`
	State          State  `json:"state"`
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// Image and Digest are what the job deploys, once the SHA is resolved;
	// DeploymentID is the ECS deployment it made.
	Image        string `json:"image,omitempty"`
	Digest       string `json:"digest,omitempty"`
	DeploymentID string `json:"deploymentId,omitempty"`
	// PreviousTaskDefinition is the last stable revision before the job:
	// what a failure returned to, or would have. URL is where the API
	// answers once the rollout completed.
	PreviousTaskDefinition string    `json:"previousTaskDefinition,omitempty"`
	URL                    string    `json:"url,omitempty"`
	Events                 []string  `json:"events"`
	Error                  string    `json:"error,omitempty"`
	Created                time.Time `json:"created"`
	Started                time.Time `json:"started,omitzero"`
	Finished               time.Time `json:"finished,omitzero"`
	// Holder is the replica that runs the job, since HeldSince; with a
	// shared table another replica takes it over when the holder stops
	// renewing its lease.
	Holder    string    `json:"holder,omitempty"`
	HeldSince time.Time `json:"heldSince,omitzero"`
	// GitHubDeployment is the GitHub deployment the job reports to, when
	// a deployment event made it: kept with the job, so the replica that
	// finishes it reports too.
	GitHubDeployment *GitHubDeployment `json:"githubDeployment,omitempty"`
	// Version grows with every snapshot of the job, so a shared store
	// keeps the newest it is sent.
	Version int64 `json:"version"`
}

// GitHubDeployment names a GitHub deployment and where its statuses link.
type GitHubDeployment struct {
	Repository     string `json:"repository"`
	ID             int64  `json:"id"`
	Environment    string `json:"environment"`
	EnvironmentURL string `json:"environmentUrl,omitempty"`
	LogURL         string `json:"logUrl,omitempty"`
}

// Error is the body of every answer that is not a success.
type Error struct {
	Error string `json:"error"`
}

// Targets answers a signed GET /v1/targets: what runs on each target the
// caller's secret opens, sorted by name.
type Targets struct {
	Targets []TargetStatus `json:"targets"`
}

// TargetStatus is what runs on one target now.
type TargetStatus struct {
	Name           string    `json:"name"`
	Region         string    `json:"region"`
	Cluster        string    `json:"cluster"`
	Service        string    `json:"service"`
	TaskDefinition string    `json:"taskDefinition,omitempty"`
	Image          string    `json:"image,omitempty"`
	Commit         string    `json:"commit,omitempty"` // the image's tag when it is a commit SHA
	Since          time.Time `json:"since,omitzero"`
	Rollout        string    `json:"rollout,omitempty"` // COMPLETED, IN_PROGRESS or FAILED
	Running        int32     `json:"running"`
	Desired        int32     `json:"desired"`
	Pending        int32     `json:"pending"`
	URL            string    `json:"url,omitempty"`
	// Earlier says the service runs an earlier build on purpose (a
	// rollback to it); Drift says how else it differs from the newest
	// revision.
	Earlier     string              `json:"earlier,omitempty"`
	Drift       string              `json:"drift,omitempty"`
	Deployments []DeploymentSummary `json:"deployments,omitempty"`
	// Error says why the target could not be read; the other fields are
	// then only its configuration.
	Error string `json:"error,omitempty"`
}

// DeploymentSummary is one of a target's last deployments.
type DeploymentSummary struct {
	TaskDefinition string    `json:"taskDefinition,omitempty"`
	Image          string    `json:"image,omitempty"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	Started        time.Time `json:"started,omitzero"`
	Finished       time.Time `json:"finished,omitzero"`
}
