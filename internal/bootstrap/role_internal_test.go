package bootstrap

import (
	"cmp"
	"slices"
	"strings"
	"testing"
)

// TestJudgeRole: a role against the config, without any server.
func TestJudgeRole(t *testing.T) {
	t.Parallel()
	ours := map[string]string{TagManagedBy: ManagedByValue, TagStack: "s"}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	otherTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}`
	read := readSecrets([]string{"arn:aws:secretsmanager:us-east-1:1:secret:s/env-AbCdEf"})
	console := `{"Version":"2012-10-17","Statement":{"Sid":"","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:1:secret:s/env-AbCdEf"}}`
	wide := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	const boundary = "arn:aws:iam::1:policy/s-boundary"
	const stackPolicy = readSecretsPolicy + "-s-us-east-1"
	want := roleWant{name: "s-exec", key: "execution-role", inlineName: readSecretsPolicy, stackInlineName: stackPolicy, stack: "s", trust: trust,
		policies: []string{executionPolicy}, inline: read, bounded: true, boundaryName: "s-boundary", boundaryARN: boundary}
	seen := roleSeen{arn: "arn:aws:iam::1:role/s-exec", tags: ours, trust: trust, inline: read, boundary: boundary, attached: []string{executionPolicy}}
	with := func(f func(*roleSeen, *roleWant)) (roleSeen, roleWant) {
		s, w := seen, want
		s.attached = slices.Clone(seen.attached)
		f(&s, &w)
		return s, w
	}
	for _, tc := range []struct {
		name   string
		edit   func(*roleSeen, *roleWant)
		action Action
		// what the verdict does
		putTrust, putBoundary bool
		attach, detach        int
		putInline             string
		putInlineName         string // when not the role's own policy name
		deleteInline          bool
		say                   string // in the changes, or the advice
	}{
		{name: "ours, as the config says", edit: func(*roleSeen, *roleWant) {}, action: Exists},
		{name: "ours, its policy written by the console", edit: func(s *roleSeen, _ *roleWant) { s.inline = console }, action: Exists},
		{name: "ours, retrusted by hand", edit: func(s *roleSeen, _ *roleWant) { s.trust = otherTrust }, action: Change, putTrust: true, say: "trust policy differs"},
		{name: "ours, made before the boundary", edit: func(s *roleSeen, _ *roleWant) { s.boundary = "" }, action: Change, putBoundary: true, say: "no permissions boundary"},
		{name: "ours, another boundary put on by hand", edit: func(s *roleSeen, _ *roleWant) { s.boundary = "arn:aws:iam::1:policy/other" }, action: Change, putBoundary: true, say: "not the bootstrap's"},
		{name: "ours, its managed policy detached", edit: func(s *roleSeen, _ *roleWant) { s.attached = nil }, action: Change, attach: 1, say: "is not attached"},
		{name: "ours, SecretsManagerReadWrite attached by hand", edit: func(s *roleSeen, _ *roleWant) { s.attached = append(s.attached, secretsRWPolicy) },
			action: Change, detach: 1, say: "read and change every secret"},
		{name: "ours, its policy widened by hand", edit: func(s *roleSeen, _ *roleWant) { s.inline = wide }, action: Change, putInline: read, say: "differs from the config's"},
		{name: "ours, the config wants no inline policy now", edit: func(_ *roleSeen, w *roleWant) { w.inline = "" }, action: Change, deleteInline: true},
		{name: "adopted, no boundary and SecretsManagerReadWrite: advice only", edit: func(s *roleSeen, w *roleWant) {
			s.tags, s.boundary, s.inline, w.adopted = nil, "", "", ""
			s.attached = append(s.attached, secretsRWPolicy)
		}, action: Exists, say: "put-role-permissions-boundary"},
		{name: "adopted, cannot read the bootstrap's secrets: the one addition, under the stack's name", edit: func(s *roleSeen, w *roleWant) {
			s.tags, s.boundary, s.inline, w.adopted = nil, boundary, "", read
		}, action: Change, putInline: read, putInlineName: stackPolicy, say: "add policy " + stackPolicy},
		{name: "adopted, another stack's read-app-secrets on it: left, the stack's own added", edit: func(s *roleSeen, w *roleWant) {
			s.tags, s.boundary, s.inline, w.adopted = nil, boundary, console, read
		}, action: Change, putInline: read, putInlineName: stackPolicy, say: "none of which it changes"},
		{name: "adopted, a policy of that name written by hand: left, the stack's own added", edit: func(s *roleSeen, w *roleWant) {
			s.tags, s.boundary, s.inline, w.adopted = nil, boundary, wide, read
		}, action: Change, putInline: read, putInlineName: stackPolicy},
		{name: "adopted, the stack's own policy there: nothing to do", edit: func(s *roleSeen, w *roleWant) {
			s.tags, s.boundary, s.inline, s.stackInline, w.adopted = nil, boundary, console, read, read
		}, action: Exists},
		{name: "adopted, retrusted, handed over: repaired", edit: func(s *roleSeen, w *roleWant) { s.tags, s.trust, w.managed = nil, otherTrust, true },
			action: Change, putTrust: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, w := with(tc.edit)
			v := judgeRole(s, w)
			if v.action() != tc.action || v.putTrust != tc.putTrust || v.putBoundary != tc.putBoundary || len(v.attach) != tc.attach ||
				len(v.detach) != tc.detach || v.putInline != tc.putInline || v.deleteInline != tc.deleteInline ||
				v.putInline != "" && v.putInlineName != cmp.Or(tc.putInlineName, readSecretsPolicy) {
				t.Errorf("judge = %s trust %v boundary %v attach %v detach %v inline %q delete %v; want %s %v %v %d %d %q %v (changes %q, advice %q)",
					v.action(), v.putTrust, v.putBoundary, v.attach, v.detach, v.putInline, v.deleteInline,
					tc.action, tc.putTrust, tc.putBoundary, tc.attach, tc.detach, tc.putInline, tc.deleteInline, v.changes, v.advice)
			}
			if said := strings.Join(append(v.changes, v.advice...), "\n"); tc.say != "" && !strings.Contains(said, tc.say) {
				t.Errorf("the verdict says %q, want %q", said, tc.say)
			}
		})
	}
}
