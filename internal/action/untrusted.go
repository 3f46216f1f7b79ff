package action

import (
	"strings"
	"unicode"
)

// plain makes text from outside (ECS service events and stop reasons, the
// deploy hook's answers) safe to print as one line of the Actions log: it
// never becomes a workflow command. Line breaks become spaces, so the text
// cannot start a line of its own; a leading "::" (after the spaces the
// runner trims) and every "##[" (the runner's older command form, which it
// finds anywhere in a line) get a zero-width space between their first two
// characters, which the runner does not trim and a reader does not see.
func plain(s string) string {
	s = untrustedBreaks.Replace(s)
	if t := strings.TrimLeftFunc(s, unicode.IsSpace); strings.HasPrefix(t, "::") {
		s = s[:len(s)-len(t)] + ":\u200b" + t[1:]
	}
	return s
}

var untrustedBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\u2028", " ", "\u2029", " ", "##[", "#\u200b#[")
