package ecsdeploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

func TestRollbackBySHA(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{circuitBreaker: true, rollback: true})
	ctx := context.Background()
	repo := f.repository(t)
	sha1, sha2 := testbed.SHA(), testbed.SHA()
	// Two builds whose SHAs share 8 characters make a short prefix ambiguous.
	twinA, twinB := "abcdef12"+testbed.SHA()[8:], "abcdef12"+testbed.SHA()[8:]
	for _, tag := range []string{sha1, sha2, twinA, twinB} {
		if _, err := f.bed.PushRandomImage(ctx, "autonote/server", tag); err != nil {
			t.Fatal(err)
		}
	}
	first, err := f.deployer.Deploy(ctx, f.request(f.image(sha1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.deployer.Deploy(ctx, f.request(f.image(sha2))); err != nil {
		t.Fatal(err)
	}

	t.Run("bad sha changes nothing", func(t *testing.T) {
		tests := []struct {
			sha      string
			wantIs   error
			wantSays string
		}{
			{"abc", ecrimage.ErrInvalidSHA, "at least 7 hex characters"},
			{"not-a-sha-at-all", ecrimage.ErrInvalidSHA, "commit SHA"},
			{"0000000", ecrimage.ErrImageNotFound, "nearest tags"},
			{"abcdef1", ecrimage.ErrAmbiguousSHA, twinA[:12]},
			{strings.Repeat("e", 40), ecrimage.ErrImageNotFound, "nearest tags"},
		}
		for _, tt := range tests {
			f.bed.Sim.ResetCalls()
			_, err := f.deployer.Rollback(ctx, f.request(""), ecsdeploy.RollbackTo{SHA: tt.sha}, repo)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantSays) {
				t.Errorf("Rollback(%q) = %v, want %v saying %q", tt.sha, err, tt.wantIs, tt.wantSays)
			}
			if calls := f.bed.Sim.Calls(); calls["DescribeServices"]+calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
				t.Errorf("Rollback(%q) called ECS: %v", tt.sha, calls)
			}
		}
	})

	t.Run("prefix returns to the build", func(t *testing.T) {
		before, _ := f.events.snapshot()
		res, err := f.deployer.Rollback(ctx, f.request(""), ecsdeploy.RollbackTo{SHA: sha1[:7]}, repo)
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if res.Status != ecsdeploy.StatusSucceeded || res.Image != f.image(sha1) {
			t.Errorf("got %q to %q, want succeeded to %q", res.Status, res.Image, f.image(sha1))
		}
		svc := f.service(t)
		if got := f.imageOf(t, aws.ToString(svc.TaskDefinition)); got != f.image(sha1) {
			t.Errorf("service runs %q, want %q", got, f.image(sha1))
		}
		if res.TaskDefinitionARN != first.TaskDefinitionARN {
			t.Errorf("rollback runs %s, want the identical revision %s reused", res.TaskDefinitionARN, first.TaskDefinitionARN)
		}
		if phases, _ := f.events.snapshot(); len(phases) <= len(before) || phases[len(before)] != "resolve sha" {
			t.Errorf("phases = %q, want resolve sha first", phases[len(before):])
		}
		// status names it as what it is: an earlier build, on purpose.
		st, err := f.deployer.Status(ctx, f.target)
		if err != nil {
			t.Fatal(err)
		}
		if st.Drift != "" || !strings.Contains(st.Earlier, "an earlier build") || !strings.Contains(st.Earlier, "commit "+sha1[:12]) ||
			!strings.Contains(st.Earlier, "deployed by") {
			t.Errorf("status after a rollback by SHA: earlier %q, drift %q; want an earlier build named, no drift", st.Earlier, st.Drift)
		}
	})
}

// TestRollbackOnlyToALiveBuild: a build that never completed a deployment
// on the service (its migration failed, so the service never changed) is
// refused as a rollback target, with nothing changed; force returns to it.
func TestRollbackOnlyToALiveBuild(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{circuitBreaker: true, rollback: true})
	ctx := context.Background()
	repo := f.repository(t)
	live, never := testbed.SHA(), testbed.SHA()
	for _, tag := range []string{live, never} {
		if _, err := f.bed.PushRandomImage(ctx, "autonote/server", tag); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.deployer.Deploy(ctx, f.request(f.image(live))); err != nil {
		t.Fatal(err)
	}
	// never's migration fails: its revision is registered, the service
	// is not changed.
	f.bed.Sim.SetTaskScenario("migrate", ecssim.TaskScenario{Lines: []string{"error"}, ExitCode: 1})
	req := f.request(f.image(never))
	req.PreDeploy = &ecsdeploy.PreDeploy{Command: []string{"migrate"}}
	if _, err := f.deployer.Deploy(ctx, req); !errors.Is(err, ecsdeploy.ErrPreDeployFailed) {
		t.Fatalf("deploy with a failing migration: %v", err)
	}
	if _, err := f.deployer.Deploy(ctx, f.request(f.image(live))); err != nil { // and back on the live build
		t.Fatal(err)
	}

	f.bed.Sim.ResetCalls()
	_, err := f.deployer.Rollback(ctx, f.request(""), ecsdeploy.RollbackTo{SHA: never[:8]}, repo)
	if !errors.Is(err, ecsdeploy.ErrNeverLive) || !strings.Contains(err.Error(), "migrations") || !strings.Contains(err.Error(), "force") {
		t.Fatalf("rollback to a build that never ran: %v, want refused, saying what force skips", err)
	}
	if calls := f.bed.Sim.Calls(); calls["UpdateService"] != 0 {
		t.Errorf("a refused rollback changed the service: %v", calls)
	}
	res, err := f.deployer.Rollback(ctx, f.request(""), ecsdeploy.RollbackTo{SHA: never[:8], Force: true}, repo)
	if err != nil || res.Status != ecsdeploy.StatusSucceeded {
		t.Fatalf("forced rollback: %v, %v", res, err)
	}
	// Now it ran: a rollback to it needs no force.
	if _, err := f.deployer.Deploy(ctx, f.request(f.image(live))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.deployer.Rollback(ctx, f.request(""), ecsdeploy.RollbackTo{SHA: never[:8]}, repo); err != nil {
		t.Errorf("rollback to a build that ran once: %v", err)
	}
}
