package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

func TestWithReserve(t *testing.T) {
	t.Parallel()
	end := time.Now().Add(time.Hour)
	parent, cancelParent := context.WithDeadline(context.Background(), end)
	defer cancelParent()
	ctx, cancel := jobs.WithReserve(parent, 10*time.Second)
	defer cancel()
	if d, ok := ctx.Deadline(); !ok || !d.Equal(end.Add(-10*time.Second)) {
		t.Errorf("deadline = %v, want the reserve before %v", d, end)
	}
	// Detached work: past the caller's cut, within the reserve's first half.
	detached, cancelDetached := jobs.Detached(ctx, 24*time.Hour)
	defer cancelDetached()
	if d, ok := detached.Deadline(); !ok || !d.Equal(end.Add(-5*time.Second)) {
		t.Errorf("detached deadline = %v, want half the reserve before %v", d, end)
	}
	cancel()
	if detached.Err() != nil {
		t.Errorf("detached context ended with its caller's: %v", detached.Err())
	}
	// Shorter than what is left: its own bound.
	short, cancelShort := jobs.Detached(ctx, time.Minute)
	defer cancelShort()
	if d, _ := short.Deadline(); !d.Before(end.Add(-5 * time.Second)) {
		t.Errorf("short detached deadline = %v, want its own minute", d)
	}
}

func TestWithReserveWithoutDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := jobs.WithReserve(context.Background(), time.Second)
	defer cancel()
	if d, ok := ctx.Deadline(); ok {
		t.Errorf("deadline = %v, want none", d)
	}
	detached, cancelDetached := jobs.Detached(ctx, time.Minute)
	defer cancelDetached()
	if d, ok := detached.Deadline(); !ok || time.Until(d) > time.Minute {
		t.Errorf("detached deadline = %v, want within a minute", d)
	}
}

func TestCallTimeout(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]time.Duration{0: jobs.DefaultCallTimeout, -time.Second: jobs.DefaultCallTimeout, time.Second: time.Second} {
		if got := jobs.CallTimeout(d); got != want {
			t.Errorf("CallTimeout(%v) = %v, want %v", d, got, want)
		}
	}
}
