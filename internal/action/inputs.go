package action

import (
	"cmp"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Command is what the action was asked to do.
type Command string

// The commands the action runs.
const (
	CommandDeploy    Command = "deploy"
	CommandRollback  Command = "rollback"
	CommandBootstrap Command = "bootstrap"
	CommandStatus    Command = "status"
	CommandRedeploy  Command = "redeploy"
)

// Inputs are the action's inputs, parsed and checked, with action.yml's
// defaults applied so the action behaves the same outside a runner.
type Inputs struct {
	Command           Command
	Region            string
	RoleToAssume      string
	Repository        string
	Tag               string
	Registry          string
	Image             string // source to push before the deploy; empty: push nothing
	CreateRepository  bool
	Cluster           string
	Service           string
	Container         string
	SHA               string
	Wait              bool
	Timeout           time.Duration
	RollbackOnFailure bool
	// OnRolloutInProgress: wait for another build's rollout, or supersede it.
	OnRolloutInProgress ecsdeploy.InProgress
	DryRun              bool
	GitHubToken         string
	Environment         string
	WebhookURL          string
	WebhookSecret       string
	BootstrapConfig     string
	Lifecycle
}

// Defaults of the inputs, as action.yml declares them.
const (
	DefaultRepository  = "autonote/server"
	DefaultCluster     = "autonote-server-cluster"
	DefaultService     = "autonote-server-service"
	DefaultTimeout     = 15 * time.Minute
	DefaultEnvironment = "production"
)

// secretInputs are masked before anything prints, whether or not the
// command uses them.
var secretInputs = [...]string{"github-token", "webhook-secret"}

// ParseInputs reads and checks every input. An error names the input and
// says what it takes.
func ParseInputs(a *githubactions.Action) (Inputs, error) {
	in := Inputs{
		Command:         Command(strings.ToLower(a.GetInput("command"))),
		Region:          a.GetInput("aws-region"),
		RoleToAssume:    a.GetInput("role-to-assume"),
		Repository:      a.GetInput("ecr-repository"),
		Tag:             a.GetInput("tag"),
		Registry:        a.GetInput("registry"),
		Image:           a.GetInput("image"),
		Cluster:         a.GetInput("cluster"),
		Service:         a.GetInput("service"),
		Container:       a.GetInput("container-name"),
		SHA:             strings.ToLower(a.GetInput("sha")),
		GitHubToken:     a.GetInput("github-token"),
		Environment:     a.GetInput("environment"),
		WebhookURL:      a.GetInput("webhook-url"),
		WebhookSecret:   a.GetInput("webhook-secret"),
		BootstrapConfig: a.GetInput("bootstrap-config"),
	}
	in.Environment = cmp.Or(in.Environment, DefaultEnvironment)
	if in.Command == "" {
		in.Command = CommandDeploy
	}
	in.Region = cmp.Or(in.Region, a.Getenv("AWS_REGION"), a.Getenv("AWS_DEFAULT_REGION"))
	in.Repository = cmp.Or(in.Repository, DefaultRepository)
	in.Tag = cmp.Or(in.Tag, a.Getenv("GITHUB_SHA"))
	in.Cluster = cmp.Or(in.Cluster, DefaultCluster)
	in.Service = cmp.Or(in.Service, DefaultService)

	var err error
	if in.Wait, err = parseBool(a, "wait", true); err != nil {
		return in, err
	}
	if in.RollbackOnFailure, err = parseBool(a, "rollback-on-failure", true); err != nil {
		return in, err
	}
	if in.DryRun, err = parseBool(a, "dry-run", false); err != nil {
		return in, err
	}
	if in.CreateRepository, err = parseBool(a, "create-repository", false); err != nil {
		return in, err
	}
	switch v := ecsdeploy.InProgress(a.GetInput("on-rollout-in-progress")); v {
	case "", ecsdeploy.Wait:
		in.OnRolloutInProgress = ecsdeploy.Wait
	case ecsdeploy.Supersede:
		in.OnRolloutInProgress = v
	default:
		return in, fmt.Errorf("input on-rollout-in-progress %q is not known: use wait (let another build's rollout finish first) or supersede (replace it at once)", v)
	}
	in.Timeout = DefaultTimeout
	if s := a.GetInput("timeout"); s != "" {
		if in.Timeout, err = time.ParseDuration(s); err != nil || in.Timeout <= 0 {
			return in, fmt.Errorf("input timeout %q is not a positive duration: write it as Go does, e.g. 15m, 90s or 1h30m", s)
		}
	}

	if err := parseLifecycle(a, &in); err != nil {
		return in, err
	}
	switch in.Command {
	case CommandDeploy:
		if in.Tag == "" && in.TaskDefinition == "" {
			return in, fmt.Errorf("input tag is empty and GITHUB_SHA is not set: name the image tag to deploy")
		}
	case CommandRollback:
		if in.Image != "" {
			return in, fmt.Errorf("input image is set, but rollback pushes nothing: it returns to an image already in ECR; remove image")
		}
		if in.SHA == "" {
			return in, fmt.Errorf("command rollback needs the sha input: the commit SHA, or a unique prefix of 7+ characters, of the build to return to")
		}
		if err := ecrimage.CheckSHA(in.SHA); err != nil {
			return in, fmt.Errorf("input sha: %w", err)
		}
	case CommandRedeploy:
		if len(in.Env)+len(in.Secrets) > 0 || in.PreDeploy != nil {
			return in, fmt.Errorf("redeploy starts the running revision anew; env, secrets and pre-deploy-command belong to a new revision: use command deploy")
		}
		fallthrough
	case CommandBootstrap, CommandStatus:
		if in.WebhookURL != "" {
			return in, fmt.Errorf("command %s does not go through the deploy hook: remove webhook-url", in.Command)
		}
		if in.Image != "" {
			return in, fmt.Errorf("input image is set, but %s pushes nothing; remove image", in.Command)
		}
	default:
		return in, fmt.Errorf("input command %q is not known: use deploy, rollback, redeploy, status or bootstrap", in.Command)
	}
	if in.WebhookURL != "" {
		return in, in.checkHook()
	}
	if in.Region == "" {
		return in, fmt.Errorf("no AWS region: set the aws-region input, or AWS_REGION in the workflow's env")
	}
	return in, nil
}

func parseBool(a *githubactions.Action, name string, def bool) (bool, error) {
	s := a.GetInput(name)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return def, fmt.Errorf("input %s %q is not a boolean: use true or false", name, s)
	}
	return b, nil
}

// checkHook checks the inputs of a deploy through the deploy hook, which
// takes a target (the environment input) and a full commit SHA.
func (in Inputs) checkHook() error {
	switch {
	case in.WebhookSecret == "":
		return fmt.Errorf("input webhook-url is set without webhook-secret: give the hook's whsec_ secret from a repository secret")
	case in.Image != "":
		return fmt.Errorf("inputs webhook-url and image are both set: the deploy hook deploys images already in ECR; push in an earlier step or drop webhook-url")
	case in.DryRun:
		return fmt.Errorf("dry-run is not available through the deploy hook: drop webhook-url to see the task definition")
	case len(in.Env)+len(in.Secrets) > 0 || in.TaskDefinition != "" || in.PreDeploy != nil || in.SmokePath != "" || in.KeepRevisions > 0:
		return fmt.Errorf("env, secrets, task-definition, pre-deploy-command, smoke-path and keep-revisions are not sent to the deploy hook: set them in the hook's target, or drop webhook-url")
	}
	u, err := url.Parse(in.WebhookURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (u.Scheme != "http" || !ecrimage.IsLoopback(u.Host))) {
		shown := in.WebhookURL
		if err == nil {
			shown = u.Redacted()
		}
		return fmt.Errorf("input webhook-url %q: give the hook's https:// address (plain http only to a hook on 127.0.0.1): its answers decide what this step reports", shown)
	}
	sha := in.Tag
	if in.Command == CommandRollback {
		sha = in.SHA
	}
	if len(sha) != 40 || strings.Trim(sha, "0123456789abcdef") != "" {
		return fmt.Errorf("the deploy hook takes a full 40-character commit SHA, got %q", sha)
	}
	return nil
}
