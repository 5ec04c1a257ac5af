package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
)

func intp(n int) *int { return &n }

const advID = "job_adv"

// Instants of the Advance fixtures: created at t0, started at tStart,
// finished at tEnd; events arrive at tNow.
var (
	tStart = t0.Add(time.Minute)
	tEnd   = t0.Add(2 * time.Minute)
	tNow   = t0.Add(time.Hour)
)

func advQueued() jobs.Job { return queuedJob(advID, alice.Subject) }

func advProcessing(progress int) jobs.Job {
	j := advQueued()
	j.Status, j.Progress, j.StartedAt, j.UpdatedAt = jobs.Processing, progress, tStart, tStart
	j.HeartbeatAt = tNow.Add(-time.Minute) // recent: a sign of life that changes nothing is not written
	return j
}

func advTerminal(status jobs.Status) jobs.Job {
	j := advProcessing(40)
	j.Status, j.CompletedAt, j.UpdatedAt, j.ExpiresAt = status, tEnd, tEnd, tEnd.Add(jobs.DefaultRetention)
	switch status {
	case jobs.Completed:
		j.Progress, j.OutputURL = 100, "https://cdn.example.com/v/1.mp4"
	case jobs.Failed:
		j.Error = &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}
	}
	return j
}

func TestAdvance(t *testing.T) {
	t.Parallel()
	const url = "https://cdn.example.com/out/job_adv.mp4"
	failure := &jobs.JobError{Code: "RENDER_FAILED", Message: "the renderer crashed"}
	tests := []struct {
		name      string
		current   jobs.Job
		event     jobs.Event // JobID is filled in
		retention time.Duration
		outcome   jobs.Outcome
		// change turns the current job into the expected one; nil means
		// unchanged. Version is bumped for Applied outcomes automatically.
		change func(j *jobs.Job)
	}{
		{
			name: "QUEUED to PROCESSING", current: advQueued(),
			event: jobs.Event{Status: jobs.Processing}, outcome: jobs.Applied,
			change: func(j *jobs.Job) { j.Status, j.StartedAt = jobs.Processing, tNow },
		},
		{
			name: "QUEUED to PROCESSING with progress", current: advQueued(),
			event: jobs.Event{Status: jobs.Processing, Progress: intp(10)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) { j.Status, j.StartedAt, j.Progress = jobs.Processing, tNow, 10 },
		},
		{
			name: "progress up", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Processing, Progress: intp(70)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) { j.Progress = 70 },
		},
		{
			name: "progress to 100 while PROCESSING", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Processing, Progress: intp(100)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) { j.Progress = 100 },
		},
		{
			name: "progress down is stale", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Processing, Progress: intp(30)}, outcome: jobs.Stale,
		},
		{
			name: "progress equal is a duplicate", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Processing, Progress: intp(50)}, outcome: jobs.Duplicate,
		},
		{
			name: "PROCESSING again without progress is a duplicate", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Processing}, outcome: jobs.Duplicate,
		},
		{
			name: "progress on a cancel-requested job keeps the request", current: func() jobs.Job {
				j := advProcessing(50)
				j.CancelRequested = true
				return j
			}(),
			event: jobs.Event{Status: jobs.Processing, Progress: intp(60)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) { j.Progress = 60 },
		},
		{
			name: "PROCESSING to COMPLETED, default retention", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Completed, OutputURL: url}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Progress, j.OutputURL = jobs.Completed, 100, url
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(30*24*time.Hour)
			},
		},
		{
			name: "PROCESSING to COMPLETED, custom retention", current: advProcessing(50), retention: 7 * 24 * time.Hour,
			event: jobs.Event{Status: jobs.Completed, OutputURL: url}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Progress, j.OutputURL = jobs.Completed, 100, url
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(7*24*time.Hour)
			},
		},
		{
			name: "COMPLETED with a lower progress still ends at 100", current: advProcessing(50),
			event: jobs.Event{Status: jobs.Completed, OutputURL: url, Progress: intp(20)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Progress, j.OutputURL = jobs.Completed, 100, url
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "QUEUED to COMPLETED passes through PROCESSING", current: advQueued(),
			event: jobs.Event{Status: jobs.Completed, OutputURL: url}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Progress, j.OutputURL = jobs.Completed, 100, url
				j.StartedAt, j.CompletedAt, j.ExpiresAt = tNow, tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "PROCESSING to FAILED keeps progress", current: advProcessing(40),
			event: jobs.Event{Status: jobs.Failed, Error: failure}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Error = jobs.Failed, failure
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "FAILED with a higher progress raises it", current: advProcessing(40),
			event: jobs.Event{Status: jobs.Failed, Error: failure, Progress: intp(60)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Error, j.Progress = jobs.Failed, failure, 60
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "FAILED with a lower progress keeps it", current: advProcessing(40),
			event: jobs.Event{Status: jobs.Failed, Error: failure, Progress: intp(10)}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Error = jobs.Failed, failure
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			// A job that fails before the pipeline started it (or whose
			// hand-off failed) never started: no startedAt.
			name: "QUEUED to FAILED never started", current: advQueued(),
			event: jobs.Event{Status: jobs.Failed, Error: failure}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.Error = jobs.Failed, failure
				j.CompletedAt, j.ExpiresAt = tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "PROCESSING to CANCELLED", current: advProcessing(40),
			event: jobs.Event{Status: jobs.Cancelled}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.CompletedAt, j.ExpiresAt = jobs.Cancelled, tNow, tNow.Add(jobs.DefaultRetention)
			},
		},
		{
			name: "QUEUED to CANCELLED never started", current: advQueued(),
			event: jobs.Event{Status: jobs.Cancelled}, outcome: jobs.Applied,
			change: func(j *jobs.Job) {
				j.Status, j.CompletedAt, j.ExpiresAt = jobs.Cancelled, tNow, tNow.Add(jobs.DefaultRetention)
			},
		},

		// Terminal jobs: a same-status event is a duplicate (the first result
		// stands), an earlier-lifecycle event is stale, and a different
		// terminal status is rejected.
		{name: "COMPLETED + PROCESSING", current: advTerminal(jobs.Completed), event: jobs.Event{Status: jobs.Processing, Progress: intp(99)}, outcome: jobs.Stale},
		{name: "COMPLETED + COMPLETED same", current: advTerminal(jobs.Completed), event: jobs.Event{Status: jobs.Completed, OutputURL: "https://cdn.example.com/v/1.mp4"}, outcome: jobs.Duplicate},
		{name: "COMPLETED + COMPLETED other URL", current: advTerminal(jobs.Completed), event: jobs.Event{Status: jobs.Completed, OutputURL: url}, outcome: jobs.Rejected},
		{name: "COMPLETED + FAILED", current: advTerminal(jobs.Completed), event: jobs.Event{Status: jobs.Failed, Error: failure}, outcome: jobs.Rejected},
		{name: "COMPLETED + CANCELLED", current: advTerminal(jobs.Completed), event: jobs.Event{Status: jobs.Cancelled}, outcome: jobs.Rejected},
		{name: "FAILED + PROCESSING", current: advTerminal(jobs.Failed), event: jobs.Event{Status: jobs.Processing}, outcome: jobs.Stale},
		{name: "FAILED + COMPLETED", current: advTerminal(jobs.Failed), event: jobs.Event{Status: jobs.Completed, OutputURL: url}, outcome: jobs.Rejected},
		{name: "FAILED + FAILED other error", current: advTerminal(jobs.Failed), event: jobs.Event{Status: jobs.Failed, Error: failure}, outcome: jobs.Rejected},
		{name: "FAILED + CANCELLED", current: advTerminal(jobs.Failed), event: jobs.Event{Status: jobs.Cancelled}, outcome: jobs.Rejected},
		{name: "CANCELLED + PROCESSING", current: advTerminal(jobs.Cancelled), event: jobs.Event{Status: jobs.Processing, Progress: intp(10)}, outcome: jobs.Stale},
		{name: "CANCELLED + COMPLETED", current: advTerminal(jobs.Cancelled), event: jobs.Event{Status: jobs.Completed, OutputURL: url}, outcome: jobs.Rejected},
		{name: "CANCELLED + FAILED", current: advTerminal(jobs.Cancelled), event: jobs.Event{Status: jobs.Failed, Error: failure}, outcome: jobs.Rejected},
		{name: "CANCELLED + CANCELLED", current: advTerminal(jobs.Cancelled), event: jobs.Event{Status: jobs.Cancelled}, outcome: jobs.Duplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := inmem.NewStore()
			cur := seed(t, base, tt.current)
			store := mock.BackedStore(base)
			store.GetFn = mock.StrictStore(t).GetFn // read-modify-write must read strongly consistent
			updates := 0
			store.UpdateFn = func(ctx context.Context, j jobs.Job) error { updates++; return base.Update(ctx, j) }
			e := newEnv(t, store, nil)
			e.svc.Retention = tt.retention
			e.clock.Set(tNow)

			ev := tt.event
			ev.JobID = advID
			got, outcome, err := e.svc.Advance(context.Background(), ev)
			if err != nil {
				t.Fatalf("Advance() error = %v, want nil", err)
			}
			if outcome != tt.outcome {
				t.Errorf("outcome = %q, want %q", outcome, tt.outcome)
			}
			want := cur
			wantUpdates := 0
			if tt.change != nil {
				tt.change(&want)
				want.UpdatedAt, want.Version = tNow, cur.Version+1
				if want.Status == jobs.Processing { // every applied event on a running job is a heartbeat
					want.HeartbeatAt = tNow
				}
				wantUpdates = 1
			}
			wantJob(t, "returned job", got, want)
			wantJob(t, "stored job", stored(t, base, advID), want)
			if updates != wantUpdates {
				t.Errorf("Update calls = %d, want %d", updates, wantUpdates)
			}
			if tt.change == nil && tt.outcome == jobs.Applied {
				t.Errorf("test case bug: Applied needs a change")
			}
		})
	}
}

func TestAdvanceCopiesTheEventError(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	seed(t, base, advProcessing(10))
	e := newEnv(t, base, nil)
	jerr := &jobs.JobError{Code: "X", Message: "y"}
	got, _, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Failed, Error: jerr})
	if err != nil {
		t.Fatal(err)
	}
	jerr.Code = "MUTATED"
	if got.Error == jerr || got.Error.Code != "X" {
		t.Errorf("job error = %+v aliases the event's, want a copy", got.Error)
	}
}

var validEvents = []jobs.Event{
	{JobID: advID, Status: jobs.Processing},
	{JobID: advID, Status: jobs.Processing, Progress: intp(0)},
	{JobID: advID, Status: jobs.Processing, Progress: intp(100)},
	{JobID: advID, Status: jobs.Completed, OutputURL: "https://cdn.example.com/a.mp4"},
	{JobID: advID, Status: jobs.Completed, OutputURL: "http://127.0.0.1:9000/bucket/a.mp4?sig=x"},
	{JobID: advID, Status: jobs.Completed, OutputURL: "https://cdn.example.com/" + strings.Repeat("a", 2048-len("https://cdn.example.com/"))},
	{JobID: advID, Status: jobs.Failed, Error: &jobs.JobError{Code: strings.Repeat("C", 64), Message: strings.Repeat("m", 1024)}},
	{JobID: advID, Status: jobs.Cancelled},
	{JobID: "legacy-123", Status: jobs.Cancelled},
}

var invalidEvents = []struct {
	name string
	ev   jobs.Event
}{
	{"no job id", jobs.Event{Status: jobs.Processing}},
	{"bad job id", jobs.Event{JobID: "../x", Status: jobs.Processing}},
	{"QUEUED", jobs.Event{JobID: advID, Status: jobs.Queued}},
	{"no status", jobs.Event{JobID: advID}},
	{"unknown status", jobs.Event{JobID: advID, Status: "DONE"}},
	{"lower-case status", jobs.Event{JobID: advID, Status: "processing"}},
	{"progress 101", jobs.Event{JobID: advID, Status: jobs.Processing, Progress: intp(101)}},
	{"progress -1", jobs.Event{JobID: advID, Status: jobs.Processing, Progress: intp(-1)}},
	{"COMPLETED without outputUrl", jobs.Event{JobID: advID, Status: jobs.Completed}},
	{"outputUrl with PROCESSING", jobs.Event{JobID: advID, Status: jobs.Processing, OutputURL: "https://x/y"}},
	{"outputUrl with FAILED", jobs.Event{JobID: advID, Status: jobs.Failed, OutputURL: "https://x/y", Error: &jobs.JobError{Code: "C", Message: "m"}}},
	{"ftp outputUrl", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "ftp://cdn.example.com/a.mp4"}},
	{"file outputUrl", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "file:///etc/passwd"}},
	{"javascript outputUrl", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "javascript:alert(1)"}},
	{"relative outputUrl", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "/out/a.mp4"}},
	{"outputUrl without host", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "https:///a.mp4"}},
	{"unparsable outputUrl", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "https://exa mple.com/%zz"}},
	{"outputUrl of 2049 bytes", jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: "https://cdn.example.com/" + strings.Repeat("a", 2049-len("https://cdn.example.com/"))}},
	{"FAILED without error", jobs.Event{JobID: advID, Status: jobs.Failed}},
	{"error with PROCESSING", jobs.Event{JobID: advID, Status: jobs.Processing, Error: &jobs.JobError{Code: "C", Message: "m"}}},
	{"error with CANCELLED", jobs.Event{JobID: advID, Status: jobs.Cancelled, Error: &jobs.JobError{Code: "C", Message: "m"}}},
	{"error without code", jobs.Event{JobID: advID, Status: jobs.Failed, Error: &jobs.JobError{Message: "m"}}},
	{"error without message", jobs.Event{JobID: advID, Status: jobs.Failed, Error: &jobs.JobError{Code: "C"}}},
	{"error code of 65", jobs.Event{JobID: advID, Status: jobs.Failed, Error: &jobs.JobError{Code: strings.Repeat("C", 65), Message: "m"}}},
	{"error message of 1025", jobs.Event{JobID: advID, Status: jobs.Failed, Error: &jobs.JobError{Code: "C", Message: strings.Repeat("m", 1025)}}},
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	for _, ev := range validEvents {
		if err := ev.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", ev, err)
		}
	}
	for _, tt := range invalidEvents {
		wantCode(t, "Validate("+tt.name+")", tt.ev.Validate(), jobs.EINVALID)
	}
}

func TestAdvanceInvalidEventNeverTouchesTheStore(t *testing.T) {
	t.Parallel()
	for _, tt := range invalidEvents {
		e := newEnv(t, mock.StrictStore(t), nil)
		got, outcome, err := e.svc.Advance(context.Background(), tt.ev)
		wantCode(t, "Advance("+tt.name+")", err, jobs.EINVALID)
		if outcome != "" {
			t.Errorf("Advance(%s) outcome = %q, want none", tt.name, outcome)
		}
		wantJob(t, "Advance("+tt.name+") job", got, jobs.Job{})
	}
}

func TestAdvanceUnknownJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, inmem.NewStore(), nil)
	_, outcome, err := e.svc.Advance(context.Background(), jobs.Event{JobID: "job_nope", Status: jobs.Processing})
	wantCode(t, "Advance", err, jobs.ENOTFOUND)
	if outcome != "" {
		t.Errorf("outcome = %q, want none", outcome)
	}
}

func TestAdvanceRetriesAfterAConcurrentWrite(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	seed(t, base, advProcessing(10))
	store := mock.BackedStore(base)
	reads, updates := 0, 0
	store.GetLatestFn = func(ctx context.Context, id string) (jobs.Job, error) { reads++; return base.GetLatest(ctx, id) }
	store.UpdateFn = func(ctx context.Context, j jobs.Job) error {
		updates++
		if updates == 1 {
			// Another writer lands between our read and our write.
			other := advProcessing(30)
			other.Version = 2
			if err := base.Update(ctx, other); err != nil {
				t.Fatalf("concurrent write: %v", err)
			}
			return jobs.Errorf(jobs.ECONFLICT, "changed")
		}
		return base.Update(ctx, j)
	}
	e := newEnv(t, store, nil)
	e.clock.Set(tNow)

	got, outcome, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Processing, Progress: intp(50)})
	if err != nil || outcome != jobs.Applied {
		t.Fatalf("Advance() = %q, %v; want applied, nil", outcome, err)
	}
	want := advProcessing(50)
	want.UpdatedAt, want.HeartbeatAt, want.Version = tNow, tNow, 3
	wantJob(t, "returned job", got, want)
	wantJob(t, "stored job", stored(t, base, advID), want)
	if reads != 2 || updates != 2 {
		t.Errorf("GetLatest/Update calls = %d/%d, want 2/2", reads, updates)
	}
}

func TestAdvanceRetryReevaluatesTheEvent(t *testing.T) {
	t.Parallel()
	// The concurrent writer completes the job; our PROCESSING event then
	// turns out to be stale and nothing more is written.
	base := inmem.NewStore()
	seed(t, base, advProcessing(10))
	store := mock.BackedStore(base)
	updates := 0
	store.UpdateFn = func(ctx context.Context, j jobs.Job) error {
		updates++
		if updates == 1 {
			done := advTerminal(jobs.Completed)
			done.Version = 2
			if err := base.Update(ctx, done); err != nil {
				t.Fatalf("concurrent write: %v", err)
			}
			return jobs.Errorf(jobs.ECONFLICT, "changed")
		}
		return base.Update(ctx, j)
	}
	e := newEnv(t, store, nil)
	_, outcome, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Processing, Progress: intp(50)})
	if err != nil || outcome != jobs.Stale {
		t.Errorf("Advance() = %q, %v; want stale, nil", outcome, err)
	}
	if updates != 1 {
		t.Errorf("Update calls = %d, want 1", updates)
	}
}

func TestAdvanceGivesUpUnderContention(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	seed(t, base, advProcessing(10))
	store := mock.BackedStore(base)
	conflict := jobs.Errorf(jobs.ECONFLICT, "changed")
	updates := 0
	store.UpdateFn = func(context.Context, jobs.Job) error { updates++; return conflict }
	e := newEnv(t, store, nil)

	got, outcome, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Processing, Progress: intp(50)})
	wantCode(t, "Advance", err, jobs.EUNAVAILABLE)
	if !errors.Is(err, conflict) {
		t.Errorf("error = %v, want it to keep the last conflict as cause", err)
	}
	if outcome != "" {
		t.Errorf("outcome = %q, want none", outcome)
	}
	wantJob(t, "returned job", got, jobs.Job{})
	if updates < 2 || updates > 10 {
		t.Errorf("Update calls = %d, want a few bounded retries", updates)
	}
	wantJob(t, "stored job", stored(t, base, advID), advProcessing(10))
}

func TestAdvanceDoesNotRetryOtherErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want jobs.Code
	}{
		{"unavailable", jobs.Errorf(jobs.EUNAVAILABLE, "busy"), jobs.EUNAVAILABLE},
		{"plain", errors.New("boom"), jobs.EINTERNAL},
	}
	for _, tt := range tests {
		base := inmem.NewStore()
		seed(t, base, advProcessing(10))
		store := mock.BackedStore(base)
		updates := 0
		store.UpdateFn = func(context.Context, jobs.Job) error { updates++; return tt.err }
		e := newEnv(t, store, nil)
		_, _, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Processing, Progress: intp(50)})
		wantCode(t, "Advance("+tt.name+")", err, tt.want)
		if updates != 1 {
			t.Errorf("%s: Update calls = %d, want 1", tt.name, updates)
		}
	}
}

func TestAdvanceReadError(t *testing.T) {
	t.Parallel()
	store := mock.StrictStore(t)
	store.GetLatestFn = func(context.Context, string) (jobs.Job, error) {
		return jobs.Job{}, jobs.Errorf(jobs.EUNAVAILABLE, "busy")
	}
	e := newEnv(t, store, nil)
	_, _, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Processing})
	wantCode(t, "Advance", err, jobs.EUNAVAILABLE)
}

// TestAdvanceRecordsHeartbeats: an event that changes nothing else is still
// a sign of life, written when the last one recorded is a quarter of the
// heartbeat limit old, and only on a running job.
func TestAdvanceRecordsHeartbeats(t *testing.T) {
	t.Parallel()
	quiet := advProcessing(50)
	quiet.HeartbeatAt = tNow.Add(-jobs.DefaultLimits.Heartbeat / 4)
	tests := []struct {
		name    string
		current jobs.Job
		event   jobs.Event
		want    jobs.Outcome
	}{
		{"same progress", quiet, jobs.Event{Status: jobs.Processing, Progress: intp(50)}, jobs.Heartbeat},
		{"no progress", quiet, jobs.Event{Status: jobs.Processing}, jobs.Heartbeat},
		{"lower progress", quiet, jobs.Event{Status: jobs.Processing, Progress: intp(10)}, jobs.Heartbeat},
		{"recent heartbeat", advProcessing(50), jobs.Event{Status: jobs.Processing}, jobs.Duplicate},
		{"finished job", advTerminal(jobs.Cancelled), jobs.Event{Status: jobs.Processing}, jobs.Stale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := inmem.NewStore()
			cur := seed(t, base, tt.current)
			e := newEnv(t, base, nil)
			e.clock.Set(tNow)
			tt.event.JobID = advID
			got, outcome, err := e.svc.Advance(context.Background(), tt.event)
			if err != nil || outcome != tt.want {
				t.Fatalf("Advance() = %q, %v; want %q", outcome, err, tt.want)
			}
			want := cur
			if tt.want == jobs.Heartbeat {
				want.HeartbeatAt, want.Version = tNow, cur.Version+1
			}
			wantJob(t, "returned job", got, want)
			wantJob(t, "stored job", stored(t, base, advID), want)
		})
	}
}

// The codes the service gives the jobs it ends itself are not the
// pipeline's to send: a pipeline ENQUEUE_FAILED would let an idempotent
// replay hand a job the pipeline already worked on to it again.
func TestAdvanceRefusesServiceOwnedErrorCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []string{jobs.EnqueueFailedCode, jobs.QueueTimeoutCode, jobs.HeartbeatTimeoutCode, jobs.RunTimeoutCode} {
		base := inmem.NewStore()
		seed(t, base, advProcessing(90))
		e := newEnv(t, base, nil)
		_, _, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Failed, Error: &jobs.JobError{Code: code, Message: "m"}})
		wantCode(t, "Advance "+code, err, jobs.EINVALID)
		if got, _ := base.Get(context.Background(), advID); got.Status != jobs.Processing {
			t.Errorf("after a pipeline %s the job is %s, want PROCESSING", code, got.Status)
		}
	}
}

// An outputUrl is what a CDN URL can be: https, a public host name, no
// userinfo, a valid port, a valid URI of at most 2,048 bytes, and a host of
// the allow-list when the stage has one.
func TestAdvanceOutputURLRule(t *testing.T) {
	t.Parallel()
	long := "https://cdn.example.com/" + strings.Repeat("a", jobs.MaxOutputURLBytes)
	tests := []struct {
		url    string
		policy jobs.OutputURLs
		ok     bool
	}{
		{"https://cdn.example.com/v/1.mp4", jobs.OutputURLs{}, true},
		{"https://d111111abcdef8.cloudfront.net/v/1.mp4?Expires=1&Signature=a~b&Key-Pair-Id=K", jobs.OutputURLs{}, true},
		{"https://bucket.s3.us-east-1.amazonaws.com:443/v/1.mp4", jobs.OutputURLs{}, true},
		{"https://cdn.example.com/v/1.mp4", jobs.OutputURLs{Hosts: []string{"cdn.example.com"}}, true},
		{"https://CDN.example.com/v/1.mp4", jobs.OutputURLs{Hosts: []string{"cdn.example.com"}}, true},
		{"https://evil.example/v/1.mp4", jobs.OutputURLs{Hosts: []string{"cdn.example.com"}}, false},
		{"https://cdn.example.com.evil.example/v", jobs.OutputURLs{Hosts: []string{"cdn.example.com"}}, false},
		{"http://cdn.example.com/v/1.mp4", jobs.OutputURLs{}, false},
		{"javascript:alert(1)", jobs.OutputURLs{}, false},
		{"//cdn.example.com/v", jobs.OutputURLs{}, false},
		{"https://127.0.0.1/v", jobs.OutputURLs{}, false},
		{"https://[::1]/v", jobs.OutputURLs{}, false},
		{"https://169.254.169.254/latest/meta-data/", jobs.OutputURLs{}, false},
		{"https://10.0.0.7/v", jobs.OutputURLs{}, false},
		{"https://2130706433/v", jobs.OutputURLs{}, false},
		{"https://0x7f.1/v", jobs.OutputURLs{}, false},
		{"https://localhost/v", jobs.OutputURLs{}, false},
		{"https://metadata.google.internal/v", jobs.OutputURLs{}, false},
		{"https://user:pass@cdn.example.com/v", jobs.OutputURLs{}, false},
		{"https://cdn.example.com@evil.example/v", jobs.OutputURLs{}, false},
		{"https://cdn.example.com:0/v", jobs.OutputURLs{}, false},
		{"https://cdn.example.com:70000/v", jobs.OutputURLs{}, false},
		{"https://cdn.example.com:/v", jobs.OutputURLs{}, false},
		{"https://cdn.example.com/a b.mp4", jobs.OutputURLs{}, false},
		{`https://cdn.example.com/a"onmouseover=x.mp4`, jobs.OutputURLs{}, false},
		{"https://cdn.example.com/a'b.mp4", jobs.OutputURLs{}, false},
		{"https://cdn.example.com/a<b>.mp4", jobs.OutputURLs{}, false},
		{"https://cdn.example.com/a\\b.mp4", jobs.OutputURLs{}, false},
		{"https://cdn.example.com/a\tb.mp4", jobs.OutputURLs{}, false},
		{"https://cdn_example.com/v", jobs.OutputURLs{}, false},
		{long, jobs.OutputURLs{}, false},
		{"http://127.0.0.1:3000/local/outputs/j.mp4", jobs.OutputURLs{AllowLoopbackHTTP: true}, true},
		{"http://169.254.169.254/", jobs.OutputURLs{AllowLoopbackHTTP: true}, false},
	}
	for _, tt := range tests {
		base := inmem.NewStore()
		seed(t, base, advProcessing(10))
		e := newEnv(t, base, nil)
		e.svc.OutputURLs = tt.policy
		_, _, err := e.svc.Advance(context.Background(), jobs.Event{JobID: advID, Status: jobs.Completed, OutputURL: tt.url})
		if got := err == nil; got != tt.ok {
			t.Errorf("outputUrl %.80q (%+v): error %v, want ok=%v", tt.url, tt.policy, err, tt.ok)
		}
	}
}
