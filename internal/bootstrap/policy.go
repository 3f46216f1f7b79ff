package bootstrap

import (
	"encoding/json"
	"net/url"
	"reflect"
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
		return slices.ContainsFunc(patterns, func(p string) bool {
			return p == s || p == "*" || (strings.HasSuffix(p, "*") && strings.HasPrefix(s, strings.TrimSuffix(p, "*")))
		})
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
