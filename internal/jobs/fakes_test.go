package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/testenv"
)

// errUnexpected is what a fake returns from a call the test did not allow.
var errUnexpected = errors.New("unexpected call")

// fakeStore is a jobs.Store made of function fields.
type fakeStore struct {
	GetFn       func(ctx context.Context, id string) (jobs.Job, error)
	GetLatestFn func(ctx context.Context, id string) (jobs.Job, error)
	CreateFn    func(ctx context.Context, j jobs.Job) error
	UpdateFn    func(ctx context.Context, j jobs.Job) error
}

func (f *fakeStore) Get(ctx context.Context, id string) (jobs.Job, error) { return f.GetFn(ctx, id) }
func (f *fakeStore) GetLatest(ctx context.Context, id string) (jobs.Job, error) {
	return f.GetLatestFn(ctx, id)
}
func (f *fakeStore) Create(ctx context.Context, j jobs.Job) error { return f.CreateFn(ctx, j) }
func (f *fakeStore) Update(ctx context.Context, j jobs.Job) error { return f.UpdateFn(ctx, j) }

// strictStore returns a store every method of which fails the test; tests
// replace the fields they expect to be called.
func strictStore(t *testing.T) *fakeStore {
	t.Helper()
	return &fakeStore{
		GetFn: func(_ context.Context, id string) (jobs.Job, error) {
			t.Errorf("unexpected Store.Get(%q)", id)
			return jobs.Job{}, errUnexpected
		},
		GetLatestFn: func(_ context.Context, id string) (jobs.Job, error) {
			t.Errorf("unexpected Store.GetLatest(%q)", id)
			return jobs.Job{}, errUnexpected
		},
		CreateFn: func(_ context.Context, j jobs.Job) error {
			t.Errorf("unexpected Store.Create(%q)", j.ID)
			return errUnexpected
		},
		UpdateFn: func(_ context.Context, j jobs.Job) error {
			t.Errorf("unexpected Store.Update(%q)", j.ID)
			return errUnexpected
		},
	}
}

// backedStore returns a store that delegates every method to base.
func backedStore(base jobs.Store) *fakeStore {
	return &fakeStore{GetFn: base.Get, GetLatestFn: base.GetLatest, CreateFn: base.Create, UpdateFn: base.Update}
}

// fakePipeline is a jobs.Pipeline made of a function field, recording each
// job it is given.
type fakePipeline struct {
	EnqueueFn func(ctx context.Context, j jobs.Job) error

	mu    sync.Mutex
	calls []jobs.Job
}

func (p *fakePipeline) Enqueue(ctx context.Context, j jobs.Job) error {
	p.mu.Lock()
	p.calls = append(p.calls, j)
	p.mu.Unlock()
	if p.EnqueueFn == nil {
		return nil
	}
	return p.EnqueueFn(ctx, j)
}

func (p *fakePipeline) Calls() []jobs.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]jobs.Job(nil), p.calls...)
}

// strictPipeline fails the test if anything is enqueued.
func strictPipeline(t *testing.T) *fakePipeline {
	t.Helper()
	return &fakePipeline{EnqueueFn: func(_ context.Context, j jobs.Job) error {
		t.Errorf("unexpected Pipeline.Enqueue(%q)", j.ID)
		return errUnexpected
	}}
}

// t0 is the fixed creation instant of test jobs.
var t0 = time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// env is a Service under test with its collaborators.
type env struct {
	svc   *jobs.Service
	clock *clock
	log   *testenv.LogBuffer
}

// newEnv returns a service over store and pipeline with a clock at t0, IDs
// "job_t1", "job_t2", ... and a log captured in a buffer.
func newEnv(t *testing.T, store jobs.Store, pipeline jobs.Pipeline) *env {
	t.Helper()
	e := &env{clock: &clock{now: t0}, log: &testenv.LogBuffer{}}
	var mu sync.Mutex
	n := 0
	e.svc = &jobs.Service{
		Store:    store,
		Pipeline: pipeline,
		Now:      e.clock.Now,
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("job_t%d", n)
		},
		Log: slog.New(slog.NewTextHandler(e.log, nil)),
	}
	return e
}

// seed stores j (Version 1) in s.
func seed(t *testing.T, s jobs.Store, j jobs.Job) jobs.Job {
	t.Helper()
	j.Version = 1
	if err := s.Create(context.Background(), j); err != nil {
		t.Fatalf("seed %q: %v", j.ID, err)
	}
	return j
}

// stored returns the job with the given ID from s.
func stored(t *testing.T, s jobs.Store, id string) jobs.Job {
	t.Helper()
	j, err := s.GetLatest(context.Background(), id)
	if err != nil {
		t.Fatalf("read back %q: %v", id, err)
	}
	return j
}

// wantCode fails the test unless err has the given code.
func wantCode(t *testing.T, what string, err error, want jobs.Code) {
	t.Helper()
	if got := jobs.ErrorCode(err); got != want {
		t.Errorf("%s: error code = %q, want %q (err: %v)", what, got, want, err)
	}
}

// wantJob fails the test unless got equals want field for field.
func wantJob(t *testing.T, what string, got, want jobs.Job) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, fmtJob(got), fmtJob(want))
	}
}

func fmtJob(j jobs.Job) string {
	e := "<nil>"
	if j.Error != nil {
		e = fmt.Sprintf("%+v", *j.Error)
	}
	return fmt.Sprintf("{ID:%s Owner:%s Status:%s Progress:%d Output:%q Error:%s CancelRequested:%v Key:%q Hash:%q Spec:%+v Created:%s Updated:%s Started:%s Completed:%s Expires:%s Version:%d}",
		j.ID, j.OwnerID, j.Status, j.Progress, j.OutputURL, e, j.CancelRequested, j.IdempotencyKey, j.SpecHash, j.Spec,
		jobs.FormatTime(j.CreatedAt), jobs.FormatTime(j.UpdatedAt), jobs.FormatTime(j.StartedAt),
		jobs.FormatTime(j.CompletedAt), jobs.FormatTime(j.ExpiresAt), j.Version)
}
