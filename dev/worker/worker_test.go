package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/deepfoundai/jobs-api/dev/localsqs"
	"github.com/deepfoundai/jobs-api/dev/worker"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/sqs"
	"github.com/deepfoundai/jobs-api/test/contracttest"
	pub "github.com/deepfoundai/jobs-api/worker"
)

// historyStore records every version of every job written.
type historyStore struct {
	*inmem.Store
	mu      sync.Mutex
	history map[string][]jobs.Job
}

func (s *historyStore) Update(ctx context.Context, j jobs.Job) error {
	if err := s.Store.Update(ctx, j); err != nil {
		return err
	}
	s.mu.Lock()
	s.history[j.ID] = append(s.history[j.ID], j)
	s.mu.Unlock()
	return nil
}

func (s *historyStore) writes(id string) []jobs.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]jobs.Job(nil), s.history[id]...)
}

type fixture struct {
	store *historyStore
	svc   *jobs.Service
	w     *worker.Worker
	sqs   *awssqs.Client
	alice jobs.Caller
}

// newFixture runs the worker as make run does: hand-offs and status events
// on local SQS queues (status events applied by the production consumer
// through a local event source mapping), checks through the local Lambda
// endpoint, with instant steps.
func newFixture(t *testing.T, failureRate, roll float64) *fixture {
	t.Helper()
	store := &historyStore{Store: inmem.NewStore(), history: map[string][]jobs.Job{}}
	log := slog.New(slog.DiscardHandler)
	svc := &jobs.Service{Store: store, Log: log, OutputURLs: jobs.OutputURLs{AllowLoopbackHTTP: true}}
	srv := localsqs.New([]localsqs.QueueConfig{{Name: "pipeline"}, {Name: "status", VisibilityTimeout: time.Second}},
		map[string]localsqs.Function{"WorkerCheckFn": localsqs.JSONFunction[json.RawMessage]((&invoke.CheckHandler{Service: svc, Log: log}).Handle)})
	srv.OnSend = func(queue, body string) { // every message the test sends keeps to the contract
		schema := map[string]string{"pipeline": contracttest.Handoff, "status": contracttest.StatusEvent}[queue]
		contracttest.Valid(t, schema, []byte(body))
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	srv.URL = hs.URL
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	q := awssqs.New(awssqs.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(hs.URL)})
	l := awslambda.New(awslambda.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(hs.URL)})
	svc.Pipeline = sqs.New(q, srv.QueueURL("pipeline"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.EventSource(ctx, "status", 10, 5*time.Second, sqs.NewConsumer(svc, log).Handle)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &fixture{
		store: store, svc: svc, sqs: q, alice: jobs.Caller{Subject: "alice-sub"},
		w: &worker.Worker{
			Queue: q, QueueURL: srv.QueueURL("pipeline"),
			Client:    &pub.Client{SQS: q, StatusQueueURL: srv.QueueURL("status"), Lambda: l, CheckFunction: "WorkerCheckFn"},
			OutputURL: func(id string) string { return "http://127.0.0.1:3000/local/outputs/" + id + ".mp4" },
			Steps:     3, FailureRate: failureRate, Rand: func() float64 { return roll },
			Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
			Log:   log,
		},
	}
}

func (f *fixture) submit(t *testing.T) jobs.Job {
	t.Helper()
	res, err := f.svc.Submit(context.Background(), f.alice, jobs.Spec{Prompt: "a cat surfing"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return res.Job
}

// settled waits until job id satisfies done (the worker's reports travel
// through the status-events queue) and returns it.
func (f *fixture) settled(t *testing.T, id string, done func(jobs.Job) bool) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := f.store.GetLatest(context.Background(), id)
		if err == nil && done(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never settled: %+v, %v", id, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func terminal(j jobs.Job) bool { return j.Status.Terminal() }

// checkForwardOnly asserts the written history never goes back: statuses
// only move along the lifecycle, progress never falls, versions count up.
func checkForwardOnly(t *testing.T, history []jobs.Job) {
	t.Helper()
	rank := map[jobs.Status]int{jobs.Queued: 0, jobs.Processing: 1, jobs.Completed: 2, jobs.Failed: 2, jobs.Cancelled: 2}
	for i := 1; i < len(history); i++ {
		prev, cur := history[i-1], history[i]
		if rank[cur.Status] < rank[prev.Status] || prev.Status.Terminal() {
			t.Errorf("write %d: %s after %s", i, cur.Status, prev.Status)
		}
		if cur.Progress < prev.Progress {
			t.Errorf("write %d: progress %d after %d", i, cur.Progress, prev.Progress)
		}
		if cur.Version != prev.Version+1 {
			t.Errorf("write %d: version %d after %d", i, cur.Version, prev.Version)
		}
	}
}

func TestJobReachesCompleted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0.1, 0.5)
	j := f.submit(t)
	if err := f.w.Process(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	got := f.settled(t, j.ID, terminal)
	h := f.store.writes(j.ID)
	var progress []int
	for _, v := range h {
		progress = append(progress, v.Progress)
	}
	if want := []int{25, 50, 75, 100}; fmt.Sprint(progress) != fmt.Sprint(want) {
		t.Errorf("progress written = %v, want %v", progress, want)
	}
	checkForwardOnly(t, h)
	if got.Status != jobs.Completed || got.OutputURL != "http://127.0.0.1:3000/local/outputs/"+j.ID+".mp4" || got.Progress != 100 || got.CompletedAt.IsZero() {
		t.Errorf("final job = %+v, want COMPLETED with its output URL", got)
	}
}

func TestJobFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0.1, 0.05) // the roll is under the failure rate
	j := f.submit(t)
	if err := f.w.Process(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	got := f.settled(t, j.ID, terminal)
	if got.Status != jobs.Failed || got.Error == nil || got.Error.Code != worker.FailureCode || got.OutputURL != "" {
		t.Errorf("final job = %+v, want FAILED with %s", got, worker.FailureCode)
	}
	checkForwardOnly(t, f.store.writes(j.ID))
}

func TestCancelledWhileQueuedIsNotStarted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	j := f.submit(t)
	if _, err := f.svc.Cancel(context.Background(), f.alice, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.w.Process(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	// The check answered gone before any report: nothing was sent.
	if got := f.store.writes(j.ID); len(got) != 1 || got[0].Status != jobs.Cancelled {
		t.Errorf("writes %+v, want only the cancel", got)
	}
}

func TestCancelRequestedWhileProcessing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	j := f.submit(t)
	sleeps := 0
	f.w.Sleep = func(ctx context.Context, _ time.Duration) error {
		sleeps++
		if sleeps == 3 { // after the second report: cancel the running job
			f.settled(t, j.ID, func(j jobs.Job) bool { return j.Status == jobs.Processing })
			if _, err := f.svc.Cancel(context.Background(), f.alice, j.ID); err != nil {
				t.Error(err)
			}
		}
		return ctx.Err()
	}
	if err := f.w.Process(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	got := f.settled(t, j.ID, terminal)
	if got.Status != jobs.Cancelled || got.Progress == 100 {
		t.Errorf("job = %+v, want CANCELLED after a cancel request while PROCESSING", got)
	}
	checkForwardOnly(t, f.store.writes(j.ID))
}

func TestDuplicateHandOffChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	j := f.submit(t)
	if err := f.w.Process(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	f.settled(t, j.ID, terminal)
	n := len(f.store.writes(j.ID))
	if err := f.w.Process(context.Background(), j.ID); err != nil { // redelivered after completion
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := len(f.store.writes(j.ID)); got != n {
		t.Errorf("a second hand-off wrote %d more versions, want none", got-n)
	}
}

func TestRunConsumesUntilStopped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.w.Run(ctx); close(done) }()
	var ids []string
	for range 3 {
		ids = append(ids, f.submit(t).ID)
	}
	for _, id := range ids {
		if got := f.settled(t, id, terminal); got.Status != jobs.Completed {
			t.Errorf("job %s = %s; want COMPLETED", id, got.Status)
		}
	}
	// Every hand-off is deleted once its job is done with. The delete
	// follows the job's last write, so wait for it before stopping the
	// worker rather than racing it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := f.sqs.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(f.w.QueueURL)})
		var attrs map[string]string
		if err == nil {
			attrs = out.Attributes
		}
		if attrs["ApproximateNumberOfMessages"] == "0" && attrs["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline queue after the jobs ended: %v, %v; want empty", attrs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
