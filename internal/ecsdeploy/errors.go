package ecsdeploy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Sentinel errors a front end tests with errors.Is to tell a user what to do.
var (
	ErrClusterNotFound   = errors.New("cluster not found")
	ErrServiceNotFound   = errors.New("service not found")
	ErrContainerNotFound = errors.New("container not found")
	ErrRevisionNotFound  = errors.New("task definition not found")
	ErrTimeout           = errors.New("rollout did not finish in time")
	// ErrFailedFast: the rollout was ended at its first certain task
	// failures (fail-after), before ECS's circuit breaker.
	ErrFailedFast = errors.New("rollout failed fast")
)

// NotFoundError names what was asked for and what exists instead.
type NotFoundError struct {
	Kind   error  // ErrClusterNotFound, ErrServiceNotFound or ErrContainerNotFound
	Name   string // what was asked for
	Where  string // where it was looked for
	Exists []string
	// Hint says what to do; a setting in braces ({cluster}) is named by
	// the front end in its own words (Worded): an input, a flag, a key.
	Hint string
}

var setting = regexp.MustCompile(`\{([a-z-]+)\}`)

func (e *NotFoundError) Error() string { return e.Worded(func(s string) string { return s }) }

// Worded is the error with each setting its hint names in words: "check
// input cluster", "check flag -cluster".
func (e *NotFoundError) Worded(words func(setting string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", e.Kind, e.Name)
	if e.Where != "" {
		fmt.Fprintf(&b, " in %s", e.Where)
	}
	if len(e.Exists) > 0 {
		fmt.Fprintf(&b, " (found: %s)", strings.Join(e.Exists, ", "))
	} else {
		b.WriteString(" (found none)")
	}
	if e.Hint != "" {
		b.WriteString(": " + setting.ReplaceAllStringFunc(e.Hint, func(m string) string { return words(m[1 : len(m)-1]) }))
	}
	return b.String()
}

func (e *NotFoundError) Unwrap() error { return e.Kind }

// WordHints is err with the settings its NotFoundError's hint names in
// words, the chain kept (errors.Is still finds ErrClusterNotFound).
func WordHints(err error, words func(setting string) string) error {
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		return err
	}
	return &wordedError{msg: strings.Replace(err.Error(), nf.Error(), nf.Worded(words), 1), err: err}
}

type wordedError struct {
	msg string
	err error
}

func (e *wordedError) Error() string { return e.msg }
func (e *wordedError) Unwrap() error { return e.err }

// StoppedTask is a task that a failed deployment started and ECS stopped.
type StoppedTask struct {
	TaskARN       string
	StoppedReason string
	StopCode      string
	Containers    []StoppedContainer
	// Last are the last lines the app's container wrote to its awslogs
	// stream (of the first stopped task only: at most maxFailedLines, each
	// cut to maxLineLength), data to show, never to run; LogGroup and
	// LogStream say where, and LogURL opens the stream in the console.
	Last                        []string
	LogGroup, LogStream, LogURL string
	lastAt                      []time.Time
	taskDefinition              string
}

// StoppedContainer is one container of a stopped task.
type StoppedContainer struct {
	Name     string
	Reason   string
	ExitCode *int32
}

// String reads like "task 1a2b: CannotPullContainerError: ... (container server exited with code 1)".
func (t StoppedTask) String() string {
	id := t.TaskARN
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "task %s: %s", id, t.StoppedReason)
	for _, c := range t.Containers {
		var parts []string
		if c.Reason != "" && !strings.Contains(t.StoppedReason, c.Reason) {
			parts = append(parts, c.Reason)
		}
		if c.ExitCode != nil {
			parts = append(parts, fmt.Sprintf("exit code %d", *c.ExitCode))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, " (container %s: %s)", c.Name, strings.Join(parts, ", "))
		}
	}
	return b.String()
}

// tellingLine is the line of a crash's last log lines that says most: the
// last that names an error, an exception, a panic or a fatal, else the
// last (a stack trace ends in frames, not in its message).
func tellingLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.ToLower(lines[i])
		if strings.Contains(l, "error") || strings.Contains(l, "exception") || strings.Contains(l, "panic") || strings.Contains(l, "fatal") {
			return strings.TrimSpace(lines[i])
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// RolloutFailedError says why a deployment did not reach a steady state and
// what became of the service.
type RolloutFailedError struct {
	Service      string
	DeploymentID string
	Reason       string // ECS's rolloutStateReason, or why the watch gave up
	Stopped      []StoppedTask
	RolledBack   bool  // the service runs the previous revision again
	RollbackErr  error // why the rollback did not finish, if it did not
	Cause        error // ErrTimeout when the rollout ran out of time
	// Alarms are the service's deployment alarms in ALARM when it failed.
	Alarms []Alarm
}

func (e *RolloutFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deployment %s of service %s failed: %s", e.DeploymentID, e.Service, e.Reason)
	for _, a := range e.Alarms {
		fmt.Fprintf(&b, "; alarm %s is in ALARM: %s", a.Name, cmpReason(a.Reason, "no reason given"))
	}
	for i, t := range e.Stopped {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more stopped tasks", len(e.Stopped)-i)
			break
		}
		b.WriteString("; " + t.String())
		if l := tellingLine(t.Last); l != "" {
			fmt.Fprintf(&b, " (its log: %q)", l)
		}
	}
	switch {
	case e.RolledBack:
		b.WriteString("; rolled back to the last stable task definition")
	case e.RollbackErr != nil:
		fmt.Fprintf(&b, "; rollback failed: %v", e.RollbackErr)
	}
	return b.String()
}

// Unwrap gives the cause (ErrTimeout) and why the rollback did not finish.
func (e *RolloutFailedError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Cause, e.RollbackErr} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
