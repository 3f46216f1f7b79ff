// Package yamlerr words the errors of a strict YAML decode (unknown keys
// refused) in the config's own terms: the key as written, the line, and
// the key it most likely meant, where yaml.v3 names a Go type
// ("line 3: field vpc_cidr not found in type bootstrap.Config").
package yamlerr

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autonote/deploy-action/internal/textdist"
)

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type (\S+)$`)

// Explain rewrites err, a decode error of file, naming each unknown key,
// its line and the nearest known key of the mapping it is in; types are
// values of the structs the document decodes into (their yaml tags are the
// known keys). Any other error is returned as it is, prefixed with file.
func Explain(err error, file string, types ...any) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config %s: %w", file, err)
	}
	keys := map[string][]string{}
	for _, v := range types {
		t := reflect.TypeOf(v)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		keys[t.String()] = yamlKeys(t)
	}
	var lines []string
	for _, e := range te.Errors {
		m := unknownField.FindStringSubmatch(e)
		if m == nil {
			lines = append(lines, e)
			continue
		}
		line := fmt.Sprintf("line %s: unknown key %q", m[1], m[2])
		if near := textdist.Nearest(m[2], keys[m[3]]); near != "" {
			line += fmt.Sprintf(": did you mean %s?", near)
		} else if known := keys[m[3]]; len(known) > 0 {
			line += ": the keys here are " + strings.Join(known, ", ")
		}
		lines = append(lines, line)
	}
	return fmt.Errorf("config %s: %s", file, strings.Join(lines, "; "))
}

// yamlKeys are the keys of a struct's yaml tags, inline structs' too.
func yamlKeys(t reflect.Type) []string {
	var out []string
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-":
		case strings.Contains(opts, "inline"):
			out = append(out, yamlKeys(f.Type)...)
		case name != "":
			out = append(out, name)
		case f.IsExported():
			out = append(out, strings.ToLower(f.Name))
		}
	}
	return out
}
