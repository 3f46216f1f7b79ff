package bootstrap

import (
	"strings"
	"testing"
)

// TestJudgeRepository: the repository against the config, without a server.
func TestJudgeRepository(t *testing.T) {
	t.Parallel()
	ours := map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"}
	r := &repository{s: &Stack{cfg: Config{KeepImages: 30}}}
	keep30 := r.lifecycle()
	good := repositorySeen{uri: "1.dkr.ecr.us-east-1.amazonaws.com/s/server", tags: ours, scanOnPush: true, immutable: true, lifecycle: keep30}
	want := repositoryWant{name: "s/server", stack: "s", lifecycle: keep30, keep: 30}
	for _, tc := range []struct {
		name                          string
		edit                          func(*repositorySeen, *repositoryWant)
		action                        Action
		scanOff, mutable, noLifecycle bool
		say                           string
	}{
		{"ours, as the config says", func(*repositorySeen, *repositoryWant) {}, Exists, false, false, false, ""},
		{"ours, scan turned off by hand", func(s *repositorySeen, _ *repositoryWant) { s.scanOnPush = false }, Change, true, false, false, "scan on push is off"},
		{"ours, keep-images raised in the config", func(_ *repositorySeen, w *repositoryWant) {
			w.keep = 50
			w.lifecycle = (&repository{s: &Stack{cfg: Config{KeepImages: 50}}}).lifecycle()
		}, Change, false, false, true, "newest 50 images"},
		{"the console's: mutable, no scan, no lifecycle: advice only", func(s *repositorySeen, _ *repositoryWant) {
			s.tags, s.scanOnPush, s.immutable, s.lifecycle, s.lifecycleAbsent = nil, false, false, "", true
		}, Exists, false, false, false, "every rollback by SHA"},
		{"the console's, handed over: repaired", func(s *repositorySeen, w *repositoryWant) {
			s.tags, s.immutable, w.managed = nil, false, true
		}, Change, false, true, false, "tags are mutable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, w := good, want
			tc.edit(&s, &w)
			v := judgeRepository(s, w)
			if v.action() != tc.action || v.scanOff != tc.scanOff || v.mutable != tc.mutable || v.noLifecycle != tc.noLifecycle {
				t.Errorf("judge = %s scanOff %v mutable %v noLifecycle %v; want %s %v %v %v (changes %q, advice %q)",
					v.action(), v.scanOff, v.mutable, v.noLifecycle, tc.action, tc.scanOff, tc.mutable, tc.noLifecycle, v.changes, v.advice)
			}
			if said := strings.Join(append(v.changes, v.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}

// TestJudgeLogGroup: retention against the config, without a server.
func TestJudgeLogGroup(t *testing.T) {
	t.Parallel()
	ours := map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"}
	for _, tc := range []struct {
		name      string
		seen      logGroupSeen
		managed   bool
		action    Action
		retention bool
		say       string
	}{
		{"ours, 30 days", logGroupSeen{tags: ours, retention: 30}, false, Exists, false, ""},
		{"ours, 7 days set by hand", logGroupSeen{tags: ours, retention: 7}, false, Change, true, "retention 7 days, the config says 30"},
		{"the console's, kept forever: advice", logGroupSeen{retention: 0}, false, Exists, false, "kept, and paid for, forever"},
		{"the console's, handed over", logGroupSeen{retention: 0}, true, Change, true, "forever"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, retention := judgeLogGroup(tc.seen, "/ecs/s-task", "s", 30, tc.managed)
			if f.action() != tc.action || retention != tc.retention {
				t.Errorf("judge = %s, set retention %v; want %s, %v (changes %q, advice %q)", f.action(), retention, tc.action, tc.retention, f.changes, f.advice)
			}
			if said := strings.Join(append(f.changes, f.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}
