package worker_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/dev/worker"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// historyStore records every version of every job written.
type historyStore struct {
	*inmem.Store
	mu      sync.Mutex
	history map[string][]jobs.Job
	// beforeUpdate, if set, runs before each write (to interleave a cancel).
	beforeUpdate func(jobs.Job)
}

func (s *historyStore) Update(ctx context.Context, j jobs.Job) error {
	if s.beforeUpdate != nil {
		s.beforeUpdate(j)
	}
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
	alice jobs.Caller
}

func newFixture(t *testing.T, failureRate, roll float64) *fixture {
	t.Helper()
	store := &historyStore{Store: inmem.NewStore(), history: map[string][]jobs.Job{}}
	svc := &jobs.Service{Store: store, Pipeline: &inmem.Pipeline{}, Log: slog.New(slog.DiscardHandler)}
	return &fixture{
		store: store, svc: svc, alice: jobs.Caller{Subject: "alice-sub"},
		w: &worker.Worker{
			Service: svc, OutputURL: func(id string) string { return "http://127.0.0.1:3000/local/outputs/" + id + ".mp4" },
			Steps: 3, FailureRate: failureRate, Rand: func() float64 { return roll },
			Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
			Log:   slog.New(slog.DiscardHandler),
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
	if err := f.w.Process(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	h := f.store.writes(j.ID)
	var progress []int
	for _, v := range h {
		progress = append(progress, v.Progress)
	}
	if want := []int{25, 50, 75, 100}; len(progress) != len(want) || progress[0] != 25 || progress[3] != 100 {
		t.Errorf("progress written = %v, want %v", progress, want)
	}
	checkForwardOnly(t, h)
	got, err := f.svc.Get(context.Background(), f.alice, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.Completed || got.OutputURL != "http://127.0.0.1:3000/local/outputs/"+j.ID+".mp4" || got.Progress != 100 || got.CompletedAt.IsZero() {
		t.Errorf("final job = %+v, want COMPLETED with its output URL", got)
	}
}

func TestJobFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0.1, 0.05) // the roll is under the failure rate
	j := f.submit(t)
	if err := f.w.Process(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(context.Background(), f.alice, j.ID)
	if got.Status != jobs.Failed || got.Error == nil || got.Error.Code != worker.FailureCode || got.OutputURL != "" {
		t.Errorf("final job = %+v, want FAILED with %s", got, worker.FailureCode)
	}
	checkForwardOnly(t, f.store.writes(j.ID))
}

func TestCancelledWhileQueuedStaysCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	j := f.submit(t)
	if _, err := f.svc.Cancel(context.Background(), f.alice, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.w.Process(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(context.Background(), f.alice, j.ID)
	if got.Status != jobs.Cancelled || len(f.store.writes(j.ID)) != 1 {
		t.Errorf("job = %s after %d writes, want CANCELLED and only the cancel written", got.Status, len(f.store.writes(j.ID)))
	}
}

func TestCancelRequestedWhileProcessing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	j := f.submit(t)
	var once sync.Once
	f.store.beforeUpdate = func(next jobs.Job) {
		if next.Status == jobs.Processing && next.Progress == 50 {
			once.Do(func() {
				if _, err := f.svc.Cancel(context.Background(), f.alice, j.ID); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if err := f.w.Process(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(context.Background(), f.alice, j.ID)
	if got.Status != jobs.Cancelled {
		t.Errorf("job = %s, want CANCELLED after a cancel request while PROCESSING", got.Status)
	}
	checkForwardOnly(t, f.store.writes(j.ID))
}

func TestDuplicateHandOffChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	j := f.submit(t)
	if err := f.w.Process(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	n := len(f.store.writes(j.ID))
	if err := f.w.Process(context.Background(), j); err != nil { // redelivered after completion
		t.Fatal(err)
	}
	if got := len(f.store.writes(j.ID)); got != n {
		t.Errorf("a second hand-off wrote %d more versions, want none", got-n)
	}
}

func TestRunConsumesUntilStopped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0.5)
	in := make(chan jobs.Job)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.w.Run(ctx, in); close(done) }()
	var ids []string
	for range 3 {
		j := f.submit(t)
		ids = append(ids, j.ID)
		in <- j
	}
	close(in)
	<-done // Run returns when its input closes, after the jobs in flight
	cancel()
	for _, id := range ids {
		got, err := f.svc.Get(context.Background(), f.alice, id)
		if err != nil || got.Status != jobs.Completed {
			t.Errorf("job %s = %s, %v; want COMPLETED", id, got.Status, err)
		}
	}

	// A cancelled context stops Run even with its input open.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { f.w.Run(ctx2, make(chan jobs.Job)); close(done2) }()
	cancel2()
	<-done2
}
