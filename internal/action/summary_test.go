package action_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/testbed"
)

func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	exit1 := int32(1)
	tests := []struct {
		name   string
		report action.Report
	}{
		{"succeeded", action.Report{
			Command: action.CommandDeploy, Service: "autonote-server-service", Cluster: "autonote-server-cluster",
			Image:  "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:3484a3fb2a1c1b4dbb5d1a3c1f7c0b5e0c2e6f1a",
			Digest: "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
			Result: &ecsdeploy.Result{
				Status: ecsdeploy.StatusSucceeded, Container: "server", Watched: true,
				PreviousTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:41",
				TaskDefinitionARN:         "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:42",
				DeploymentID:              "ecs-svc/1234567890123456789",
			},
			Phases: []ecsdeploy.Phase{
				{Name: "credentials", Start: at(0), End: at(400)},
				{Name: "registry", Start: at(400), End: at(700)},
				{Name: "describe service", Start: at(700), End: at(900)},
				{Name: "register task definition", Start: at(900), End: at(1200)},
				{Name: "update service", Start: at(1200), End: at(1500)},
				{Name: "watch rollout", Start: at(1500), End: at(95500)},
			},
			Start: at(0), End: at(95500),
		}},
		{"rolled-back", action.Report{
			Command: action.CommandDeploy, Service: "autonote-server-service", Cluster: "autonote-server-cluster",
			Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
			Result: &ecsdeploy.Result{
				Status: ecsdeploy.StatusRolledBack, Container: "server", Watched: true,
				PreviousTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:42",
				TaskDefinitionARN:         "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:42",
				DeploymentID:              "ecs-svc/2234567890123456789",
				Stopped: []ecsdeploy.StoppedTask{
					{TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/autonote-server-cluster/0a1b2c3d4e5f", StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"},
					{TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/autonote-server-cluster/1a1b2c3d4e5f", StoppedReason: "Essential container in task exited",
						Containers: []ecsdeploy.StoppedContainer{{Name: "server", ExitCode: &exit1}}},
				},
			},
			Phases: []ecsdeploy.Phase{
				{Name: "describe service", Start: at(0), End: at(200)},
				{Name: "watch rollout", Start: at(200), End: at(60200)},
				{Name: "watch ECS rollback", Start: at(60200), End: at(90200), Failed: true},
			},
			Start: at(0), End: at(90200),
			Err: errors.New("deployment ecs-svc/2234567890123456789 of service autonote-server-service failed: ECS deployment circuit breaker: tasks failed to start. | rolled back"),
		}},
		{"blue-green-sent-back", action.Report{
			Command: action.CommandDeploy, Service: "autonote-server-service", Cluster: "autonote-server-cluster",
			Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
			Result: &ecsdeploy.Result{
				Status: ecsdeploy.StatusRolledBack, Container: "server", Watched: true, Strategy: "BLUE_GREEN", ReturnedAt: "POST_TEST_TRAFFIC_SHIFT",
				PreviousTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:42",
				TaskDefinitionARN:         "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:42",
				DeploymentID:              "ecs-svc/3234567890123456789",
			},
			Phases: []ecsdeploy.Phase{
				{Name: "update service", Start: at(0), End: at(300)},
				{Name: "watch rollout", Start: at(300), End: at(400)},
				{Name: "stage SCALE_UP", Start: at(400), End: at(40400)},
				{Name: "stage TEST_TRAFFIC_SHIFT", Start: at(40400), End: at(41400)},
				{Name: "stage POST_TEST_TRAFFIC_SHIFT", Start: at(41400), End: at(44400), Failed: true},
				{Name: "stage CLEAN_UP", Start: at(44400), End: at(46400)},
			},
			Start: at(0), End: at(46400),
			Err: errors.New("deployment ecs-svc/3234567890123456789 of service autonote-server-service failed: at POST_TEST_TRAFFIC_SHIFT: smoke check failed: GET http://alb:8443/health: no 2xx within 2m0s: 500 Internal Server Error"),
		}},
		{"canary-succeeded", action.Report{
			Command: action.CommandDeploy, Service: "autonote-server-service", Cluster: "autonote-server-cluster",
			Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:3484a3fb2a1c1b4dbb5d1a3c1f7c0b5e0c2e6f1a",
			Result: &ecsdeploy.Result{
				Status: ecsdeploy.StatusSucceeded, Container: "server", Watched: true, Strategy: "CANARY",
				PreviousTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:42",
				TaskDefinitionARN:         "arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:43",
				DeploymentID:              "ecs-svc/4234567890123456789",
				Stages: []ecsdeploy.Stage{
					{Name: "SCALE_UP", Start: at(400), End: at(40400), Weighed: true},
					{Name: "POST_TEST_TRAFFIC_SHIFT", Start: at(40400), End: at(44400), Weighed: true},
					{Name: "PRODUCTION_TRAFFIC_SHIFT", Start: at(44400), End: at(164400), Production: 10, Weighed: true},
					{Name: "PRE_PRODUCTION_TRAFFIC_SHIFT", Start: at(164400), End: at(166400), Production: 10, Weighed: true},
					{Name: "BAKE_TIME", Start: at(166400), End: at(466400), Production: 100, Weighed: true},
					{Name: "CLEAN_UP", Start: at(466400), End: at(470400), Production: 100, Weighed: true},
				},
				End: at(470400),
			},
			Phases: []ecsdeploy.Phase{
				{Name: "update service", Start: at(0), End: at(300)},
				{Name: "watch rollout", Start: at(300), End: at(400)},
				{Name: "stage SCALE_UP", Start: at(400), End: at(40400)},
				{Name: "stage POST_TEST_TRAFFIC_SHIFT", Start: at(40400), End: at(44400)},
				{Name: "stage PRODUCTION_TRAFFIC_SHIFT", Start: at(44400), End: at(164400)},
				{Name: "stage PRE_PRODUCTION_TRAFFIC_SHIFT", Start: at(164400), End: at(166400)},
				{Name: "stage BAKE_TIME", Start: at(166400), End: at(466400)},
				{Name: "stage CLEAN_UP", Start: at(466400), End: at(470400)},
			},
			Start: at(0), End: at(470400),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := action.Summary(tt.report)
			testbed.Golden(t, filepath.Join("testdata", "summary-"+tt.name+".golden"), []byte(got), *update)
		})
	}
}

// hostile is text from outside (an ECS reason, a hook's error, an app's
// answer) that tries every way out of a table cell.
const hostile = "boom\r## Injected heading\r\n[click](https://attacker.example) ![img](https://attacker.example/x.png) <b>bold</b> | extra cell \u2028# another `code` *em*"

// TestSummaryKeepsOutsideTextInItsCell renders job summaries whose every
// outside string is hostile with a GitHub-flavoured Markdown renderer: the
// tables keep their rows and two cells a row, and no heading, link, image
// or tag of the outside text comes out.
func TestSummaryKeepsOutsideTextInItsCell(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	exit := int32(1)
	reports := map[string]action.Report{
		"deploy": {Command: action.CommandDeploy, Service: "autonote-server-service", Cluster: "autonote-server-cluster",
			Image: "registry.example/autonote/server:" + hostile, Start: start, End: start.Add(time.Minute), Err: errors.New(hostile),
			Phases: []ecsdeploy.Phase{{Name: "push " + hostile, Start: start, End: start.Add(time.Second)}},
			Result: &ecsdeploy.Result{Status: ecsdeploy.StatusRolledBack, Container: "server", Strategy: hostile, ReturnedAt: hostile,
				DeploymentID: "ecs-svc/1" + hostile,
				Stopped:      []ecsdeploy.StoppedTask{{TaskARN: "arn:aws:ecs:us-east-1:1:task/c/1", StoppedReason: hostile}},
				Alarms:       []ecsdeploy.Alarm{{Name: "alarm`|" + hostile, Reason: hostile}},
				PreDeploy:    &ecsdeploy.TaskRun{TaskARN: "arn:aws:ecs:us-east-1:1:task/c/2", Reason: hostile, ExitCode: &exit, Last: []string{hostile, "```", "</details>" + hostile}}}},
		"status": {Command: action.CommandStatus, Service: "autonote-server-service", Start: start, End: start.Add(time.Second),
			State: &ecsdeploy.ServiceStatus{Cluster: "c" + hostile, Image: hostile, Commit: hostile, Earlier: hostile, Drift: hostile, Notes: []string{hostile},
				Addresses:   []string{hostile, hostile},
				Deployments: []ecsdeploy.DeploymentRecord{{TaskDefinitionARN: "td/" + hostile, Image: "x:" + hostile, Status: "FAILED", Reason: hostile, Started: start}}}},
	}
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			var html bytes.Buffer
			if err := md.Convert([]byte(action.Summary(r)), &html); err != nil {
				t.Fatal(err)
			}
			out := html.String()
			for _, bad := range []string{"<h2>Injected", "<h1>another", "<img", "<b>bold", "<em>em"} {
				if strings.Contains(out, bad) {
					t.Errorf("the outside text came out of its cell as %q:\n%s", bad, out)
				}
			}
			// A bare URL may be linked (GitHub links them in any text), but
			// only as itself: no link of the outside text's naming.
			for _, m := range regexp.MustCompile(`<a href="([^"]*)">([^<]*)</a>`).FindAllStringSubmatch(out, -1) {
				if m[1] != m[2] {
					t.Errorf("a link %q reads %q", m[1], m[2])
				}
			}
			if n := strings.Count(out, "<h2>"); n != 1 {
				t.Errorf("%d level-2 headings, want the title alone:\n%s", n, out)
			}
			for _, row := range strings.Split(out, "<tr>")[1:] {
				row, _, _ = strings.Cut(row, "</tr>")
				if cells := strings.Count(row, "<td") + strings.Count(row, "<th"); cells != 2 && cells != 4 {
					t.Errorf("a row of %d cells:\n<tr>%s", cells, row)
				}
			}
		})
	}
}
