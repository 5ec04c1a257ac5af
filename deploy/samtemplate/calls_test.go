package samtemplate_test

// The IAM of the functions that reach DynamoDB through the jobs service's
// read-modify-write and listing paths is only right if it covers every call
// their code makes. These tests run each such function's use cases on the
// adapter the function links (over the embedded engine, the table as
// template.yaml defines it), record the DynamoDB operations and indexes
// used, and require each to be in the function's wantGrants.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/dev/embeddeddb"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// callRecorder is a dynamodb.API that records each operation (and the
// index of each Query) before passing it on.
type callRecorder struct {
	dynamodb.API
	mu    sync.Mutex
	calls map[string]bool // "dynamodb:Query" and "dynamodb:Query index/byStatus"
}

func (c *callRecorder) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op] = true
}

func (c *callRecorder) GetItem(ctx context.Context, in *ddb.GetItemInput, o ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	c.add("dynamodb:GetItem")
	return c.API.GetItem(ctx, in, o...)
}

func (c *callRecorder) PutItem(ctx context.Context, in *ddb.PutItemInput, o ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	c.add("dynamodb:PutItem")
	return c.API.PutItem(ctx, in, o...)
}

func (c *callRecorder) Query(ctx context.Context, in *ddb.QueryInput, o ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	c.add("dynamodb:Query")
	c.add("dynamodb:Query index/" + aws.ToString(in.IndexName))
	return c.API.Query(ctx, in, o...)
}

func (c *callRecorder) BatchGetItem(ctx context.Context, in *ddb.BatchGetItemInput, o ...func(*ddb.Options)) (*ddb.BatchGetItemOutput, error) {
	c.add("dynamodb:BatchGetItem")
	return c.API.BatchGetItem(ctx, in, o...)
}

// granted reports whether wantGrants lets fn make the recorded call.
func granted(fn, call string) bool {
	action, index, _ := strings.Cut(call, " ")
	resources, ok := wantGrants[fn][action]
	if !ok {
		return false
	}
	if index == "" {
		return true
	}
	return slices.Contains(resources, `!Sub "${JobsTable.Arn}/`+index+`"`)
}

// TestDirectFunctionsCallOnlyWhatTheyAreGranted runs SweepJobsFn's and
// WorkerCheckFn's work as their mains wire it (cmd/sweepjobs: a Service
// whose Index is the store; cmd/checkjob: a Service on the store).
func TestDirectFunctionsCallOnlyWhatTheyAreGranted(t *testing.T) {
	t.Parallel()
	engine, err := embeddeddb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close(context.Background()) })
	ctx := context.Background()
	client := engine.Client()
	newStore := func(t *testing.T, rec *callRecorder) *dynamodb.Store {
		t.Helper()
		name := fmt.Sprintf("Jobs-calls-%d", time.Now().UnixNano())
		in, err := testenv.JobsTableInput(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := embeddeddb.EnsureTable(ctx, client, in, false); err != nil {
			t.Fatal(err)
		}
		rec.API = client
		store := dynamodb.New(rec, name)
		// The world both functions meet: a job nobody picked up, a running
		// one gone silent, a running one alive.
		stuck, silent, alive := jobstest.NewJob("job_stuck", "a"), jobstest.NewJob("job_silent", "b"), jobstest.NewJob("job_alive", "c")
		silent.Status, silent.StartedAt = jobs.Processing, jobstest.T0.Add(time.Hour)
		alive.Status, alive.StartedAt, alive.HeartbeatAt = jobs.Processing, jobstest.T0.Add(time.Hour), jobstest.T0.Add(2*time.Hour)
		for _, j := range []jobs.Job{stuck, silent, alive} {
			if err := store.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		return store
	}
	now := func() time.Time { return jobstest.T0.Add(2*time.Hour + time.Minute) }

	t.Run("SweepJobsFn", func(t *testing.T) {
		rec := &callRecorder{calls: map[string]bool{}}
		store := newStore(t, rec)
		svc := &jobs.Service{Store: store, Index: store, Now: now}
		res, err := svc.Sweep(ctx, jobs.SweepOptions{})
		if err != nil || res.Changed[jobs.ReasonQueueTimeout] != 1 || res.Changed[jobs.ReasonHeartbeatTimeout] != 1 {
			t.Fatalf("Sweep = %+v, %v; want the stuck and the silent job ended", res, err)
		}
		for call := range rec.calls {
			if !granted("SweepJobsFn", call) {
				t.Errorf("SweepJobsFn makes %s, which its role is not granted", call)
			}
		}
	})
	t.Run("WorkerCheckFn", func(t *testing.T) {
		rec := &callRecorder{calls: map[string]bool{}}
		svc := &jobs.Service{Store: newStore(t, rec), Now: now}
		for _, id := range []string{"job_stuck", "job_silent", "job_alive", "job_unknown"} {
			if _, _, err := svc.Check(ctx, id); err != nil {
				t.Fatalf("Check(%s): %v", id, err)
			}
		}
		for call := range rec.calls {
			if !granted("WorkerCheckFn", call) {
				t.Errorf("WorkerCheckFn makes %s, which its role is not granted", call)
			}
		}
	})
}
