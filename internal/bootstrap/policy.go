package bootstrap

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

func policyDoc(statements ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(b)
}

// decodePolicy undoes the URL encoding IAM returns policy documents in.
func decodePolicy(doc string) string {
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := url.QueryUnescape(doc); err == nil {
			return d
		}
	}
	return doc
}

// samePolicy reports whether two IAM policy documents grant the same: a
// document the console wrote ("Sid": "", one statement as an object, a
// string where we write a list, lists in another order) equals ours.
// Two documents that do not parse are equal only as text.
func samePolicy(a, b string) bool {
	na, okA := normalPolicy(a)
	nb, okB := normalPolicy(b)
	if !okA || !okB {
		return a == b
	}
	return na == nb
}

// sameJSON reports whether two JSON documents hold the same values (a
// lifecycle policy as ECR returns it, spaced and ordered its own way); two
// that do not parse are equal only as text.
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}

// normalPolicy is a document in one canonical JSON form.
func normalPolicy(doc string) (string, bool) {
	var v map[string]any
	if json.Unmarshal([]byte(decodePolicy(doc)), &v) != nil {
		return "", false
	}
	var stmts []string
	for _, st := range asList(v["Statement"]) {
		m, ok := st.(map[string]any)
		if !ok {
			return "", false
		}
		stmts = append(stmts, normalJSON(normalStatement(m)))
	}
	slices.Sort(stmts)
	stmts = slices.Compact(stmts)
	return strings.Join(stmts, "\n"), true
}

// normalStatement drops an empty Sid and turns every single value that IAM
// also takes as a list into a sorted list.
func normalStatement(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range m {
		switch k {
		case "Sid":
			continue // a label, not a grant
		case "Action", "NotAction", "Resource", "NotResource":
			out[k] = sortedList(val)
		case "Principal", "NotPrincipal":
			if p, ok := val.(map[string]any); ok {
				q := map[string]any{}
				for pk, pv := range p {
					q[pk] = sortedList(pv)
				}
				out[k] = q
			} else {
				out[k] = val // "*"
			}
		case "Condition":
			c, _ := val.(map[string]any)
			q := map[string]any{}
			for op, kv := range c {
				inner, _ := kv.(map[string]any)
				r := map[string]any{}
				for ck, cv := range inner {
					r[ck] = sortedList(cv)
				}
				q[op] = r
			}
			out[k] = q
		default:
			out[k] = val
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func sortedList(v any) []string {
	var out []string
	for _, x := range asList(v) {
		s, _ := json.Marshal(x)
		out = append(out, strings.Trim(string(s), `"`))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func normalJSON(v any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}

// grants reports whether a policy document allows action on resource, by
// its Allow statements' literal values and trailing "*" wildcards; it is
// used to see that an adopted role already reads a secret, never to deny.
func grants(doc, action, resource string) bool {
	var v map[string]any
	if json.Unmarshal([]byte(decodePolicy(doc)), &v) != nil {
		return false
	}
	match := func(patterns []string, s string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return p == s || wildcard(p, s) })
	}
	for _, st := range asList(v["Statement"]) {
		m, ok := st.(map[string]any)
		if !ok || m["Effect"] != "Allow" || m["Condition"] != nil {
			continue
		}
		if match(sortedList(m["Action"]), action) && match(sortedList(m["Resource"]), resource) {
			return true
		}
	}
	return false
}

// wildcard matches s against an IAM pattern: * any run of characters,
// ? any one (a secret's "name-??????").
func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return false
	}
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

// policyDiff says, grant by grant, what want adds to have and what it
// takes away: "adds Allow ecs:UpdateService on arn:…; removes …", as a
// plan shows a changed policy (Terraform's ~), where "differs" says
// nothing. Statements are compared as what they grant (effect, action,
// resource, principal, condition), so a reordered document is no change.
func policyDiff(have, want string) string {
	h, w := policyGrants(have), policyGrants(want)
	var added, removed []grant
	for g := range w {
		if !h[g] {
			added = append(added, g)
		}
	}
	for g := range h {
		if !w[g] {
			removed = append(removed, g)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "adds "+describeGrants(added))
	}
	if len(removed) > 0 {
		parts = append(parts, "removes "+describeGrants(removed))
	}
	return strings.Join(parts, "; ")
}

// grant is one action on one resource a statement grants (or denies).
type grant struct{ effect, action, resource, principal, condition string }

func policyGrants(doc string) map[grant]bool {
	out := map[grant]bool{}
	var v map[string]any
	if json.Unmarshal([]byte(decodePolicy(doc)), &v) != nil {
		return out
	}
	for _, st := range asList(v["Statement"]) {
		m, ok := st.(map[string]any)
		if !ok {
			continue
		}
		n := normalStatement(m)
		effect, _ := n["Effect"].(string)
		principal, condition := "", ""
		if p, ok := n["Principal"]; ok {
			principal = normalJSON(p)
		}
		if c, ok := n["Condition"]; ok {
			condition = normalJSON(c)
		}
		actions, _ := n["Action"].([]string)
		resources, _ := n["Resource"].([]string)
		if len(resources) == 0 {
			resources = []string{""} // a trust policy names a principal instead
		}
		for _, a := range actions {
			for _, r := range resources {
				out[grant{effect, a, r, principal, condition}] = true
			}
		}
	}
	return out
}

// describeGrants words grants compactly, the actions of one resource
// together: "Allow ecs:A, ecs:B on R (if …)"; past 6 groups it counts.
func describeGrants(gs []grant) string {
	type key struct{ effect, resource, principal, condition string }
	actions := map[key][]string{}
	for _, g := range gs {
		k := key{g.effect, g.resource, g.principal, g.condition}
		actions[k] = append(actions[k], g.action)
	}
	var lines []string
	for k, as := range actions {
		slices.Sort(as)
		line := k.effect + " " + strings.Join(as, ", ")
		if k.resource != "" {
			line += " on " + k.resource
		}
		if k.principal != "" {
			line += " to " + k.principal
		}
		if k.condition != "" {
			line += " if " + k.condition
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	if len(lines) > 6 {
		lines = append(lines[:6], fmt.Sprintf("and %d more", len(lines)-6))
	}
	return "[" + strings.Join(lines, "; ") + "]"
}
