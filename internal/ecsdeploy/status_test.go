package ecsdeploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, fixtureOpts{public: true, circuitBreaker: true, rollback: true})
	good := "0d4c2a6f3e8b1a9c7d5e3f1a2b4c6d8e0f1a3b5c"
	f.bed.Sim.SetScenario(":"+good, ecssim.Scenario{Address: "192.0.2.2"})
	f.bed.Sim.SetScenario(":broken", ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "Essential container in task exited"})

	res, err := f.deployer.Deploy(ctx, f.request(f.image(good)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.deployer.Status(ctx, f.target)
	if err != nil {
		t.Fatal(err)
	}
	if st.Image != f.image(good) || st.Commit != good || st.TaskDefinitionARN != res.TaskDefinitionARN {
		t.Errorf("status runs %s (commit %q) on %s, want %s on %s", st.Image, st.Commit, st.TaskDefinitionARN, f.image(good), res.TaskDefinitionARN)
	}
	if st.Running != 1 || st.Desired != 1 || st.Rollout != "COMPLETED" || st.Since.IsZero() {
		t.Errorf("status: running %d of %d, rollout %q since %v; want 1 of 1, COMPLETED, a time", st.Running, st.Desired, st.Rollout, st.Since)
	}
	if st.URL != "http://192.0.2.2:3000" {
		t.Errorf("url = %q, want the task's public address and container port, http://192.0.2.2:3000 (notes %q)", st.URL, st.Notes)
	}
	if st.Drift != "" {
		t.Errorf("drift = %q, want none: the service runs the newest revision", st.Drift)
	}
	if len(st.Deployments) != 2 || st.Deployments[0].Status != "SUCCESSFUL" || st.Deployments[0].Image != f.image(good) || st.Deployments[1].Image != f.image("first") {
		t.Errorf("deployments = %+v, want this deploy then the first, both SUCCESSFUL", st.Deployments)
	}

	if _, err := f.deployer.Deploy(ctx, f.request(f.image("broken"))); err == nil {
		t.Fatal("broken deploy succeeded")
	}
	f.waitStable(t)
	st, err = f.deployer.Status(ctx, f.target)
	if err != nil {
		t.Fatal(err)
	}
	if st.Image != f.image(good) {
		t.Errorf("after the rollback the service runs %s, want %s", st.Image, f.image(good))
	}
	if !strings.Contains(st.Drift, "newest revision") {
		t.Errorf("drift = %q, want it to say the broken revision is newer than the one running", st.Drift)
	}
	if len(st.Deployments) != 3 || st.Deployments[0].Status != "ROLLBACK_SUCCESSFUL" || st.Deployments[0].Image != f.image("broken") || st.Deployments[0].Reason == "" {
		t.Errorf("newest deployment = %+v, want the broken one, ROLLBACK_SUCCESSFUL, with its reason", st.Deployments[0])
	}
	if len(st.Notes) != 0 {
		t.Errorf("notes = %q, want none", st.Notes)
	}
	f.bed.ExpectDenied("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/"+f.target.Cluster+"/nope")
	if _, err := f.deployer.Status(ctx, ecsdeploy.Target{Cluster: f.target.Cluster, Service: "nope"}); !errors.Is(err, ecsdeploy.ErrServiceNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("status of a missing service: %v, want an error that names it", err)
	}
}
