package yamlerr_test

import (
	"bytes"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autonote/deploy-action/internal/yamlerr"
)

type inner struct {
	Repository string `yaml:"repository"`
	Branch     string `yaml:"branch"`
}

type config struct {
	VPCCIDR string `yaml:"vpc-cidr"`
	Name    string `yaml:"name"`
	GitHub  *inner `yaml:"github"`
}

// TestExplain: an unknown key is named with its line and the key it most
// likely meant, in the mapping it is in (a nested one too); a key far from
// any lists the keys there; other errors keep yaml's words.
func TestExplain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{"name: a\nvpc_cidr: 10.0.0.0/16\n", `config c.yaml: line 2: unknown key "vpc_cidr": did you mean vpc-cidr?`},
		{"github:\n  repositry: a/b\n", `line 2: unknown key "repositry": did you mean repository?`},
		{"zzzzzz: 1\n", `unknown key "zzzzzz": the keys here are vpc-cidr, name, github`},
		{"name: [1, 2]\n", "cannot unmarshal"},
	} {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(tc.doc)))
		dec.KnownFields(true)
		var c config
		err := dec.Decode(&c)
		if err == nil {
			t.Fatalf("%q decoded", tc.doc)
		}
		if got := yamlerr.Explain(err, "c.yaml", config{}, inner{}).Error(); !strings.Contains(got, tc.want) || strings.Contains(got, "yamlerr_test.") {
			t.Errorf("Explain(%q) = %q, want it to say %q and name no Go type", tc.doc, got, tc.want)
		}
	}
}
