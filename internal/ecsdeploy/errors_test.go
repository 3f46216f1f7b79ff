package ecsdeploy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// TestWordHints: a not-found error names the settings to check in the
// words of the front end used, wherever it is in the chain, which stays.
func TestWordHints(t *testing.T) {
	t.Parallel()
	nf := &ecsdeploy.NotFoundError{Kind: ecsdeploy.ErrClusterNotFound, Name: "clii", Where: "this account and region", Exists: []string{"cli"},
		Hint: "check {cluster} and {aws-region}, or create the baseline with bootstrap apply"}
	err := fmt.Errorf("deploy: %w", nf)
	if got := err.Error(); !strings.Contains(got, ": check cluster and aws-region, or") {
		t.Errorf("plain: %q", got)
	}
	for name, tc := range map[string]struct {
		words func(string) string
		want  string
	}{
		"terminal": {func(s string) string { return "flag -" + s }, "deploy: cluster not found \"clii\" in this account and region (found: cli): check flag -cluster and flag -aws-region, or create"},
		"hook":     {func(s string) string { return "target production: " + map[string]string{"aws-region": "region"}[s] }, "check target production: "},
	} {
		worded := ecsdeploy.WordHints(err, tc.words)
		if !strings.Contains(worded.Error(), tc.want) || !errors.Is(worded, ecsdeploy.ErrClusterNotFound) {
			t.Errorf("%s: %q (is ErrClusterNotFound: %v), want %q", name, worded, errors.Is(worded, ecsdeploy.ErrClusterNotFound), tc.want)
		}
	}
	if other := errors.New("boom"); ecsdeploy.WordHints(other, strings.ToUpper) != other {
		t.Error("an error with no hint was changed")
	}
}
