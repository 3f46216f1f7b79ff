package textdist_test

import (
	"testing"

	"github.com/autonote/deploy-action/internal/textdist"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"smoke_path", "smoke-path", 1}, {"us-est-1", "us-east-1", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2},
	} {
		if got := textdist.Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := textdist.Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (it is symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
