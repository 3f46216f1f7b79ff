package action

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// phaseLog is the Actions log: each phase a collapsible group, each service
// event a line, and the engine's progress lines in between.
type phaseLog struct {
	a     *githubactions.Action
	now   func() time.Time
	mu    sync.Mutex
	open  bool
	steps []ecsdeploy.Phase
	lines int // task log lines printed
}

// maxTaskLines is how many lines of a pre-deploy task the log shows: a
// command that prints without end does not flood the Actions log.
const maxTaskLines = 2000

// Phase closes the open group and opens one for the phase.
func (l *phaseLog) Phase(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.open {
		l.a.EndGroup()
		l.steps[len(l.steps)-1].End = now
	}
	l.a.Group(name)
	l.open = true
	l.steps = append(l.steps, ecsdeploy.Phase{Name: name, Start: now})
}

// PhaseFailed marks the phase under way as the one that went wrong.
func (l *phaseLog) PhaseFailed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open {
		l.steps[len(l.steps)-1].Failed = true
	}
}

// TaskLine prints a line of the pre-deploy task's log, as data.
func (l *phaseLog) TaskLine(at time.Time, line string) {
	l.mu.Lock()
	l.lines++
	n := l.lines
	l.mu.Unlock()
	switch {
	case n <= maxTaskLines:
		l.a.Infof("%s  %s", at.UTC().Format(time.TimeOnly), plain(line))
	case n == maxTaskLines+1:
		l.a.Infof("(more lines of the task are not shown here: read them in its log stream)")
	}
}

// Progress prints where the rollout stands, while ECS writes nothing.
func (l *phaseLog) Progress(at time.Time, line string) {
	l.a.Infof("%s  %s", at.UTC().Format(time.TimeOnly), plain(line))
}

// ServiceEvent prints an ECS service event with its time.
func (l *phaseLog) ServiceEvent(at time.Time, message string) {
	l.a.Infof("%s  %s", at.UTC().Format(time.TimeOnly), plain(message))
}

// close ends the open group and returns the phases seen.
func (l *phaseLog) close(failed bool) []ecsdeploy.Phase {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open {
		l.a.EndGroup()
		l.open = false
		l.steps[len(l.steps)-1].End = l.now()
		l.steps[len(l.steps)-1].Failed = l.steps[len(l.steps)-1].Failed || failed
	}
	return l.steps
}

// lineHandler prints slog records as "message key=value ...", warnings as
// warning annotations: the Actions log has its own timestamps.
type lineHandler struct {
	a     *githubactions.Action
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "service event" {
		return nil // the reporter prints those
	}
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value.Resolve())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if r.Level >= slog.LevelWarn {
		h.a.Warningf("%s", b.String()) // an annotation's message is escaped as data
		return nil
	}
	h.a.Infof("%s", plain(b.String())) // attributes carry text from outside: stop reasons, AWS errors
	return nil
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{a: h.a, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
