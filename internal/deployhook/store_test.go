package deployhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/autonote/deploy-action/internal/testbed"
)

var motoServer testbed.LazyMoto

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

// newTable makes a table in moto's DynamoDB as the docs say to make it.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	bed := testbed.New(t, motoServer.Get(t))
	_, name, err := bed.HookTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The store runs as the hook's role: the jobs policy of the docs.
	jobs, err := testbed.JobsPolicy(name)
	if err != nil {
		t.Fatal(err)
	}
	hook, err := bed.HookRole(context.Background(), "hook-"+name, jobs)
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(hook.Config()), name
}

func TestDynamoStore(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	s := deployhook.NewDynamoStore(db, table)
	ctx := context.Background()

	if owner, err := s.Claim(ctx, "delivery-1", "job_a"); err != nil || owner != "job_a" {
		t.Fatalf("first claim = %q, %v", owner, err)
	}
	if owner, err := s.Claim(ctx, "delivery-1", "job_b"); err != nil || owner != "job_a" {
		t.Errorf("second claim = %q, %v; want job_a", owner, err)
	}

	newer := deployhook.Job{Job: hookapi.Job{ID: "job_a", State: deployhook.StateSucceeded, Version: 5}}
	older := deployhook.Job{Job: hookapi.Job{ID: "job_a", State: deployhook.StateRunning, Version: 3}}
	if err := s.PutJob(ctx, newer, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.PutJob(ctx, older, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.GetJob(ctx, "job_a"); err != nil || !ok || got.State != deployhook.StateSucceeded {
		t.Errorf("job = %+v, %v, %v; want the newer version kept", got, ok, err)
	}
	if _, ok, _ := s.GetJob(ctx, "job_none"); ok {
		t.Error("found a job never saved")
	}

	if ok, err := s.Lock(ctx, "production", "replica-a", time.Minute); err != nil || !ok {
		t.Fatalf("lock = %v, %v", ok, err)
	}
	if ok, _ := s.Lock(ctx, "production", "replica-b", time.Minute); ok {
		t.Error("replica-b took a target replica-a holds")
	}
	if ok, _ := s.Lock(ctx, "production", "replica-a", time.Minute); !ok {
		t.Error("replica-a could not renew its hold")
	}
	if err := s.Unlock(ctx, "production", "replica-b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Lock(ctx, "production", "replica-b", time.Minute); ok {
		t.Error("an unlock by replica-b freed replica-a's hold")
	}
	s.Unlock(ctx, "production", "replica-a")
	if ok, _ := s.Lock(ctx, "production", "replica-b", time.Millisecond); !ok {
		t.Error("replica-b could not take a freed target")
	}
	time.Sleep(5 * time.Millisecond) // let a 1 ms hold expire: an expired hold is free
	if ok, _ := s.Lock(ctx, "production", "replica-a", time.Minute); !ok {
		t.Error("replica-a could not take an expired hold")
	}
}

// TestJobLeases: an open job whose lease ran out is an orphan, one replica
// takes it (a second, or the old holder, cannot), and the old holder's
// writes to it are refused with ErrNotHolder; a finished job is no orphan.
func TestJobLeases(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	s := deployhook.NewDynamoStore(db, table)
	ctx := context.Background()
	job := deployhook.Job{Job: hookapi.Job{ID: "job_lease", State: deployhook.StateRunning, Holder: "replica-a", Version: 1}}
	done := deployhook.Job{Job: hookapi.Job{ID: "job_done", State: deployhook.StateSucceeded, Holder: "replica-a", Version: 1}}
	for _, j := range []deployhook.Job{job, done} {
		if err := s.PutJob(ctx, j, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	orphans := func() []string {
		t.Helper()
		js, err := s.OrphanJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range js {
			ids = append(ids, j.ID+"@"+j.Holder)
		}
		return ids
	}
	if got := orphans(); len(got) != 0 {
		t.Errorf("orphans while the lease holds: %v", got)
	}
	if err := s.RenewJob(ctx, "job_lease", "replica-a", 0); err != nil { // handed back
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if got := orphans(); !slices.Equal(got, []string{"job_lease@replica-a"}) {
		t.Fatalf("orphans = %v, want the running job alone", got)
	}
	if ok, err := s.TakeJob(ctx, job, "replica-b", time.Minute); err != nil || !ok {
		t.Fatalf("replica-b's take = %v, %v", ok, err)
	}
	if ok, _ := s.TakeJob(ctx, job, "replica-c", time.Minute); ok {
		t.Error("replica-c took a job replica-b had just taken")
	}
	if err := s.RenewJob(ctx, "job_lease", "replica-a", time.Minute); !errors.Is(err, deployhook.ErrNotHolder) {
		t.Errorf("the old holder's renewal = %v, want ErrNotHolder", err)
	}
	job.Version = 2
	if err := s.PutJob(ctx, job, time.Minute); !errors.Is(err, deployhook.ErrNotHolder) {
		t.Errorf("the old holder's write = %v, want ErrNotHolder", err)
	}
	taken := job
	taken.Holder, taken.Version, taken.State = "replica-b", 3, deployhook.StateSucceeded
	if err := s.PutJob(ctx, taken, time.Minute); err != nil {
		t.Fatalf("the new holder's write: %v", err)
	}
	if err := s.RenewJob(ctx, "job_lease", "replica-b", 0); err != nil {
		t.Fatal(err)
	}
	if got := orphans(); len(got) != 0 {
		t.Errorf("orphans once the job is done: %v", got)
	}
}

// TestTwoReplicas runs two hooks on one table: a delivery sent to both
// makes one job, a job made by one is read through the other, and two
// deploys of one target sent to different replicas never run at once.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	r := &fakeRunner{}
	r.run = func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		time.Sleep(100 * time.Millisecond)
		return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
	}
	cfg, _ := deployhook.ParseConfig([]byte(testConfig), "test")
	var hooks []*hook
	for _, id := range []string{"replica-a", "replica-b"} {
		s, err := deployhook.NewServer(cfg, r, deployhook.WithStore(deployhook.NewDynamoStore(db, table), id), deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithLockPoll(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		hooks = append(hooks, &hook{srv: srv, server: s, runner: r, secret: mustSecrets(t, current)[0]})
	}
	a, b := hooks[0], hooks[1]

	body := `{"target":"production","sha":"` + strings.Repeat("a", 40) + `"}`
	first := decode(t, a.post(t, body, withID(a, "msg_shared", body)))
	second := decode(t, b.post(t, body, withID(b, "msg_shared", body)))
	if first["id"] != second["id"] {
		t.Errorf("one delivery made jobs %v and %v", first["id"], second["id"])
	}
	other := decode(t, b.post(t, `{"target":"production","sha":"`+strings.Repeat("b", 40)+`"}`, nil))
	for _, id := range []string{first["id"].(string), other["id"].(string)} {
		if j := b.waitJob(t, id); j.State != deployhook.StateSucceeded {
			t.Errorf("job %s = %s through replica b", id, j.State)
		}
		if j := a.waitJob(t, id); j.State != deployhook.StateSucceeded {
			t.Errorf("job %s = %s through replica a", id, j.State)
		}
	}
	if got := r.maxSeen.Load(); got != 1 {
		t.Errorf("%d deploys of one target ran at once across replicas, want 1", got)
	}
	if n := r.calls.Load(); n != 2 {
		t.Errorf("runner ran %d jobs, want 2", n)
	}
}

// withID signs a request under a given webhook-id.
func withID(h *hook, id, body string) func(*http.Request) {
	return func(r *http.Request) { h.secret.SignRequest(r, id, time.Now(), []byte(body)) }
}

// TestLostHoldStopsTheJob: while replica a deploys, another replica takes
// the target's hold in the shared table (a's renewals were late). a's job
// stops at its next renewal and says why: two replicas never deploy one
// target at once.
func TestLostHoldStopsTheJob(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	r := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		<-ctx.Done()
		return deployhook.Outcome{State: deployhook.StateFailed}, ctx.Err()
	}}
	cfg, _ := deployhook.ParseConfig([]byte(testConfig), "test")
	s, err := deployhook.NewServer(cfg, r, deployhook.WithStore(deployhook.NewDynamoStore(db, table), "replica-a"), deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithLockPoll(20*time.Millisecond), deployhook.WithLockTTL(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	a := &hook{srv: srv, server: s, runner: r, secret: mustSecrets(t, current)[0]}
	id := decode(t, a.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	for deadline := time.Now().Add(5 * time.Second); r.running.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job never started")
		}
	}
	// Another replica holds the target now.
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "lock#production"}, "holder": &types.AttributeValueMemberS{Value: "replica-b"},
		"until": &types.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(time.Hour).UnixMilli())},
	}}); err != nil {
		t.Fatal(err)
	}
	j := a.waitJob(t, id)
	if j.State != deployhook.StateFailed || !strings.Contains(j.Error, "lost the hold") || !slices.ContainsFunc(j.Events, func(e string) bool { return strings.Contains(e, "another replica holds production") }) {
		t.Errorf("job = %s %q %q, want failed, saying it lost the hold", j.State, j.Error, j.Events)
	}
}

// TestShutdownHandsJobsBack: with a table, a replica stopping past its
// grace hands its jobs back instead of ending them; another replica takes
// them at its next look, carrying the running one on (the runner is told)
// and, past the queued expiry, ending the queued one expired.
func TestShutdownHandsJobsBack(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	cfg, _ := deployhook.ParseConfig([]byte(testConfig), "test")
	blocked := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		<-ctx.Done()
		return deployhook.Outcome{}, ctx.Err()
	}}
	var carried atomic.Bool
	carrier := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		carried.Store(j.CarriedOn())
		return deployhook.Outcome{State: deployhook.StateSucceeded, TaskDefinition: "arn:td:2"}, nil
	}}
	replica := func(id string, r *fakeRunner, opts ...deployhook.Option) *hook {
		s, err := deployhook.NewServer(cfg, r, append([]deployhook.Option{deployhook.WithStore(deployhook.NewDynamoStore(db, table), id),
			deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithLockPoll(20 * time.Millisecond),
			deployhook.WithLockTTL(time.Second), deployhook.WithHeartbeat(100 * time.Millisecond)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		return &hook{srv: srv, server: s, runner: r, secret: mustSecrets(t, current)[0]}
	}
	a := replica("replica-a", blocked)
	running := decode(t, a.post(t, `{"target":"production","sha":"`+strings.Repeat("a", 40)+`"}`, nil))["id"].(string)
	queued := decode(t, a.post(t, `{"target":"production","sha":"`+strings.Repeat("b", 40)+`"}`, nil))["id"].(string)
	for blocked.running.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	left := a.server.Queue().Shutdown(ctx)
	if len(left) != 2 {
		t.Errorf("shutdown left %d jobs, want both handed back: %+v", len(left), left)
	}
	replica("replica-b", carrier, deployhook.WithQueuedExpiry(time.Millisecond))
	store := deployhook.NewDynamoStore(db, table)
	final := func(id string) deployhook.Job {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			j, ok, err := store.GetJob(context.Background(), id)
			if err == nil && ok && j.State.Done() {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s (%v)", id, j.State, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if j := final(running); j.State != deployhook.StateSucceeded || j.Holder != "replica-b" || !carried.Load() {
		t.Errorf("the running job ended %s held by %s, carried on: %v; want succeeded by replica-b, carried on", j.State, j.Holder, carried.Load())
	}
	if j := final(queued); j.State != deployhook.StateExpired || !strings.Contains(j.Error, "nothing was deployed") {
		t.Errorf("the queued job ended %s (%s), want expired", j.State, j.Error)
	}
	if n := carrier.calls.Load(); n != 1 {
		t.Errorf("replica-b ran %d jobs, want the running one alone", n)
	}
}
