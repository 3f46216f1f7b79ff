package ecsdeploy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

// slowRollouts makes rollouts of "good" images complete and of "broken"
// ones fail after a second, and a return to the first build take a second
// too: long enough for a re-run to meet each in flight, on a loaded
// machine as well.
func slowRollouts(f *fixture) {
	f.bed.Sim.SetScenario(":first", ecssim.Scenario{Outcome: ecssim.Complete, After: time.Second})
	f.bed.Sim.SetScenario("good", ecssim.Scenario{Outcome: ecssim.Complete, After: time.Second})
	f.bed.Sim.SetScenario("broken", ecssim.Scenario{Outcome: ecssim.Fail, After: time.Second, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1)})
	f.bed.Sim.SetScenario("hangs", ecssim.Scenario{Outcome: ecssim.Hang})
}

// crashAfter is a deployer whose process dies (its context is cancelled)
// right after its k-th mutating call lands, as a runner killed with -9.
func crashAfter(t *testing.T, f *fixture, k int) (*ecsdeploy.Deployer, context.Context) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var mu sync.Mutex
	n := 0
	client := f.bed.ECS(func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("crash", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if op := awsmiddleware.GetOperationName(ctx); err == nil && (op == "RegisterTaskDefinition" || op == "UpdateService") {
					mu.Lock()
					if n++; n == k {
						cancel()
					}
					mu.Unlock()
				}
				return out, md, err
			}), middleware.After)
		})
	})
	d, err := ecsdeploy.New(client, ecsdeploy.WithPolling(fastPolling))
	if err != nil {
		t.Fatal(err)
	}
	return d, ctx
}

// TestRerunAfterACrash is issue 14's account: the run dies after one of its
// mutating calls, and the same deploy runs again. A good build ends live
// with one deployment; a broken one ends with the service on the last good
// build and says rolled-back, with or without ECS's own rollback.
func TestRerunAfterACrash(t *testing.T) {
	t.Parallel()
	for _, breaker := range []struct {
		name              string
		enabled, rollback bool
	}{{"no circuit breaker", false, false}, {"circuit breaker without rollback", true, false}, {"circuit breaker with rollback", true, true}} {
		for _, build := range []string{"good", "broken"} {
			for k, crash := range []string{"RegisterTaskDefinition", "UpdateService", "the rollback's UpdateService"} {
				if k == 2 && (build == "good" || breaker.rollback) {
					continue // no rollback, or ECS's own: the run makes no third mutating call
				}
				t.Run(fmt.Sprintf("%s/%s build/killed after %s", breaker.name, build, crash), func(t *testing.T) {
					t.Parallel()
					f := newFixture(t, fixtureOpts{circuitBreaker: breaker.enabled, rollback: breaker.rollback})
					slowRollouts(f)
					image := f.image(build + "-1")
					req := f.request(image)
					req.Timeout = 3 * time.Second // a rollout that never fails (no breaker) is given up on
					killed, ctx := crashAfter(t, f, k+1)
					if _, err := killed.Deploy(ctx, req); !errors.Is(err, context.Canceled) {
						t.Fatalf("the killed run ended with %v, want context.Canceled", err)
					}
					inFlight := f.service(t).Deployments[0]
					f.bed.Sim.ResetCalls()

					res, err := f.deployer.Deploy(context.Background(), req)
					svc := f.waitStable(t)
					calls := f.bed.Sim.Calls()
					if build == "good" {
						if err != nil || res.Status != ecsdeploy.StatusSucceeded || f.imageOf(t, aws.ToString(svc.TaskDefinition)) != image {
							t.Fatalf("re-run: %v, %s, service on %s; want succeeded on %s", err, res.Status, f.imageOf(t, aws.ToString(svc.TaskDefinition)), image)
						}
						if crash == "UpdateService" && (calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 || res.DeploymentID != aws.ToString(inFlight.Id)) {
							t.Errorf("re-run made %v and reports deployment %s; want it to watch %s and make none", calls, res.DeploymentID, aws.ToString(inFlight.Id))
						}
						return
					}
					var rf *ecsdeploy.RolloutFailedError
					if !errors.As(err, &rf) || !rf.RolledBack || res.Status != ecsdeploy.StatusRolledBack {
						t.Fatalf("re-run: %v, %s; want rolled-back", err, res.Status)
					}
					if now := aws.ToString(svc.TaskDefinition); now != f.firstTD || res.TaskDefinitionARN != f.firstTD || res.PreviousTaskDefinitionARN != f.firstTD {
						t.Errorf("service on %s, result %s (previous %s); want the last good build %s", now, res.TaskDefinitionARN, res.PreviousTaskDefinitionARN, f.firstTD)
					}
					if crash != "RegisterTaskDefinition" && calls["RegisterTaskDefinition"] != 0 {
						t.Errorf("re-run registered the broken build again: %v", calls)
					}
				})
			}
		}
	}
}

// TestDeployMeetsAnotherRollout: build B deployed while build A rolls out
// waits for A, or supersedes it; either way a failure returns to the last
// stable revision, never to A's.
func TestDeployMeetsAnotherRollout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		a, b       string
		inProgress ecsdeploy.InProgress
		// wantPrevious is "first" (the revision before A) or "A".
		wantStatus   ecsdeploy.Status
		wantPrevious string
		wantPhase    string
	}{
		{"B waits for good A, then deploys", "good-a", "good-b", ecsdeploy.Wait, ecsdeploy.StatusSucceeded, "A", "wait for rollout in progress"},
		{"B supersedes good A", "good-a", "good-b", ecsdeploy.Supersede, ecsdeploy.StatusSucceeded, "first", "register task definition"},
		{"broken B supersedes a hanging A: back to the build before A", "hangs-a", "broken-b", ecsdeploy.Supersede, ecsdeploy.StatusRolledBack, "first", "roll back"},
		{"B waits for broken A to fail, then deploys", "broken-a", "good-b", ecsdeploy.Wait, ecsdeploy.StatusSucceeded, "first", "wait for rollout in progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{circuitBreaker: true})
			slowRollouts(f)
			a := f.request(f.image(tt.a))
			a.Wait = false
			resA, err := f.deployer.Deploy(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			b := f.request(f.image(tt.b))
			b.OnRolloutInProgress = tt.inProgress
			res, err := f.deployer.Deploy(context.Background(), b)
			if res.Status != tt.wantStatus {
				t.Fatalf("B: %s (%v), want %s", res.Status, err, tt.wantStatus)
			}
			want := f.firstTD
			if tt.wantPrevious == "A" {
				want = resA.TaskDefinitionARN
			}
			if res.PreviousTaskDefinitionARN != want {
				t.Errorf("B's rollback target %s, want %s (%s)", res.PreviousTaskDefinitionARN, want, tt.wantPrevious)
			}
			svc := f.waitStable(t)
			wantImage := f.image(tt.b)
			if tt.wantStatus == ecsdeploy.StatusRolledBack {
				wantImage = f.image("first")
			}
			if got := f.imageOf(t, aws.ToString(svc.TaskDefinition)); got != wantImage {
				t.Errorf("service runs %s, want %s", got, wantImage)
			}
			if phases, _ := f.events.snapshot(); !slices.Contains(phases, tt.wantPhase) {
				t.Errorf("phases %q lack %q", phases, tt.wantPhase)
			}
		})
	}
}

func TestWaitForAnotherRolloutTimesOutUntouched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	slowRollouts(f)
	a := f.request(f.image("hangs-a"))
	a.Wait = false
	resA, err := f.deployer.Deploy(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	f.bed.Sim.ResetCalls()
	b := f.request(f.image("good-b"))
	b.Timeout = 300 * time.Millisecond
	res, err := f.deployer.Deploy(context.Background(), b)
	if !errors.Is(err, ecsdeploy.ErrRolloutInProgress) || !errors.Is(err, ecsdeploy.ErrTimeout) || res.Status != ecsdeploy.StatusFailed {
		t.Fatalf("B: %s, %v; want failed with ErrRolloutInProgress", res.Status, err)
	}
	if calls := f.bed.Sim.Calls(); calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
		t.Errorf("B changed something: %v", calls)
	}
	if now := aws.ToString(f.service(t).TaskDefinition); now != resA.TaskDefinitionARN {
		t.Errorf("service on %s, want A's %s untouched", now, resA.TaskDefinitionARN)
	}
}
