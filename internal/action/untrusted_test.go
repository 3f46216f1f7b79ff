package action

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/sethvargo/go-githubactions"
)

func TestPlain(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"an ordinary event", "(service s) has reached a steady state.", "(service s) has reached a steady state."},
		{"a command at the start", "::add-mask::hunter2", ":\u200b:add-mask::hunter2"},
		{"a command after spaces the runner trims", "  \t::stop-commands::x", "  \t:\u200b:stop-commands::x"},
		{"a command on a line of its own", "stopped\n::set-output name=status::succeeded", "stopped ::set-output name=status::succeeded"},
		{"carriage returns and Unicode line breaks", "a\r::error::x\u2028::warning::y", "a ::error::x ::warning::y"},
		{"the older command form, anywhere", "reason ##[set-output name=status;]succeeded", "reason #\u200b#[set-output name=status;]succeeded"},
		{"colons inside a line are text", "CannotPullContainerError: pull image: not found", "CannotPullContainerError: pull image: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := plain(tt.in)
			if got != tt.want {
				t.Errorf("plain(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, line := range strings.Split(got, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "::") || strings.Contains(line, "##[") {
					t.Errorf("plain(%q) still holds a command: %q", tt.in, line)
				}
			}
		})
	}
}

// rotating hands out new credentials on every call after the second, as a
// cache does when a role session expires in a long run.
type rotating struct{ n int }

func (r *rotating) Retrieve(context.Context) (aws.Credentials, error) {
	r.n++
	k := fmt.Sprint("secret-", min(r.n, 2)/2) // the first two calls share one
	if r.n > 2 {
		k = fmt.Sprint("secret-", r.n)
	}
	return aws.Credentials{AccessKeyID: "AKIA", SecretAccessKey: k, SessionToken: "token-" + k}, nil
}

func TestRefreshedCredentialsAreMasked(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	a := githubactions.New(githubactions.WithWriter(&out), githubactions.WithGetenv(func(string) string { return "" }))
	m := &maskedCredentials{next: &rotating{}, a: a, masked: map[string]bool{}}
	for range 4 {
		if _, err := m.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"secret-0", "secret-1", "secret-3", "secret-4", "token-secret-3", "token-secret-4"} {
		if n := strings.Count(out.String(), "::add-mask::"+v+"\n"); n != 1 {
			t.Errorf("%s masked %d times, want once:\n%s", v, n, out.String())
		}
	}
}

func TestAppSecretMaskedValueByValue(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	a := githubactions.New(githubactions.WithWriter(&out), githubactions.WithGetenv(func(string) string { return "" }))
	maskJSONValues(a, `{"DATABASE_URL":"postgres://u:pw@db/autonote","PEM":"-----BEGIN KEY-----\nAAAA\n-----END KEY-----","RETRIES":3}`)
	for _, v := range []string{"postgres://u:pw@db/autonote", "-----BEGIN KEY-----", "AAAA", "-----END KEY-----", "3"} {
		if !strings.Contains(out.String(), "::add-mask::"+v+"\n") {
			t.Errorf("%q is not masked on its own:\n%s", v, out.String())
		}
	}
}

func TestGanttName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"watch rollout":              "watch rollout",
		"push oci:demo-out/images/1": "push oci#58;demo-out/images/1",
		"deploy hook: job":           "deploy hook#58; job",
		"PR #12; done":               "PR #35;12#59; done",
	} {
		if got := ganttName(in); got != want {
			t.Errorf("ganttName(%q) = %q, want %q", in, got, want)
		}
	}
}
