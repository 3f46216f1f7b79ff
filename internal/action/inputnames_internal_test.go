package action

import (
	"strings"
	"testing"
)

// TestInputNames: an input the action does not declare is refused, named,
// with the one it likely meant; declared ones and other variables pass.
func TestInputNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		environ []string
		says    string // "" for no error
	}{
		{"declared inputs", []string{"INPUT_SMOKE-PATH=/health", "INPUT_TAG=abc", "PATH=/bin", "GITHUB_SHA=abc"}, ""},
		{"an underscore for a hyphen", []string{"INPUT_SMOKE_PATH=/health"}, "input smoke_path is not an input of this action: did you mean smoke-path?"},
		{"a typo", []string{"INPUT_CLUSTR=c"}, "input clustr is not an input of this action: did you mean cluster?"},
		{"nothing like it", []string{"INPUT_FLAVOUR=vanilla"}, "input flavour is not an input of this action (action.yml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkInputNames(tc.environ)
			switch {
			case tc.says == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("error %v, want one saying %q", err, tc.says)
			}
		})
	}
}

// TestUnusedInputs: an input the command does not use is refused in the
// words of the front end used, not ignored; the defaults the runner passes
// for every input, and tag's GITHUB_SHA, are not "set".
func TestUnusedInputs(t *testing.T) {
	t.Parallel()
	const sha = "3484a3fb2a1c1b4dbb5d1a3c1f7c0b5e0c2e6f1a"
	for _, tc := range []struct {
		name     string
		command  Command
		terminal bool
		set      map[string]string
		says     string
	}{
		{"a deploy with defaults", CommandDeploy, false, map[string]string{"wait": "true", "timeout": "15m", "tag": sha}, ""},
		{"sha on deploy", CommandDeploy, false, map[string]string{"sha": "3484a3f"}, "command deploy does not use input sha: deploy deploys the build of tag"},
		{"sha on deploy, from a terminal", CommandDeploy, true, map[string]string{"sha": "3484a3f"}, "command deploy does not use flag -sha"},
		{"tag on rollback", CommandRollback, false, map[string]string{"tag": "v2", "sha": "3484a3f"}, "command rollback does not use input tag: rollback returns to the build of sha"},
		{"GITHUB_SHA's tag on rollback", CommandRollback, false, map[string]string{"tag": sha, "sha": "3484a3f"}, ""},
		{"smoke-path on status", CommandStatus, false, map[string]string{"smoke-path": "/health", "cluster": "c"}, "command status does not use input smoke-path"},
		{"bootstrap-config on deploy", CommandDeploy, false, map[string]string{"bootstrap-config": "b.yaml"}, "input bootstrap-config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := Inputs{Command: tc.command, terminal: tc.terminal}
			err := in.checkUnused(func(n string) string { return tc.set[n] }, sha)
			switch {
			case tc.says == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("error %v, want one saying %q", err, tc.says)
			}
		})
	}
}
