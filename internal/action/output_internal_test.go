package action

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWriteOutputDrawsADelimiterEachTime: every value gets a delimiter of
// its own, so no value can close another's heredoc; the file reads back
// as the runner reads it.
func TestWriteOutputDrawsADelimiterEachTime(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "output")
	for _, kv := range [][2]string{{"status", "succeeded"}, {"url", "http://192.0.2.2:3000"}, {"task-definition-arn", "_GitHubActionsFileCommandDelimeter_"}} {
		if err := writeOutput(file, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(file)
	heredoc := regexp.MustCompile(`(?m)^([a-z-]+)<<(ghadelimiter_[0-9a-f]{32})\n(.*)\n(ghadelimiter_[0-9a-f]{32})$`)
	ms := heredoc.FindAllStringSubmatch(string(raw), -1)
	if len(ms) != 3 {
		t.Fatalf("file:\n%s\nwant three heredocs", raw)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if m[2] != m[4] || seen[m[2]] {
			t.Errorf("delimiters %q and %q: want each value closed by its own, never reused", m[2], m[4])
		}
		seen[m[2]] = true
	}
	if ms[2][3] != "_GitHubActionsFileCommandDelimeter_" {
		t.Errorf("value = %q", ms[2][3])
	}
	if err := writeOutput(file, "x<<EOF", "v"); err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Errorf("a name with a heredoc in it: %v", err)
	}
}
