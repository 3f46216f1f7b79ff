package ecsdeploy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// TestCarryOnAfterTheRolloutEnded: the runner that deployed a build is gone
// and its rollout ended before another runner carries the deploy on. A
// completed build is reported live, a build the circuit breaker rolled
// back is reported rolled back, and neither is registered or deployed
// again; a build whose deploy never began is deployed.
func TestCarryOnAfterTheRolloutEnded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		build      string
		started    bool // the first runner reached UpdateService
		wantStatus ecsdeploy.Status
		wantCalls  int // RegisterTaskDefinition + UpdateService of the carry-on
	}{
		{"good", true, ecsdeploy.StatusSucceeded, 0},
		{"broken", true, ecsdeploy.StatusRolledBack, 0},
		{"good", false, ecsdeploy.StatusSucceeded, 2},
	} {
		name := tc.build + " build, deploy begun"
		if !tc.started {
			name = tc.build + " build, deploy never begun"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{circuitBreaker: true, rollback: true})
			slowRollouts(f)
			since := time.Now()
			req := f.request(f.image(tc.build + "-1"))
			if tc.started {
				first := req
				first.Wait = false
				if _, err := f.deployer.Deploy(context.Background(), first); err != nil {
					t.Fatal(err)
				}
				f.waitStable(t)
			}
			f.bed.Sim.ResetCalls()
			res, err := f.deployer.CarryOn(context.Background(), req, since)
			calls := f.bed.Sim.Calls()
			if res == nil || res.Status != tc.wantStatus {
				t.Fatalf("carry-on: %+v, %v; want %s", res, err, tc.wantStatus)
			}
			if n := calls["RegisterTaskDefinition"] + calls["UpdateService"]; n != tc.wantCalls {
				t.Errorf("carry-on made %v; want %d registrations and updates", calls, tc.wantCalls)
			}
			var rf *ecsdeploy.RolloutFailedError
			switch tc.wantStatus {
			case ecsdeploy.StatusRolledBack:
				if !errors.As(err, &rf) || !rf.RolledBack || res.TaskDefinitionARN != f.firstTD {
					t.Errorf("carry-on of the broken build: %v, on %s; want rolled back onto %s", err, res.TaskDefinitionARN, f.firstTD)
				}
			default:
				if err != nil || f.imageOf(t, aws.ToString(f.service(t).TaskDefinition)) != req.Image {
					t.Errorf("carry-on: %v; the service runs %s, want %s", err, f.imageOf(t, aws.ToString(f.service(t).TaskDefinition)), req.Image)
				}
			}
		})
	}
}
