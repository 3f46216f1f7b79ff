package action

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/ecrimage"
)

// Command is what the action was asked to do.
type Command string

// The commands the action runs.
const (
	CommandDeploy   Command = "deploy"
	CommandRollback Command = "rollback"
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
	DryRun            bool
}

// Defaults of the inputs, as action.yml declares them.
const (
	DefaultRepository = "autonote/server"
	DefaultCluster    = "autonote-server-cluster"
	DefaultService    = "autonote-server-service"
	DefaultTimeout    = 15 * time.Minute
)

// secretInputs are masked before anything prints, whether or not the
// command uses them.
var secretInputs = [...]string{"github-token", "webhook-secret"}

// ParseInputs reads and checks every input. An error names the input and
// says what it takes.
func ParseInputs(a *githubactions.Action) (Inputs, error) {
	in := Inputs{
		Command:      Command(strings.ToLower(a.GetInput("command"))),
		Region:       a.GetInput("aws-region"),
		RoleToAssume: a.GetInput("role-to-assume"),
		Repository:   a.GetInput("ecr-repository"),
		Tag:          a.GetInput("tag"),
		Registry:     a.GetInput("registry"),
		Image:        a.GetInput("image"),
		Cluster:      a.GetInput("cluster"),
		Service:      a.GetInput("service"),
		Container:    a.GetInput("container-name"),
		SHA:          strings.ToLower(a.GetInput("sha")),
	}
	if in.Command == "" {
		in.Command = CommandDeploy
	}
	in.Region = firstOf(in.Region, a.Getenv("AWS_REGION"), a.Getenv("AWS_DEFAULT_REGION"))
	in.Repository = firstOf(in.Repository, DefaultRepository)
	in.Tag = firstOf(in.Tag, a.Getenv("GITHUB_SHA"))
	in.Cluster = firstOf(in.Cluster, DefaultCluster)
	in.Service = firstOf(in.Service, DefaultService)

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
	in.Timeout = DefaultTimeout
	if s := a.GetInput("timeout"); s != "" {
		if in.Timeout, err = time.ParseDuration(s); err != nil || in.Timeout <= 0 {
			return in, fmt.Errorf("input timeout %q is not a positive duration: write it as Go does, e.g. 15m, 90s or 1h30m", s)
		}
	}

	switch in.Command {
	case CommandDeploy:
		if in.Tag == "" {
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
	default:
		return in, fmt.Errorf("input command %q is not known: use deploy or rollback", in.Command)
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

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
