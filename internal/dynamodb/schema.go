package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableDefinition is the jobs table as template.yaml declares it (a template
// test keeps the two in step), for creating it in tests and local runs.
func TableDefinition(table string) *ddb.CreateTableInput {
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []types.KeySchemaElement {
		ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
		if rng != "" {
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	return &ddb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s(AttrJobID), s(AttrStatus), s(AttrOwnerID), s(AttrCreatedAt)},
		KeySchema:            key(AttrJobID, ""),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(IndexByStatus), KeySchema: key(AttrStatus, AttrCreatedAt), Projection: all},
			{IndexName: aws.String(IndexByOwner), KeySchema: key(AttrOwnerID, AttrCreatedAt), Projection: all},
		},
	}
}

// CreateTable creates a table and waits, by polling DescribeTable, until it
// and its indexes are ACTIVE. Some DynamoDB-compatible servers lack the SDK
// waiter's support, hence the hand-rolled poll.
func CreateTable(ctx context.Context, client *ddb.Client, in *ddb.CreateTableInput) error {
	if _, err := client.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
	}
	for {
		out, err := client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: in.TableName})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", aws.ToString(in.TableName), err)
		}
		ready := out.Table.TableStatus == types.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			ready = ready && g.IndexStatus == types.IndexStatusActive
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
