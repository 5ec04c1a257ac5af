package embeddeddb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/embeddeddb"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

var engine *embeddeddb.Server

func TestMain(m *testing.M) {
	var err error
	engine, err = embeddeddb.Start("127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := engine.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	os.Exit(code)
}

// repoTable is the jobs table as template.yaml defines it, under a unique
// name so that tests sharing the engine do not share data.
func repoTable(t *testing.T) *ddb.CreateTableInput {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: map[string]string{
		"Stage": "t" + hex.EncodeToString(b[:]), "RestApiId": "local00api", "JobsResourceId": "v1jobs0001",
		"CognitoUserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_local",
		"PipelineQueueName":  "local",
	}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := samtemplate.TableInput(tpl, r, "JobsTable")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestStoreContract runs the job-store contract against the production
// DynamoDB adapter on the embedded engine, with the table made from the
// template, exactly as the local server sets it up.
func TestStoreContract(t *testing.T) {
	jobstest.TestStore(t, func(t *testing.T) jobs.Store {
		in := repoTable(t)
		client := engine.Client()
		created, err := embeddeddb.EnsureTable(context.Background(), client, in, false)
		if err != nil || !created {
			t.Fatalf("EnsureTable = %v, %v; want created", created, err)
		}
		return dynamodb.New(client, aws.ToString(in.TableName))
	})
}

// TestIndexContract runs the index contract (owner and sharded status
// listings) on the embedded engine, which `make run` lists through.
func TestIndexContract(t *testing.T) {
	jobstest.TestIndex(t, func(t *testing.T) jobstest.Backend {
		in := repoTable(t)
		client := engine.Client()
		if _, err := embeddeddb.EnsureTable(context.Background(), client, in, false); err != nil {
			t.Fatal(err)
		}
		s := dynamodb.New(client, aws.ToString(in.TableName))
		return jobstest.Backend{Store: s, Index: s, ShardOf: dynamodb.ShardOf, Shards: dynamodb.StatusShards}
	})
}

func TestEnsureTableIsIdempotent(t *testing.T) {
	t.Parallel()
	in := repoTable(t)
	ctx := context.Background()
	client := engine.Client()
	for i, want := range []bool{true, false} {
		created, err := embeddeddb.EnsureTable(ctx, client, in, false)
		if err != nil || created != want {
			t.Errorf("call %d: EnsureTable = %v, %v; want %v", i+1, created, err, want)
		}
	}
	out, err := client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		t.Fatal(err)
	}
	var idx []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		idx = append(idx, aws.ToString(g.IndexName))
	}
	sort.Strings(idx)
	if want := []string{dynamodb.IndexByOwner, dynamodb.IndexByStatus}; !reflect.DeepEqual(idx, want) {
		t.Errorf("indexes = %v, want %v", idx, want)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", ":0", "nonsense"} {
		if s, err := embeddeddb.Start(addr); err == nil {
			_ = s.Close(context.Background())
			t.Errorf("Start(%q) succeeded, want an error", addr)
		}
	}
}
