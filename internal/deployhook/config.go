package deployhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Target is a service the hook may deploy, as the config names it.
type Target struct {
	Region        string `yaml:"region"`
	Cluster       string `yaml:"cluster"`
	Service       string `yaml:"service"`
	Container     string `yaml:"container"`
	ECRRepository string `yaml:"ecr-repository"`
	Registry      string `yaml:"registry"`
	// URL is where the target serves, for GitHub's environment_url.
	URL string `yaml:"url"`
	// SecretsEnv names the environment variable holding this target's own
	// whsec_ secrets: only they open it (deploy it, read its jobs), and they
	// open nothing else. Empty: DEPLOY_HOOK_SECRETS opens it.
	SecretsEnv string `yaml:"secrets-env"`

	// The deploy lifecycle, as the action's inputs of the same names:
	// a command in one task of the new revision before the service changes
	// (exec form), a path each new task must answer 2xx on, and how many
	// revisions to keep.
	PreDeployCommand []string `yaml:"pre-deploy-command"`
	PreDeployTimeout Duration `yaml:"pre-deploy-timeout"`
	SmokePath        string   `yaml:"smoke-path"`
	SmokeTimeout     Duration `yaml:"smoke-timeout"`
	KeepRevisions    int      `yaml:"keep-revisions"`
}

// Duration is a Go duration in the config: 10m, 90s.
type Duration time.Duration

// UnmarshalYAML reads a duration written as Go writes it.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a positive duration: write it as Go does, e.g. 10m or 90s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// GitHubConfig says what GitHub may trigger.
type GitHubConfig struct {
	Repositories []string `yaml:"repositories"`
	// Environments maps a GitHub environment to a target.
	Environments map[string]string `yaml:"environments"`
	// Workflow is the file name of the workflow whose successful runs on
	// Branch deploy their head SHA to Target.
	Workflow string `yaml:"workflow"`
	Branch   string `yaml:"branch"`
	// Target receives workflow_run deploys; empty means the only target.
	Target string `yaml:"target"`
	// Deployers, when set, are the GitHub logins whose deployment events
	// the hook honours.
	Deployers []string `yaml:"deployers"`
}

// Config is the deploy hook's configuration file.
type Config struct {
	Targets map[string]Target `yaml:"targets"`
	GitHub  GitHubConfig      `yaml:"github"`
}

// LoadConfig reads a config file; unknown keys are errors.
func LoadConfig(file string) (*Config, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(raw, file)
}

// ParseConfig parses and checks a config; name is used in errors.
func ParseConfig(raw []byte, name string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	if len(c.Targets) == 0 {
		return errors.New("no targets: name at least one under the targets key")
	}
	for name, t := range c.Targets {
		var missing []string
		for k, v := range map[string]string{"region": t.Region, "cluster": t.Cluster, "service": t.Service, "ecr-repository": t.ECRRepository} {
			if v == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return fmt.Errorf("target %s: %s missing", name, strings.Join(missing, ", "))
		}
		if t.SmokePath != "" && !strings.HasPrefix(t.SmokePath, "/") {
			return fmt.Errorf("target %s: smoke-path %q: give a path that starts with /, e.g. /health", name, t.SmokePath)
		}
		if t.KeepRevisions < 0 {
			return fmt.Errorf("target %s: keep-revisions %d: give how many revisions to keep, or 0 to keep all", name, t.KeepRevisions)
		}
	}
	if len(c.GitHub.Environments) > 0 && c.GitHub.Branch == "" {
		return errors.New("github.environments is set without github.branch: name the branch a deployment's SHA must be on")
	}
	for env, target := range c.GitHub.Environments {
		if _, ok := c.Targets[target]; !ok {
			return fmt.Errorf("github.environments: %s maps to target %q, which is not under targets", env, target)
		}
	}
	if c.GitHub.Workflow != "" {
		if c.GitHub.Branch == "" {
			return errors.New("github.workflow is set without github.branch: name the branch whose runs deploy")
		}
		if c.GitHub.Target == "" {
			if len(c.Targets) != 1 {
				return errors.New("github.workflow is set and there are several targets: name the one it deploys as github.target")
			}
			for name := range c.Targets {
				c.GitHub.Target = name
			}
		}
		if _, ok := c.Targets[c.GitHub.Target]; !ok {
			return fmt.Errorf("github.target %q is not under targets", c.GitHub.Target)
		}
		c.GitHub.Workflow = path.Base(c.GitHub.Workflow)
	}
	return nil
}

// repositoryAllowed reports whether GitHub events of the repository are taken.
func (c *Config) repositoryAllowed(fullName string) bool {
	return slices.ContainsFunc(c.GitHub.Repositories, func(r string) bool { return strings.EqualFold(r, fullName) })
}
