package jobstest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// Pipeline counts hand-offs. Safe for concurrent use.
type Pipeline struct{ n atomic.Int32 }

// Enqueue counts j.
func (p *Pipeline) Enqueue(context.Context, jobs.Job) error { p.n.Add(1); return nil }

// Count returns how many hand-offs there were.
func (p *Pipeline) Count() int { return int(p.n.Load()) }

var (
	alice = jobs.Caller{Subject: "alice"}
	bob   = jobs.Caller{Subject: "bob"}
	admin = jobs.Caller{Subject: "root", Groups: []string{jobs.AdminGroup}, Admin: true}
)

func intp(i int) *int { return &i }

// service returns a Service on b with a clock at T0+1h.
func service(b Backend) (*jobs.Service, *Clock) {
	clock := NewClock(T0.Add(time.Hour))
	return &jobs.Service{Store: b.Store, Index: b.Index, Pipeline: &Pipeline{}, Now: clock.Now, CursorKey: []byte("k0123456789abcdef0123456789abcdef")}, clock
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

// TestLifecycle runs the job lifecycle (Advance, Cancel, idempotent Submit,
// List, BatchGet, retention) through jobs.Service on a real backend,
// including events and requests that race each other.
func TestLifecycle(t *testing.T, newBackend BackendFactory) {
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

	t.Run("ConcurrentIdempotentSubmitsCreateOneJob", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		spec := jobs.Spec{Prompt: "a heron at dawn"}
		const n = 10
		results := make([]jobs.SubmitResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = svc.Submit(ctx, alice, spec, "key-1")
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("submit %d: %v", i, errs[i])
			}
			if results[i].Job.ID != results[0].Job.ID {
				t.Errorf("submit %d got job %s, submit 0 got %s", i, results[i].Job.ID, results[0].Job.ID)
			}
			if !results[i].Replayed {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%d submits created a job, want exactly 1", created)
		}
		mine, err := svc.List(ctx, alice, jobs.ListRequest{})
		if err != nil || len(mine.Jobs) != 1 {
			t.Errorf("alice's jobs after %d idempotent submits: %d, %v; want 1", n, len(mine.Jobs), err)
		}

		_, err = svc.Submit(ctx, alice, jobs.Spec{Prompt: "another body"}, "key-1")
		if jobs.ErrorCode(err) != jobs.EUNPROCESSABLE {
			t.Errorf("same key, different body: %v, want %s", err, jobs.EUNPROCESSABLE)
		}
		other, err := svc.Submit(ctx, bob, spec, "key-1")
		if err != nil || other.Replayed || other.Job.ID == results[0].Job.ID {
			t.Errorf("another owner's same key = %+v, %v; want a new job of their own", other, err)
		}
		clock.Set(clock.Now().Add(jobs.IdempotencyWindow + time.Minute))
		if _, err := svc.Submit(ctx, alice, spec, "key-1"); jobs.ErrorCode(err) != jobs.EUNPROCESSABLE {
			t.Errorf("same key after 24 h: %v, want %s", err, jobs.EUNPROCESSABLE)
		}
	})

	t.Run("ListOwnJobsAcrossPages", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		var want []string
		for i := range 7 {
			st := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Completed}[i%3]
			create(t, b.Store, at(fmt.Sprintf("job_a%d", i), "alice", i, st))
			want = append([]string{fmt.Sprintf("job_a%d", i)}, want...)
		}
		create(t, b.Store, at("job_b", "bob", 9, jobs.Queued), at("legacy-1", "", 8, jobs.Queued))
		got := listAll(t, svc, alice, jobs.ListRequest{Limit: 3})
		if !slices.Equal(got, want) {
			t.Errorf("alice's jobs = %v, want %v", got, want)
		}
		got = listAll(t, svc, alice, jobs.ListRequest{Limit: 2, Statuses: []jobs.Status{jobs.Processing, jobs.Queued}})
		if w := []string{"job_a6", "job_a4", "job_a3", "job_a1", "job_a0"}; !slices.Equal(got, w) {
			t.Errorf("alice's QUEUED and PROCESSING jobs = %v, want %v", got, w)
		}
		got = listAll(t, svc, admin, jobs.ListRequest{Limit: 2})
		if len(got) != 0 {
			t.Errorf("admin's own jobs = %v, want none (scope mine is per caller)", got)
		}
		got = listAll(t, svc, bob, jobs.ListRequest{Order: jobs.OldestFirst})
		if w := []string{"job_b"}; !slices.Equal(got, w) {
			t.Errorf("bob's jobs = %v, want %v", got, w)
		}
	})

	t.Run("ListAllMergesStatusesForAdmins", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		var queuedOrRunning []string
		for i := range 9 {
			st := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Failed}[i%3]
			owner := []string{"alice", "bob", ""}[i%3]
			id := fmt.Sprintf("job_%d", i)
			if owner == "" {
				id = fmt.Sprintf("legacy-%d", i)
			}
			create(t, b.Store, at(id, owner, i, st))
			if st != jobs.Failed {
				queuedOrRunning = append(queuedOrRunning, id)
			}
		}
		for _, limit := range []int{1, 2, 4, 100} {
			got := listAll(t, svc, admin, jobs.ListRequest{Scope: jobs.ScopeAll, Limit: limit, Order: jobs.OldestFirst, Statuses: []jobs.Status{jobs.Queued, jobs.Processing}})
			if !slices.Equal(got, queuedOrRunning) {
				t.Errorf("limit %d, oldest first: %v, want %v", limit, got, queuedOrRunning)
			}
		}
		got := listAll(t, svc, admin, jobs.ListRequest{Scope: jobs.ScopeAll, Limit: 3})
		if len(got) != 9 || got[0] != "legacy-8" || got[8] != "job_0" {
			t.Errorf("every status, newest first: %v", got)
		}
		if _, err := svc.List(ctx, alice, jobs.ListRequest{Scope: jobs.ScopeAll}); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("non-admin scope all: %v, want %s", err, jobs.EINVALID)
		}
	})

	t.Run("ListLimitsAndCursorsAreChecked", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		for i := range jobs.DefaultPageSize + 2 {
			create(t, b.Store, at(fmt.Sprintf("job_a%02d", i), "alice", i, jobs.Queued), at(fmt.Sprintf("job_b%02d", i), "bob", i, jobs.Queued))
		}
		page, err := svc.List(ctx, alice, jobs.ListRequest{})
		if err != nil || len(page.Jobs) != jobs.DefaultPageSize || page.NextCursor == "" {
			t.Fatalf("default page: %d jobs, cursor %q, %v; want %d and a cursor", len(page.Jobs), page.NextCursor, err, jobs.DefaultPageSize)
		}
		for _, limit := range []int{-1, jobs.MaxPageSize + 1} {
			if _, err := svc.List(ctx, alice, jobs.ListRequest{Limit: limit}); jobs.ErrorCode(err) != jobs.EINVALID {
				t.Errorf("limit %d: %v, want %s", limit, err, jobs.EINVALID)
			}
		}
		cur := page.NextCursor
		p64, m64, _ := strings.Cut(cur, ".")
		flip := func(s string) string {
			r := []byte(s)
			r[len(r)/2] ^= 1
			return string(r)
		}
		other := &jobs.Service{Store: b.Store, Index: b.Index, Now: svc.Now, CursorKey: []byte("another-key-0123456789abcdef-0123")}
		tests := []struct {
			name   string
			svc    *jobs.Service
			caller jobs.Caller
			req    jobs.ListRequest
		}{
			{"another caller", svc, bob, jobs.ListRequest{Cursor: cur}},
			{"an admin", svc, admin, jobs.ListRequest{Cursor: cur}},
			{"another status filter", svc, alice, jobs.ListRequest{Cursor: cur, Statuses: []jobs.Status{jobs.Queued}}},
			{"another order", svc, alice, jobs.ListRequest{Cursor: cur, Order: jobs.OldestFirst}},
			{"another scope", svc, admin, jobs.ListRequest{Cursor: cur, Scope: jobs.ScopeAll}},
			{"payload changed", svc, alice, jobs.ListRequest{Cursor: flip(p64) + "." + m64}},
			{"mac changed", svc, alice, jobs.ListRequest{Cursor: p64 + "." + flip(m64)}},
			{"no mac", svc, alice, jobs.ListRequest{Cursor: p64}},
			{"garbage", svc, alice, jobs.ListRequest{Cursor: "not a cursor"}},
			{"too long", svc, alice, jobs.ListRequest{Cursor: strings.Repeat("a", jobs.MaxCursorLen+1)}},
			{"another key", other, alice, jobs.ListRequest{Cursor: cur}},
		}
		for _, tt := range tests {
			page, err := tt.svc.List(ctx, tt.caller, tt.req)
			if jobs.ErrorCode(err) != jobs.EINVALID || len(page.Jobs) != 0 {
				t.Errorf("cursor from %s: %d jobs, %v; want none and %s", tt.name, len(page.Jobs), err, jobs.EINVALID)
			}
		}
		next, err := svc.List(ctx, alice, jobs.ListRequest{Cursor: cur})
		if err != nil || len(next.Jobs) != 2 || next.Jobs[0].OwnerID != "alice" {
			t.Errorf("the right cursor: %d jobs, %v; want alice's last 2", len(next.Jobs), err)
		}
	})

	t.Run("BatchGet", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		gone := at("job_gone", "alice", 3, jobs.Completed)
		gone.ExpiresAt = clock.Now().Add(-time.Hour).Truncate(time.Second)
		create(t, b.Store, at("job_a1", "alice", 1, jobs.Queued), at("job_a2", "alice", 2, jobs.Completed),
			at("job_b1", "bob", 1, jobs.Queued), gone, at("legacy-1", "", 1, jobs.Queued))
		ask := []string{"job_a2", "job_b1", "job_missing", "job_gone", "legacy-1", "job_a1", "job_a2"}
		tests := []struct {
			caller jobs.Caller
			want   []string
		}{
			{alice, []string{"job_a2", "job_a1"}},
			{bob, []string{"job_b1"}},
			{admin, []string{"job_a2", "job_b1", "legacy-1", "job_a1"}},
		}
		for _, tt := range tests {
			got, err := svc.BatchGet(ctx, tt.caller, ask)
			if err != nil || !slices.Equal(ids(got...), tt.want) {
				t.Errorf("%s: BatchGet = %v, %v; want %v", tt.caller.Subject, ids(got...), err, tt.want)
			}
		}
		many := make([]string, jobs.MaxBatchIDs+1)
		for i := range many {
			many[i] = fmt.Sprintf("job_%d", i)
		}
		for name, in := range map[string][]string{"none": nil, "too many": many, "malformed": {"job_a1", "a/b"}} {
			if _, err := svc.BatchGet(ctx, alice, in); jobs.ErrorCode(err) != jobs.EINVALID {
				t.Errorf("%s: %v, want %s", name, err, jobs.EINVALID)
			}
		}
	})

	t.Run("ExpiredJobsAreGoneEverywhere", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		create(t, b.Store, NewJob("job_1", "alice"))
		if _, err := svc.Cancel(ctx, alice, "job_1"); err != nil {
			t.Fatal(err)
		}
		clock.Set(clock.Now().Add(jobs.DefaultRetention - time.Second))
		if _, err := svc.Get(ctx, alice, "job_1"); err != nil {
			t.Fatalf("Get within retention: %v", err)
		}
		clock.Set(clock.Now().Add(2 * time.Second))
		if _, err := svc.Get(ctx, alice, "job_1"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
			t.Errorf("Get after retention: %v, want %s", err, jobs.ENOTFOUND)
		}
		if got, err := svc.BatchGet(ctx, alice, []string{"job_1"}); err != nil || len(got) != 0 {
			t.Errorf("BatchGet after retention: %v, %v; want nothing", ids(got...), err)
		}
		if got := listAll(t, svc, alice, jobs.ListRequest{}); len(got) != 0 {
			t.Errorf("List after retention: %v, want nothing", got)
		}
		if got := listAll(t, svc, admin, jobs.ListRequest{Scope: jobs.ScopeAll}); len(got) != 0 {
			t.Errorf("admin List after retention: %v, want nothing", got)
		}
		if _, err := svc.Cancel(ctx, alice, "job_1"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
			t.Errorf("Cancel after retention: %v, want %s", err, jobs.ENOTFOUND)
		}
	})
}

// listAll pages through a listing and returns the job IDs in order, checking
// that no job comes twice.
func listAll(t *testing.T, svc *jobs.Service, c jobs.Caller, req jobs.ListRequest) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for range 100 {
		page, err := svc.List(context.Background(), c, req)
		if err != nil {
			t.Fatalf("List(%+v): %v", req, err)
		}
		limit := req.Limit
		if limit == 0 {
			limit = jobs.DefaultPageSize
		}
		if len(page.Jobs) > limit {
			t.Fatalf("page of %d jobs, limit %d", len(page.Jobs), limit)
		}
		for _, j := range page.Jobs {
			if seen[j.ID] {
				t.Fatalf("job %s listed twice", j.ID)
			}
			seen[j.ID] = true
			out = append(out, j.ID)
		}
		if page.NextCursor == "" {
			return out
		}
		req.Cursor = page.NextCursor
	}
	t.Fatalf("listing never ended")
	return nil
}
