// Package deployspec is the one deploy spec every front end fills: what a
// deploy of one target can be told (the target, its lifecycle, the rollout
// policy), with one table of settings, one parser and one set of errors,
// whether the settings come from a workflow's inputs, a terminal's flags or
// a deploy hook target's YAML. It also builds, once, the AWS clients the
// engine and the push use.
package deployspec

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Spec is everything a deploy of one target can be told.
type Spec struct {
	Target
	Lifecycle
	Policy
	// words names a setting as the person wrote it, for errors found after
	// parsing (a secret that does not exist).
	words Words
}

// Target is the service a deploy changes and where its images are.
type Target struct {
	Region     string
	Cluster    string
	Service    string
	Container  string // empty: the only container, or the one running an image of Repository
	Repository string // the ECR repository
	Registry   string // a registry host instead of the one ECR reports; empty: ECR's
}

// Lifecycle is what happens around a rollout: the new revision's variables,
// a command before the service changes, a check after it, old revisions.
type Lifecycle struct {
	Env              []types.KeyValuePair
	Secrets          []SecretRef
	KeepRevisions    int
	PreDeploy        []string // exec form; nil: none
	PreDeployTimeout time.Duration
	SmokePath        string
	SmokeTimeout     time.Duration
	SmokeHeader      string
	SmokeSecret      *SecretRef // where SmokeHeader's value comes from
}

// Policy is how a rollout is watched and what a failure does.
type Policy struct {
	Wait                bool
	Timeout             time.Duration
	RollbackOnFailure   bool
	OnRolloutInProgress ecsdeploy.InProgress
	// FailAfter is how many certain task failures end a rollout; 0: ECS decides.
	FailAfter int
}

// SecretRef is a secret a setting names: a name or ARN, a JSON key, and a
// version stage or id (secrets only). Var is the container variable it
// fills (secrets), or empty.
type SecretRef struct {
	Var, ID, Key, Stage, Version string
}

// Setting is one deploy setting: its name as an action input and a
// terminal flag, its key in a deploy hook target when that differs, and
// its default as action.yml declares it.
type Setting struct {
	Name    string
	HookKey string // empty: Name
	Default string
	// Example is a valid value, for docs and for the test that every front
	// end takes every setting.
	Example string
	// Doc says what it does, in one line of the settings table.
	Doc string
}

// Key is the setting's key in a deploy hook target.
// SettingNamed is the deploy setting of that name, or one of that name
// alone when the spec has none (an input of the action's own).
func SettingNamed(name string) Setting {
	for _, s := range Settings() {
		if s.Name == name {
			return s
		}
	}
	return Setting{Name: name}
}

func (s Setting) Key() string {
	if s.HookKey != "" {
		return s.HookKey
	}
	return s.Name
}

// Defaults of the settings that have one.
const (
	DefaultCluster    = "autonote-server-cluster"
	DefaultService    = "autonote-server-service"
	DefaultRepository = "autonote/server"
	DefaultTimeout    = 15 * time.Minute
)

// Settings are every deploy setting, in the order the docs list them. A
// new setting is added here, parsed in Parse, and every front end has it.
func Settings() []Setting {
	return []Setting{
		{Name: "aws-region", HookKey: "region", Example: "us-east-1", Doc: "AWS region of the service; empty: AWS_REGION"},
		{Name: "cluster", Default: DefaultCluster, Example: "autonote-staging-cluster", Doc: "ECS cluster"},
		{Name: "service", Default: DefaultService, Example: "autonote-staging-service", Doc: "ECS service"},
		{Name: "container-name", HookKey: "container", Example: "server", Doc: "container whose image changes; empty: the only one, or the one running an image of ecr-repository"},
		{Name: "ecr-repository", Default: DefaultRepository, Example: "autonote/worker", Doc: "ECR repository of the image"},
		{Name: "registry", Example: "127.0.0.1:5000", Doc: "registry host instead of the one ECR reports (a mirror)"},
		{Name: "env", Example: "NODE_ENV=production", Doc: "KEY=VALUE per line, set on the new revision's container"},
		{Name: "secrets", Example: "DATABASE_URL=autonote/server/env:DATABASE_URL", Doc: "KEY=secret-name-or-arn[:json-key[:version-stage[:version-id]]] per line, resolved to ARNs before anything changes"},
		{Name: "keep-revisions", Default: "0", Example: "5", Doc: "after a successful deploy, deregister revisions older than the newest N; 0 keeps all"},
		{Name: "pre-deploy-command", Example: "npm run migration:run", Doc: "a command run once in a task of the new revision before the service changes (a JSON array, or a string run with sh -c)"},
		{Name: "pre-deploy-timeout", Default: "10m", Example: "5m", Doc: "how long the pre-deploy task may run"},
		{Name: "smoke-path", Example: "/health", Doc: "a path every new task must answer 2xx on, or the service returns to the last stable revision; for a service that shifts traffic, the gate before production"},
		{Name: "smoke-timeout", Default: "2m", Example: "90s", Doc: "how long the new tasks have to answer the smoke check"},
		{Name: "smoke-header", Example: "X-API-KEY", Doc: "a header sent with the smoke check; its value comes from smoke-header-secret (over plain HTTP, in clear text: the run says so)"},
		{Name: "smoke-header-secret", Example: "autonote/server/api-key", Doc: "the secret (name-or-arn[:json-key]) holding smoke-header's value; masked, never printed"},
		{Name: "wait", Default: "true", Example: "false", Doc: "watch the rollout until it completes or fails"},
		{Name: "timeout", Default: "15m", Example: "20m", Doc: "how long to watch the rollout before it counts as failed"},
		{Name: "rollback-on-failure", Default: "true", Example: "false", Doc: "return a failed rollout to the last stable revision when ECS has not"},
		{Name: "fail-after", Default: "1", Example: "3", Doc: "certain task failures (a crash at start, an image or secret that cannot be had, failed health checks) that end a rollout and start the return at once; 0 leaves it to ECS's circuit breaker"},
		{Name: "on-rollout-in-progress", Default: "wait", Example: "supersede", Doc: "another build rolling out: wait for it, or supersede it at once"},
	}
}

// Table is the settings as a Markdown table: docs/action.md and
// docs/deploy-hook.md both hold it, and a test keeps them equal to it.
func Table() string {
	var b strings.Builder
	b.WriteString("| input / flag | hook target key | default | what it does |\n|---|---|---|---|\n")
	for _, s := range Settings() {
		def := "`" + s.Default + "`"
		switch {
		case s.Name == "aws-region":
			def = "`AWS_REGION`"
		case s.Default == "":
			def = "empty"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", s.Name, s.Key(), def, s.Doc)
	}
	return b.String()
}
