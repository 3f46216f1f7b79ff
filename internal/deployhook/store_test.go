package deployhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

	if ok, err := s.Lock(ctx, "production", "replica-a", time.Minute, 0); err != nil || !ok {
		t.Fatalf("lock = %v, %v", ok, err)
	}
	if ok, _ := s.Lock(ctx, "production", "replica-b", time.Minute, 0); ok {
		t.Error("replica-b took a target replica-a holds")
	}
	if ok, _ := s.Lock(ctx, "production", "replica-a", time.Minute, 0); !ok {
		t.Error("replica-a could not renew its hold")
	}
	if err := s.Unlock(ctx, "production", "replica-b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Lock(ctx, "production", "replica-b", time.Minute, 0); ok {
		t.Error("an unlock by replica-b freed replica-a's hold")
	}
	s.Unlock(ctx, "production", "replica-a")
	if ok, _ := s.Lock(ctx, "production", "replica-b", time.Millisecond, 0); !ok {
		t.Error("replica-b could not take a freed target")
	}
	time.Sleep(5 * time.Millisecond) // let a 1 ms hold expire: an expired hold is free
	if ok, _ := s.Lock(ctx, "production", "replica-a", time.Minute, 0); !ok {
		t.Error("replica-a could not take an expired hold")
	}
}

// TestJobLeases: an open job whose lease ran out is an orphan, one replica
// takes it under a new token (a second, or the old holder, cannot), and
// the old hold's writes to it are refused with ErrNotHolder, even when the
// new holder has the old one's name (a duplicate or a restart); a finished
// job is no orphan.
func TestJobLeases(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	s := deployhook.NewDynamoStore(db, table)
	ctx := context.Background()
	job := deployhook.Job{Job: hookapi.Job{ID: "job_lease", State: deployhook.StateRunning, Holder: "replica-a", Version: 1}, Token: "token-a"}
	done := deployhook.Job{Job: hookapi.Job{ID: "job_done", State: deployhook.StateSucceeded, Holder: "replica-a", Version: 1}, Token: "token-a"}
	for _, j := range []deployhook.Job{job, done} {
		if err := s.PutJob(ctx, j, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	orphans := func() []deployhook.Job {
		t.Helper()
		js, err := s.OrphanJobs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	if got := orphans(); len(got) != 0 {
		t.Errorf("orphans while the lease holds: %v", got)
	}
	if err := s.RenewJob(ctx, "job_lease", "token-a", 0); err != nil { // handed back
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	got := orphans()
	if len(got) != 1 || got[0].ID != "job_lease" || got[0].Holder != "replica-a" || got[0].Token != "token-a" {
		t.Fatalf("orphans = %+v, want the running job alone, held by replica-a under its token", got)
	}
	// The same name takes it over: a replica restarted, or a second one
	// started under the first one's id.
	token, ok, err := s.TakeJob(ctx, got[0], "replica-a", time.Minute, 0)
	if err != nil || !ok || token == "" || token == "token-a" {
		t.Fatalf("the take = %q, %v, %v; want a new token", token, ok, err)
	}
	if _, ok, _ := s.TakeJob(ctx, got[0], "replica-c", time.Minute, 0); ok {
		t.Error("replica-c took a job that had just been taken")
	}
	if err := s.RenewJob(ctx, "job_lease", "token-a", time.Minute); !errors.Is(err, deployhook.ErrNotHolder) {
		t.Errorf("the old hold's renewal = %v, want ErrNotHolder", err)
	}
	job.Version = 2
	if err := s.PutJob(ctx, job, time.Minute); !errors.Is(err, deployhook.ErrNotHolder) {
		t.Errorf("the old hold's write, under the same name = %v, want ErrNotHolder", err)
	}
	taken := job
	taken.Token, taken.Version, taken.State = token, 3, deployhook.StateSucceeded
	if err := s.PutJob(ctx, taken, time.Minute); err != nil {
		t.Fatalf("the new hold's write: %v", err)
	}
	if err := s.RenewJob(ctx, "job_lease", token, 0); err != nil {
		t.Errorf("renewing a job its holder ended = %v, want nothing to do", err)
	}
	if got := orphans(); len(got) != 0 {
		t.Errorf("orphans once the job is done: %+v", got)
	}
}

// TestClockSkew: a replica whose clock runs ahead of the holder's by less
// than the margin takes neither a job nor a target early, so one job never
// has two holders; past the margin the lease is truly over and it does.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	const lease, margin, skew = time.Minute, 20 * time.Second, 15 * time.Second
	start := time.Now()
	var holderNow, aheadNow atomic.Int64 // nanoseconds past start
	holder := deployhook.NewDynamoStore(db, table).WithClock(func() time.Time { return start.Add(time.Duration(holderNow.Load())) })
	ahead := deployhook.NewDynamoStore(db, table).WithClock(func() time.Time { return start.Add(time.Duration(aheadNow.Load())) })
	at := func(d time.Duration) { holderNow.Store(int64(d)); aheadNow.Store(int64(d + skew)) }
	ctx := context.Background()

	job := deployhook.Job{Job: hookapi.Job{ID: "job_skew", State: deployhook.StateRunning, Holder: "replica-a", Version: 1}, Token: "token-a"}
	if err := holder.PutJob(ctx, job, lease); err != nil {
		t.Fatal(err)
	}
	if ok, err := holder.Lock(ctx, "production", "replica-a", lease, margin); err != nil || !ok {
		t.Fatalf("lock = %v, %v", ok, err)
	}
	// Just past the lease by the clock ahead, within the margin by any.
	at(lease - skew + time.Second)
	if got, err := ahead.OrphanJobs(ctx, margin); err != nil || len(got) != 0 {
		t.Errorf("a clock %v ahead sees orphans %+v (%v) while the holder's lease has %v left", skew, got, err, skew-time.Second)
	}
	if _, ok, _ := ahead.TakeJob(ctx, job, "replica-b", lease, margin); ok {
		t.Errorf("a clock %v ahead took the job while its lease holds", skew)
	}
	if ok, _ := ahead.Lock(ctx, "production", "replica-b", lease, margin); ok {
		t.Errorf("a clock %v ahead took the target while its hold holds", skew)
	}
	if err := holder.RenewJob(ctx, job.ID, job.Token, lease); err != nil {
		t.Errorf("the holder could not renew its lease: %v", err)
	}
	// The holder stopped renewing; past its lease and the margin, the job
	// and the target are free.
	at(2*lease + margin)
	got, err := ahead.OrphanJobs(ctx, margin)
	if err != nil || len(got) != 1 {
		t.Fatalf("orphans past the lease = %+v, %v", got, err)
	}
	if _, ok, err := ahead.TakeJob(ctx, got[0], "replica-b", lease, margin); err != nil || !ok {
		t.Errorf("take past the lease = %v, %v", ok, err)
	}
	if ok, err := ahead.Lock(ctx, "production", "replica-b", lease, margin); err != nil || !ok {
		t.Errorf("lock past the hold = %v, %v", ok, err)
	}
}

// TestReplicaNames: a replica id a live replica has is refused, whatever
// token asks; its own token renews it; once it is given up, or its lease
// ran out, another takes it.
func TestReplicaNames(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	s := deployhook.NewDynamoStore(db, table)
	ctx := context.Background()
	if err := s.Register(ctx, "replica-a", "token-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx, "replica-a", "token-2", time.Minute); !errors.Is(err, deployhook.ErrReplicaTaken) {
		t.Errorf("a second replica-a = %v, want ErrReplicaTaken", err)
	}
	if err := s.Register(ctx, "replica-a", "token-1", time.Millisecond); err != nil {
		t.Errorf("renewal = %v", err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.Register(ctx, "replica-a", "token-2", time.Minute); err != nil {
		t.Errorf("taking an id whose lease ran out = %v", err)
	}
	if err := s.Deregister(ctx, "replica-a", "token-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx, "replica-a", "token-3", time.Minute); !errors.Is(err, deployhook.ErrReplicaTaken) {
		t.Errorf("after the old token gave it up = %v, want still token-2's", err)
	}
	if err := s.Deregister(ctx, "replica-a", "token-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx, "replica-a", "token-3", time.Minute); err != nil {
		t.Errorf("after it was given up = %v", err)
	}
}

// TestRecordFitsTheStore: a job whose events pass DynamoDB's 400 KB item
// (a migration printing HTML-like query logs: json.Marshal would write each
// < in 6 bytes) is saved, with its newest events and its end, and read back.
func TestRecordFitsTheStore(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	s := deployhook.NewDynamoStore(db, table)
	ctx := context.Background()
	line := strings.Repeat(`query <select * from "notes" where id > $1 & owner = $2> `, 4)
	job := deployhook.Job{Job: hookapi.Job{ID: "job_loud", State: deployhook.StateFailed, Holder: "replica-a", Version: 1,
		Error: "pre-deploy command failed: " + strings.Repeat("<", 20000)}, Token: "token-a"}
	for i := range 2000 {
		job.Events = append(job.Events, fmt.Sprintf("%04d task: %s", i, line))
	}
	var plain bytes.Buffer // as small as its JSON gets
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(job); err != nil || plain.Len() < 400<<10 {
		t.Fatalf("the job is %d bytes (%v): not past the item limit, so it proves nothing", plain.Len(), err)
	}
	raw, err := deployhook.Record(job)
	if err != nil || len(raw) > deployhook.MaxJobRecord {
		t.Fatalf("record = %d bytes, %v; want within %d", len(raw), err, deployhook.MaxJobRecord)
	}
	if err := s.PutJob(ctx, job, time.Minute); err != nil {
		t.Fatalf("saving the loud job: %v", err)
	}
	got, ok, err := s.GetJob(ctx, job.ID)
	if err != nil || !ok {
		t.Fatalf("read = %v, %v", ok, err)
	}
	last := got.Events[len(got.Events)-1]
	if got.State != deployhook.StateFailed || !strings.HasPrefix(last, "1999 task: query <select") ||
		!strings.Contains(got.Events[0], "earlier events are left out") || !strings.HasPrefix(got.Error, "pre-deploy command failed: <<<") {
		t.Errorf("read back %s, %d events from %.40q to %.40q, error %.40q", got.State, len(got.Events), got.Events[0], last, got.Error)
	}
	if orphans, _ := s.OrphanJobs(ctx, 0); len(orphans) != 0 {
		t.Errorf("the ended job is open: %d orphans", len(orphans))
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
		return newReplica(t, deployhook.NewDynamoStore(db, table), id, r, opts...)
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
	final := func(id string) deployhook.Job { return waitStored(t, store, id) }
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

// newReplica is a hook sharing store as id, with a lease of a second.
func newReplica(t *testing.T, store deployhook.Store, id string, r deployhook.Runner, opts ...deployhook.Option) *hook {
	t.Helper()
	cfg, _ := deployhook.ParseConfig([]byte(testConfig), "test")
	s, err := deployhook.NewServer(cfg, r, append([]deployhook.Option{deployhook.WithStore(store, id),
		deployhook.WithSecrets(mustSecrets(t, current)...), deployhook.WithLockPoll(20 * time.Millisecond),
		deployhook.WithLockTTL(time.Second), deployhook.WithHeartbeat(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	h := &hook{srv: srv, server: s, secret: mustSecrets(t, current)[0]}
	if f, ok := r.(*fakeRunner); ok {
		h.runner = f
	}
	return h
}

// waitStored waits until the store holds job id ended.
func waitStored(t *testing.T, store deployhook.Store, id string) deployhook.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, ok, err := store.GetJob(context.Background(), id)
		if err == nil && ok && j.State.Done() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s in the store (%v)", id, j.State, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOldRunningJobIsNotCarriedOn: a running job handed back long after
// its deploy began (past the running expiry) ends interrupted at the
// replica that takes it, saying so, and nothing runs it again.
func TestOldRunningJobIsNotCarriedOn(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	store := deployhook.NewDynamoStore(db, table)
	blocked := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		<-ctx.Done()
		return deployhook.Outcome{}, ctx.Err()
	}}
	a := newReplica(t, store, "replica-a", blocked)
	id := decode(t, a.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	for blocked.running.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	a.server.Queue().Shutdown(ctx) // hands it back
	time.Sleep(10 * time.Millisecond)
	carrier := &fakeRunner{}
	newReplica(t, store, "replica-b", carrier, deployhook.WithRunningExpiry(5*time.Millisecond))
	j := waitStored(t, store, id)
	if j.State != deployhook.StateInterrupted || j.Holder != "replica-b" || !strings.Contains(j.Error, "so it was not carried on") {
		t.Errorf("the old running job ended %s by %s: %q; want interrupted by replica-b, saying why", j.State, j.Holder, j.Error)
	}
	if n := carrier.calls.Load(); n != 0 {
		t.Errorf("replica-b ran the old job (%d runs)", n)
	}
}

// flakyStore fails the first writes of a job's end, as a throttled or
// unreachable table would.
type flakyStore struct {
	deployhook.Store
	fails atomic.Int32
}

func (f *flakyStore) PutJob(ctx context.Context, j deployhook.Job, ttl time.Duration) error {
	if j.State.Done() && f.fails.Add(-1) >= 0 {
		return errors.New("ProvisionedThroughputExceededException: the table is throttled")
	}
	return f.Store.PutJob(ctx, j, ttl)
}

// TestJobsEndLands: the first two writes of a job's end fail; it is
// written again, bare (its last events), its lease renewed meanwhile, so
// the table holds its end and another replica never takes it over.
func TestJobsEndLands(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	store := &flakyStore{Store: deployhook.NewDynamoStore(db, table)}
	store.fails.Store(2)
	r := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		for i := range 100 {
			report(fmt.Sprintf("task: migration line %d", i))
		}
		return deployhook.Outcome{State: deployhook.StateFailed}, errors.New("pre-deploy command failed: exit code 1")
	}}
	a := newReplica(t, store, "replica-a", r)
	other := &fakeRunner{}
	newReplica(t, deployhook.NewDynamoStore(db, table), "replica-b", other)
	id := decode(t, a.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	j := waitStored(t, store, id)
	if j.State != deployhook.StateFailed || j.Holder != "replica-a" || !strings.Contains(j.Events[0], "earlier events were left out") ||
		j.Events[len(j.Events)-1] != "task: migration line 99" {
		t.Errorf("the table holds %s by %s, events %q; want failed by replica-a, its last events", j.State, j.Holder, j.Events)
	}
	time.Sleep(3 * time.Second) // past the lease and its margin
	if j, _, _ := store.GetJob(context.Background(), id); j.State != deployhook.StateFailed || j.Holder != "replica-a" || other.calls.Load() != 0 {
		t.Errorf("after three leases the job is %s by %s, replica-b ran %d jobs", j.State, j.Holder, other.calls.Load())
	}
}

// TestGuardFencesALostJob: while replica a runs a job, another hold takes
// it in the table (a's lease looked run out to it). a's runner asks the
// job's Guard before each change: it fails with ErrNotHolder, so a changes
// nothing more, and a lets the job go without writing it.
func TestGuardFencesALostJob(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	store := deployhook.NewDynamoStore(db, table)
	guarded := make(chan error, 1)
	started := make(chan string, 1)
	r := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		started <- j.ID
		for {
			if err := j.Guard(ctx); err != nil {
				guarded <- err
				return deployhook.Outcome{State: deployhook.StateFailed}, err
			}
			select {
			case <-ctx.Done():
				guarded <- context.Cause(ctx)
				return deployhook.Outcome{State: deployhook.StateFailed}, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}}
	a := newReplica(t, store, "replica-a", r, deployhook.WithLockTTL(time.Minute), deployhook.WithHeartbeat(20*time.Second))
	id := decode(t, a.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	<-started
	// Another replica's hold, as TakeJob writes it.
	if _, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(table),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "job#" + id}},
		UpdateExpression:          aws.String("SET holder = :b, #token = :tok"),
		ExpressionAttributeNames:  map[string]string{"#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: "replica-b"}, ":tok": &types.AttributeValueMemberS{Value: "token-b"}},
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-guarded:
		if !errors.Is(err, deployhook.ErrNotHolder) {
			t.Errorf("the guard said %v, want ErrNotHolder", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the guard never failed")
	}
	time.Sleep(100 * time.Millisecond)
	if j, _, _ := store.GetJob(context.Background(), id); j.State != deployhook.StateRunning {
		t.Errorf("the fenced replica wrote the job: %s by %s", j.State, j.Holder)
	}
}

// BenchmarkRecord: what fitting a loud job (2,000 events, 600 KB as
// JSON) into the store's record costs, against json.Marshal of it, the
// peer (which writes a record DynamoDB refuses).
func BenchmarkRecord(b *testing.B) {
	line := strings.Repeat(`query <select * from "notes" where id > $1 & owner = $2> `, 5)
	job := deployhook.Job{Job: hookapi.Job{ID: "job_loud", State: deployhook.StateFailed, Version: 1}}
	for i := range 2000 {
		job.Events = append(job.Events, fmt.Sprintf("%04d task: %s", i, line))
	}
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			raw, _ := json.Marshal(job)
			b.SetBytes(int64(len(raw)))
		}
	})
	b.Run("record", func(b *testing.B) {
		for b.Loop() {
			raw, err := deployhook.Record(job)
			if err != nil || len(raw) > deployhook.MaxJobRecord {
				b.Fatal(len(raw), err)
			}
			b.SetBytes(int64(len(raw)))
		}
	})
}

// scanCounter counts what the store's scans read.
type scanCounter struct {
	deployhook.DynamoDBAPI
	scanned atomic.Int64
}

func (c *scanCounter) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	out, err := c.DynamoDBAPI.Scan(ctx, in, opts...)
	if err == nil {
		c.scanned.Add(int64(out.ScannedCount))
	}
	return out, err
}

// TestOrphanLookReadsOpenJobsOnly: with the table's open-jobs index, a
// look for jobs to take over reads the open jobs alone, however many
// finished ones a flood left; a table made before the index is scanned
// whole, with one warning that says how to add it.
func TestOrphanLookReadsOpenJobsOnly(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t))
	indexed, indexedName, err := bed.HookTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	plain, plainName, err := bed.PlainHookTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		db    *dynamodb.Client
		table string
		read  func(n int64) bool
	}{
		{"indexed", indexed, indexedName, func(n int64) bool { return n == 2 }},
		{"made before the index", plain, plainName, func(n int64) bool { return n >= 202 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var log testbed.SyncBuffer
			db := &scanCounter{DynamoDBAPI: tc.db}
			s := deployhook.NewDynamoStore(db, tc.table).WithLogger(slog.New(slog.NewJSONHandler(&log, nil)))
			for i := range 200 {
				done := deployhook.Job{Job: hookapi.Job{ID: fmt.Sprintf("job_done_%d", i), State: deployhook.StateSuperseded, Holder: "replica-a", Version: 1}, Token: "t"}
				if err := s.PutJob(ctx, done, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range []string{"job_open_1", "job_open_2"} {
				open := deployhook.Job{Job: hookapi.Job{ID: id, State: deployhook.StateRunning, Holder: "replica-a", Version: 1}, Token: "t"}
				if err := s.PutJob(ctx, open, 0); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(5 * time.Millisecond)
			for range 2 {
				got, err := s.OrphanJobs(ctx, 0)
				if err != nil || len(got) != 2 {
					t.Fatalf("orphans = %d, %v; want the two open jobs", len(got), err)
				}
			}
			if n := db.scanned.Load() / 2; !tc.read(n) {
				t.Errorf("a look read %d items", n)
			}
			if warned := strings.Count(log.String(), "reads the whole table"); (tc.table == plainName) != (warned == 1) {
				t.Errorf("warned %d times:\n%s", warned, log.String())
			}
		})
	}
}

// TestReadReplaysAtNoReplica: a signed read, captured and sent again to
// another replica sharing the table, is refused there as it is at the
// first.
func TestReadReplaysAtNoReplica(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	a := newReplica(t, deployhook.NewDynamoStore(db, table), "replica-a", &fakeRunner{})
	b := newReplica(t, deployhook.NewDynamoStore(db, table), "replica-b", &fakeRunner{})
	id := decode(t, a.post(t, `{"target":"production","sha":"`+sha+`"}`, nil))["id"].(string)
	read, _ := http.NewRequest(http.MethodGet, "/v1/deployments/"+id, nil)
	a.secret.SignRequest(read, "msg_captured_read", time.Now(), nil)
	send := func(h *hook) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/deployments/"+id, nil)
		req.Header = read.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(a); code != http.StatusOK {
		t.Fatalf("the read: %d", code)
	}
	if code := send(b); code != http.StatusUnauthorized {
		t.Errorf("the read replayed at another replica: %d, want 401", code)
	}
	if code := send(a); code != http.StatusUnauthorized {
		t.Errorf("the read replayed at the first replica: %d, want 401", code)
	}
}

// TestOnlySignedJobsAreTakenOver: with table keys, a job written into the
// table by someone who may write it, but not signed, is taken over by no
// replica (the runner never sees it); a job a replica signed and handed
// back is carried on by one holding the key, and during a rotation by one
// that signs with the new key and verifies with the old; one without the
// key leaves it.
func TestOnlySignedJobsAreTakenOver(t *testing.T) {
	t.Parallel()
	db, table := newTable(t)
	store := deployhook.NewDynamoStore(db, table)
	oldKey, newKey := bytes.Repeat([]byte("o"), 32), bytes.Repeat([]byte("n"), 32)
	ctx := context.Background()

	// Written by hand into the table: open, its lease long past.
	forged := deployhook.Job{Job: hookapi.Job{ID: "job_forged", Target: "production", SHA: strings.Repeat("e", 40), Source: "api",
		State: deployhook.StateQueued, Holder: "replica-x", Created: time.Now(), Version: 1}, Token: "t"}
	if err := store.PutJob(ctx, forged, 0); err != nil {
		t.Fatal(err)
	}
	blocked := &fakeRunner{run: func(ctx context.Context, j deployhook.Job, report func(string)) (deployhook.Outcome, error) {
		<-ctx.Done()
		return deployhook.Outcome{}, ctx.Err()
	}}
	var logA testbed.SyncBuffer
	a := newReplica(t, store, "replica-a", blocked, deployhook.WithTableKeys(oldKey), deployhook.WithLogger(slog.New(slog.NewJSONHandler(&logA, nil))))
	id := decode(t, a.post(t, `{"target":"staging","sha":"`+sha+`"}`, nil))["id"].(string)
	for blocked.running.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // three looks for orphans
	if n := blocked.calls.Load(); n != 1 {
		t.Errorf("replica-a ran %d jobs, want its own alone (not the forged one)", n)
	}
	if n := strings.Count(logA.String(), "not taking over a job that no replica of this hook signed"); n != 1 || !strings.Contains(logA.String(), `"job":"job_forged"`) {
		t.Errorf("replica-a does not say once that it left the forged job:\n%s", logA.String())
	}
	shut, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	a.server.Queue().Shutdown(shut) // hands its job back

	stranger := &fakeRunner{}
	newReplica(t, store, "replica-b", stranger, deployhook.WithTableKeys(newKey))
	time.Sleep(300 * time.Millisecond)
	if n := stranger.calls.Load(); n != 0 {
		t.Errorf("a replica without the signing key ran %d jobs", n)
	}
	rotated := &fakeRunner{}
	newReplica(t, store, "replica-c", rotated, deployhook.WithTableKeys(newKey, oldKey))
	if j := waitStored(t, store, id); j.State != deployhook.StateSucceeded || j.Holder != "replica-c" {
		t.Errorf("the signed job ended %s by %s, want succeeded by replica-c", j.State, j.Holder)
	}
	if j, _, _ := store.GetJob(ctx, "job_forged"); j.State != deployhook.StateQueued || j.Holder != "replica-x" {
		t.Errorf("the forged job is %s by %s, want left as written", j.State, j.Holder)
	}
}
