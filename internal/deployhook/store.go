package deployhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/autonote/deploy-action/internal/awserr"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Store is what two or more replicas of the hook share: which delivery
// made which job, the jobs themselves, and which replica deploys a target.
// Without one, each replica keeps its own in memory, so run one replica.
type Store interface {
	// Claim records that key (a delivery or webhook id) made job id; when
	// key was claimed before, it returns the job id that claimed it.
	Claim(ctx context.Context, key, id string) (owner string, err error)
	// PutJob saves a job so any replica can answer for it, and renews
	// its holder's lease on it for ttl while it is not done; an older
	// version never replaces a newer one, and a replica that is no longer
	// the job's holder (another took it, whatever its name: j.Token
	// fences it) gets ErrNotHolder. The record always fits the store: past
	// its size, the oldest events are left out of it.
	PutJob(ctx context.Context, j Job, ttl time.Duration) error
	// GetJob reads a job any replica saved.
	GetJob(ctx context.Context, id string) (Job, bool, error)
	// RenewJob extends the lease of the hold token on an unfinished job to
	// ttl from now (0 hands it back at once); ErrNotHolder when another
	// replica took it.
	RenewJob(ctx context.Context, id, token string, ttl time.Duration) error
	// OrphanJobs are the unfinished jobs whose holder's lease expired more
	// than margin ago (by this replica's clock: a clock ahead of the
	// holder's by less than margin takes nothing early).
	OrphanJobs(ctx context.Context, margin time.Duration) ([]Job, error)
	// TakeJob makes holder the holder of j, an orphan held with j.Token,
	// for ttl, under a new token (returned); false when its lease was
	// renewed or another replica took it first.
	TakeJob(ctx context.Context, j Job, holder string, ttl, margin time.Duration) (token string, ok bool, err error)
	// Register makes replica's name its own for ttl, renewed by calling it
	// again with the same token; ErrReplicaTaken when a live replica has
	// the name. Deregister gives it up.
	Register(ctx context.Context, replica, token string, ttl time.Duration) error
	Deregister(ctx context.Context, replica, token string) error
	// Lock makes holder the one replica deploying target until ttl passes
	// or it unlocks; false when another holder has it, or had it until
	// less than margin ago (by this replica's clock).
	Lock(ctx context.Context, target, holder string, ttl, margin time.Duration) (bool, error)
	// Unlock gives target up, if holder has it.
	Unlock(ctx context.Context, target, holder string) error
}

// DynamoDBAPI is the part of the DynamoDB API the store calls.
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ErrNotHolder is a write to a job that another replica took over: the
// writer must let the job go.
var ErrNotHolder = errors.New("another replica holds the job now")

// ErrReplicaTaken is a replica started with the name of one still alive.
var ErrReplicaTaken = errors.New("a live replica has this replica id")

// maxJobRecord bounds a job's record in the store, in bytes of its JSON:
// DynamoDB takes 400 KB an item, counted encoded, with room left for the
// item's other attributes.
const maxJobRecord = 300 << 10

// DynamoStore keeps the shared state in one DynamoDB table whose partition
// key is the string attribute pk. Every write that decides something is
// conditional, so two replicas racing for a delivery or a target cannot
// both win. Items carry expires (epoch seconds) for DynamoDB's TTL.
type DynamoStore struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
	log   *slog.Logger
	// unindexed: the table has no OpenJobsIndex, so OrphanJobs scans it
	// whole (said once).
	unindexed atomic.Bool
}

// OpenJobsIndex is the table's sparse global secondary index on the
// attribute open, which only unfinished jobs carry: a look for jobs to
// take over reads them alone, however many finished jobs and deliveries
// the table holds.
const OpenJobsIndex = "open-jobs"

// NewDynamoStore returns a store in table.
func NewDynamoStore(db DynamoDBAPI, table string) *DynamoStore {
	return &DynamoStore{db: db, table: table, now: time.Now, log: slog.New(slog.DiscardHandler)}
}

// WithLogger makes the store say what it must once (a table without
// OpenJobsIndex); nil: nothing.
func (d *DynamoStore) WithLogger(l *slog.Logger) *DynamoStore {
	if l != nil {
		d.log = l
	}
	return d
}

// WithClock makes the store read now for the time (nil: time.Now): the
// leases it writes and judges are in it.
func (d *DynamoStore) WithClock(now func() time.Time) *DynamoStore {
	if now != nil {
		d.now = now
	}
	return d
}

// How long the shared records live before DynamoDB's TTL may drop them.
const (
	claimLife = 24 * time.Hour
	jobLife   = 7 * 24 * time.Hour
)

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func (d *DynamoStore) expires(life time.Duration) types.AttributeValue {
	return num(d.now().Add(life).Unix())
}

func isConditionFailed(err error) bool {
	var c *types.ConditionalCheckFailedException
	return errors.As(err, &c)
}

// Claim puts claim#key only if it is not there.
func (d *DynamoStore) Claim(ctx context.Context, key, id string) (string, error) {
	_, err := d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                map[string]types.AttributeValue{"pk": str("claim#" + key), "job": str(id), "expires": d.expires(claimLife)},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err == nil {
		return id, nil
	}
	if !isConditionFailed(err) {
		return "", fmt.Errorf("claim delivery %s: %w", key, err)
	}
	out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: map[string]types.AttributeValue{"pk": str("claim#" + key)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read the claim of delivery %s: %w", key, err)
	}
	if v, ok := out.Item["job"].(*types.AttributeValueMemberS); ok {
		return v.Value, nil
	}
	return "", fmt.Errorf("claim of delivery %s has no job", key)
}

// PutJob writes job#id unless a newer version is there or another
// replica holds it. An unfinished job carries open (what OrphanJobs looks
// for), its holder's lease and the token of the hold.
func (d *DynamoStore) PutJob(ctx context.Context, j Job, ttl time.Duration) error {
	raw, err := record(j)
	if err != nil {
		return err
	}
	now := d.now()
	item := map[string]types.AttributeValue{
		"pk": str("job#" + j.ID), "job": str(string(raw)), "version": num(j.Version), "expires": d.expires(jobLife),
		"holder": str(j.Holder), "token": str(j.Token), "lease": num(now.Add(ttl).UnixMilli()),
	}
	if j.Sig != "" {
		item["sig"] = str(j.Sig)
	}
	if !j.State.Done() {
		item["open"] = num(1)
	}
	_, err = d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item:      item,
		ConditionExpression: aws.String("attribute_not_exists(pk) OR (version < :v AND (attribute_not_exists(holder) OR " +
			"(holder = :me AND (#token = :tok OR attribute_not_exists(#token)))))"),
		ExpressionAttributeNames:  map[string]string{"#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(j.Version), ":me": str(j.Holder), ":tok": str(j.Token)},
	})
	if isConditionFailed(err) {
		return d.stillHolder(ctx, j.ID, j.Token)
	}
	if err != nil {
		return fmt.Errorf("save job %s: %w", j.ID, err)
	}
	return nil
}

// record is a job's JSON within maxJobRecord.
func record(j Job) ([]byte, error) { return fit(j, maxJobRecord) }

// fit is a job's JSON within limit bytes: its oldest events are left out,
// as many as the excess takes, with a line saying how many, then, if that
// is not enough, its error is cut. HTML characters stay as they are
// (json.Marshal would write each of <, > and & in 6 bytes).
func fit(j Job, limit int) ([]byte, error) {
	encode := func(v any) ([]byte, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		err := enc.Encode(v)
		return bytes.TrimSpace(b.Bytes()), err
	}
	raw, err := encode(j)
	if err != nil || len(raw) <= limit {
		return raw, err
	}
	const marker = 128 // room for the line that says how many were left out
	over, cut := len(raw)-limit+marker, 0
	for ; cut < len(j.Events) && over > 0; cut++ {
		e, _ := encode(j.Events[cut])
		over -= len(e) + 1 // and its comma
	}
	if cut > 0 {
		j.Events = append([]string{fmt.Sprintf("(%d earlier events are left out: a job's record holds %d KiB)", cut, limit>>10)}, j.Events[cut:]...)
		if raw, err = encode(j); err != nil || len(raw) <= limit {
			return raw, err
		}
	}
	if len(j.Error) > 4<<10 {
		j.Error = j.Error[:4<<10] + " … (cut)"
		if raw, err = encode(j); err != nil || len(raw) <= limit {
			return raw, err
		}
	}
	return nil, fmt.Errorf("job %s does not fit %d KiB even bare", j.ID, limit>>10)
}

// stillHolder says, after a conditional write to a job failed, whether it
// failed because another hold has the job (ErrNotHolder) or for a reason
// that needs nothing (a newer version is there, the job is done).
func (d *DynamoStore) stillHolder(ctx context.Context, id, token string) error {
	out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: map[string]types.AttributeValue{"pk": str("job#" + id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("read job %s: %w", id, err)
	}
	if t, ok := out.Item["token"].(*types.AttributeValueMemberS); ok && t.Value != token {
		h, _ := out.Item["holder"].(*types.AttributeValueMemberS)
		holder := ""
		if h != nil {
			holder = h.Value
		}
		return fmt.Errorf("job %s: %w (%s)", id, ErrNotHolder, holder)
	}
	return nil
}

// RenewJob moves the lease of job#id while the hold token has it and it
// is open.
func (d *DynamoStore) RenewJob(ctx context.Context, id, token string, ttl time.Duration) error {
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{"pk": str("job#" + id)},
		UpdateExpression:          aws.String("SET lease = :until"),
		ConditionExpression:       aws.String("attribute_exists(#open) AND #token = :tok"),
		ExpressionAttributeNames:  map[string]string{"#open": "open", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": num(d.now().Add(ttl).UnixMilli()), ":tok": str(token)},
	})
	if isConditionFailed(err) {
		return d.stillHolder(ctx, id, token)
	}
	if err != nil {
		return fmt.Errorf("renew the lease on job %s: %w", id, err)
	}
	return nil
}

// OrphanJobs reads the open jobs, from OpenJobsIndex (a table without it
// is scanned whole, and says so once), and keeps those whose lease is past
// by margin. The index is eventually consistent: a job read stale is only
// taken by TakeJob's conditional write, which reads the table itself.
func (d *DynamoStore) OrphanJobs(ctx context.Context, margin time.Duration) ([]Job, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(d.table),
		FilterExpression:          aws.String("attribute_exists(#open) AND lease < :now"),
		ExpressionAttributeNames:  map[string]string{"#open": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(d.now().Add(-margin).UnixMilli())},
	}
	if !d.unindexed.Load() {
		in.IndexName = aws.String(OpenJobsIndex)
	}
	jobs, err := d.scanJobs(ctx, in)
	if err == nil || in.IndexName == nil {
		return jobs, err
	}
	var why string
	switch {
	case awserr.AccessDenied(err):
		why = "the hook's role may not read the table's " + OpenJobsIndex + " index: add table/" + d.table + "/index/" + OpenJobsIndex + " to its jobs policy (docs/deploy-hook.md)"
	case noIndex(err):
		why = "the table has no " + OpenJobsIndex + " index: add it with aws dynamodb update-table --table-name " + d.table +
			" --attribute-definitions AttributeName=open,AttributeType=N --global-secondary-index-updates " +
			`'[{"Create":{"IndexName":"` + OpenJobsIndex + `","KeySchema":[{"AttributeName":"open","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]'`
	default:
		return nil, err
	}
	d.unindexed.Store(true)
	d.log.Warn("each look for jobs to take over reads the whole table: "+why, "table", d.table)
	in.IndexName, in.ConsistentRead = nil, aws.Bool(true)
	return d.scanJobs(ctx, in)
}

// noIndex reports whether err is DynamoDB's word for an index the table
// does not have.
func noIndex(err error) bool {
	var nf *types.ResourceNotFoundException
	var api smithy.APIError
	return errors.As(err, &nf) || errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "index")
}

// scanJobs reads the jobs a scan finds, page by page.
func (d *DynamoStore) scanJobs(ctx context.Context, in *dynamodb.ScanInput) ([]Job, error) {
	var jobs []Job
	for {
		out, err := d.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("look for jobs left by other replicas: %w", err)
		}
		for _, item := range out.Items {
			v, ok := item["job"].(*types.AttributeValueMemberS)
			var j Job
			if !ok || json.Unmarshal([]byte(v.Value), &j) != nil {
				continue
			}
			if h, ok := item["holder"].(*types.AttributeValueMemberS); ok {
				j.Holder = h.Value
			}
			if t, ok := item["token"].(*types.AttributeValueMemberS); ok {
				j.Token = t.Value
			}
			if sig, ok := item["sig"].(*types.AttributeValueMemberS); ok {
				j.Sig = sig.Value
			}
			jobs = append(jobs, j)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return jobs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// TakeJob moves job#id from its expired hold to holder, under a new token.
func (d *DynamoStore) TakeJob(ctx context.Context, j Job, holder string, ttl, margin time.Duration) (string, bool, error) {
	now := d.now()
	token := newToken()
	cond := "attribute_exists(#open) AND lease < :now AND (#token = :old OR (attribute_not_exists(#token) AND holder = :oldHolder))"
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(d.table),
		Key:                      map[string]types.AttributeValue{"pk": str("job#" + j.ID)},
		UpdateExpression:         aws.String("SET holder = :me, #token = :tok, lease = :until"),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#open": "open", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": str(holder), ":tok": str(token), ":old": str(j.Token), ":oldHolder": str(j.Holder),
			":until": num(now.Add(ttl).UnixMilli()), ":now": num(now.Add(-margin).UnixMilli())},
	})
	if isConditionFailed(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("take job %s over: %w", j.ID, err)
	}
	return token, true, nil
}

// Register puts replica#name if it is free, expired, or this token's.
func (d *DynamoStore) Register(ctx context.Context, replica, token string, ttl time.Duration) error {
	now := d.now()
	_, err := d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{"pk": str("replica#" + replica), "token": str(token), "until": num(now.Add(ttl).UnixMilli()),
			"expires": d.expires(ttl + time.Hour)},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #until < :now OR #token = :tok"),
		ExpressionAttributeNames:  map[string]string{"#until": "until", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":tok": str(token)},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("replica id %s: %w", replica, ErrReplicaTaken)
	}
	if err != nil {
		return fmt.Errorf("register replica %s: %w", replica, err)
	}
	return nil
}

// Deregister deletes replica#name if this token has it.
func (d *DynamoStore) Deregister(ctx context.Context, replica, token string) error {
	_, err := d.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{"pk": str("replica#" + replica)},
		ConditionExpression:       aws.String("#token = :tok"),
		ExpressionAttributeNames:  map[string]string{"#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tok": str(token)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("deregister replica %s: %w", replica, err)
	}
	return nil
}

// newToken is a random token of a hold.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// GetJob reads job#id.
func (d *DynamoStore) GetJob(ctx context.Context, id string) (Job, bool, error) {
	out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: map[string]types.AttributeValue{"pk": str("job#" + id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Job{}, false, fmt.Errorf("read job %s: %w", id, err)
	}
	v, ok := out.Item["job"].(*types.AttributeValueMemberS)
	if !ok {
		return Job{}, false, nil
	}
	var j Job
	if err := json.Unmarshal([]byte(v.Value), &j); err != nil {
		return Job{}, false, fmt.Errorf("decode job %s: %w", id, err)
	}
	return j, true, nil
}

// Lock puts lock#target if it is free, expired by margin, or already the
// holder's.
func (d *DynamoStore) Lock(ctx context.Context, target, holder string, ttl, margin time.Duration) (bool, error) {
	now := d.now()
	_, err := d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": str("lock#" + target), "holder": str(holder), "until": num(now.Add(ttl).UnixMilli()), "expires": d.expires(ttl + time.Hour),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #until < :now OR holder = :me"),
		ExpressionAttributeNames:  map[string]string{"#until": "until"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Add(-margin).UnixMilli()), ":me": str(holder)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock target %s: %w", target, err)
	}
	return true, nil
}

// Unlock deletes lock#target if holder has it.
func (d *DynamoStore) Unlock(ctx context.Context, target, holder string) error {
	_, err := d.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{"pk": str("lock#" + target)},
		ConditionExpression:       aws.String("holder = :me"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": str(holder)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("unlock target %s: %w", target, err)
	}
	return nil
}
