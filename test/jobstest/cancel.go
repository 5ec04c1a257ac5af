package jobstest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// TestCancel cancels jobs through jobs.Service on a real backend, including a cancel
// that races the job's start.
func TestCancel(t *testing.T, newBackend BackendFactory) {
	ctx := context.Background()

	t.Run("CancelRacesStart", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		const n = 6
		for i := range n {
			create(t, b.Store, NewJob(fmt.Sprintf("job_%d", i), "alice"))
		}
		var wg sync.WaitGroup
		for i := range n {
			id := fmt.Sprintf("job_%d", i)
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := svc.Cancel(ctx, alice, id); err != nil && jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
					t.Errorf("Cancel %s: %v", id, err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, _, err := advance(ctx, svc, jobs.Event{JobID: id, Status: jobs.Processing, Progress: intp(5)}); err != nil {
					t.Errorf("start %s: %v", id, err)
				}
			}()
		}
		wg.Wait()
		for i := range n {
			j := latest(t, b.Store, fmt.Sprintf("job_%d", i))
			// Either the cancel came first (CANCELLED, the start is stale) or
			// the start did (PROCESSING with a cancel request).
			if !(j.Status == jobs.Cancelled && j.StartedAt.IsZero()) && !(j.Status == jobs.Processing && j.CancelRequested) {
				t.Errorf("%s ended %s cancelRequested=%v startedAt=%v", j.ID, j.Status, j.CancelRequested, j.StartedAt)
			}
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		running := NewJob("job_run", "alice")
		running.Status, running.StartedAt = jobs.Processing, T0
		expired := at("job_exp", "alice", 0, jobs.Cancelled)
		expired.ExpiresAt = clock.Now().Add(-time.Second).Truncate(time.Second)
		create(t, b.Store, NewJob("job_q", "alice"), running, at("job_done", "alice", 0, jobs.Completed),
			at("job_fail", "alice", 0, jobs.Failed), NewJob("job_bob", "bob"), expired)

		j, err := svc.Cancel(ctx, alice, "job_q")
		if err != nil || j.Status != jobs.Cancelled || j.CompletedAt.IsZero() || j.ExpiresAt.IsZero() || !j.StartedAt.IsZero() {
			t.Errorf("cancel QUEUED = %+v, %v; want CANCELLED with completedAt and expiresAt, never started", j, err)
		}
		j, err = svc.Cancel(ctx, alice, "job_run")
		if err != nil || j.Status != jobs.Processing || !j.CancelRequested {
			t.Errorf("cancel PROCESSING = %s cancelRequested=%v, %v; want PROCESSING with a cancel request", j.Status, j.CancelRequested, err)
		}
		for _, id := range []string{"job_q", "job_run"} {
			before := latest(t, b.Store, id)
			if j, err := svc.Cancel(ctx, alice, id); err != nil || j.Version != before.Version {
				t.Errorf("cancel %s again: v%d, %v; want unchanged v%d", id, j.Version, err, before.Version)
			}
		}
		tests := []struct {
			caller jobs.Caller
			id     string
			want   jobs.Code
		}{
			{alice, "job_done", jobs.ECONFLICT},
			{alice, "job_fail", jobs.ECONFLICT},
			{alice, "job_bob", jobs.ENOTFOUND},
			{alice, "job_missing", jobs.ENOTFOUND},
			{alice, "job_exp", jobs.ENOTFOUND},
			{alice, "bad id!", jobs.EINVALID},
			{admin, "job_bob", ""},
		}
		for _, tt := range tests {
			_, err := svc.Cancel(ctx, tt.caller, tt.id)
			if got := jobs.ErrorCode(err); got != tt.want {
				t.Errorf("%s cancels %s: code %q, want %q", tt.caller.Subject, tt.id, got, tt.want)
			}
		}
		if j := latest(t, b.Store, "job_bob"); j.Status != jobs.Cancelled {
			t.Errorf("admin cancel: job_bob is %s, want CANCELLED", j.Status)
		}
	})
}
