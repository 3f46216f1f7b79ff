package actioncli

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	deployaction "github.com/autonote/deploy-action"
	"github.com/autonote/deploy-action/internal/action"
)

func TestRunFailsOnBadInputWithAnAnnotation(t *testing.T) {
	t.Parallel()
	env := map[string]string{"INPUT_COMMAND": "destroy", "AWS_REGION": "us-east-1"}
	var out bytes.Buffer
	err := Run(context.Background(), nil, func(k string) string { return env[k] }, &out, "test")
	if err == nil {
		t.Fatal("run succeeded, want an error")
	}
	if !strings.Contains(out.String(), `::error::input command "destroy" is not known`) {
		t.Errorf("output lacks the error annotation:\n%s", out.String())
	}
}

func TestRunSurvivesAnUnwritableOutputFile(t *testing.T) {
	t.Parallel()
	env := map[string]string{"INPUT_COMMAND": "destroy", "GITHUB_OUTPUT": t.TempDir() + "/missing/dir/output"}
	var out bytes.Buffer
	if err := Run(context.Background(), nil, func(k string) string { return env[k] }, &out, "test"); err == nil {
		t.Fatal("run succeeded, want an error")
	}
	if !strings.Contains(out.String(), "::warning::write GITHUB_OUTPUT") {
		t.Errorf("output lacks a warning about GITHUB_OUTPUT:\n%s", out.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, "test"); err != nil || out.String() != "test\n" {
		t.Errorf("-version: %v, printed %q", err, out.String())
	}
}

// TestTerminalSpeaksFlags: the command line a person types, without a
// runner: the bare name asks for a command (exit code 2), -h lists the
// commands, COMMAND -h lists flags named as the inputs with booleans as
// booleans, and errors name flags, not inputs.
func TestTerminalSpeaksFlags(t *testing.T) {
	t.Parallel()
	noRunner := func(string) string { return "" }
	var out bytes.Buffer
	err := Run(context.Background(), nil, noRunner, &out, "test")
	var usage UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "no command") || !strings.Contains(err.Error(), "rollback    return to the build of -sha") {
		t.Errorf("bare name: %v, want a usage error listing the commands", err)
	}
	if strings.Contains(out.String(), "::") {
		t.Errorf("the bare name printed workflow commands: %q", out.String())
	}

	out.Reset()
	if err := Run(context.Background(), []string{"-h"}, noRunner, &out, "test"); err != nil || !strings.Contains(out.String(), "Commands:\n  deploy") {
		t.Errorf("-h: %v, printed %q; want the commands", err, out.String())
	}

	out.Reset()
	if err := Run(context.Background(), []string{"deploy", "-h"}, noRunner, &out, "test"); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, want := range []string{"  -dry-run\n", "  -wait\n", "  -github-token-file string\n", "  -role-to-assume string\n", "  -image string\n", "  -task-definition string\n", "  -fail-after string\n"} {
		if !strings.Contains(help, want) {
			t.Errorf("deploy -h lacks %q:\n%s", want, help)
		}
	}
	for _, bad := range []string{"-github-token-file permissions", "-image tag", "-role-to-assume permissions", "-dry-run string"} {
		if strings.Contains(help, bad) {
			t.Errorf("deploy -h garbles a flag: %q", bad)
		}
	}
	// Each command's help names its own flags alone.
	for _, command := range commands {
		out.Reset()
		if err := Run(context.Background(), []string{command, "-h"}, noRunner, &out, "test"); err != nil {
			t.Fatal(err)
		}
		for _, name := range inputNames() {
			if name == "command" || secretFlags[name] != "" {
				continue
			}
			listed := strings.Contains(out.String(), "  -"+name+" ") || strings.Contains(out.String(), "  -"+name+"\n")
			if uses := action.Uses(action.Command(command), name); listed != uses {
				t.Errorf("%s -h lists -%s: %v, but the command uses it: %v", command, name, listed, uses)
			}
		}
	}

	out.Reset()
	err = Run(context.Background(), []string{"deploy", "-dry-run", "-smoke-path", "health", "-aws-region", "us-east-1"}, noRunner, &out, "test")
	if err == nil || errors.As(err, &usage) {
		t.Fatalf("a bad -smoke-path: %v, want a run that fails on it", err)
	}
	if !strings.Contains(out.String(), `error: flag -smoke-path "health": give a path that starts with /`) {
		t.Errorf("the error does not name the flag:\n%s", out.String())
	}
	out.Reset()
	_ = Run(context.Background(), []string{"rollback"}, noRunner, &out, "test")
	if !strings.Contains(out.String(), "needs the -sha flag") || strings.Contains(out.String(), "the sha input") {
		t.Errorf("rollback without -sha:\n%s", out.String())
	}
}

// TestBinaryNames: go build (and so go install) of cmd/deploy-action makes
// a binary named deploy-action that runs from a terminal: the bare name
// exits 2 with its usage, -h exits 0.
func TestBinaryNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "../../cmd/deploy-action", "../../cmd/action")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	for _, name := range []string{"deploy-action", "action"} {
		bin := filepath.Join(dir, name)
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "usage: deploy-action COMMAND") {
			t.Errorf("%s with no arguments: %v, stderr %q; want exit code 2 and the usage", name, err, stderr.String())
		}
		if out, err := exec.Command(bin, "-h").Output(); err != nil || !strings.Contains(string(out), "Commands:") {
			t.Errorf("%s -h: %v, %q", name, err, out)
		}
	}
}

// inputNames are action.yml's inputs (its outputs aside).
func inputNames() []string {
	var meta struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(deployaction.ActionYML, &meta); err != nil {
		panic(err)
	}
	return slices.Sorted(maps.Keys(meta.Inputs))
}
