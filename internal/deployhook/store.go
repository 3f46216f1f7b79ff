package deployhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
	// the job's holder gets ErrNotHolder.
	PutJob(ctx context.Context, j Job, ttl time.Duration) error
	// GetJob reads a job any replica saved.
	GetJob(ctx context.Context, id string) (Job, bool, error)
	// RenewJob extends holder's lease on an unfinished job to ttl from now
	// (0 hands it back at once); ErrNotHolder when another replica took it.
	RenewJob(ctx context.Context, id, holder string, ttl time.Duration) error
	// OrphanJobs are the unfinished jobs whose holder's lease has expired.
	OrphanJobs(ctx context.Context) ([]Job, error)
	// TakeJob makes holder the holder of j, an orphan held by j.Holder,
	// for ttl; false when its lease was renewed or another replica took it
	// first.
	TakeJob(ctx context.Context, j Job, holder string, ttl time.Duration) (bool, error)
	// Lock makes holder the one replica deploying target until ttl passes
	// or it unlocks; false when another holder has it.
	Lock(ctx context.Context, target, holder string, ttl time.Duration) (bool, error)
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

// DynamoStore keeps the shared state in one DynamoDB table whose partition
// key is the string attribute pk. Every write that decides something is
// conditional, so two replicas racing for a delivery or a target cannot
// both win. Items carry expires (epoch seconds) for DynamoDB's TTL.
type DynamoStore struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
}

// NewDynamoStore returns a store in table.
func NewDynamoStore(db DynamoDBAPI, table string) *DynamoStore {
	return &DynamoStore{db: db, table: table, now: time.Now}
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
// for) and its holder's lease.
func (d *DynamoStore) PutJob(ctx context.Context, j Job, ttl time.Duration) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	now := d.now()
	item := map[string]types.AttributeValue{
		"pk": str("job#" + j.ID), "job": str(string(raw)), "version": num(j.Version), "expires": d.expires(jobLife),
		"holder": str(j.Holder), "lease": num(now.Add(ttl).UnixMilli()),
	}
	if !j.State.Done() {
		item["open"] = num(1)
	}
	_, err = d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR (version < :v AND (holder = :me OR attribute_not_exists(holder)))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(j.Version), ":me": str(j.Holder)},
	})
	if isConditionFailed(err) {
		return d.stillHolder(ctx, j.ID, j.Holder)
	}
	if err != nil {
		return fmt.Errorf("save job %s: %w", j.ID, err)
	}
	return nil
}

// stillHolder says, after a conditional write to a job failed, whether it
// failed because another replica holds the job (ErrNotHolder) or for a
// reason that needs nothing (a newer version is there, the job is done).
func (d *DynamoStore) stillHolder(ctx context.Context, id, holder string) error {
	out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: map[string]types.AttributeValue{"pk": str("job#" + id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("read job %s: %w", id, err)
	}
	if h, ok := out.Item["holder"].(*types.AttributeValueMemberS); ok && h.Value != holder {
		return fmt.Errorf("job %s: %w (%s)", id, ErrNotHolder, h.Value)
	}
	return nil
}

// RenewJob moves the lease of job#id while holder has it and it is open.
func (d *DynamoStore) RenewJob(ctx context.Context, id, holder string, ttl time.Duration) error {
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{"pk": str("job#" + id)},
		UpdateExpression:          aws.String("SET lease = :until"),
		ConditionExpression:       aws.String("attribute_exists(#open) AND holder = :me"),
		ExpressionAttributeNames:  map[string]string{"#open": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": num(d.now().Add(ttl).UnixMilli()), ":me": str(holder)},
	})
	if isConditionFailed(err) {
		return d.stillHolder(ctx, id, holder)
	}
	if err != nil {
		return fmt.Errorf("renew the lease on job %s: %w", id, err)
	}
	return nil
}

// OrphanJobs scans for open jobs whose lease is past. The table holds a
// hook's recent deliveries, jobs and holds, so a scan stays small.
func (d *DynamoStore) OrphanJobs(ctx context.Context) ([]Job, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(d.table),
		FilterExpression:          aws.String("attribute_exists(#open) AND lease < :now"),
		ExpressionAttributeNames:  map[string]string{"#open": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(d.now().UnixMilli())},
		ConsistentRead:            aws.Bool(true),
	}
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
			jobs = append(jobs, j)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return jobs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// TakeJob moves job#id from its expired holder to holder.
func (d *DynamoStore) TakeJob(ctx context.Context, j Job, holder string, ttl time.Duration) (bool, error) {
	now := d.now()
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{"pk": str("job#" + j.ID)},
		UpdateExpression:          aws.String("SET holder = :me, lease = :until"),
		ConditionExpression:       aws.String("attribute_exists(#open) AND holder = :old AND lease < :now"),
		ExpressionAttributeNames:  map[string]string{"#open": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": str(holder), ":old": str(j.Holder), ":until": num(now.Add(ttl).UnixMilli()), ":now": num(now.UnixMilli())},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take job %s over: %w", j.ID, err)
	}
	return true, nil
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

// Lock puts lock#target if it is free, expired, or already the holder's.
func (d *DynamoStore) Lock(ctx context.Context, target, holder string, ttl time.Duration) (bool, error) {
	now := d.now()
	_, err := d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": str("lock#" + target), "holder": str(holder), "until": num(now.Add(ttl).UnixMilli()), "expires": d.expires(ttl + time.Hour),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #until < :now OR holder = :me"),
		ExpressionAttributeNames:  map[string]string{"#until": "until"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":me": str(holder)},
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
