package deployhook

import (
	"errors"
	"fmt"
	"testing"
)

// TestBodyPlacesShare: one address holds at most a quarter of the places
// for large bodies (its next is refused at once), others take the rest,
// and a place given back is taken again.
func TestBodyPlacesShare(t *testing.T) {
	t.Parallel()
	p := newBodyPlaces()
	var releases []func()
	for range largeGitHubBodies / 4 {
		release, err := p.take("203.0.113.7")
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if _, err := p.take("203.0.113.7"); !errors.Is(err, ErrBusy) {
		t.Errorf("one address past its share: %v, want ErrBusy", err)
	}
	for i := range largeGitHubBodies - largeGitHubBodies/4 {
		if _, err := p.take(fmt.Sprintf("198.51.100.%d", i)); err != nil {
			t.Fatalf("another address: %v", err)
		}
	}
	if _, err := p.take("192.0.2.1"); !errors.Is(err, ErrBusy) {
		t.Errorf("past every place: %v, want ErrBusy", err)
	}
	releases[0]()
	if _, err := p.take("203.0.113.7"); err != nil {
		t.Errorf("a place given back: %v", err)
	}
}

// TestAPIKeysDoNotCollide: a target and an id never make another pair's
// dedupe key, whatever ':' either holds.
func TestAPIKeysDoNotCollide(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{{"a:b", "c"}, {"a", "b:c"}, {"a", ":b:c"}, {"a:b:", "c"}, {"", "a:b:c"}, {"a:b:c", ""}}
	seen := map[string][2]string{}
	for _, p := range pairs {
		k := apiKey(p[0], p[1])
		if other, ok := seen[k]; ok {
			t.Errorf("target %q id %q and target %q id %q share the key %q", p[0], p[1], other[0], other[1], k)
		}
		seen[k] = p
	}
}
