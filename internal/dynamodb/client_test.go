package dynamodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

func TestNewClient(t *testing.T) {
	t.Parallel()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "tok")}
	for _, endpoint := range []string{"", "http://127.0.0.1:8000"} {
		o := dynamodb.NewClient(cfg, endpoint).Options()
		if creds, err := o.Credentials.Retrieve(context.Background()); err != nil || creds.AccessKeyID != "AKID" {
			t.Errorf("credentials = %+v, %v; want the settings'", creds, err)
		}
		if o.Region != "eu-west-1" || aws.ToString(o.BaseEndpoint) != endpoint {
			t.Errorf("NewClient(cfg, %q): region %q, endpoint %q; want the settings given", endpoint, o.Region, aws.ToString(o.BaseEndpoint))
		}
	}
}

func TestNewClientReachesTheEndpoint(t *testing.T) {
	t.Parallel()
	_, table := testenv.NewTable(t)
	c := dynamodb.NewClient(testenv.AWSConfig, testenv.Endpoint(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable on the test endpoint: %v", err)
	}
	if got := aws.ToString(out.Table.TableName); got != table {
		t.Errorf("table = %q, want %q", got, table)
	}
}
