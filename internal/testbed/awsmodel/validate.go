package awsmodel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Violation is a rule of AWS's that a request breaks.
type Violation struct {
	Operation string // service:Operation
	Path      string // the parameter, as the model names it (Tags[0].Key)
	Rule      string // unknown, required, type, enum, length, range, pattern, union, or a documented limit's name
	Message   string
}

func (v Violation) String() string {
	if v.Path == "" {
		return fmt.Sprintf("%s: %s (%s)", v.Operation, v.Message, v.Rule)
	}
	return fmt.Sprintf("%s: %s: %s (%s)", v.Operation, v.Path, v.Message, v.Rule)
}

// Validate judges a decoded request against its operation's input shape
// and the documented limits of limits.go.
func Validate(req *Request) []Violation {
	op := req.Model.Operations[req.Operation]
	name := req.Model.Name + ":" + req.Operation
	v := &validator{md: req.Model, op: name}
	for _, u := range req.Unknown {
		v.add(u, "unknown", "no member of the input has this name")
	}
	if op.Input != "" {
		v.structure("", req.Model.Shapes[op.Input], req.Params)
	} else if len(req.Params) > 0 {
		v.add("", "unknown", "the operation takes no input")
	}
	for _, check := range limits[name] {
		for _, p := range check(req.Params) {
			v.out = append(v.out, Violation{Operation: name, Path: p.path, Rule: p.rule, Message: p.message})
		}
	}
	return v.out
}

type validator struct {
	md  *Model
	op  string
	out []Violation
}

func (v *validator) add(path, rule, format string, args ...any) {
	v.out = append(v.out, Violation{Operation: v.op, Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) value(path string, sh *Shape, val any) {
	if sh == nil || val == nil {
		return
	}
	switch sh.Type {
	case "structure":
		m, ok := val.(map[string]any)
		if !ok {
			v.add(path, "type", "a structure is expected, not %T", val)
			return
		}
		v.structure(path, sh, m)
	case "list":
		l, ok := val.([]any)
		if !ok {
			v.add(path, "type", "a list is expected, not %T", val)
			return
		}
		v.size(path, sh, len(l), "items")
		for i, e := range l {
			v.value(fmt.Sprintf("%s[%d]", path, i), v.md.Shapes[sh.Member.Shape], e)
		}
	case "map":
		m, ok := val.(map[string]any)
		if !ok {
			v.add(path, "type", "a map is expected, not %T", val)
			return
		}
		v.size(path, sh, len(m), "entries")
		for k, e := range m {
			v.value(path+"{key}", v.md.Shapes[sh.Key.Shape], k)
			v.value(fmt.Sprintf("%s[%q]", path, k), v.md.Shapes[sh.Value.Shape], e)
		}
	case "string":
		s, ok := val.(string)
		if !ok {
			v.add(path, "type", "a string is expected, not %T", val)
			return
		}
		v.size(path, sh, utf8.RuneCountInString(s), "characters")
		if len(sh.Enum) > 0 && !slices.Contains(sh.Enum, s) {
			v.add(path, "enum", "%q is none of %s", s, strings.Join(sh.Enum, ", "))
		}
		if re := sh.regexp(); re != nil && !re.MatchString(s) {
			v.add(path, "pattern", "%q does not match %s", s, sh.Pattern)
		}
	case "integer", "long", "double", "float":
		n, ok := number(val)
		if !ok {
			v.add(path, "type", "a number is expected, not %v", val)
			return
		}
		if (sh.Type == "integer" || sh.Type == "long") && n != float64(int64(n)) {
			v.add(path, "type", "a whole number is expected, not %v", val)
		}
		if sh.Min != nil && n < *sh.Min {
			v.add(path, "range", "%v is below the least value, %v", val, *sh.Min)
		}
		if sh.Max != nil && n > *sh.Max {
			v.add(path, "range", "%v is above the greatest value, %v", val, *sh.Max)
		}
	case "boolean":
		switch b := val.(type) {
		case bool:
		case string:
			if b != "true" && b != "false" {
				v.add(path, "type", "a boolean is expected, not %q", b)
			}
		default:
			v.add(path, "type", "a boolean is expected, not %T", val)
		}
	case "blob":
		s, ok := val.(string)
		if !ok {
			v.add(path, "type", "base64 is expected, not %T", val)
			return
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			v.add(path, "type", "base64 is expected: %v", err)
			return
		}
		v.size(path, sh, len(b), "bytes")
	}
}

func (v *validator) structure(path string, sh *Shape, m map[string]any) {
	for _, r := range sh.Required {
		if _, ok := m[r]; !ok {
			v.add(join(path, r), "required", "is required and missing")
		}
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		mem, ok := sh.Members[k]
		if !ok {
			v.add(join(path, k), "unknown", "no member of the input has this name")
			continue
		}
		v.value(join(path, k), v.md.Shapes[mem.Shape], m[k])
	}
	if sh.Union && len(m) != 1 {
		v.add(path, "union", "exactly one member is to be set, not %d", len(m))
	}
}

func (v *validator) size(path string, sh *Shape, n int, unit string) {
	if sh.Min != nil && float64(n) < *sh.Min {
		v.add(path, "length", "%d %s, fewer than the least, %v", n, unit, *sh.Min)
	}
	if sh.Max != nil && float64(n) > *sh.Max {
		v.add(path, "length", "%d %s, more than the most, %v", n, unit, *sh.Max)
	}
}

// number reads a JSON number, or a query protocol's number as text.
func number(val any) (float64, bool) {
	switch n := val.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}
