package action

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/deployspec"
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
// defaults applied so the action behaves the same outside a runner. The
// deploy settings are the deploy spec, which the hook's targets share.
type Inputs struct {
	deployspec.Spec
	Command          Command
	RoleToAssume     string
	Tag              string
	Image            string // source to push before the deploy; empty: push nothing
	CreateRepository bool
	SHA              string
	// Force: rollback returns even to a build that never ran on the service.
	Force           bool
	DryRun          bool
	GitHubToken     string
	Environment     string
	WebhookURL      string
	WebhookSecret   string
	BootstrapConfig string
	// TaskDefinition deploys this revision as it is (family:revision or ARN).
	TaskDefinition string
	// terminal: the inputs came from a terminal's flags, and errors name
	// flags.
	terminal bool
	// given are the deploy settings the workflow (or the terminal) set.
	given []string
}

// Defaults of the inputs, as action.yml declares them.
const (
	DefaultRepository  = deployspec.DefaultRepository
	DefaultCluster     = deployspec.DefaultCluster
	DefaultService     = deployspec.DefaultService
	DefaultTimeout     = deployspec.DefaultTimeout
	DefaultEnvironment = "production"
)

// secretInputs are masked before anything prints, whether or not the
// command uses them.
var secretInputs = [...]string{"github-token", "webhook-secret"}

// ParseInputs reads and checks every input. An error names the input as
// the person set it (an input in a workflow, a flag in a terminal) and
// says what it takes. Values of env are masked before anything else
// happens.
func ParseInputs(a *githubactions.Action, terminal bool) (Inputs, error) {
	in := Inputs{
		Command:         Command(strings.ToLower(a.GetInput("command"))),
		RoleToAssume:    a.GetInput("role-to-assume"),
		Tag:             a.GetInput("tag"),
		Image:           a.GetInput("image"),
		SHA:             strings.ToLower(a.GetInput("sha")),
		GitHubToken:     a.GetInput("github-token"),
		Environment:     a.GetInput("environment"),
		WebhookURL:      a.GetInput("webhook-url"),
		WebhookSecret:   a.GetInput("webhook-secret"),
		BootstrapConfig: a.GetInput("bootstrap-config"),
		TaskDefinition:  a.GetInput("task-definition"),
		terminal:        terminal,
	}
	in.Environment = cmp.Or(in.Environment, DefaultEnvironment)
	if in.Command == "" {
		in.Command = CommandDeploy
	}
	in.Tag = cmp.Or(in.Tag, a.Getenv("GITHUB_SHA"))

	for _, st := range deployspec.Settings() {
		if a.GetInput(st.Name) != "" {
			in.given = append(in.given, st.Name)
		}
	}
	var err error
	in.Spec, err = deployspec.Parse(deployspec.SourceFunc(a.GetInput), in.words(),
		deployspec.Env{Region: cmp.Or(a.Getenv("AWS_REGION"), a.Getenv("AWS_DEFAULT_REGION"))})
	for _, v := range in.Masks() {
		a.AddMask(v)
	}
	if err != nil {
		return in, err
	}
	if in.DryRun, err = parseBool(a, in.name("dry-run"), "dry-run", false); err != nil {
		return in, err
	}
	if in.CreateRepository, err = parseBool(a, in.name("create-repository"), "create-repository", false); err != nil {
		return in, err
	}
	if in.Force, err = parseBool(a, in.name("force"), "force", false); err != nil {
		return in, err
	}
	if err := in.checkLifecycle(); err != nil {
		return in, err
	}
	switch in.Command {
	case CommandDeploy:
		if in.Tag == "" && in.TaskDefinition == "" {
			return in, fmt.Errorf("%s is empty and GITHUB_SHA is not set: name the image tag to deploy", in.name("tag"))
		}
	case CommandRollback:
		if in.Image != "" {
			return in, fmt.Errorf("%s is set, but rollback pushes nothing: it returns to an image already in ECR; remove image", in.name("image"))
		}
		if in.SHA == "" {
			return in, fmt.Errorf("command rollback needs %s: the commit SHA, or a unique prefix of 7+ characters, of the build to return to", in.the("sha"))
		}
		if err := ecrimage.CheckSHA(in.SHA); err != nil {
			return in, fmt.Errorf("%s: %w", in.name("sha"), err)
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
			return in, fmt.Errorf("%s is set, but %s pushes nothing; remove image", in.name("image"), in.Command)
		}
	default:
		return in, fmt.Errorf("%s %q is not known: use deploy, rollback, redeploy, status or bootstrap", in.name("command"), in.Command)
	}
	if in.WebhookURL != "" {
		return in, in.checkHook()
	}
	if in.Region == "" {
		return in, fmt.Errorf("no AWS region: set %s, or AWS_REGION in %s", in.the("aws-region"), in.envWords())
	}
	return in, nil
}

// words names settings as the person set them.
func (in Inputs) words() deployspec.Words {
	if in.terminal {
		return deployspec.FlagWords
	}
	return deployspec.InputWords
}

// name is how the person names an input: "input tag", "flag -tag".
func (in Inputs) name(input string) string { return in.words()(deployspec.Setting{Name: input}) }

// the names an input in a sentence: "the sha input", "the -sha flag".
func (in Inputs) the(input string) string {
	if in.terminal {
		return "the -" + input + " flag"
	}
	return "the " + input + " input"
}

// worded is err with the settings the engine's hints name ({cluster})
// named as the person set them: "input cluster", "flag -cluster".
func (in Inputs) worded(err error) error { return ecsdeploy.WordHints(err, in.name) }

// envWords names where environment variables are set, in the words of
// the front end in use.
func (in Inputs) envWords() string {
	if in.terminal {
		return "the shell's environment"
	}
	return "the workflow's env"
}

// checkLifecycle checks what only the action's task-definition input
// adds to the spec's own checks.
func (in Inputs) checkLifecycle() error {
	switch {
	case in.TaskDefinition != "" && in.Command != CommandDeploy:
		return fmt.Errorf("%s is for command deploy only", in.name("task-definition"))
	case in.TaskDefinition != "" && in.Image != "":
		return fmt.Errorf("inputs task-definition and image are both set: a given revision is deployed as it is; drop one")
	case in.TaskDefinition != "" && len(in.Env)+len(in.Secrets) > 0:
		return fmt.Errorf("inputs task-definition and env or secrets are both set: a given revision is deployed as it is; drop one")
	}
	return nil
}

func parseBool(a *githubactions.Action, words, name string, def bool) (bool, error) {
	s := a.GetInput(name)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return def, fmt.Errorf("%s %q is not a boolean: use true or false", words, s)
	}
	return b, nil
}

// notHookOwned are the deploy settings that still mean something with
// webhook-url: wait and timeout bound how the step follows the job, and the
// target's address (the hook's target names its own) is ignored. Every
// other setting, a new one too, is the hook target's and refused here.
var notHookOwned = [...]string{"aws-region", "cluster", "service", "container-name", "ecr-repository", "registry", "wait", "timeout"}

// checkHook checks the inputs of a deploy through the deploy hook, which
// takes a target (the environment input) and a full commit SHA.
func (in Inputs) checkHook() error {
	switch {
	case in.WebhookSecret == "":
		return fmt.Errorf("%s is set without webhook-secret: give the hook's whsec_ secret from a repository secret", in.name("webhook-url"))
	case in.Image != "":
		return fmt.Errorf("inputs webhook-url and image are both set: the deploy hook deploys images already in ECR; push in an earlier step or drop webhook-url")
	case in.DryRun:
		return fmt.Errorf("dry-run is not available through the deploy hook: drop webhook-url to see the task definition")
	case in.TaskDefinition != "":
		return fmt.Errorf("task-definition is not sent to the deploy hook, which deploys builds by SHA: drop one of them")
	}
	var owned []string
	for _, name := range in.given {
		if !slices.Contains(notHookOwned[:], name) {
			owned = append(owned, name)
		}
	}
	if len(owned) > 0 {
		return fmt.Errorf("%s: the deploy hook's target sets these (the same keys in its config, docs/deploy-hook.md); they are not sent with the request: drop them here, or drop webhook-url", strings.Join(owned, ", "))
	}
	u, err := url.Parse(in.WebhookURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (u.Scheme != "http" || !ecrimage.IsLoopback(u.Host))) {
		shown := in.WebhookURL
		if err == nil {
			shown = u.Redacted()
		}
		return fmt.Errorf("%s %q: give the hook's https:// address (plain http only to a hook on 127.0.0.1): its answers decide what this step reports", in.name("webhook-url"), shown)
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
