package ecsdeploy

import "time"

// Status is how a deploy ended.
type Status string

// The statuses a deploy ends with; they are the action's status output.
const (
	StatusSucceeded Status = "succeeded"
	// StatusStarted: the service was updated and the rollout not watched
	// (wait: false); nobody knows yet whether it will succeed.
	StatusStarted    Status = "started"
	StatusUnchanged  Status = "unchanged"
	StatusRolledBack Status = "rolled-back"
	StatusFailed     Status = "failed"
)

// OK reports whether the status means the service runs, or is on its way
// to run, what was asked for.
func (s Status) OK() bool { return s == StatusSucceeded || s == StatusUnchanged || s == StatusStarted }

// Phase is one step of a run, for the job summary's timeline. The engine
// reports phases to its Reporter; whoever draws a timeline records them.
type Phase struct {
	Name       string
	Start, End time.Time
	Failed     bool
}

// Result is what a deploy did. It is returned with the error, if any, so a
// front end can always report what state the service was left in.
type Result struct {
	Status                    Status
	Image                     string
	Container                 string
	TaskDefinitionARN         string    // the revision the service runs now
	PreviousTaskDefinitionARN string    // the last stable revision before: what a failure returns to
	StableSince               time.Time // when that revision became stable, if known
	DeploymentID              string
	// Addresses are host:port of the new tasks' public addresses, found
	// once the rollout completed; URL is the service's load balancer
	// (LoadBalanced), else http:// the first of them.
	Addresses    []string
	URL          string
	LoadBalanced bool
	Watched      bool
	DryRun       bool
	// Rendered is the task definition that was (or, in a dry run, would be)
	// registered, as indented JSON of RegisterTaskDefinition's input, with
	// environment values redacted (their names kept).
	Rendered []byte
	// Diff is the revision deployed (or, in a dry run, that would be)
	// against the one the service ran, field by field, then what changes
	// on the service (RevisionDiff, ServiceDiff).
	Diff    []string
	Stopped []StoppedTask
	// Alarms are the deployment alarms that were in ALARM when the rollout
	// failed.
	Alarms []Alarm
	// PreDeploy is what the pre-deploy command did, when there was one.
	PreDeploy *TaskRun
	// Deregistered are the old revisions keep-revisions took away.
	Deregistered []string
	// Strategy is the service's deployment strategy when it shifts
	// traffic (BLUE_GREEN, CANARY, LINEAR); Stages are its lifecycle
	// stages as they came, and ReturnedAt the stage at which the
	// deployment was sent back, if it was.
	Strategy   string
	Stages     []Stage
	ReturnedAt string
	Start      time.Time
	End        time.Time
}

// Duration is how long the deploy took.
func (r *Result) Duration() time.Duration { return r.End.Sub(r.Start) }
