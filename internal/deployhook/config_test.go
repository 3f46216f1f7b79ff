package deployhook_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/deployspec"
)

const baseTarget = "targets:\n  p:\n    region: us-east-1\n    cluster: c\n    service: s\n    ecr-repository: e\n    smoke-path: /health\n"

// TestTargetTakesEveryDeploySetting: each deploy setting of the spec, given
// under its key, parses and changes the target; so the hook can never lose
// a setting the action has.
func TestTargetTakesEveryDeploySetting(t *testing.T) {
	t.Parallel()
	required := map[string]string{"region": "us-west-2", "cluster": "c", "service": "s", "ecr-repository": "e"}
	parse := func(keys map[string]string) (deployhook.Target, error) {
		var b strings.Builder
		b.WriteString("targets:\n  p:\n")
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, keys[k])
		}
		c, err := deployhook.ParseConfig([]byte(b.String()), "every")
		if err != nil {
			return deployhook.Target{}, err
		}
		return c.Targets["p"], nil
	}
	for _, s := range deployspec.Settings() {
		without := maps.Clone(required)
		if strings.HasPrefix(s.Name, "smoke-") {
			without["smoke-path"] = "/ready"
		}
		with := maps.Clone(without)
		with[s.Key()] = s.Example
		if s.Name == "smoke-header" || s.Name == "smoke-header-secret" {
			with["smoke-header"], with["smoke-header-secret"] = "X-API-KEY", "autonote/server/api-key"
		}
		got, err := parse(with)
		if err != nil {
			t.Errorf("%s: %v", s.Key(), err)
			continue
		}
		was, err := parse(without)
		if err != nil {
			t.Fatalf("%s: without it: %v", s.Key(), err)
		}
		if reflect.DeepEqual(got.Target, was.Target) && reflect.DeepEqual(got.Lifecycle, was.Lifecycle) && got.Policy == was.Policy {
			t.Errorf("%s: %q changed nothing in the target", s.Key(), s.Example)
		}
	}
	for _, k := range deployhook.TargetKeys() {
		if !slices.ContainsFunc(deployspec.Settings(), func(s deployspec.Setting) bool { return s.Key() == k }) && k != "url" && k != "secrets-env" {
			t.Errorf("target key %s is neither a deploy setting nor one of the hook's own", k)
		}
	}
}

// TestTargetSettingsInYAMLShapes: multi-line settings take YAML's lists and
// mappings, pre-deploy-command a string as the action does; the errors
// name the target and the key.
func TestTargetSettingsInYAMLShapes(t *testing.T) {
	t.Parallel()
	c, err := deployhook.ParseConfig([]byte(baseTarget+"    env: {NODE_ENV: production}\n    secrets: [DB=autonote/server/env:DB]\n    pre-deploy-command: npm run migration:run\n"), "shapes")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Targets["p"]
	if got := strings.Join(p.PreDeploy, " "); got != "sh -c npm run migration:run" {
		t.Errorf("pre-deploy-command = %q, want it run with sh -c", got)
	}
	if len(p.Env) != 1 || *p.Env[0].Name != "NODE_ENV" || len(p.Secrets) != 1 || p.Secrets[0].Key != "DB" {
		t.Errorf("env %+v, secrets %+v", p.Env, p.Secrets)
	}
	c, err = deployhook.ParseConfig([]byte(baseTarget+"    pre-deploy-command: [npm, run, migrate]\n"), "list")
	if err != nil || !slices.Equal(c.Targets["p"].PreDeploy, []string{"npm", "run", "migrate"}) {
		t.Errorf("a list command: %v %v", err, c)
	}
	for cfg, says := range map[string]string{
		baseTarget + "    smoke-header: X-API-KEY\n":       "target p: smoke-header is set without smoke-header-secret",
		baseTarget + "    timeout: soon\n":                 `target p: timeout "soon" is not a positive duration`,
		baseTarget + "    wait: [true]\n":                  "target p: wait: line 8: want a single value",
		baseTarget + "    region: eu-west-1\n":             "key region is given twice",
		baseTarget + "    container-name: server\n":        `key "container-name" is not known: a target takes region, cluster`,
		baseTarget + "    secrets: [DB=env::]\n":           "target p: secrets, DB: secret env: the part after the name is empty",
		"targets:\n  p: {region: us-east-1, service: s}\n": "target p: cluster, ecr-repository missing",
	} {
		if _, err := deployhook.ParseConfig([]byte(cfg), "bad"); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("config\n%s\nerror = %v, want one saying %q", cfg, err, says)
		}
	}
}
