package action_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// asMain makes the test binary the action itself, as cmd/action's main
// runs it (actioncli.Main), when a test starts it as a child process: a
// run that can be interrupted or killed.
const asMain = "DEPLOY_ACTION_TEST_AS_MAIN"

// TestInterruptedMigrationRunsOnce: a workflow run is cancelled (SIGINT,
// as the runner sends it) or killed (SIGKILL) while its pre-deploy command
// runs, and run again (a re-run keeps the run's id): the re-run follows
// the first migration task to its end and deploys, and the migration ran
// once.
func TestInterruptedMigrationRunsOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sig  os.Signal
	}{{"cancelled", os.Interrupt}, {"killed", os.Kill}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.bed.Sim.SetTaskScenario("migrate-slow", ecssim.TaskScenario{Lines: []string{"applying 0043_notes_search"}, After: 3 * time.Second})
			w.env["GITHUB_RUN_ID"], w.env["GITHUB_REPOSITORY"], w.env["GITHUB_ACTIONS"] = "4242", "autonote/autonote", "true"
			inputs := map[string]string{"pre-deploy-command": "npm run migrate-slow"}
			first := exec.Command(os.Args[0])
			first.Env = []string{asMain + "=1", "INPUT_PRE-DEPLOY-COMMAND=" + inputs["pre-deploy-command"]}
			for k, v := range w.env {
				first.Env = append(first.Env, k+"="+v)
			}
			out := &testbed.SyncBuffer{}
			first.Stdout, first.Stderr = out, out
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })
			for deadline := time.Now().Add(30 * time.Second); len(w.bed.Migrations(t, w.name)) == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the first run never started its migration:\n%s", out.String())
				}
			}
			if err := first.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if err := first.Wait(); err == nil {
				t.Fatalf("the %s run exited 0:\n%s", tc.name, out.String())
			}
			if tc.sig == os.Interrupt && !strings.Contains(out.String(), "a run of the same deploy follows it instead of starting another") {
				t.Errorf("the cancelled run does not say its migration goes on:\n%s", out.String())
			}

			again := w.run(t, inputs)
			if again.err != nil || again.outputs["status"] != "succeeded" {
				t.Fatalf("the re-run: %v, status %q\n%s", again.err, again.outputs["status"], again.log)
			}
			if tasks := w.bed.Migrations(t, w.name); len(tasks) != 1 {
				t.Errorf("the migration ran %d times (%v), want once", len(tasks), tasks)
			}
			if !strings.Contains(again.log, "running already: following it to its end instead of starting another") {
				t.Errorf("the re-run does not say it followed the first run's migration:\n%s", again.log)
			}
		})
	}
}
