package jobstest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// TestAdvance drives pipeline events through jobs.Service on a real backend: in order,
// out of order, malformed, and racing each other.
func TestAdvance(t *testing.T, newBackend BackendFactory) {
	ctx := context.Background()

	t.Run("AdvanceInOrderSetsTimestamps", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		create(t, b.Store, NewJob("job_1", "alice"))
		t1, t2 := clock.Now(), clock.Now().Add(time.Minute)
		steps := []struct {
			at    time.Time
			ev    jobs.Event
			check func(jobs.Job) string
		}{
			{t1, jobs.Event{Status: jobs.Processing, Progress: intp(10)}, func(j jobs.Job) string {
				if j.Status != jobs.Processing || j.Progress != 10 || !j.StartedAt.Equal(t1) || !j.CompletedAt.IsZero() || !j.ExpiresAt.IsZero() {
					return "PROCESSING(10) with startedAt only"
				}
				return ""
			}},
			{t1.Add(time.Second), jobs.Event{Status: jobs.Processing, Progress: intp(50)}, func(j jobs.Job) string {
				if j.Progress != 50 || !j.StartedAt.Equal(t1) {
					return "progress 50, startedAt unchanged"
				}
				return ""
			}},
			{t2, jobs.Event{Status: jobs.Completed, OutputURL: outURL}, func(j jobs.Job) string {
				if j.Status != jobs.Completed || j.Progress != 100 || j.OutputURL != outURL || !j.StartedAt.Equal(t1) ||
					!j.CompletedAt.Equal(t2) || j.ExpiresAt.Unix() != t2.Add(jobs.DefaultRetention).Unix() {
					return "COMPLETED, 100, outputUrl, completedAt and expiresAt (30 days)"
				}
				return ""
			}},
		}
		for i, st := range steps {
			clock.Set(st.at)
			st.ev.JobID = "job_1"
			_, outcome, err := svc.Advance(ctx, st.ev)
			if err != nil || outcome != jobs.Applied {
				t.Fatalf("step %d: outcome %q, err %v; want applied", i, outcome, err)
			}
			got := latest(t, b.Store, "job_1")
			if want := st.check(got); want != "" {
				t.Errorf("step %d: stored %+v; want %s", i, got, want)
			}
			if got.Version != int64(i+2) {
				t.Errorf("step %d: version %d, want %d", i, got.Version, i+2)
			}
			// The same event again changes nothing.
			if _, outcome, err := svc.Advance(ctx, st.ev); err != nil || outcome != jobs.Duplicate {
				t.Errorf("step %d redelivered: outcome %q, err %v; want duplicate", i, outcome, err)
			}
			if again := latest(t, b.Store, "job_1"); again.Version != got.Version {
				t.Errorf("step %d redelivered: version %d → %d", i, got.Version, again.Version)
			}
		}
	})

	t.Run("AdvanceOutOfOrderNeverGoesBack", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		create(t, b.Store, NewJob("job_1", "alice"), NewJob("job_2", "alice"))
		// job_1: COMPLETED overtakes PROCESSING.
		if _, o, err := svc.Advance(ctx, jobs.Event{JobID: "job_1", Status: jobs.Completed, OutputURL: outURL}); err != nil || o != jobs.Applied {
			t.Fatalf("COMPLETED on QUEUED: %q, %v; want applied", o, err)
		}
		done := latest(t, b.Store, "job_1")
		if done.StartedAt.IsZero() {
			t.Errorf("COMPLETED straight from QUEUED: startedAt is zero, want it set (passes through PROCESSING)")
		}
		// job_2: progress 60 then a late 30.
		if _, o, err := svc.Advance(ctx, jobs.Event{JobID: "job_2", Status: jobs.Processing, Progress: intp(60)}); err != nil || o != jobs.Applied {
			t.Fatalf("PROCESSING(60): %q, %v", o, err)
		}
		mid := latest(t, b.Store, "job_2")
		tests := []struct {
			name string
			ev   jobs.Event
			want jobs.Outcome
			job  jobs.Job
		}{
			{"PROCESSING after COMPLETED", jobs.Event{JobID: "job_1", Status: jobs.Processing, Progress: intp(30)}, jobs.Stale, done},
			{"COMPLETED elsewhere after COMPLETED", jobs.Event{JobID: "job_1", Status: jobs.Completed, OutputURL: outURL + "?2"}, jobs.Rejected, done},
			{"FAILED after COMPLETED", jobs.Event{JobID: "job_1", Status: jobs.Failed, Error: &jobs.JobError{Code: "X", Message: "x"}}, jobs.Rejected, done},
			{"CANCELLED after COMPLETED", jobs.Event{JobID: "job_1", Status: jobs.Cancelled}, jobs.Rejected, done},
			{"lower progress", jobs.Event{JobID: "job_2", Status: jobs.Processing, Progress: intp(30)}, jobs.Stale, mid},
			{"PROCESSING without progress", jobs.Event{JobID: "job_2", Status: jobs.Processing}, jobs.Duplicate, mid},
		}
		for _, tt := range tests {
			if _, o, err := svc.Advance(ctx, tt.ev); err != nil || o != tt.want {
				t.Errorf("%s: outcome %q, err %v; want %q", tt.name, o, err, tt.want)
			}
			if got := latest(t, b.Store, tt.ev.JobID); !jobsEqual(got, tt.job) {
				t.Errorf("%s: job changed:\n%+v\nwant\n%+v", tt.name, got, tt.job)
			}
		}
	})

	t.Run("AdvanceRejectsMalformedEvents", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		j := NewJob("job_1", "alice")
		create(t, b.Store, j)
		bad := []jobs.Event{
			{JobID: "job_1", Status: jobs.Completed},
			{JobID: "job_1", Status: jobs.Completed, OutputURL: "ftp://x/y"},
			{JobID: "job_1", Status: jobs.Failed},
			{JobID: "job_1", Status: jobs.Failed, Error: &jobs.JobError{Code: "", Message: "m"}},
			{JobID: "job_1", Status: jobs.Processing, Progress: intp(101)},
			{JobID: "job_1", Status: jobs.Processing, Progress: intp(-1)},
			{JobID: "job_1", Status: jobs.Processing, OutputURL: outURL},
			{JobID: "job_1", Status: jobs.Queued},
			{JobID: "job_1", Status: "DONE"},
			{JobID: "../job_1", Status: jobs.Processing},
		}
		for _, ev := range bad {
			if _, _, err := svc.Advance(ctx, ev); jobs.ErrorCode(err) != jobs.EINVALID {
				t.Errorf("Advance(%+v) error = %v, want %s", ev, err, jobs.EINVALID)
			}
		}
		if got := latest(t, b.Store, "job_1"); !jobsEqual(got, j) {
			t.Errorf("malformed events changed the job: %+v", got)
		}
		if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_unknown", Status: jobs.Processing}); jobs.ErrorCode(err) != jobs.ENOTFOUND {
			t.Errorf("event for an unknown job: error = %v, want %s", err, jobs.ENOTFOUND)
		}
	})

	t.Run("ConcurrentProgressIsMonotonic", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		create(t, b.Store, NewJob("job_1", "alice"))
		const n = 12
		var applied atomic.Int32
		stop := make(chan struct{})
		var seen []jobs.Job
		watcher := make(chan struct{})
		go func() { // observes the stored job while the writers race
			defer close(watcher)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if j, err := b.Store.GetLatest(ctx, "job_1"); err == nil {
					seen = append(seen, j)
				}
			}
		}()
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, o, err := advance(ctx, svc, jobs.Event{JobID: "job_1", Status: jobs.Processing, Progress: intp((i + 1) * 8)})
				switch {
				case err != nil:
					t.Errorf("progress %d: %v", (i+1)*8, err)
				case o == jobs.Applied:
					applied.Add(1)
				case o != jobs.Stale && o != jobs.Duplicate:
					t.Errorf("progress %d: outcome %q", (i+1)*8, o)
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-watcher
		final := latest(t, b.Store, "job_1")
		if final.Progress != n*8 || final.Status != jobs.Processing {
			t.Errorf("final = %s %d%%, want PROCESSING %d%%", final.Status, final.Progress, n*8)
		}
		if applied.Load() < 1 || final.Version != int64(applied.Load())+1 {
			t.Errorf("applied %d events but version is %d: every applied event must be exactly one write", applied.Load(), final.Version)
		}
		seen = append(seen, final)
		for i := 1; i < len(seen); i++ {
			if seen[i].Progress < seen[i-1].Progress || seen[i].Version < seen[i-1].Version {
				t.Fatalf("observed going backwards: %d%% v%d then %d%% v%d", seen[i-1].Progress, seen[i-1].Version, seen[i].Progress, seen[i].Version)
			}
		}
	})

	t.Run("ConcurrentEndingsHaveOneWinner", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		start := NewJob("job_1", "alice")
		start.Status, start.Progress, start.StartedAt = jobs.Processing, 10, T0
		create(t, b.Store, start)
		events := []jobs.Event{
			{Status: jobs.Completed, OutputURL: outURL},
			{Status: jobs.Failed, Error: &jobs.JobError{Code: "GPU", Message: "lost"}},
			{Status: jobs.Cancelled},
		}
		const perKind = 5
		outcomes := make([][]jobs.Outcome, len(events))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for k, ev := range events {
			for range perKind {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ev := ev
					ev.JobID = "job_1"
					_, o, err := advance(ctx, svc, ev)
					if err != nil {
						t.Errorf("%s: %v", ev.Status, err)
					}
					mu.Lock()
					outcomes[k] = append(outcomes[k], o)
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		final := latest(t, b.Store, "job_1")
		winners := 0
		for k, os := range outcomes {
			for _, o := range os {
				switch {
				case o == jobs.Applied:
					winners++
					if events[k].Status != final.Status {
						t.Errorf("%s applied but the job ended %s", events[k].Status, final.Status)
					}
				case events[k].Status == final.Status && o != jobs.Duplicate:
					t.Errorf("the winning event again: outcome %q, want duplicate", o)
				case events[k].Status != final.Status && o != jobs.Rejected:
					t.Errorf("%s after %s: outcome %q, want rejected", events[k].Status, final.Status, o)
				}
			}
		}
		if winners != 1 || final.Version != 2 || !final.Status.Terminal() {
			t.Errorf("winners = %d, final %s v%d; want exactly one winner and one write", winners, final.Status, final.Version)
		}
	})
}
