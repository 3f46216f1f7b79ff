package bootstrap

import (
	"os"
	"strings"
	"testing"
)

// TestAdoptDocListsEveryManageKey: docs/adopt.md names every key the
// manage list takes, so a user reads all they can hand over.
func TestAdoptDocListsEveryManageKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/adopt.md")
	if err != nil {
		t.Fatal(err)
	}
	_, keys, ok := strings.Cut(string(raw), "\nKeys: ")
	if !ok {
		t.Fatal(`docs/adopt.md has no "Keys: " line under "Handing a resource over"`)
	}
	keys, _, _ = strings.Cut(keys, ".")
	for _, k := range manageable {
		if !strings.Contains(keys, "`"+k+"`") {
			t.Errorf("docs/adopt.md's manage keys lack %s", k)
		}
	}
}
