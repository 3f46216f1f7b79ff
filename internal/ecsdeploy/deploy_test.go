package ecsdeploy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

func TestDeploySucceeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{circuitBreaker: true, rollback: true})
	image := f.image("v2")

	res, err := f.deployer.Deploy(context.Background(), f.request(image))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if got, want := res.Status, ecsdeploy.StatusSucceeded; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if res.PreviousTaskDefinitionARN != f.firstTD {
		t.Errorf("previous = %q, want %q", res.PreviousTaskDefinitionARN, f.firstTD)
	}
	svc := f.service(t)
	if got := aws.ToString(svc.TaskDefinition); got != res.TaskDefinitionARN || got == f.firstTD {
		t.Errorf("service runs %q, result says %q (first %q)", got, res.TaskDefinitionARN, f.firstTD)
	}
	if len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted || svc.RunningCount != svc.DesiredCount {
		t.Errorf("service not stable: %+v", svc.Deployments)
	}
	if got := f.imageOf(t, res.TaskDefinitionARN); got != image {
		t.Errorf("new revision runs %q, want %q", got, image)
	}
	phases, events := f.events.snapshot()
	if want := []string{"describe service", "register task definition", "update service", "watch rollout"}; !slices.Equal(phases, want) {
		t.Errorf("phases = %q, want %q", phases, want)
	}
	if !slices.ContainsFunc(events, func(e string) bool { return strings.HasSuffix(e, "has reached a steady state.") }) {
		t.Errorf("events = %q, want a steady state event", events)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e] && !strings.Contains(e, "has started") {
			t.Errorf("event %q reported twice", e)
		}
		seen[e] = true
	}
}

func TestDeployUnchanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	f.bed.Sim.ResetCalls()

	res, err := f.deployer.Deploy(context.Background(), f.request(f.image("first")))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Status != ecsdeploy.StatusUnchanged || res.TaskDefinitionARN != f.firstTD {
		t.Errorf("got %q on %q, want unchanged on %q", res.Status, res.TaskDefinitionARN, f.firstTD)
	}
	calls := f.bed.Sim.Calls()
	if calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
		t.Errorf("calls = %v, want no register or update", calls)
	}
}

func TestDeployFailureRollsBack(t *testing.T) {
	t.Parallel()
	exit1 := int32(1)
	tests := []struct {
		name                     string
		circuitBreaker, rollback bool
		scenario                 ecssim.Scenario
		rollbackOnFailure        bool
		wantStatus               ecsdeploy.Status
		wantPhase                string
		wantInError              []string
		wantTimeout              bool
	}{
		{
			name: "ECS circuit breaker rolls back", circuitBreaker: true, rollback: true,
			scenario:          ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"},
			rollbackOnFailure: true, wantStatus: ecsdeploy.StatusRolledBack, wantPhase: "watch ECS rollback",
			wantInError: []string{"CannotPullContainerError", "circuit breaker", "rolled back"},
		},
		{
			name: "circuit breaker without rollback, engine rolls back", circuitBreaker: true,
			scenario:          ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth"},
			rollbackOnFailure: true, wantStatus: ecsdeploy.StatusRolledBack, wantPhase: "watch rollback",
			wantInError: []string{"ResourceInitializationError: unable to pull secrets", "rolled back"},
		},
		{
			name: "essential container exits", circuitBreaker: true,
			scenario:          ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "Essential container in task exited", ExitCode: &exit1},
			rollbackOnFailure: true, wantStatus: ecsdeploy.StatusRolledBack, wantPhase: "watch rollback",
			wantInError: []string{"Essential container in task exited", "exit code 1"},
		},
		{
			name:              "never stable, timeout, engine rolls back",
			scenario:          ecssim.Scenario{Outcome: ecssim.Hang},
			rollbackOnFailure: true, wantStatus: ecsdeploy.StatusRolledBack, wantPhase: "watch rollback",
			wantInError: []string{"not stable after"}, wantTimeout: true,
		},
		{
			name: "rollback turned off", circuitBreaker: true,
			scenario:          ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "CannotPullContainerError: ref not found"},
			rollbackOnFailure: false, wantStatus: ecsdeploy.StatusFailed, wantPhase: "collect stopped tasks",
			wantInError: []string{"CannotPullContainerError"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{circuitBreaker: tt.circuitBreaker, rollback: tt.rollback})
			f.bed.Sim.SetScenario(":broken", tt.scenario)
			req := f.request(f.image("broken"))
			req.RollbackOnFailure = tt.rollbackOnFailure
			if tt.wantTimeout {
				req.Timeout = 500 * time.Millisecond
			}

			res, err := f.deployer.Deploy(context.Background(), req)
			var rf *ecsdeploy.RolloutFailedError
			if !errors.As(err, &rf) {
				t.Fatalf("err = %v, want a *RolloutFailedError", err)
			}
			if got := res.Status; got != tt.wantStatus {
				t.Errorf("status = %q, want %q", got, tt.wantStatus)
			}
			for _, want := range tt.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got := errors.Is(err, ecsdeploy.ErrTimeout); got != tt.wantTimeout {
				t.Errorf("errors.Is(err, ErrTimeout) = %v, want %v", got, tt.wantTimeout)
			}
			phases, _ := f.events.snapshot()
			if !slices.Contains(phases, tt.wantPhase) {
				t.Errorf("phases = %q, want %q among them", phases, tt.wantPhase)
			}
			if got := f.events.failedPhases(); !slices.Equal(got, []string{"watch rollout"}) {
				t.Errorf("phases marked failed = %q, want the rollout's watch alone", got)
			}
			svc := f.service(t)
			if tt.wantStatus == ecsdeploy.StatusRolledBack {
				svc = f.waitStable(t)
				if got := aws.ToString(svc.TaskDefinition); got != f.firstTD || res.TaskDefinitionARN != f.firstTD {
					t.Errorf("service runs %q, result says %q, want both %q", got, res.TaskDefinitionARN, f.firstTD)
				}
				// Status names the build's deployment as returned from, by
				// ECS (ROLLBACK_SUCCESSFUL) or by the engine (the next
				// deployment put the first revision back).
				st, err := f.deployer.Status(context.Background(), f.target)
				if err != nil || len(st.Deployments) < 2 {
					t.Fatalf("status: %v, %+v", err, st)
				}
				if d := st.Deployments[0]; d.Status != "ROLLBACK_SUCCESSFUL" && (len(st.Deployments) < 3 || st.Deployments[1].ReturnedTo != f.firstTD) {
					t.Errorf("status after the return does not name it: %+v", st.Deployments)
				}
			} else if got := aws.ToString(svc.TaskDefinition); got != res.TaskDefinitionARN {
				t.Errorf("service runs %q, result says %q", got, res.TaskDefinitionARN)
			}
		})
	}
}

func TestDeployNoWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	req := f.request(f.image("v2"))
	req.Wait = false
	res, err := f.deployer.Deploy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Watched || res.Status != ecsdeploy.StatusStarted || res.DeploymentID == "" {
		t.Errorf("got watched=%v status=%q deployment=%q, want an unwatched started deployment", res.Watched, res.Status, res.DeploymentID)
	}
}

func TestDeployBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{containers: []types.ContainerDefinition{
		{Name: aws.String("server"), Image: aws.String("example.com/other/server:1"), Essential: aws.Bool(true)},
		{Name: aws.String("sidecar"), Image: aws.String("public.ecr.aws/aws-observability/aws-otel-collector:latest")},
	}})
	tests := []struct {
		name     string
		mutate   func(*ecsdeploy.Request)
		wantIs   error
		wantSays []string
	}{
		{"unknown cluster", func(r *ecsdeploy.Request) { r.Cluster = "nope-cluster" }, ecsdeploy.ErrClusterNotFound, []string{`"nope-cluster"`, f.target.Cluster}},
		{"unknown service", func(r *ecsdeploy.Request) { r.Service = "nope-service" }, ecsdeploy.ErrServiceNotFound, []string{`"nope-service"`, f.target.Service}},
		{"unknown container", func(r *ecsdeploy.Request) { r.Container = "web" }, ecsdeploy.ErrContainerNotFound, []string{`"web"`, "server, sidecar"}},
		{"no container runs the repository", func(r *ecsdeploy.Request) {}, ecsdeploy.ErrContainerNotFound, []string{"set container-name", "autonote/server"}},
		{"no timeout", func(r *ecsdeploy.Request) { r.Container = "server"; r.Timeout = 0 }, nil, []string{"timeout"}},
		{"a revision that does not exist", func(r *ecsdeploy.Request) { r.Image, r.TaskDefinition = "", f.target.Service+":99" },
			ecsdeploy.ErrRevisionNotFound, []string{`"` + f.target.Service + `:99"`, "(found: " + f.target.Service + ":1)", "check task-definition"}},
	}
	// The deploy role may describe its own service alone: IAM refuses
	// the others before ECS could say they do not exist.
	f.bed.ExpectDenied("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/nope-cluster/"+f.target.Service)
	f.bed.ExpectDenied("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/"+f.target.Cluster+"/nope-service")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.bed.Sim.ResetCalls()
			req := f.request(f.image("v2"))
			tt.mutate(&req)
			_, err := f.deployer.Deploy(context.Background(), req)
			if err == nil {
				t.Fatal("Deploy succeeded, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantIs)
			}
			for _, want := range tt.wantSays {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			calls := f.bed.Sim.Calls()
			if n := calls["RegisterTaskDefinition"] + calls["UpdateService"]; n != 0 {
				t.Errorf("calls = %v, want nothing changed", calls)
			}
		})
	}
}

func TestFirstDeployScalesFromZero(t *testing.T) {
	t.Parallel()
	for _, broken := range []bool{false, true} {
		t.Run(fmt.Sprint("broken=", broken), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{circuitBreaker: true, rollback: true, fromZero: true})
			f.bed.Sim.SetScenario(":broken", ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "CannotPullContainerError: not found"})
			tag := "v1"
			if broken {
				tag = "broken"
			}
			res, err := f.deployer.Deploy(context.Background(), f.request(f.image(tag)))
			svc := f.waitStable(t)
			if !broken {
				if err != nil || res.Status != ecsdeploy.StatusSucceeded || svc.DesiredCount != 2 || svc.RunningCount != 2 {
					t.Errorf("first deploy: %v %s, service desired %d running %d; want succeeded at 2", err, res.Status, svc.DesiredCount, svc.RunningCount)
				}
				return
			}
			if res.Status != ecsdeploy.StatusRolledBack || svc.DesiredCount != 0 || aws.ToString(svc.TaskDefinition) != f.firstTD {
				t.Errorf("failed first deploy: %v %s, service desired %d on %s; want rolled back to 0 tasks on %s", err, res.Status, svc.DesiredCount, aws.ToString(svc.TaskDefinition), f.firstTD)
			}
		})
	}
}

// TestSlowRolloutSaysWhereItStands: a rollout during which ECS writes
// nothing for a while is not watched in silence: at the watch's steady
// pace it says how many of each deployment's tasks run.
func TestSlowRolloutSaysWhereItStands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{circuitBreaker: true})
	f.bed.Sim.SetScenario(":slow", ecssim.Scenario{Outcome: ecssim.Complete, After: 2 * time.Second})
	if _, err := f.deployer.Deploy(context.Background(), f.request(f.image("slow"))); err != nil {
		t.Fatal(err)
	}
	f.events.mu.Lock()
	progress := slices.Clone(f.events.progress)
	f.events.mu.Unlock()
	if len(progress) < 2 || !strings.HasPrefix(progress[0], "this deploy (") || !strings.Contains(progress[0], "of 1 running") {
		t.Errorf("progress during a 2 s rollout (a line each 300 ms of silence): %q", progress)
	}
}
