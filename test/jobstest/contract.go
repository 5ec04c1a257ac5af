// Package jobstest is the contract every jobs.Store must satisfy, run by the
// tests of each implementation against a real backend.
package jobstest

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Factory returns a new, empty store for one test.
type Factory func(t *testing.T) jobs.Store

// T0 is a fixed instant with millisecond precision, the precision stores keep.
var T0 = time.Date(2025, 6, 23, 12, 0, 0, 123e6, time.UTC)

// NewJob returns a valid QUEUED job owned by owner.
func NewJob(id, owner string) jobs.Job {
	return jobs.Job{
		ID: id, OwnerID: owner, Status: jobs.Queued,
		Spec:      jobs.Spec{Prompt: "a cat surfing a wave", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"},
		SpecHash:  "h",
		CreatedAt: T0, UpdatedAt: T0, Version: 1,
	}
}

// TestStore runs the contract.
func TestStore(t *testing.T, newStore Factory) {
	ctx := context.Background()

	t.Run("GetUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for name, get := range map[string]func(context.Context, string) (jobs.Job, error){"Get": s.Get, "GetLatest": s.GetLatest} {
			if _, err := get(ctx, "job_missing"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
				t.Errorf("%s(unknown) error = %v, want code %s", name, err, jobs.ENOTFOUND)
			}
		}
	})

	t.Run("CreateThenGetRoundTrips", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tests := []struct {
			name string
			job  jobs.Job
		}{
			{"queued", NewJob("job_a", "alice")},
			{"no owner (legacy)", func() jobs.Job { j := NewJob("legacy-1", ""); j.Spec = jobs.Spec{}; j.SpecHash = ""; return j }()},
			{"every field", func() jobs.Job {
				j := NewJob("job_full", "bob")
				j.Status, j.Progress = jobs.Failed, 40
				j.Error = &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}
				j.IdempotencyKey, j.CancelRequested = "key-1", true
				j.StartedAt, j.CompletedAt = T0.Add(time.Second), T0.Add(2*time.Second)
				j.CancelRequestedAt, j.HeartbeatAt, j.Deadline = T0.Add(1500*time.Millisecond), T0.Add(1200*time.Millisecond), T0.Add(time.Hour)
				j.ExpiresAt = T0.Add(30 * 24 * time.Hour).Truncate(time.Second)
				return j
			}()},
			{"completed", func() jobs.Job {
				j := NewJob("job_done", "carol")
				j.Status, j.Progress, j.OutputURL = jobs.Completed, 100, "https://cdn.example.com/o.mp4"
				return j
			}()},
		}
		for _, tt := range tests {
			if err := s.Create(ctx, tt.job); err != nil {
				t.Fatalf("%s: Create: %v", tt.name, err)
			}
			for name, get := range map[string]func(context.Context, string) (jobs.Job, error){"Get": s.Get, "GetLatest": s.GetLatest} {
				got, err := get(ctx, tt.job.ID)
				if err != nil {
					t.Fatalf("%s: %s: %v", tt.name, name, err)
				}
				if !reflect.DeepEqual(got, tt.job) {
					t.Errorf("%s: %s =\n%+v\nwant\n%+v", tt.name, name, got, tt.job)
				}
			}
		}
	})

	t.Run("CreateNeverOverwrites", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := NewJob("job_dup", "alice")
		if err := s.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := NewJob("job_dup", "mallory")
		if err := s.Create(ctx, second); jobs.ErrorCode(err) != jobs.ECONFLICT {
			t.Fatalf("second Create error = %v, want %s", err, jobs.ECONFLICT)
		}
		got, err := s.GetLatest(ctx, "job_dup")
		if err != nil || got.OwnerID != "alice" {
			t.Fatalf("after conflicting Create: owner = %q, err = %v; want alice", got.OwnerID, err)
		}
	})

	t.Run("CreateRequiresVersionOne", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := NewJob("job_v", "alice")
		j.Version = 2
		if err := s.Create(ctx, j); err == nil {
			t.Fatal("Create with version 2 succeeded, want an error")
		}
	})

	t.Run("UpdateIsOptimistic", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := NewJob("job_u", "alice")
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		next := j
		next.Status, next.Progress, next.Version = jobs.Processing, 10, 2
		if err := s.Update(ctx, next); err != nil {
			t.Fatalf("Update v1→v2: %v", err)
		}
		stale := j
		stale.Status, stale.Version = jobs.Cancelled, 2
		if err := s.Update(ctx, stale); jobs.ErrorCode(err) != jobs.ECONFLICT {
			t.Errorf("stale Update error = %v, want %s", err, jobs.ECONFLICT)
		}
		skip := next
		skip.Version = 4
		if err := s.Update(ctx, skip); jobs.ErrorCode(err) != jobs.ECONFLICT {
			t.Errorf("Update skipping a version error = %v, want %s", err, jobs.ECONFLICT)
		}
		absent := NewJob("job_absent", "alice")
		absent.Version = 2
		if err := s.Update(ctx, absent); jobs.ErrorCode(err) != jobs.ECONFLICT {
			t.Errorf("Update of absent job error = %v, want %s", err, jobs.ECONFLICT)
		}
		if _, err := s.GetLatest(ctx, "job_absent"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
			t.Errorf("Update of absent job created it: GetLatest error = %v", err)
		}
		got, err := s.GetLatest(ctx, "job_u")
		if err != nil || !reflect.DeepEqual(got, next) {
			t.Errorf("GetLatest = %+v, %v; want %+v", got, err, next)
		}
	})

	t.Run("ConcurrentUpdatesHaveOneWinner", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := NewJob("job_race", "alice")
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := j
				next.Progress, next.Version = i+1, 2
				switch err := s.Update(ctx, next); jobs.ErrorCode(err) {
				case "":
					wins.Add(1)
				case jobs.ECONFLICT:
					conflicts.Add(1)
				default:
					t.Errorf("Update: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != n-1 {
			t.Errorf("wins = %d, conflicts = %d; want 1 and %d", wins.Load(), conflicts.Load(), n-1)
		}
	})
}
