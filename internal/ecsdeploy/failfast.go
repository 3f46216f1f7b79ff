package ecsdeploy

import (
	"fmt"
	"strings"
)

// StopClass is what a stopped task of a rollout says about its build.
type StopClass string

// The classes of a stopped task.
const (
	// StopCertain: the build itself is broken, and another task of it fails
	// the same way (a crash at start, an image or secret that cannot be
	// had, health checks failed). One is as certain as three.
	StopCertain StopClass = "certain"
	// StopTransient: the platform's trouble (capacity, network interface
	// provisioning, throttling, a timeout reaching a registry); ECS
	// retries these itself.
	StopTransient StopClass = "transient"
	// StopExpected: stopped on purpose (scaling, a user, a newer
	// deployment): no failure at all.
	StopExpected StopClass = "expected"
	// StopUnknown: none of the above; left to ECS's circuit breaker.
	StopUnknown StopClass = "unknown"
)

// transientMarks are what a stop for the platform's trouble says, in
// ECS's stopped-task errors (docs: "Amazon ECS stopped task error messages").
var transientMarks = [...]string{
	"timeout waiting for network interface provisioning",
	"eni", "network interface", "failed to provision",
	"capacity is unavailable", "insufficient capacity", "no container instances",
	"throttl", "toomanyrequests", "rate exceeded", "requestlimitexceeded",
	"i/o timeout", "context deadline exceeded", "context canceled", "connection reset",
	"no such host", "dial tcp", "tls handshake timeout",
	"serviceunavailable", "service unavailable", "internal error", "serverexception",
	"spot interruption", "host ec2", "instance is being terminated",
}

// certainMarks are what a stop that no retry will cure says.
var certainMarks = [...]string{
	"cannotpullcontainererror",   // with no transient mark: the image or its registry auth is wrong
	"unable to pull secrets",     // ResourceInitializationError on a secret the role may not read
	"unable to retrieve secret",  //
	"accessdenied",               //
	"resourcenotfoundexception",  // a secret or parameter that does not exist
	"cannotstartcontainererror",  // an entrypoint or command that does not exist
	"cannotcreatecontainererror", //
	"outofmemoryerror",           // killed for memory at every start
	"failed elb health checks",   // the target group's threshold
	"failed container health checks",
}

// ClassifyStop says what one stopped task of a rollout says about its
// build. The task's words come from ECS, so they are matched, never run or
// trusted for more.
func ClassifyStop(t StoppedTask) StopClass {
	reason := strings.ToLower(t.StoppedReason)
	for _, c := range t.Containers {
		reason += " " + strings.ToLower(c.Reason)
	}
	switch t.StopCode {
	case "ServiceSchedulerInitiated", "UserInitiated":
		if !strings.Contains(reason, "health check") {
			return StopExpected
		}
	case "SpotInterruption", "TerminationNotice":
		return StopTransient
	}
	if strings.HasPrefix(reason, "scaling activity initiated") {
		return StopExpected
	}
	for _, m := range transientMarks {
		if containsWord(reason, m) {
			return StopTransient
		}
	}
	for _, m := range certainMarks {
		if strings.Contains(reason, m) {
			return StopCertain
		}
	}
	if strings.Contains(reason, "essential container in task exited") || t.StopCode == "EssentialContainerExited" {
		for _, c := range t.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 {
				return StopCertain
			}
		}
	}
	return StopUnknown
}

// containsWord is strings.Contains, but a short mark (eni) must stand as a
// word, so that "denied" or "generic" never read as ENI trouble.
func containsWord(s, mark string) bool {
	if len(mark) > 4 {
		return strings.Contains(s, mark)
	}
	for i := 0; ; {
		j := strings.Index(s[i:], mark)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isLetter(s[j-1])
		end := j + len(mark)
		after := end == len(s) || !isLetter(s[end])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// FailFast is the verdict on the stopped tasks a rollout has so far: the
// certain failures among them, and whether there are failAfter of them or
// more (never with failAfter 0, which leaves the verdict to ECS).
type FailFast struct {
	Certain, Transient, Unknown []StoppedTask
	Tripped                     bool
}

// JudgeStops classes the stopped tasks of a rollout.
func JudgeStops(tasks []StoppedTask, failAfter int) FailFast {
	var v FailFast
	for _, t := range tasks {
		switch ClassifyStop(t) {
		case StopCertain:
			v.Certain = append(v.Certain, t)
		case StopTransient:
			v.Transient = append(v.Transient, t)
		case StopUnknown:
			v.Unknown = append(v.Unknown, t)
		}
	}
	v.Tripped = failAfter > 0 && len(v.Certain) >= failAfter
	return v
}

// reason says why the rollout was stopped early, for the error, which
// lists the stopped tasks after it.
func (v FailFast) reason(failAfter int) string {
	return fmt.Sprintf("%d certain task failure(s) (fail-after %d), so the return started at once instead of waiting for ECS's circuit breaker", len(v.Certain), failAfter)
}
