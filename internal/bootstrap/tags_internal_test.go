package bootstrap

import (
	"strings"
	"testing"
)

// TestWhoseOf: a plan names the other stack a resource it adopts belongs
// to, from its tags; this stack's and one no stack made name none.
func TestWhoseOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tags map[string]string
		want string
	}{
		{map[string]string{TagManagedBy: ManagedByValue, TagStack: "production", TagRegion: "us-east-1"}, "stack production in us-east-1"},
		{map[string]string{TagManagedBy: ManagedByValue, TagStack: "production"}, "stack production"},
		{map[string]string{TagManagedBy: ManagedByValue, TagStack: "staging", TagRegion: "us-east-1"}, ""},
		{map[string]string{TagStack: "production"}, ""},
		{nil, ""},
	} {
		if got := whoseOf(tc.tags, "staging"); got != tc.want {
			t.Errorf("whoseOf(%v) = %q, want %q", tc.tags, got, tc.want)
		}
	}
	st := step(&cluster{s: &Stack{cfg: Config{Cluster: "shared"}}}, found{owner: OwnerAdopted, whose: "stack production in us-east-1", id: "arn"})
	if line := st.Line(); !strings.Contains(line, "adopted (stack production in us-east-1's)") {
		t.Errorf("plan line %q does not say whose the cluster is", line)
	}
}
