package action

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/autonote/deploy-action/internal/hookapi"
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

// The shapes of what a deploy hook's job may hold in the fields that
// become step outputs and summary rows.
var (
	taskDefinitionARN = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]{1,255}:[0-9]{1,10}$`)
	deploymentID      = regexp.MustCompile(`^ecs-svc/[0-9]{1,40}$`)
	imageURI          = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?/[a-z0-9._/-]{1,256}:[A-Za-z0-9_.-]{1,128}$`)
	imageDigest       = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// checkJob refuses a hook's job whose fields do not have the shape of what
// they name: their values become step outputs, summary rows and a GitHub
// deployment's URL, where a line break or a table's bar would be read as
// something else.
func checkJob(j hookapi.Job) error {
	bad := func(field, want string) error {
		return fmt.Errorf("the deploy hook's answer has a %s that is not %s: refusing the answer (check webhook-url)", field, want)
	}
	switch {
	case !isJobID(j.ID):
		return bad("job id", "a job id")
	case j.TaskDefinition != "" && !taskDefinitionARN.MatchString(j.TaskDefinition):
		return bad("taskDefinition", "a task definition ARN")
	case j.PreviousTaskDefinition != "" && !taskDefinitionARN.MatchString(j.PreviousTaskDefinition):
		return bad("previousTaskDefinition", "a task definition ARN")
	case j.DeploymentID != "" && !deploymentID.MatchString(j.DeploymentID):
		return bad("deploymentId", "an ECS deployment id")
	case j.Image != "" && !imageURI.MatchString(j.Image):
		return bad("image", "an image URI")
	case j.Digest != "" && !imageDigest.MatchString(j.Digest):
		return bad("digest", "a sha256 digest")
	case j.URL != "" && !isURL(j.URL):
		return bad("url", "an http(s) URL")
	}
	switch j.State {
	case hookapi.StateQueued, hookapi.StateRunning, hookapi.StateSucceeded, hookapi.StateFailed, hookapi.StateRolledBack, hookapi.StateSuperseded,
		hookapi.StateInterrupted, hookapi.StateCancelled, hookapi.StateExpired:
		return nil
	}
	return bad("state", "a job state")
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2048 &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '|' })
}
