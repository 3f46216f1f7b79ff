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
	// PutJob saves a job so any replica can answer for it; an older
	// version never replaces a newer one.
	PutJob(ctx context.Context, j Job) error
	// GetJob reads a job any replica saved.
	GetJob(ctx context.Context, id string) (Job, bool, error)
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
}

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

// PutJob writes job#id unless a newer version is there.
func (d *DynamoStore) PutJob(ctx context.Context, j Job) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	_, err = d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": str("job#" + j.ID), "job": str(string(raw)), "version": num(j.Version), "expires": d.expires(jobLife),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR version < :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(j.Version)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("save job %s: %w", j.ID, err)
	}
	return nil
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
