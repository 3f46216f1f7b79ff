package action_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autonote/deploy-action/internal/deployspec"
)

// TestActionYMLDeclaresEverything checks the contract between the code and
// action.yml: every input the code reads is declared with a description and
// a default, every output it writes is declared, and nothing is declared
// that the code never uses.
func TestActionYMLDeclaresEverything(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Inputs map[string]struct {
			Description string  `yaml:"description"`
			Default     *string `yaml:"default"`
		} `yaml:"inputs"`
		Outputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"outputs"`
		Runs struct{ Using, Image string } `yaml:"runs"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	readInput := regexp.MustCompile(`(?:GetInput\(|parseBool\(a, in\.name\("[a-z-]+"\), |in\.name\()"([a-z-]+)"`)
	wroteOutput := regexp.MustCompile(`(?:\[2\]string\{|\]string\{\{)"([a-z-]+)",`)
	var inputs, outputs []string
	// The deploy settings are read through the deploy spec, which the
	// hook's targets share.
	for _, st := range deployspec.Settings() {
		inputs = append(inputs, st.Name)
	}
	for _, f := range files {
		if filepath.Ext(f) != ".go" || len(f) > 8 && f[len(f)-8:] == "_test.go" {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range readInput.FindAllStringSubmatch(string(src), -1) {
			inputs = append(inputs, m[1])
		}
		for _, m := range wroteOutput.FindAllStringSubmatch(string(src), -1) {
			outputs = append(outputs, m[1])
		}
	}
	for _, name := range inputs {
		in, ok := meta.Inputs[name]
		switch {
		case !ok:
			t.Errorf("the code reads input %q, which action.yml does not declare", name)
		case in.Description == "":
			t.Errorf("input %q has no description", name)
		case in.Default == nil:
			t.Errorf("input %q has no default", name)
		}
	}
	for name := range meta.Inputs {
		if !slices.Contains(inputs, name) {
			t.Errorf("action.yml declares input %q, which the code never reads", name)
		}
	}
	for _, name := range outputs {
		if out, ok := meta.Outputs[name]; !ok || out.Description == "" {
			t.Errorf("the code writes output %q, which action.yml does not declare with a description", name)
		}
	}
	for name := range meta.Outputs {
		if !slices.Contains(outputs, name) {
			t.Errorf("action.yml declares output %q, which the code never writes", name)
		}
	}
	if meta.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", meta.Runs.Using)
	}
	if len(inputs) < 10 || len(outputs) < 6 {
		t.Errorf("found %d inputs and %d outputs in the code: the patterns no longer match it", len(inputs), len(outputs))
	}
}
