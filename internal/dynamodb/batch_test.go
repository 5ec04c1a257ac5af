package dynamodb_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// faulty wraps the real client and lets a test rewrite BatchGetItem and
// Query answers.
type faulty struct {
	dynamodb.API
	batchCalls atomic.Int32
	// batch, if set, post-processes a real BatchGetItem answer.
	batch func(call int32, in *ddb.BatchGetItemInput, out *ddb.BatchGetItemOutput) *ddb.BatchGetItemOutput
	query func() error
}

func (f *faulty) BatchGetItem(ctx context.Context, in *ddb.BatchGetItemInput, o ...func(*ddb.Options)) (*ddb.BatchGetItemOutput, error) {
	n := f.batchCalls.Add(1)
	out, err := f.API.BatchGetItem(ctx, in, o...)
	if err != nil || f.batch == nil {
		return out, err
	}
	return f.batch(n, in, out), nil
}

func (f *faulty) Query(ctx context.Context, in *ddb.QueryInput, o ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	if f.query != nil {
		if err := f.query(); err != nil {
			return nil, err
		}
	}
	return f.API.Query(ctx, in, o...)
}

func seedJobs(t *testing.T, s *dynamodb.Store, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		j := jobstest.NewJob(fmt.Sprintf("job_%02d", i), "alice")
		if err := s.Create(context.Background(), j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// halve returns out with only every other item kept; the others become
// UnprocessedKeys, as DynamoDB does under throttling.
func halve(table string) func(int32, *ddb.BatchGetItemInput, *ddb.BatchGetItemOutput) *ddb.BatchGetItemOutput {
	return func(_ int32, in *ddb.BatchGetItemInput, out *ddb.BatchGetItemOutput) *ddb.BatchGetItemOutput {
		items := out.Responses[table]
		if len(items) < 2 {
			return out
		}
		var kept, dropped []map[string]types.AttributeValue
		for i, it := range items {
			if i%2 == 0 {
				kept = append(kept, it)
			} else {
				dropped = append(dropped, map[string]types.AttributeValue{"jobId": it["jobId"]})
			}
		}
		ka := in.RequestItems[table]
		ka.Keys = dropped
		return &ddb.BatchGetItemOutput{
			Responses:       map[string][]map[string]types.AttributeValue{table: kept},
			UnprocessedKeys: map[string]types.KeysAndAttributes{table: ka},
		}
	}
}

func TestGetManyRetriesUnprocessedKeys(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	f := &faulty{API: client}
	f.batch = halve(table)
	s := dynamodb.New(f, table)
	ids := seedJobs(t, s, 9)
	got, err := s.GetMany(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, j := range got {
		gotIDs = append(gotIDs, j.ID)
	}
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, ids) {
		t.Errorf("GetMany with UnprocessedKeys = %v, want %v", gotIDs, ids)
	}
	if f.batchCalls.Load() < 4 { // 9 → 4 → 2 → 1 → 0 unprocessed
		t.Errorf("BatchGetItem called %d times; the unprocessed keys were not retried", f.batchCalls.Load())
	}
}

func TestGetManyGivesUpAtTheDeadline(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	f := &faulty{API: client}
	f.batch = func(_ int32, in *ddb.BatchGetItemInput, _ *ddb.BatchGetItemOutput) *ddb.BatchGetItemOutput {
		return &ddb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems} // never makes progress
	}
	s := dynamodb.New(f, table)
	s.Timeout = 300 * time.Millisecond
	ids := seedJobs(t, s, 3)
	got, err := s.GetMany(context.Background(), ids)
	if jobs.ErrorCode(err) != jobs.EUNAVAILABLE || got != nil {
		t.Errorf("GetMany never processed = %v, %v; want no jobs and %s, never a silent subset", got, err, jobs.EUNAVAILABLE)
	}
}

func TestQueryThrottlingIsUnavailable(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	f := &faulty{API: client, query: func() error {
		return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}
	}}
	s := dynamodb.New(f, table)
	_, err := s.Query(context.Background(), jobs.IndexQuery{Owner: "alice", Limit: 5, Now: time.Now()})
	if jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Errorf("throttled Query: %v, want %s", err, jobs.EUNAVAILABLE)
	}
	if _, err := s.Query(context.Background(), jobs.IndexQuery{Limit: 5}); jobs.ErrorCode(err) != jobs.EINTERNAL {
		t.Errorf("Query without owner or status: %v, want %s", err, jobs.EINTERNAL)
	}
}

// TestListingsReportCapacity checks that Query and BatchGetItem report the
// capacity they consumed when asked (benchmarks and metrics read it).
func TestListingsReportCapacity(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	s := dynamodb.New(client, table)
	ops := map[string]bool{}
	s.OnCapacity = func(op string, _ float64) { ops[op] = true }
	ids := seedJobs(t, s, 2)
	if _, err := s.Query(context.Background(), jobs.IndexQuery{Owner: "alice", Limit: 5, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMany(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"Query", "BatchGetItem"} {
		if !ops[op] {
			t.Errorf("no capacity reported for %s", op)
		}
	}
}
