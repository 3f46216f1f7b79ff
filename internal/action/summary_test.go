package action_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
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
			path := filepath.Join("testdata", "summary-"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("summary differs from %s (go test -update rewrites it):\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
