package deployhook_test

import (
	"context"
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

var tableSeq atomic.Int64

// newTable makes a table in moto's DynamoDB as the docs say to make it.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	bed, err := testbed.Start(motoServer.Get(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bed.Close)
	db := dynamodb.NewFromConfig(bed.Config())
	name := fmt.Sprintf("deploy-hook-%d", tableSeq.Add(1))
	if _, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	return db, name
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
	if err := s.PutJob(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if err := s.PutJob(ctx, older); err != nil {
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
