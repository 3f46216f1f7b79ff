package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunFailsOnBadInputWithAnAnnotation(t *testing.T) {
	t.Parallel()
	env := map[string]string{"INPUT_COMMAND": "destroy", "AWS_REGION": "us-east-1"}
	var out bytes.Buffer
	err := run(context.Background(), nil, func(k string) string { return env[k] }, &out)
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
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, &out); err == nil {
		t.Fatal("run succeeded, want an error")
	}
	if !strings.Contains(out.String(), "::warning::write GITHUB_OUTPUT") {
		t.Errorf("output lacks a warning about GITHUB_OUTPUT:\n%s", out.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out); err != nil || out.String() != version+"\n" {
		t.Errorf("-version: %v, printed %q", err, out.String())
	}
}
