package ecsdeploy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

// TestFailFastOverTheWire: a build whose container exits 1 at start is
// returned from at its first failed task with fail-after 1, by the
// engine's own update (ECS's breaker has not tripped yet); with
// fail-after 0 the breaker's path is taken, as before; without a breaker
// the first certain failure still ends it, not the timeout; and a stop for
// ENI provisioning followed by a healthy task is no failure.
func TestFailFastOverTheWire(t *testing.T) {
	t.Parallel()
	crash := ecssim.Scenario{Outcome: ecssim.Fail, After: 2 * time.Second, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1)}
	tests := []struct {
		name           string
		breaker        bool
		failAfter      int
		scenario       ecssim.Scenario
		status         ecsdeploy.Status
		failedFast     bool
		phase, noPhase string
	}{
		{"crash, fail-after 1", true, 1, crash, ecsdeploy.StatusRolledBack, true, "roll back", "watch ECS rollback"},
		{"crash, fail-after 0", true, 0, crash, ecsdeploy.StatusRolledBack, false, "watch ECS rollback", "roll back"},
		{"crash, no breaker", false, 1, crash, ecsdeploy.StatusRolledBack, true, "roll back", "watch ECS rollback"},
		{"ENI stop, then healthy", true, 1, ecssim.Scenario{Outcome: ecssim.Complete, After: time.Second, FirstStop: "Timeout waiting for network interface provisioning to complete."}, ecsdeploy.StatusSucceeded, false, "watch rollout", "roll back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{circuitBreaker: tt.breaker, rollback: tt.breaker})
			f.bed.Sim.SetScenario(":build", tt.scenario)
			req := f.request(f.image("build"))
			req.FailAfter, req.Timeout = tt.failAfter, time.Minute
			res, err := f.deployer.Deploy(context.Background(), req)
			if res == nil || res.Status != tt.status {
				t.Fatalf("status = %v (%v), want %s", res, err, tt.status)
			}
			if got := errors.Is(err, ecsdeploy.ErrFailedFast); got != tt.failedFast {
				t.Errorf("failed fast = %v (%v), want %v", got, err, tt.failedFast)
			}
			if errors.Is(err, ecsdeploy.ErrTimeout) {
				t.Errorf("the rollout ran to its timeout: %v", err)
			}
			if tt.failedFast && (!strings.Contains(err.Error(), "Essential container in task exited") || !strings.Contains(err.Error(), "exit code 1") ||
				!strings.Contains(err.Error(), "instead of waiting for ECS's circuit breaker")) {
				t.Errorf("error %q does not name the stop and say it did not wait for the breaker", err)
			}
			phases, _ := f.events.snapshot()
			if !slices.Contains(phases, tt.phase) || slices.Contains(phases, tt.noPhase) {
				t.Errorf("phases %q, want %q and no %q", phases, tt.phase, tt.noPhase)
			}
			if got := aws.ToString(f.waitStable(t).TaskDefinition); tt.status == ecsdeploy.StatusRolledBack && got != f.firstTD {
				t.Errorf("service runs %s, want the last stable %s", got, f.firstTD)
			}
		})
	}
}
