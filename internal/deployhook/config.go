package deployhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/autonote/deploy-action/internal/deployspec"
	"github.com/autonote/deploy-action/internal/yamlerr"
	"gopkg.in/yaml.v3"
)

// Target is a service the hook may deploy, as the config names it: the
// deploy spec (every setting the action takes, under the same keys but
// region and container), where it serves, and whose secrets open it.
type Target struct {
	deployspec.Spec
	// URL is where the target serves, for GitHub's environment_url.
	URL string
	// SecretsEnv names the environment variable holding this target's own
	// whsec_ secrets: only they open it (deploy it, read its jobs), and they
	// open nothing else. Empty: DEPLOY_HOOK_SECRETS opens it.
	SecretsEnv string
}

// hookOnlyKeys are a target's keys that are not deploy settings.
var hookOnlyKeys = [...]string{"url", "secrets-env"}

// requiredKeys a target must name: a hook serves named services and
// guesses none (the action's defaults name AutoNote's).
var requiredKeys = [...]string{"cluster", "ecr-repository", "region", "service"}

// TargetKeys are every key a target takes: the deploy settings' keys, then
// the hook's own.
func TargetKeys() []string {
	var keys []string
	for _, s := range deployspec.Settings() {
		keys = append(keys, s.Key())
	}
	return append(keys, hookOnlyKeys[:]...)
}

// parseTarget reads one target's mapping. A multi-line setting (env,
// secrets) takes a list of lines or a mapping of KEY: value as well as a
// block of lines; pre-deploy-command takes a list (exec form) or a string
// (run with sh -c), as the action's input does.
func parseTarget(name string, n *yaml.Node) (Target, error) {
	t := Target{}
	if n.Kind != yaml.MappingNode {
		return t, fmt.Errorf("target %s: line %d: want a mapping of settings", name, n.Line)
	}
	known := map[string]deployspec.Setting{}
	for _, s := range deployspec.Settings() {
		known[s.Key()] = s
	}
	values := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if _, dup := values[k]; dup {
			return t, fmt.Errorf("target %s: line %d: key %s is given twice", name, n.Content[i].Line, k)
		}
		_, setting := known[k]
		if !setting && !slices.Contains(hookOnlyKeys[:], k) {
			return t, fmt.Errorf("target %s: line %d: key %q is not known: a target takes %s", name, n.Content[i].Line, k[:min(len(k), 40)], strings.Join(TargetKeys(), ", "))
		}
		text, err := settingText(k, v)
		if err != nil {
			return t, fmt.Errorf("target %s: %s: line %d: %w", name, k, v.Line, err)
		}
		values[k] = text
	}
	var missing []string
	for _, k := range requiredKeys {
		if strings.TrimSpace(values[k]) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("target %s: %s missing", name, strings.Join(missing, ", "))
	}
	spec, err := deployspec.Parse(hookSource(values), deployspec.HookWords(name), deployspec.Env{})
	if err != nil {
		return t, err
	}
	return Target{Spec: spec, URL: values["url"], SecretsEnv: values["secrets-env"]}, nil
}

// checkTargetName refuses a target name that is not 1 to 64 letters,
// digits, '-', '_' or '.': a name is a path segment, part of the table's
// keys and of every log line about the target.
func checkTargetName(name string) error {
	ok := len(name) > 0 && len(name) <= 64
	for _, c := range name {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}
	if !ok {
		return fmt.Errorf("target name %q: use 1 to 64 letters, digits, '-', '_' or '.' (e.g. production, staging-eu)", name[:min(len(name), 64)])
	}
	return nil
}

// hookSource reads a target's settings by their keys.
type hookSource map[string]string

func (h hookSource) Value(s deployspec.Setting) string { return h[s.Key()] }

// settingText is a YAML value as the text the action's input of the same
// setting would hold.
func settingText(key string, v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return v.Value, nil
	case yaml.SequenceNode:
		var items []string
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return "", errors.New("want a list of strings")
			}
			items = append(items, it.Value)
		}
		switch key {
		case "pre-deploy-command":
			b, err := json.Marshal(items)
			return string(b), err
		case "env", "secrets":
			return strings.Join(items, "\n"), nil
		}
	case yaml.MappingNode:
		if key != "env" && key != "secrets" {
			break
		}
		var lines []string
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i+1].Kind != yaml.ScalarNode {
				return "", errors.New("want KEY: value pairs")
			}
			lines = append(lines, v.Content[i].Value+"="+v.Content[i+1].Value)
		}
		return strings.Join(lines, "\n"), nil
	}
	return "", errors.New("want a single value")
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
	Targets map[string]Target
	GitHub  GitHubConfig
}

// configFile is the file as YAML reads it, before each target is parsed.
type configFile struct {
	Targets map[string]yaml.Node `yaml:"targets"`
	GitHub  GitHubConfig         `yaml:"github"`
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
	var f configFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlerr.Explain(err, name, configFile{}, GitHubConfig{})
	}
	c := Config{Targets: map[string]Target{}, GitHub: f.GitHub}
	for _, tn := range slices.Sorted(maps.Keys(f.Targets)) {
		if err := checkTargetName(tn); err != nil {
			return nil, fmt.Errorf("config %s: %w", name, err)
		}
		n := f.Targets[tn]
		t, err := parseTarget(tn, &n)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", name, err)
		}
		c.Targets[tn] = t
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
