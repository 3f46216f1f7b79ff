package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// clockAhead runs a test's replica with its clock this far ahead.
const clockAhead = "DEPLOY_HOOK_TEST_CLOCK_AHEAD"

// migrationStack is a service and the hook config of it.
type migrationStack struct {
	cfgFile, build, name, table string
	db                          *dynamodb.Client // the table's
}

// migrationTarget seeds a service whose container logs to /ecs/<name>,
// and writes a hook config whose one target runs `npm run <script>` before
// each deploy, a build to deploy, and the table the replicas share.
func migrationTarget(t *testing.T, bed *testbed.Bed, prefix, script string) migrationStack {
	t.Helper()
	ctx := context.Background()
	db, table, err := bed.HookTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := prefix + "-" + table
	build := testbed.SHA()
	for _, sha := range []string{"first", build} {
		if _, err := bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cloudwatchlogs.NewFromConfig(bed.Config()).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/" + name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := bed.Seed(ctx, testbed.Service{Cluster: name, Service: name, Family: name, DesiredCount: 1, Public: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(bed.Registry + "/autonote/server:first"), Essential: aws.Bool(true),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/" + name, "awslogs-region": testbed.Region, "awslogs-stream-prefix": "ecs"}}}}}); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "hook.yaml")
	cfg := fmt.Sprintf(`targets:
  production:
    region: us-east-1
    cluster: %s
    service: %s
    ecr-repository: autonote/server
    registry: %s
    pre-deploy-command: [npm, run, %s]
    pre-deploy-timeout: 1m
`, name, name, bed.Registry, script)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return migrationStack{cfgFile: cfgFile, build: build, name: name, table: table, db: db}
}

func takenOver(j deployhook.Job) bool {
	return slices.ContainsFunc(j.Events, func(e string) bool { return strings.Contains(e, "taken over") })
}

// TestLoudFailedMigrationEndsOnce: a migration that prints 2,000 query log
// lines full of < and & (past DynamoDB's 400 KB item, as json.Marshal
// would write them) and fails. Its job ends failed once, its end lands in
// the table, no replica ever takes it over, and the migration ran once.
func TestLoudFailedMigrationEndsOnce(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(200*time.Millisecond))
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf(`query: SELECT "n"."id", "n"."title", "n"."body" FROM "notes" "n" LEFT JOIN "tags" "t" ON "t"."note_id" = "n"."id" `+
			`WHERE "n"."owner" = $1 AND "n"."rank" <> $2 AND ("n"."a" < $3 OR "n"."b" > $4) AND "t"."name" <> '' -- <%d> & more`, i))
	}
	bed.Sim.SetTaskScenario("migrate-loud", ecssim.TaskScenario{Lines: lines, ExitCode: 1})
	st := migrationTarget(t, bed, "loud", "migrate-loud")
	cfgFile, build, name, table := st.cfgFile, st.build, st.name, st.table
	leases := []string{"-dynamodb-table", table, "-lease", "1500ms", "-heartbeat", "250ms", "-grace", "1s"}
	env := hookRole(t, bed, cfgFile, leases).Env()
	env["DEPLOY_HOOK_SECRETS"] = secret
	a, _, logA := startReplica(t, env, cfgFile, append(leases, "-replica-id", "replica-a")...)
	_, _, logB := startReplica(t, env, cfgFile, append(leases, "-replica-id", "replica-b")...)
	bed.Sim.ResetCalls()

	id := postDeploy(t, a, build)
	j := waitFinal(t, a, id)
	if j.State != deployhook.StateFailed || !strings.Contains(j.Error, "pre-deploy command failed") {
		t.Fatalf("job ended %s: %s\n%s", j.State, j.Error, logA.String())
	}
	time.Sleep(4500 * time.Millisecond) // three leases: a job left open would be taken over by now
	saved := getJobFromTable(t, st.db, table, id)
	if saved.State != deployhook.StateFailed || saved.Holder != "replica-a" || takenOver(saved) {
		t.Errorf("the table holds the job %s by %q (taken over: %v), want failed by replica-a, never taken over\nreplica-b:\n%s", saved.State, saved.Holder, takenOver(saved), logB.String())
	}
	if !slices.ContainsFunc(saved.Events, func(e string) bool { return strings.Contains(e, "task: query: SELECT") }) {
		t.Errorf("the saved job keeps none of the migration's lines: %d events", len(saved.Events))
	}
	if strings.Contains(logA.String()+logB.String(), "could not save") {
		t.Errorf("a save of the job failed:\n%s", logA.String())
	}
	if tasks := bed.Migrations(t, name); len(tasks) != 1 {
		t.Errorf("the migration ran %d times, want once", len(tasks))
	}
	if calls := bed.Sim.Calls(); calls["UpdateService"] != 0 {
		t.Errorf("a build whose migration failed was deployed: %v", calls)
	}
}

// TestClockAheadTakesNoLiveJob: a replica whose clock runs 4.5s ahead
// would see the holder's 6s lease, renewed every 2s, run out 1.5s after
// each renewal, and it looks every 100ms; within the margin (a third of the
// lease) it takes nothing, and the job has one holder, one migration and
// one deploy.
func TestClockAheadTakesNoLiveJob(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t), ecssim.WithDuration(200*time.Millisecond))
	bed.Sim.SetTaskScenario("migrate-slow", ecssim.TaskScenario{Lines: []string{"applying 0044_notes_tags"}, After: 8 * time.Second})
	st := migrationTarget(t, bed, "skew", "migrate-slow")
	cfgFile, build, name, table := st.cfgFile, st.build, st.name, st.table
	leases := []string{"-dynamodb-table", table, "-lease", "6s", "-grace", "1s"}
	env := hookRole(t, bed, cfgFile, leases).Env()
	env["DEPLOY_HOOK_SECRETS"] = secret
	a, _, _ := startReplica(t, env, cfgFile, append(leases, "-heartbeat", "2s", "-replica-id", "replica-a")...)
	env[clockAhead] = "4500ms"
	_, _, logB := startReplica(t, env, cfgFile, append(leases, "-heartbeat", "100ms", "-replica-id", "replica-b")...)
	bed.Sim.ResetCalls()

	id := postDeploy(t, a, build)
	j := waitFinal(t, a, id)
	if j.State != deployhook.StateSucceeded || j.Holder != "replica-a" || takenOver(j) {
		t.Errorf("job ended %s by %q (taken over: %v), want succeeded by replica-a alone: %s\n%s\nreplica-b:\n%s", j.State, j.Holder, takenOver(j), j.Error, strings.Join(j.Events, "\n"), logB.String())
	}
	if tasks := bed.Migrations(t, name); len(tasks) != 1 {
		t.Errorf("the migration ran %d times, want once", len(tasks))
	}
	if calls := bed.Sim.Calls(); calls["RegisterTaskDefinition"] != 1 || calls["UpdateService"] != 1 {
		t.Errorf("simulator calls %v: want one registration and one UpdateService", calls)
	}
}

// TestReplicaIDIsOneReplicas: a second replica started with the id of a
// live one does not start, saying which flag to change; a replica killed
// and started again under its id waits for it to free, then serves.
func TestReplicaIDIsOneReplicas(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t))
	st := migrationTarget(t, bed, "twin", "migrate")
	cfgFile, table := st.cfgFile, st.table
	leases := []string{"-dynamodb-table", table, "-lease", "1500ms", "-heartbeat", "250ms", "-grace", "1s", "-replica-id", "replica-a"}
	env := hookRole(t, bed, cfgFile, leases).Env()
	env["DEPLOY_HOOK_SECRETS"] = secret
	_, first, _ := startReplica(t, env, cfgFile, leases...)

	twin := exec.Command(os.Args[0], append([]string{"-config", cfgFile, "-addr", "127.0.0.1:0", "-metrics-addr", ""}, leases...)...)
	twin.Env = []string{asHook + "=1"}
	for k, v := range env {
		twin.Env = append(twin.Env, k+"="+v)
	}
	out, err := twin.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "a live replica has this replica id") || !strings.Contains(string(out), "give each replica its own -replica-id") {
		t.Errorf("a second replica-a: %v\n%s", err, out)
	}

	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	startReplica(t, env, cfgFile, leases...) // fails the test unless healthy in 15s
}
