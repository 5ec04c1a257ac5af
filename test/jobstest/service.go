package jobstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Clock is a settable clock for a Service under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var (
	alice = jobs.Caller{Subject: "alice"}
	bob   = jobs.Caller{Subject: "bob"}
	admin = jobs.Caller{Subject: "root", Groups: []string{jobs.AdminGroup}, Admin: true}
)

func intp(i int) *int { return &i }

// service returns a Service on b with a clock at T0+1h.
func service(b Backend) (*jobs.Service, *Clock) {
	clock := NewClock(T0.Add(time.Hour))
	return &jobs.Service{Store: b.Store, Index: b.Index, Pipeline: &inmem.Pipeline{}, Now: clock.Now, CursorKey: []byte("k0123456789abcdef0123456789abcdef")}, clock
}

func latest(t *testing.T, s jobs.Store, id string) jobs.Job {
	t.Helper()
	j, err := s.GetLatest(context.Background(), id)
	if err != nil {
		t.Fatalf("GetLatest %s: %v", id, err)
	}
	return j
}

// advance retries an event while the service reports contention, as an SQS
// redelivery would.
func advance(ctx context.Context, svc *jobs.Service, ev jobs.Event) (jobs.Job, jobs.Outcome, error) {
	for {
		j, o, err := svc.Advance(ctx, ev)
		if jobs.ErrorCode(err) != jobs.EUNAVAILABLE || ctx.Err() != nil {
			return j, o, err
		}
	}
}

const outURL = "https://cdn.example.com/out.mp4"
