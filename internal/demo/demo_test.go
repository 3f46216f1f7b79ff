package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/demo"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/testbed"
)

// TestDemo runs make demo's steps in short form and checks what a user sees.
func TestDemo(t *testing.T) {
	testbed.SkipShort(t, "the whole test bed: moto, the simulator, docker-registry")
	out := t.TempDir()
	stale := filepath.Join(out, "images", "0badc0d")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	err := demo.Run(context.Background(), &log, demo.Options{
		OutDir:  out,
		Rollout: 150 * time.Millisecond,
		Polling: ecsdeploy.Polling{Fast: 10 * time.Millisecond, Average: 10 * time.Millisecond, Slow: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, log.String())
	}
	for _, want := range []string{
		"-> status succeeded (expected succeeded)",
		"-> status rolled-back (expected rolled-back)",
		"Error: deployment ",
		"exit code 1",
		"resolves to",
		"deploy hook took job",
		"Migration AddNoteTags1764489600000 has been executed successfully.",
		"-> status failed (expected failed)",
		"pre-deploy command failed: exit code 1",
		"smoke check passed",
		"the API answers at http://203.0.113.5:3000",
		"alarm autonote-target-5xx is in ALARM: Threshold Crossed",
		"last 5 log lines of stopped task",
		"(its log: \"Error: Cannot find module '/app/dist/main'\")",
		"~ containerDefinitions[server].image:",
		"-> status rolled-back (expected rolled-back)",
		"the API answers at http://autonote-alb",
		"users call https://api.autonote.example",
		"through the test rule, 0 from users (production)",
		"POST_TEST_TRAFFIC_SHIFT",
		"BAKE_TIME",
		"the steps below run as arn:aws:iam::123456789012:role/autonote-deploy",
		"none would have been refused",
		"== demo passed",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("an image of an earlier run is still in %s: %v", stale, err)
	}
	for i := 1; i <= 10; i++ {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("step-%d-summary.md", i)))
		want := "```mermaid"
		if i == 7 {
			want = "### Last deployments" // command status: what runs, no timeline
		}
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("summary of step %d: %v, %q", i, err, b)
		}
	}
}
