package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
)

func TestCancel(t *testing.T) {
	t.Parallel()
	expired := advTerminal(jobs.Cancelled)
	expired.ExpiresAt = tNow
	tests := []struct {
		name     string
		current  jobs.Job
		caller   jobs.Caller
		wantCode jobs.Code
		// change turns the current job into the expected one; nil means
		// unchanged and nothing written.
		change func(j *jobs.Job)
	}{
		{
			name: "QUEUED becomes CANCELLED", current: advQueued(), caller: alice,
			change: func(j *jobs.Job) {
				j.Status, j.CompletedAt, j.ExpiresAt = jobs.Cancelled, tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "PROCESSING gets CancelRequested", current: advProcessing(40), caller: alice,
			change: func(j *jobs.Job) { j.CancelRequested = true },
		},
		{
			name: "PROCESSING already cancel-requested is unchanged", caller: alice,
			current: func() jobs.Job { j := advProcessing(40); j.CancelRequested = true; return j }(),
		},
		{name: "CANCELLED is unchanged", current: advTerminal(jobs.Cancelled), caller: alice},
		{name: "COMPLETED is a conflict", current: advTerminal(jobs.Completed), caller: alice, wantCode: jobs.ECONFLICT},
		{name: "FAILED is a conflict", current: advTerminal(jobs.Failed), caller: alice, wantCode: jobs.ECONFLICT},
		{name: "someone else's job is not found", current: advQueued(), caller: bob, wantCode: jobs.ENOTFOUND},
		{name: "someone else's PROCESSING job is not found", current: advProcessing(10), caller: bob, wantCode: jobs.ENOTFOUND},
		{name: "expired job is not found", current: expired, caller: alice, wantCode: jobs.ENOTFOUND},
		{
			name: "admin cancels someone else's QUEUED job", current: advQueued(), caller: root,
			change: func(j *jobs.Job) {
				j.Status, j.CompletedAt, j.ExpiresAt = jobs.Cancelled, tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "admin cancels someone else's PROCESSING job", current: advProcessing(40), caller: root,
			change: func(j *jobs.Job) { j.CancelRequested = true },
		},
		{name: "admin cannot cancel a COMPLETED job", current: advTerminal(jobs.Completed), caller: root, wantCode: jobs.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := inmem.NewStore()
			cur := seed(t, base, tt.current)
			store := mock.BackedStore(base)
			store.GetFn = mock.StrictStore(t).GetFn
			updates := 0
			store.UpdateFn = func(ctx context.Context, j jobs.Job) error { updates++; return base.Update(ctx, j) }
			e := newEnv(t, store, nil)
			e.clock.Set(tNow)

			got, err := e.svc.Cancel(context.Background(), tt.caller, advID)
			if tt.wantCode != "" {
				wantCode(t, "Cancel", err, tt.wantCode)
				// An error result carries no job: in particular, nothing of
				// a job the caller may not see.
				wantJob(t, "returned job", got, jobs.Job{})
				wantJob(t, "stored job", stored(t, base, advID), cur)
				if updates != 0 {
					t.Errorf("Update calls = %d, want 0", updates)
				}
				return
			}
			if err != nil {
				t.Fatalf("Cancel() error = %v", err)
			}
			want, wantUpdates := cur, 0
			if tt.change != nil {
				tt.change(&want)
				want.UpdatedAt, want.Version, wantUpdates = tNow, cur.Version+1, 1
				if want.CancelRequested {
					want.CancelRequestedAt = tNow
				}
			}
			wantJob(t, "returned job", got, want)
			wantJob(t, "stored job", stored(t, base, advID), want)
			if updates != wantUpdates {
				t.Errorf("Update calls = %d, want %d", updates, wantUpdates)
			}
		})
	}
}

func TestCancelTwiceWhileProcessing(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	seed(t, base, advProcessing(40))
	e := newEnv(t, base, nil)
	e.clock.Set(tNow)
	first, err := e.svc.Cancel(context.Background(), alice, advID)
	if err != nil || !first.CancelRequested || first.Version != 2 {
		t.Fatalf("first Cancel() = cancelRequested %v version %d, %v; want true, 2, nil", first.CancelRequested, first.Version, err)
	}
	e.clock.Set(tNow.Add(time.Minute))
	second, err := e.svc.Cancel(context.Background(), alice, advID)
	if err != nil {
		t.Fatalf("second Cancel() error = %v", err)
	}
	wantJob(t, "second Cancel", second, first)
	wantJob(t, "stored job", stored(t, base, advID), first)
}

func TestCancelConflictNamesTheStatus(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	seed(t, base, advTerminal(jobs.Completed))
	e := newEnv(t, base, nil)
	_, err := e.svc.Cancel(context.Background(), alice, advID)
	if msg := jobs.ErrorMessage(err); !strings.Contains(msg, "COMPLETED") {
		t.Errorf("message = %q, want it to name the status", msg)
	}
}

func TestCancelBadOrUnknownID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mock.StrictStore(t), nil)
	_, err := e.svc.Cancel(context.Background(), alice, "../etc")
	wantCode(t, "Cancel(malformed)", err, jobs.EINVALID)

	e = newEnv(t, inmem.NewStore(), nil)
	_, err = e.svc.Cancel(context.Background(), alice, "job_nope")
	wantCode(t, "Cancel(unknown)", err, jobs.ENOTFOUND)
}
