package ecsdeploy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

// TestMigrationRunsOncePerDeploy: however a run is interrupted and run
// again, a build's pre-deploy command runs in one task: a task of it still
// running is followed, not started again (whichever run started it), and a
// run of the same name uses the result of the task it ran (a killed
// action's re-run, a hook job carried on); a run of another name runs it
// anew.
func TestMigrationRunsOncePerDeploy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// first and again name the two runs (empty: a terminal's).
		first, again string
		exit         int32
		waitEnd      bool // the first task ends before the run again
		runTasks     int  // pre-deploy tasks started in all
		wantErr      error
	}{
		{"interrupted, then again while it runs (a terminal)", "", "", 0, false, 1, nil},
		{"interrupted, then again while it runs (another run)", "github-run/a/1", "github-run/a/2", 0, false, 1, nil},
		{"killed, then the same run again after it succeeded", "github-run/a/1", "github-run/a/1", 0, true, 1, nil},
		{"killed, then the same run again after it failed", "github-run/a/1", "github-run/a/1", 1, true, 1, ecsdeploy.ErrPreDeployFailed},
		{"failed, then a new run", "github-run/a/1", "github-run/a/2", 1, true, 2, ecsdeploy.ErrPreDeployFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{circuitBreaker: true, rollback: true, public: true})
			f.bed.Sim.SetTaskScenario("migrate", ecssim.TaskScenario{Lines: []string{"migrating"}, ExitCode: tc.exit, After: 1500 * time.Millisecond})
			req := f.request(f.image("v2"))
			req.PreDeploy, req.Run = &ecsdeploy.PreDeploy{Command: []string{"migrate"}}, tc.first
			// The first run is interrupted while its task runs.
			ctx, cancel := context.WithCancel(context.Background())
			go func() { // once its task runs
				for {
					out, err := f.bed.ECS().ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(f.target.Cluster), StartedBy: aws.String("deploy-action/pre-deploy")})
					if err == nil && len(out.TaskArns) > 0 {
						cancel()
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
			if _, err := f.deployer.Deploy(ctx, req); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			if tc.waitEnd {
				time.Sleep(2 * time.Second) // the task ends on its own
			}
			req.Run = tc.again
			res, err := f.deployer.Deploy(context.Background(), req)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("run again: %v, want %v", err, tc.wantErr)
			}
			if n := f.bed.Sim.Calls()["RunTask"]; n != tc.runTasks {
				t.Errorf("%d pre-deploy tasks started, want %d", n, tc.runTasks)
			}
			if tc.runTasks == 1 && (res.PreDeploy == nil || res.PreDeploy.Earlier == "") {
				t.Errorf("the run again says nothing of the task it did not start: %+v", res.PreDeploy)
			}
		})
	}
}
