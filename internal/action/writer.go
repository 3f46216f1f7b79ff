package action

import (
	"io"

	"github.com/sethvargo/go-githubactions"
)

// writerOf is where the action prints plain lines: the same place its
// workflow commands go, so the two interleave in order.
func writerOf(a *githubactions.Action) io.Writer { return actionWriter{a} }

type actionWriter struct{ a *githubactions.Action }

func (w actionWriter) Write(p []byte) (int, error) {
	w.a.Infof("%s", trimNewline(p))
	return len(p), nil
}

func trimNewline(p []byte) string {
	s := string(p)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
