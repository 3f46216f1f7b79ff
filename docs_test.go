package deployaction_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func read(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocsNameWhatActionYMLDeclares: README and docs/action.md name the
// same commands as action.yml's command input, README's tables hold every
// input and output action.yml declares and no other, and README's workflow
// is the shipped one, whole. A user follows the docs literally.
func TestDocsNameWhatActionYMLDeclares(t *testing.T) {
	t.Parallel()
	var meta struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"inputs"`
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal([]byte(read(t, "action.yml")), &meta); err != nil {
		t.Fatal(err)
	}
	readme, actionDoc := read(t, "README.md"), read(t, "docs/action.md")

	commands := regexp.MustCompile(`^(\w+) \(`).FindAllStringSubmatch(meta.Inputs["command"].Description, -1)
	commands = append(commands, regexp.MustCompile(`, (\w+) \(`).FindAllStringSubmatch(meta.Inputs["command"].Description, -1)...)
	commands = append(commands, regexp.MustCompile(` or (\w+) \(`).FindAllStringSubmatch(meta.Inputs["command"].Description, -1)...)
	if len(commands) != 5 {
		t.Fatalf("action.yml's command input names %d commands, want the 5 (deploy, rollback, redeploy, status, bootstrap)", len(commands))
	}
	_, top, _ := strings.Cut(actionDoc, "Commands: ")
	top, _, _ = strings.Cut(top, ";")
	_, readmeCommand, _ := strings.Cut(readme, "| `command` |")
	readmeCommand, _, _ = strings.Cut(readmeCommand, "\n")
	for _, m := range commands {
		c := "`" + m[1] + "`"
		if !strings.Contains(top, c) {
			t.Errorf("docs/action.md's list of commands lacks %s", c)
		}
		if !strings.Contains(readmeCommand, c) {
			t.Errorf("README's command row lacks %s", c)
		}
	}

	table := func(heading string) map[string]bool {
		_, rest, ok := strings.Cut(readme, heading+"\n")
		if !ok {
			t.Fatalf("README has no %q", heading)
		}
		rest, _, _ = strings.Cut(rest, "\n\n#")
		names := map[string]bool{}
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(rest, -1) {
			names[m[1]] = true
		}
		return names
	}
	inputs, outputs := table("### Inputs"), table("### Outputs")
	for name := range meta.Inputs {
		if !inputs[name] {
			t.Errorf("README's inputs table lacks %s", name)
		}
	}
	for name := range inputs {
		if _, ok := meta.Inputs[name]; !ok {
			t.Errorf("README's inputs table has %s, which action.yml does not declare", name)
		}
	}
	for name := range meta.Outputs {
		if !outputs[name] {
			t.Errorf("README's outputs table lacks %s", name)
		}
	}
	for name := range outputs {
		if _, ok := meta.Outputs[name]; !ok {
			t.Errorf("README's outputs table has %s, which action.yml does not declare", name)
		}
	}

	wf := read(t, ".github/workflows/build-and-push-backend.yml")
	wf = wf[strings.Index(wf, "name: build-and-push-backend"):]
	_, block, _ := strings.Cut(readme, "## Use it in a workflow")
	_, block, _ = strings.Cut(block, "```yaml\n")
	block, _, _ = strings.Cut(block, "```\n")
	if block != wf {
		t.Errorf("README's workflow differs from .github/workflows/build-and-push-backend.yml: show the shipped file whole")
	}
}
