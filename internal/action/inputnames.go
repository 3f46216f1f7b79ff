package action

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	deployaction "github.com/autonote/deploy-action"
	"github.com/autonote/deploy-action/internal/deployspec"
	"github.com/autonote/deploy-action/internal/textdist"
)

// declared are action.yml's inputs with their defaults, read once.
var declared = sync.OnceValues(func() (map[string]string, error) {
	var meta struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(deployaction.ActionYML, &meta); err != nil {
		return nil, fmt.Errorf("read action.yml: %w", err)
	}
	out := map[string]string{}
	for name, in := range meta.Inputs {
		out[name] = in.Default
	}
	return out, nil
})

// checkInputNames refuses an input the action does not declare (a typo such
// as smoke_path, which the runner passes on with a warning nobody reads and
// the action would ignore): environ is the step's environment, where the
// runner sets INPUT_<NAME> for each input of with:.
func checkInputNames(environ []string) error {
	inputs, err := declared()
	if err != nil {
		return err
	}
	var unknown []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, "INPUT_")
		if !ok {
			continue
		}
		name = strings.ToLower(name)
		if _, ok := inputs[name]; ok {
			continue
		}
		msg := fmt.Sprintf("input %s is not an input of this action", name)
		if near := nearest(name, inputs); near != "" {
			msg += fmt.Sprintf(": did you mean %s?", near)
		}
		unknown = append(unknown, msg)
	}
	slices.Sort(unknown)
	if len(unknown) > 0 {
		return fmt.Errorf("%s (action.yml lists the inputs; docs/action.md says what each does)", strings.Join(unknown, "; "))
	}
	return nil
}

// nearest is the declared input a mistyped name most likely meant.
func nearest(name string, inputs map[string]string) string {
	return textdist.Nearest(name, slices.Sorted(maps.Keys(inputs)))
}

// usedBy says which commands use an input other than the deploy spec's
// settings (which deploy, rollback and redeploy use); an input absent
// here is every command's.
var usedBy = map[string][]Command{
	"sha":               {CommandRollback},
	"force":             {CommandRollback},
	"tag":               {CommandDeploy},
	"image":             {CommandDeploy},
	"create-repository": {CommandDeploy},
	"task-definition":   {CommandDeploy},
	"bootstrap-config":  {CommandBootstrap},
	"webhook-url":       {CommandDeploy, CommandRollback},
	"webhook-secret":    {CommandDeploy, CommandRollback},
}

// targetSettings are the deploy settings status (and bootstrap, for the
// region) read too: where the service is.
var targetSettings = []string{"aws-region", "cluster", "service", "container-name", "ecr-repository", "registry"}

// checkUnused refuses an input the command does not use (sha on deploy:
// the deploy would ignore it and deploy tag's build), named as the person
// set it; value is the input's value as the runner or the terminal gave it.
func (in Inputs) checkUnused(value func(name string) string, githubSHA string) error {
	inputs, err := declared()
	if err != nil {
		return err
	}
	var unused []string
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		v := value(name)
		if v == "" || v == inputs[name] {
			continue // not set, or the default the runner passes anyway
		}
		if name == "tag" && v == githubSHA {
			continue
		}
		if !Uses(in.Command, name) {
			unused = append(unused, in.name(name))
		}
	}
	if len(unused) == 0 {
		return nil
	}
	hint := ""
	switch {
	case in.Command == CommandDeploy && slices.Contains(unused, in.name("sha")):
		hint = ": deploy deploys the build of tag (GITHUB_SHA by default); to return to an earlier build, use command rollback with sha"
	case in.Command == CommandRollback && slices.Contains(unused, in.name("tag")):
		hint = ": rollback returns to the build of sha"
	}
	return fmt.Errorf("command %s does not use %s%s; remove %s", in.Command, strings.Join(unused, ", "), hint, map[bool]string{true: "them", false: "it"}[len(unused) > 1])
}

// Uses reports whether command reads the input name: a terminal's help
// lists the flags of a command alone, and a workflow that sets an input
// its command does not use is refused.
func Uses(command Command, name string) bool {
	if cmds, ok := usedBy[name]; ok {
		return slices.Contains(cmds, command)
	}
	return !isSetting(name) || slices.Contains(targetSettings, name) || command != CommandStatus && command != CommandBootstrap
}

func isSetting(name string) bool {
	return slices.ContainsFunc(deployspec.Settings(), func(s deployspec.Setting) bool { return s.Name == name })
}
