package deployspec_test

import (
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	"github.com/autonote/deploy-action/internal/deployspec"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

var update = flag.Bool("update", false, "rewrite the settings table in the docs")

// actionOnly are the action's inputs that are not deploy settings, each
// with why a hook target has no such key.
var actionOnly = map[string]string{
	"command":           "the hook runs deploys; the verb is the route",
	"role-to-assume":    "the hook runs with its own credentials",
	"image":             "the hook deploys images already in ECR; it pushes nothing",
	"create-repository": "goes with image: a push",
	"tag":               "the hook's request names the SHA",
	"sha":               "the hook's request names the SHA",
	"dry-run":           "a hook job changes the service or fails",
	"force":             "a rollback's, to a build that never went live; the hook deploys builds",
	"github-token":      "the hook's GITHUB_TOKEN, for every target",
	"environment":       "the action's name for the hook's target",
	"webhook-url":       "how the action reaches the hook",
	"webhook-secret":    "how the action signs for the hook",
	"bootstrap-config":  "the bootstrap is not a deploy",
	"task-definition":   "a given revision is a terminal's or workflow's one-off; the hook deploys builds by SHA",
}

// TestActionDeclaresEverySetting: every deploy setting is an action input
// (and so a terminal flag) with the same default, and every other input is
// one the hook cannot have, with the reason.
func TestActionDeclaresEverySetting(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	settings := map[string]bool{}
	for _, s := range deployspec.Settings() {
		settings[s.Name] = true
		in, ok := meta.Inputs[s.Name]
		switch {
		case !ok:
			t.Errorf("deploy setting %s is not an input of action.yml", s.Name)
		case in.Default != s.Default:
			t.Errorf("input %s defaults to %q in action.yml, the spec to %q", s.Name, in.Default, s.Default)
		}
	}
	for name := range meta.Inputs {
		if !settings[name] && actionOnly[name] == "" {
			t.Errorf("input %s is neither a deploy setting (deployspec.Settings) nor listed as the action's own, with a reason", name)
		}
	}
}

// TestDocsHoldTheSettingsTable: both pages list the settings from the one
// table; go test -update rewrites them.
func TestDocsHoldTheSettingsTable(t *testing.T) {
	section := regexp.MustCompile(`(?s)<!-- deploy-settings -->\n.*?<!-- /deploy-settings -->`)
	want := "<!-- deploy-settings -->\n" + deployspec.Table() + "<!-- /deploy-settings -->"
	for _, file := range []string{"../../docs/action.md", "../../docs/deploy-hook.md"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got := section.Find(raw)
		if got == nil {
			t.Errorf("%s has no <!-- deploy-settings --> section", file)
			continue
		}
		if string(got) == want {
			continue
		}
		if *update {
			if err := os.WriteFile(file, section.ReplaceAll(raw, []byte(want)), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s's settings table differs from deployspec.Table(): run go test ./internal/deployspec -update", file)
	}
}

// fields is a Source of the settings a test names.
type fields map[string]string

func (f fields) Value(s deployspec.Setting) string { return f[s.Name] }

func TestDefaults(t *testing.T) {
	t.Parallel()
	sp, err := deployspec.Parse(fields{}, deployspec.InputWords, deployspec.Env{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{sp.Region, sp.Cluster, sp.Service, sp.Repository, sp.Wait, sp.Timeout, sp.RollbackOnFailure, sp.OnRolloutInProgress, sp.PreDeployTimeout, sp.SmokeTimeout, sp.KeepRevisions, sp.FailAfter}
	want := []any{"eu-west-1", "autonote-server-cluster", "autonote-server-service", "autonote/server", true, 15 * time.Minute, true, ecsdeploy.Wait, 10 * time.Minute, 2 * time.Minute, 0, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("default %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestEveryExampleParses: each setting's example is taken and changes the
// spec, so the docs' examples are real and no setting is dropped.
func TestEveryExampleParses(t *testing.T) {
	t.Parallel()
	base, err := deployspec.Parse(fields{"smoke-path": "/health"}, deployspec.InputWords, deployspec.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range deployspec.Settings() {
		f := fields{"smoke-path": "/health", s.Name: s.Example}
		if s.Name == "smoke-header" || s.Name == "smoke-header-secret" {
			f["smoke-header"], f["smoke-header-secret"] = "X-API-KEY", "autonote/server/api-key"
		}
		sp, err := deployspec.Parse(f, deployspec.InputWords, deployspec.Env{})
		if err != nil {
			t.Errorf("%s: example %q: %v", s.Name, s.Example, err)
			continue
		}
		if s.Name != "smoke-path" && same(sp, base) {
			t.Errorf("%s: example %q changed nothing in the spec", s.Name, s.Example)
		}
	}
}

func same(a, b deployspec.Spec) bool {
	return reflect.DeepEqual(a.Target, b.Target) && reflect.DeepEqual(a.Lifecycle, b.Lifecycle) && a.Policy == b.Policy
}

func TestParseErrorsSpeakTheFrontEndsWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields fields
		words  deployspec.Words
		says   string
	}{
		{"input", fields{"smoke-path": "health"}, deployspec.InputWords, `input smoke-path "health": give a path that starts with /`},
		{"flag", fields{"smoke-path": "health"}, deployspec.FlagWords, `flag -smoke-path "health": give a path that starts with /`},
		{"hook key", fields{"container-name": "a", "timeout": "soon"}, deployspec.HookWords("production"), `target production: timeout "soon" is not a positive duration`},
		{"boolean", fields{"wait": "maybe"}, deployspec.InputWords, `input wait "maybe" is not a boolean: use true or false`},
		{"in progress", fields{"on-rollout-in-progress": "cancel"}, deployspec.FlagWords, `flag -on-rollout-in-progress "cancel" is not known: use wait`},
		{"env without =", fields{"env": "not a line s3cr3t"}, deployspec.InputWords, "input env, line 1: want KEY=VALUE"},
		{"secrets line", fields{"secrets": "DATABASE_URL"}, deployspec.InputWords, "input secrets, line 1: want KEY=secret-name-or-arn[:json-key]"},
		{"empty json key", fields{"secrets": "DATABASE_URL=autonote/server/env::"}, deployspec.InputWords, "input secrets, DATABASE_URL: secret autonote/server/env: the part after the name is empty"},
		{"too many parts", fields{"secrets": "A=env:k:AWSCURRENT:id:more"}, deployspec.InputWords, "after the name come at most json-key:version-stage:version-id, got 4 parts"},
		{"header without secret", fields{"smoke-path": "/h", "smoke-header": "X-API-KEY"}, deployspec.HookWords("p"), "target p: smoke-header is set without smoke-header-secret"},
		{"header name", fields{"smoke-path": "/h", "smoke-header": "X API", "smoke-header-secret": "k"}, deployspec.InputWords, `input smoke-header "X API" is not an HTTP header name`},
		{"json command", fields{"pre-deploy-command": "[npm"}, deployspec.InputWords, "input pre-deploy-command starts with [ but is not a JSON array of strings"},
		{"negative keep", fields{"keep-revisions": "-1"}, deployspec.HookWords("p"), `target p: keep-revisions "-1": give how many`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deployspec.Parse(tt.fields, tt.words, deployspec.Env{})
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error = %v, want one saying %q", err, tt.says)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error repeats a value: %v", err)
			}
		})
	}
}

func TestSecretRefs(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:autonote/server/env-AbCdEf"
	tests := []struct {
		in   string
		want deployspec.SecretRef
	}{
		{"autonote/server/env", deployspec.SecretRef{ID: "autonote/server/env"}},
		{"autonote/server/env:DATABASE_URL", deployspec.SecretRef{ID: "autonote/server/env", Key: "DATABASE_URL"}},
		{"autonote/server/env:DATABASE_URL:AWSPREVIOUS", deployspec.SecretRef{ID: "autonote/server/env", Key: "DATABASE_URL", Stage: "AWSPREVIOUS"}},
		{"autonote/server/env::AWSPREVIOUS", deployspec.SecretRef{ID: "autonote/server/env", Stage: "AWSPREVIOUS"}},
		{arn, deployspec.SecretRef{ID: arn}},
		{arn + ":DATABASE_URL", deployspec.SecretRef{ID: arn, Key: "DATABASE_URL"}},
		{arn + ":DATABASE_URL::0f1e2d3c-aaaa-bbbb-cccc-000000000000", deployspec.SecretRef{ID: arn, Key: "DATABASE_URL", Version: "0f1e2d3c-aaaa-bbbb-cccc-000000000000"}},
	}
	for _, tt := range tests {
		got, err := deployspec.ParseSecretRef(tt.in, true)
		if err != nil || got != tt.want {
			t.Errorf("ParseSecretRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "a b", "env:", "env::", "env:::", arn + ":", "arn:aws:s3:::bucket", "env:k:s:v:x", "env:k y"} {
		if got, err := deployspec.ParseSecretRef(bad, true); err == nil {
			t.Errorf("ParseSecretRef(%q) = %+v, want an error", bad, got)
		}
	}
	if _, err := deployspec.ParseSecretRef("autonote/server/api-key:KEY:AWSPREVIOUS", false); err == nil {
		t.Error("a smoke-header-secret with a version stage was taken; it reads the current value only")
	}
}

func TestMasksAreTheEnvValues(t *testing.T) {
	t.Parallel()
	sp, err := deployspec.Parse(fields{"env": "A=1\nB=\n# C=3\nD=x=y"}, deployspec.InputWords, deployspec.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sp.Masks(), ","); got != "1,x=y" {
		t.Errorf("masks = %q, want 1,x=y", got)
	}
	if len(sp.Env) != 3 || aws.ToString(sp.Env[1].Name) != "B" {
		t.Errorf("env = %+v", sp.Env)
	}
}

func TestRegionIsChecked(t *testing.T) {
	t.Parallel()
	if _, err := deployspec.Parse(fields{"aws-region": "us-east1"}, deployspec.FlagWords, deployspec.Env{}); err == nil ||
		!strings.Contains(err.Error(), `flag -aws-region: "us-east1" is not an AWS region: did you mean us-east-1?`) {
		t.Errorf("a mistyped flag: %v", err)
	}
	if _, err := deployspec.Parse(fields{}, deployspec.InputWords, deployspec.Env{Region: "eu-west"}); err == nil ||
		!strings.Contains(err.Error(), `AWS_REGION: "eu-west" is not an AWS region`) {
		t.Errorf("a mistyped AWS_REGION: %v", err)
	}
}
