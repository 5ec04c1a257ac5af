// Package mock holds fakes of the domain's ports (and of the AWS calls the
// worker package makes) made of function fields,
// for unit tests that need to script a store or pipeline call by call or
// inject a fault. Real behaviour lives in internal/inmem.
package mock

import (
	"context"
	"errors"
	"sync"
	"testing"

	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// ErrUnexpected is what a strict fake returns from a call the test did not
// allow.
var ErrUnexpected = errors.New("unexpected call")

// Store is a jobs.Store whose methods call the matching fields.
type Store struct {
	GetFn       func(ctx context.Context, id string) (jobs.Job, error)
	GetLatestFn func(ctx context.Context, id string) (jobs.Job, error)
	CreateFn    func(ctx context.Context, j jobs.Job) error
	UpdateFn    func(ctx context.Context, j jobs.Job) error
}

var _ jobs.Store = (*Store)(nil)

// Get calls GetFn.
func (s *Store) Get(ctx context.Context, id string) (jobs.Job, error) { return s.GetFn(ctx, id) }

// GetLatest calls GetLatestFn.
func (s *Store) GetLatest(ctx context.Context, id string) (jobs.Job, error) {
	return s.GetLatestFn(ctx, id)
}

// Create calls CreateFn.
func (s *Store) Create(ctx context.Context, j jobs.Job) error { return s.CreateFn(ctx, j) }

// Update calls UpdateFn.
func (s *Store) Update(ctx context.Context, j jobs.Job) error { return s.UpdateFn(ctx, j) }

// StrictStore returns a Store every method of which fails the test; tests
// replace the fields they expect to be called.
func StrictStore(t testing.TB) *Store {
	t.Helper()
	return &Store{
		GetFn: func(_ context.Context, id string) (jobs.Job, error) {
			t.Errorf("unexpected Store.Get(%q)", id)
			return jobs.Job{}, ErrUnexpected
		},
		GetLatestFn: func(_ context.Context, id string) (jobs.Job, error) {
			t.Errorf("unexpected Store.GetLatest(%q)", id)
			return jobs.Job{}, ErrUnexpected
		},
		CreateFn: func(_ context.Context, j jobs.Job) error {
			t.Errorf("unexpected Store.Create(%q)", j.ID)
			return ErrUnexpected
		},
		UpdateFn: func(_ context.Context, j jobs.Job) error {
			t.Errorf("unexpected Store.Update(%q)", j.ID)
			return ErrUnexpected
		},
	}
}

// BackedStore returns a Store that delegates every method to base; tests
// replace the fields they want to fault.
func BackedStore(base jobs.Store) *Store {
	return &Store{GetFn: base.Get, GetLatestFn: base.GetLatest, CreateFn: base.Create, UpdateFn: base.Update}
}

// FailingStore returns a Store every method of which returns err.
func FailingStore(err error) *Store {
	return &Store{
		GetFn:       func(context.Context, string) (jobs.Job, error) { return jobs.Job{}, err },
		GetLatestFn: func(context.Context, string) (jobs.Job, error) { return jobs.Job{}, err },
		CreateFn:    func(context.Context, jobs.Job) error { return err },
		UpdateFn:    func(context.Context, jobs.Job) error { return err },
	}
}

// Index is a jobs.Index whose methods call the matching fields.
type Index struct {
	QueryFn   func(ctx context.Context, q jobs.IndexQuery) (jobs.IndexPage, error)
	GetManyFn func(ctx context.Context, ids []string) ([]jobs.Job, error)
}

var _ jobs.Index = (*Index)(nil)

// Query calls QueryFn.
func (x *Index) Query(ctx context.Context, q jobs.IndexQuery) (jobs.IndexPage, error) {
	return x.QueryFn(ctx, q)
}

// GetMany calls GetManyFn.
func (x *Index) GetMany(ctx context.Context, ids []string) ([]jobs.Job, error) {
	return x.GetManyFn(ctx, ids)
}

// FailingIndex returns an Index every method of which returns err.
func FailingIndex(err error) *Index {
	return &Index{
		QueryFn:   func(context.Context, jobs.IndexQuery) (jobs.IndexPage, error) { return jobs.IndexPage{}, err },
		GetManyFn: func(context.Context, []string) ([]jobs.Job, error) { return nil, err },
	}
}

// Pipeline is a jobs.Pipeline that records every job it is given and then
// calls EnqueueFn (nil: accept).
type Pipeline struct {
	EnqueueFn func(ctx context.Context, j jobs.Job) error

	mu       sync.Mutex
	calls    []jobs.Job
	accepted []jobs.Job
}

var _ jobs.Pipeline = (*Pipeline)(nil)

// Enqueue records j and calls EnqueueFn.
func (p *Pipeline) Enqueue(ctx context.Context, j jobs.Job) error {
	p.mu.Lock()
	p.calls = append(p.calls, j)
	p.mu.Unlock()
	var err error
	if p.EnqueueFn != nil {
		err = p.EnqueueFn(ctx, j)
	}
	if err == nil {
		p.mu.Lock()
		p.accepted = append(p.accepted, j)
		p.mu.Unlock()
	}
	return err
}

// Accepted returns the jobs Enqueue accepted (returned nil for), in order.
func (p *Pipeline) Accepted() []jobs.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]jobs.Job(nil), p.accepted...)
}

// Calls returns the jobs Enqueue was given, in order.
func (p *Pipeline) Calls() []jobs.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]jobs.Job(nil), p.calls...)
}

// StrictPipeline returns a Pipeline that fails the test if anything is
// enqueued.
func StrictPipeline(t testing.TB) *Pipeline {
	t.Helper()
	return &Pipeline{EnqueueFn: func(_ context.Context, j jobs.Job) error {
		t.Errorf("unexpected Pipeline.Enqueue(%q)", j.ID)
		return ErrUnexpected
	}}
}

// SQS is the SendMessage part of an SQS client (internal/sqs.API,
// worker.SQSAPI): it records every input, then calls SendMessageFn (nil:
// accept).
type SQS struct {
	SendMessageFn func(ctx context.Context, in *awssqs.SendMessageInput) (*awssqs.SendMessageOutput, error)

	mu    sync.Mutex
	calls []*awssqs.SendMessageInput
}

// SendMessage records in and calls SendMessageFn.
func (q *SQS) SendMessage(ctx context.Context, in *awssqs.SendMessageInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
	q.mu.Lock()
	q.calls = append(q.calls, in)
	q.mu.Unlock()
	if q.SendMessageFn == nil {
		return &awssqs.SendMessageOutput{}, nil
	}
	return q.SendMessageFn(ctx, in)
}

// Calls returns the inputs SendMessage was given, in order.
func (q *SQS) Calls() []*awssqs.SendMessageInput {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]*awssqs.SendMessageInput(nil), q.calls...)
}

// Lambda is the Invoke part of a Lambda client (worker.LambdaAPI): it calls
// InvokeFn.
type Lambda struct {
	InvokeFn func(ctx context.Context, in *awslambda.InvokeInput) (*awslambda.InvokeOutput, error)
}

// Invoke calls InvokeFn.
func (l *Lambda) Invoke(ctx context.Context, in *awslambda.InvokeInput, _ ...func(*awslambda.Options)) (*awslambda.InvokeOutput, error) {
	return l.InvokeFn(ctx, in)
}
