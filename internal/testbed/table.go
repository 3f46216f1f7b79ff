package testbed

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var tables atomic.Int64

// HookTable makes a table for the deploy hook's replicas in moto's
// DynamoDB, as docs/deploy-hook.md says to make it, and returns its client
// and name.
func (b *Bed) HookTable(ctx context.Context) (*dynamodb.Client, string, error) {
	db := dynamodb.NewFromConfig(b.Config())
	name := fmt.Sprintf("deploy-hook-%d", tables.Add(1))
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("open"), AttributeType: types.ScalarAttributeTypeN}},
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("open-jobs"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("open"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
	})
	return db, name, err
}

// PlainHookTable makes a hook table as the docs said before the open-jobs
// index: one an upgrade finds.
func (b *Bed) PlainHookTable(ctx context.Context) (*dynamodb.Client, string, error) {
	db := dynamodb.NewFromConfig(b.Config())
	name := fmt.Sprintf("deploy-hook-plain-%d", tables.Add(1))
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	return db, name, err
}
