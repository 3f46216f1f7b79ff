package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/testbed"
	"github.com/sethvargo/go-githubactions"
)

var motoServer testbed.LazyMoto

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

func TestPlanApplyDestroy(t *testing.T) {
	bed := testbed.New(t, motoServer.Get(t))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bootstrap.yaml")
	os.WriteFile(cfg, []byte("name: cmd\necr-repository: cmd/server\nlog-group: /ecs/cmd\ncluster: cmd-cluster\nfamily: cmd-task\nservice: cmd-service\nexecution-role: cmd-exec\napp-secret: cmd/env\napi-key-secret: cmd/api-key\ningress-cidrs: [203.0.113.0/24]\n"), 0o600)
	env := bed.Env()
	env["APP_SECRET_JSON"] = `{"DATABASE_URL":"postgres://very-secret-password@db/autonote"}`
	getenv := func(k string) string { return env[k] }
	runIt := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out, &out)
		return out.String(), err
	}

	// In a terminal, apply and destroy ask; the test is the person typing.
	answer := ""
	stdinTerminal = func() (io.Reader, bool) { return strings.NewReader(answer), answer != "" }
	t.Cleanup(func() { stdinTerminal = func() (io.Reader, bool) { return nil, false } })

	planFile := filepath.Join(dir, "stack.plan")
	out, err := runIt("plan", "-config", cfg, "-out", planFile)
	if !errors.Is(err, bootstrap.ErrPlanHasChanges) || !strings.Contains(out, "18 of 18") || !strings.Contains(out, "saved the plan to "+planFile) {
		t.Fatalf("plan before apply: %v\n%s", err, out)
	}
	if raw, _ := os.ReadFile(planFile); strings.Contains(string(raw), "very-secret-password") {
		t.Error("the saved plan holds the secret value")
	}
	// A script that neither approves nor has a terminal changes nothing.
	if _, err := runIt("apply", "-config", cfg); err == nil || !strings.Contains(err.Error(), "-auto-approve") {
		t.Errorf("apply with no terminal and no -auto-approve: %v", err)
	}
	if _, err := runIt("apply", planFile, "-config", cfg); err == nil || !strings.Contains(err.Error(), "drop -config") {
		t.Errorf("apply PLANFILE -config: %v", err)
	}
	outputs := filepath.Join(dir, "out.json")
	summary := filepath.Join(dir, "summary.md")
	if out, err = runIt("apply", planFile, "-output", outputs, "-summary", summary); err != nil || !strings.Contains(out, "the account is as the plan") {
		t.Fatalf("apply PLANFILE: %v\n%s", err, out)
	}
	if strings.Contains(out, "very-secret-password") {
		t.Error("apply printed the secret value")
	}
	raw, _ := os.ReadFile(outputs)
	var o bootstrap.Outputs
	if err := json.Unmarshal(raw, &o); err != nil || o.VPCID == "" || o.ServiceARN == "" || len(o.PublicSubnetIDs) != 2 {
		t.Errorf("outputs = %s (%v)", raw, err)
	}
	if strings.Contains(string(raw), "very-secret-password") {
		t.Error("outputs hold the secret value")
	}
	md, _ := os.ReadFile(summary)
	for _, want := range []string{"| resource | name | action | owner | detail |", "```mermaid", "flowchart TB", "public 10.0.1.0/24"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if out, err = runIt("plan", "-config", cfg); err != nil || !strings.Contains(out, "0 of 18") {
		t.Errorf("plan after apply: %v\n%s", err, out)
	}
	// The same plan again: the account changed since (it was applied), and
	// it is refused with nothing changed.
	if _, err := runIt("apply", planFile); !errors.Is(err, bootstrap.ErrPlanChanged) || !strings.Contains(err.Error(), "now exists") && !strings.Contains(err.Error(), "now nothing to do") {
		t.Errorf("apply of a plan the account no longer matches: %v", err)
	}

	// A change, in a terminal: shown, then only "yes" applies it.
	os.WriteFile(cfg, []byte(strings.Replace(string(must(os.ReadFile(cfg))), "203.0.113.0/24", "198.51.100.0/24", 1)), 0o600)
	answer = "no\n"
	if out, err = runIt("apply", "-config", cfg); !errors.Is(err, bootstrap.ErrCancelled) || !strings.Contains(out, "apply these 1 changes") || !strings.Contains(out, "198.51.100.0/24 is missing") {
		t.Errorf("apply answered no: %v\n%s", err, out)
	}
	if out, err = runIt("plan", "-config", cfg); !errors.Is(err, bootstrap.ErrPlanHasChanges) || !strings.Contains(out, "1 of 18") {
		t.Errorf("after a cancelled apply the change is still to make: %v\n%s", err, out)
	}
	answer = "yes\n"
	if out, err = runIt("apply", "-config", cfg); err != nil || !strings.Contains(out, "1 created or changed") {
		t.Errorf("apply answered yes: %v\n%s", err, out)
	}

	answer = ""
	if _, err = runIt("destroy", "-config", cfg); err == nil || !strings.Contains(err.Error(), "-auto-approve") {
		t.Errorf("destroy with no terminal and no -auto-approve: %v", err)
	}
	answer = "yes\n"
	if out, err = runIt("destroy", "-config", cfg); err != nil || !strings.Contains(out, "delete   ours     ECS service") || !strings.Contains(out, "deleted") {
		t.Errorf("destroy: %v\n%s", err, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	env := map[string]string{"AWS_REGION": "us-east-1"}
	typo := filepath.Join(t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(typo, []byte("name: staging\nvpc_cidr: 10.1.0.0/16\ngithub:\n  repositry: autonote/autonote\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		env  map[string]string
		says string
	}{
		{nil, env, "usage: bootstrap plan|apply|destroy"},
		{[]string{"aply"}, env, `unknown verb "aply": did you mean apply?`},
		{[]string{"-config", "x.yaml"}, env, "-config comes after the verb"},
		{[]string{"plan", "-config", typo}, env, `line 2: unknown key "vpc_cidr": did you mean vpc-cidr?; line 4: unknown key "repositry": did you mean repository?`},
		{[]string{"apply", "-app-secret", `{"DB":"x"}`}, env, "secret values never come from the command line"},
		{[]string{"apply", `{"DB":"x"}`}, env, "unexpected argument"},
		{[]string{"plan"}, map[string]string{}, "no region"},
		{[]string{"plan", "-config", "/nonexistent.yaml"}, env, "read config"},
		{[]string{"plan", "-region", "us-east1"}, env, `-region: "us-east1" is not an AWS region: did you mean us-east-1?`},
		{[]string{"plan"}, map[string]string{"AWS_REGION": "eu-west"}, `AWS_REGION: "eu-west" is not an AWS region`},
		{[]string{"plan", "deploy/bootstrap.yaml"}, env, "give the config file with -config, e.g. bootstrap plan -config deploy/bootstrap.yaml"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("run(%q) = %v, want an error saying %q", tt.args, err, tt.says)
		}
		if strings.Contains(err.Error(), "DB") || strings.Contains(out.String(), "DB") {
			t.Errorf("run(%q) repeats the secret value: %v %s", tt.args, err, out.String())
		}
		if strings.Count(out.String()+err.Error(), tt.says) != 1 {
			t.Errorf("run(%q) says it %d times: %q %v", tt.args, strings.Count(out.String()+err.Error(), tt.says), out.String(), err)
		}
	}
}

// TestConventions: -h and -version answer and exit 0; destroy without -yes
// refuses before it warns about anything; a malformed APP_SECRET_JSON is
// refused before any call, without claiming something was made.
func TestConventions(t *testing.T) {
	t.Parallel()
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
	for _, tt := range []struct {
		args    []string
		env     map[string]string
		wantErr string
		printed string
	}{
		{[]string{"-h"}, env, "", "usage: bootstrap plan|apply|destroy"},
		{[]string{"plan", "-h"}, env, "", "-force-delete-secrets"},
		{[]string{"-version"}, env, "", version},
		{[]string{"apply", "-version"}, env, "", version},
		{[]string{"destroy"}, env, "run it again with -auto-approve (or -yes)", ""},
		{[]string{"apply", "-app-secret=" + `{"DB":"x"}`}, env, "never come from the command line", ""},
		{[]string{"apply"}, map[string]string{"AWS_REGION": "us-east-1", "APP_SECRET_JSON": "{not json"}, "nothing was changed", ""},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out, &out)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("run(%q) = %v, want error %q", tt.args, err, tt.wantErr)
		}
		if !strings.Contains(out.String(), tt.printed) {
			t.Errorf("run(%q) printed %q, want %q", tt.args, out.String(), tt.printed)
		}
		if err != nil && (strings.Contains(out.String(), "open to the whole internet") || strings.Contains(err.Error(), "what was made is tagged")) {
			t.Errorf("run(%q): %v, printed %q: it warned or claimed a change before refusing", tt.args, err, out.String())
		}
	}
}

// TestBadAppSecretChangesNothingFromEitherFrontEnd: a malformed
// APP_SECRET_JSON given to the bootstrap command and to the action's
// command: bootstrap is refused with the same error before any AWS call:
// the endpoint both point at hears nothing.
func TestBadAppSecretChangesNothingFromEitherFrontEnd(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer aws.Close()
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_ENDPOINT_URL": aws.URL,
		"AWS_EC2_METADATA_DISABLED": "true", "APP_SECRET_JSON": `{"DATABASE_URL": "postgres://u:p4ss@db/app", "PORT": [3000]}`}
	getenv := func(k string) string { return env[k] }

	var cliOut bytes.Buffer
	cliErr := run(context.Background(), []string{"apply"}, getenv, &cliOut, &cliOut)
	if cliErr == nil {
		t.Fatal("the bootstrap command took a malformed APP_SECRET_JSON")
	}

	var actionOut bytes.Buffer
	actionEnv := maps.Clone(env)
	actionEnv["INPUT_COMMAND"] = "bootstrap"
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return actionEnv[k] }), githubactions.WithWriter(&actionOut))
	if err := action.Run(context.Background(), a, action.WithVersion("test")); err == nil {
		t.Fatal("command: bootstrap took a malformed APP_SECRET_JSON")
	}
	if !strings.Contains(actionOut.String(), "::error::"+cliErr.Error()) {
		t.Errorf("the action's error differs from the command's %q:\n%s", cliErr, actionOut.String())
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d AWS calls were made before the input was refused, want 0", n)
	}
	printed := cliOut.String() + cliErr.Error()
	for _, l := range strings.Split(actionOut.String(), "\n") {
		if !strings.HasPrefix(l, "::add-mask::") { // the runner takes these, and prints none
			printed += l
		}
	}
	if strings.Contains(printed, "p4ss") {
		t.Errorf("a secret value was printed:\n%s", printed)
	}
}
