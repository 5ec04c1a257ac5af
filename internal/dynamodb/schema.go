package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTable creates a table (made from template.yaml's definition by
// samtemplate.TableInput) and waits, by polling DescribeTable, until it
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
