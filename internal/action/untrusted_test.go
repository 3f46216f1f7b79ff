package action

import (
	"strings"
	"testing"
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
