package cli_test

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/cli"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		done     bool
		err      string
		printed  string
		notPrint string
	}{
		{"help", []string{"-h"}, true, "", "usage: tool [-config FILE]", ""},
		{"version", []string{"-version"}, true, "", "v1.2.3", "usage"},
		{"a flag", []string{"-config", "x"}, false, "", "", "usage"},
		{"an unknown flag", []string{"-colour", "blue"}, false, "flag provided but not defined: -colour (-h lists the flags)", "", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("tool", flag.ContinueOnError)
			fs.String("config", "", "config file")
			var out bytes.Buffer
			done, err := cli.Parse(fs, tt.args, "v1.2.3", "usage: tool [-config FILE]", &out)
			if done != tt.done || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
				t.Errorf("done %v err %v, want %v %q", done, err, tt.done, tt.err)
			}
			if !strings.Contains(out.String(), tt.printed) || (tt.notPrint != "" && strings.Contains(out.String(), tt.notPrint)) {
				t.Errorf("printed %q", out.String())
			}
		})
	}
}
