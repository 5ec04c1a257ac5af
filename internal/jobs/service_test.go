package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
)

var (
	alice = jobs.Caller{Subject: "alice-sub", Username: "alice"}
	bob   = jobs.Caller{Subject: "bob-sub", Username: "bob"}
	root  = jobs.Caller{Subject: "root-sub", Username: "root", Groups: []string{"video", jobs.AdminGroup}, Admin: true}
)

// spec is a valid, normalized spec.
var spec = jobs.Spec{Prompt: "a cat surfing a wave", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}

// queuedJob returns a QUEUED job owned by owner, created at t0.
func queuedJob(id, owner string) jobs.Job {
	return jobs.Job{
		ID: id, OwnerID: owner, Status: jobs.Queued, Spec: spec, SpecHash: spec.Hash(),
		CreatedAt: t0, UpdatedAt: t0, Version: 1,
	}
}

func TestGetMalformedIDNeverReadsTheStore(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "../x", "a/b", "%2F", "<script>", strings.Repeat("a", 129)} {
		e := newEnv(t, mock.StrictStore(t), nil)
		j, err := e.svc.Get(context.Background(), alice, id)
		wantCode(t, "Get("+id+")", err, jobs.EINVALID)
		wantJob(t, "Get("+id+") job", j, jobs.Job{})
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	expiring := queuedJob("job_expiring", alice.Subject)
	expiring.Status, expiring.ExpiresAt = jobs.Completed, t0.Add(time.Hour)
	tests := []struct {
		name     string
		caller   jobs.Caller
		id       string
		now      time.Time
		wantCode jobs.Code // "" means the job is returned
	}{
		{"owner", alice, "job_alice", t0, ""},
		{"other user", bob, "job_alice", t0, jobs.ENOTFOUND},
		{"admin, someone else's", root, "job_alice", t0, ""},
		{"no subject", jobs.Caller{}, "job_alice", t0, jobs.ENOTFOUND},
		{"unknown", alice, "job_unknown", t0, jobs.ENOTFOUND},
		{"legacy ownerless, non-admin", alice, "legacy-1", t0, jobs.ENOTFOUND},
		{"legacy ownerless, admin", root, "legacy-1", t0, ""},
		{"before expiry", alice, "job_expiring", t0.Add(time.Hour - time.Millisecond), ""},
		{"at expiry", alice, "job_expiring", t0.Add(time.Hour), jobs.ENOTFOUND},
		{"expired, admin", root, "job_expiring", t0.Add(2 * time.Hour), jobs.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := inmem.NewStore()
			want := map[string]jobs.Job{
				"job_alice":    seed(t, base, queuedJob("job_alice", alice.Subject)),
				"legacy-1":     seed(t, base, jobs.Job{ID: "legacy-1", Status: jobs.Processing, CreatedAt: t0, UpdatedAt: t0}),
				"job_expiring": seed(t, base, expiring),
			}
			// Get is a plain read: no strongly consistent read, no writes.
			store := mock.StrictStore(t)
			store.GetFn = base.Get
			e := newEnv(t, store, nil)
			e.clock.Set(tt.now)
			got, err := e.svc.Get(context.Background(), tt.caller, tt.id)
			if tt.wantCode != "" {
				wantCode(t, "Get", err, tt.wantCode)
				wantJob(t, "Get job", got, jobs.Job{})
				return
			}
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			wantJob(t, "Get", got, want[tt.id])
		})
	}
}

func TestGetNotFoundIsIndistinguishable(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	seed(t, base, queuedJob("job_alice", alice.Subject))
	expired := queuedJob("job_old", alice.Subject)
	expired.ExpiresAt = t0
	seed(t, base, expired)
	e := newEnv(t, base, nil)
	e.clock.Set(t0.Add(time.Second))

	_, unknown := e.svc.Get(context.Background(), bob, "job_nope")
	_, foreign := e.svc.Get(context.Background(), bob, "job_alice")
	_, gone := e.svc.Get(context.Background(), alice, "job_old")
	for name, err := range map[string]error{"foreign": foreign, "expired": gone} {
		if jobs.ErrorCode(err) != jobs.ErrorCode(unknown) || jobs.ErrorMessage(err) != jobs.ErrorMessage(unknown) {
			t.Errorf("%s job: got %q %q, want the same as unknown: %q %q", name,
				jobs.ErrorCode(err), jobs.ErrorMessage(err), jobs.ErrorCode(unknown), jobs.ErrorMessage(unknown))
		}
	}
}

func TestGetPassesStoreErrorsThrough(t *testing.T) {
	t.Parallel()
	cause := errors.New("throttled")
	store := mock.StrictStore(t)
	store.GetFn = func(context.Context, string) (jobs.Job, error) {
		return jobs.Job{}, jobs.Wrap(jobs.EUNAVAILABLE, cause, "busy")
	}
	e := newEnv(t, store, nil)
	_, err := e.svc.Get(context.Background(), alice, "job_x")
	wantCode(t, "Get", err, jobs.EUNAVAILABLE)
	if !errors.Is(err, cause) {
		t.Errorf("Get() error = %v, want it to wrap %v", err, cause)
	}
}

func TestSubmitHappyPath(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	pipe := &mock.Pipeline{}
	e := newEnv(t, base, pipe)
	now := t0.Add(42 * time.Minute)
	e.clock.Set(now)

	res, err := e.svc.Submit(context.Background(), alice, jobs.Spec{Prompt: "a cat surfing a wave"}, "")
	if err != nil {
		t.Fatalf("Submit() error = %v", err)
	}
	want := jobs.Job{
		ID: "job_t1", OwnerID: alice.Subject, Status: jobs.Queued, Progress: 0,
		Spec: spec, SpecHash: spec.Hash(), CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if res.Replayed {
		t.Errorf("Replayed = true, want false")
	}
	wantJob(t, "Submit result", res.Job, want)
	wantJob(t, "stored job", stored(t, base, "job_t1"), want)
	calls := pipe.Calls()
	if len(calls) != 1 {
		t.Fatalf("Enqueue calls = %d, want 1", len(calls))
	}
	wantJob(t, "enqueued job", calls[0], want)
	if log := e.log.String(); log != "" {
		t.Errorf("log = %q, want nothing on success", log)
	}
}

func TestSubmitDefaultIDsAreGenerated(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	svc := &jobs.Service{Store: base, Pipeline: &mock.Pipeline{}}
	a, errA := svc.Submit(context.Background(), alice, spec, "")
	b, errB := svc.Submit(context.Background(), alice, spec, "")
	if errA != nil || errB != nil {
		t.Fatalf("Submit() errors = %v, %v", errA, errB)
	}
	if !idFormat.MatchString(a.Job.ID) || !idFormat.MatchString(b.Job.ID) || a.Job.ID == b.Job.ID {
		t.Errorf("IDs = %q, %q; want two distinct IDs matching %s", a.Job.ID, b.Job.ID, idFormat)
	}
	if a.Job.CreatedAt.IsZero() || a.Job.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want the current time in UTC", a.Job.CreatedAt)
	}
}

func TestSubmitRejectsBeforeWriting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		caller jobs.Caller
		spec   jobs.Spec
		key    string
		want   jobs.Code
	}{
		{"no subject", jobs.Caller{Username: "alice"}, spec, "", jobs.EUNAUTHORIZED},
		{"admin without subject", jobs.Caller{Groups: []string{"admin"}, Admin: true}, spec, "", jobs.EUNAUTHORIZED},
		{"blank prompt", alice, jobs.Spec{Prompt: "   "}, "", jobs.EINVALID},
		{"duration out of range", alice, jobs.Spec{Prompt: "x", DurationSeconds: 61}, "", jobs.EINVALID},
		{"bad resolution", alice, jobs.Spec{Prompt: "x", Resolution: "8k"}, "k", jobs.EINVALID},
		{"key of 256", alice, spec, strings.Repeat("k", 256), jobs.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, mock.StrictStore(t), mock.StrictPipeline(t))
			res, err := e.svc.Submit(context.Background(), tt.caller, tt.spec, tt.key)
			wantCode(t, "Submit", err, tt.want)
			wantJob(t, "Submit result", res.Job, jobs.Job{})
		})
	}
}

func TestSubmitKeyOf255IsAccepted(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	e := newEnv(t, base, &mock.Pipeline{})
	key := strings.Repeat("k", jobs.MaxIdempotencyKeyLen)
	res, err := e.svc.Submit(context.Background(), alice, spec, key)
	if err != nil {
		t.Fatalf("Submit() error = %v", err)
	}
	if got := stored(t, base, res.Job.ID).IdempotencyKey; got != key {
		t.Errorf("stored IdempotencyKey length %d, want %d", len(got), len(key))
	}
}

func TestSubmitCreateFailsEnqueuesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		key  string
		want jobs.Code
	}{
		{"unavailable", jobs.Wrap(jobs.EUNAVAILABLE, errors.New("throttled"), "busy"), "", jobs.EUNAVAILABLE},
		{"unavailable with key", jobs.Wrap(jobs.EUNAVAILABLE, errors.New("throttled"), "busy"), "k1", jobs.EUNAVAILABLE},
		{"internal", errors.New("table missing"), "", jobs.EINTERNAL},
		// A generated-ID collision is not an idempotent replay.
		{"conflict without key", jobs.Errorf(jobs.ECONFLICT, "taken"), "", jobs.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := mock.StrictStore(t)
			creates := 0
			store.CreateFn = func(context.Context, jobs.Job) error { creates++; return tt.err }
			e := newEnv(t, store, mock.StrictPipeline(t))
			_, err := e.svc.Submit(context.Background(), alice, spec, tt.key)
			wantCode(t, "Submit", err, tt.want)
			if !errors.Is(err, tt.err) {
				t.Errorf("Submit() error = %v, want the store's error %v", err, tt.err)
			}
			if creates != 1 {
				t.Errorf("Create calls = %d, want 1", creates)
			}
		})
	}
}

func TestSubmitPipelineFailureMarksJobFailed(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	cause := errors.New("sqs: AccessDenied")
	pipe := &mock.Pipeline{EnqueueFn: func(context.Context, jobs.Job) error { return cause }}
	e := newEnv(t, base, pipe)
	now := t0.Add(time.Minute)
	e.clock.Set(now)

	res, err := e.svc.Submit(context.Background(), alice, spec, "")
	wantCode(t, "Submit", err, jobs.EUNAVAILABLE)
	if !errors.Is(err, cause) {
		t.Errorf("Submit() error = %v, want it to wrap %v", err, cause)
	}
	wantJob(t, "Submit result", res.Job, jobs.Job{})
	got := stored(t, base, "job_t1")
	if got.Status != jobs.Failed || got.Version != 2 {
		t.Errorf("stored status %s version %d, want FAILED version 2", got.Status, got.Version)
	}
	if jobs.EnqueueFailedCode != "ENQUEUE_FAILED" {
		t.Errorf("EnqueueFailedCode = %q, want the documented ENQUEUE_FAILED", jobs.EnqueueFailedCode)
	}
	if got.Error == nil || got.Error.Code != jobs.EnqueueFailedCode || got.Error.Message == "" {
		t.Errorf("stored error = %+v, want code ENQUEUE_FAILED and a message", got.Error)
	}
	if !got.CompletedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(jobs.DefaultRetention)) || !got.UpdatedAt.Equal(now) {
		t.Errorf("stored completedAt %v expiresAt %v updatedAt %v, want %v, %v, %v",
			got.CompletedAt, got.ExpiresAt, got.UpdatedAt, now, now.Add(jobs.DefaultRetention), now)
	}
	if n := len(pipe.Calls()); n != 1 {
		t.Errorf("Enqueue calls = %d, want 1", n)
	}
	log := e.log.String()
	if !strings.Contains(log, "job_t1") || !strings.Contains(log, "sqs: AccessDenied") {
		t.Errorf("log = %q, want the job ID and cause", log)
	}
	if strings.Contains(log, "STRANDED_JOB") {
		t.Errorf("log = %q, want no STRANDED_JOB when the job was marked FAILED", log)
	}
}

func TestSubmitMarksFailedDespiteCallerDeadline(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	store := mock.BackedStore(base)
	store.UpdateFn = func(ctx context.Context, j jobs.Job) error {
		if err := ctx.Err(); err != nil {
			t.Errorf("mark-failed Update ctx.Err() = %v, want a live context", err)
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("mark-failed Update ctx has no deadline, want a bounded write")
		}
		return base.Update(ctx, j)
	}
	pipe := &mock.Pipeline{EnqueueFn: func(ctx context.Context, _ jobs.Job) error { return ctx.Err() }}
	e := newEnv(t, store, pipe)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := e.svc.Submit(ctx, alice, spec, "")
	wantCode(t, "Submit", err, jobs.EUNAVAILABLE)
	if got := stored(t, base, "job_t1").Status; got != jobs.Failed {
		t.Errorf("stored status = %s, want FAILED", got)
	}
}

// A hand-off whose request was sent and never answered may have reached the
// queue: the job stays QUEUED and the submit is accepted, for the pipeline's
// status events (or the sweeper's queue limit) to settle it; marking it
// FAILED would discard the pipeline's work and invite a second render.
func TestSubmitHandoffOutcomeUnknownKeepsTheJobQueued(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	pipe := &mock.Pipeline{EnqueueFn: func(context.Context, jobs.Job) error {
		return jobs.Wrap(jobs.EUNAVAILABLE, fmt.Errorf("%w: timeout", jobs.ErrHandoffUnknown), "The job could not be accepted right now; retry shortly.")
	}}
	e := newEnv(t, base, pipe)
	res, err := e.svc.Submit(context.Background(), alice, spec, "k-1")
	if err != nil {
		t.Fatalf("Submit() error = %v, want the job accepted", err)
	}
	if got := stored(t, base, res.Job.ID); got.Status != jobs.Queued || got.Error != nil {
		t.Errorf("stored job %s %+v, want QUEUED without error", got.Status, got.Error)
	}
	if !strings.Contains(e.log.String(), "HANDOFF_UNKNOWN") {
		t.Errorf("log = %q, want a HANDOFF_UNKNOWN line", e.log.String())
	}
	// A replay does not send it again either.
	if _, err := e.svc.Submit(context.Background(), alice, spec, "k-1"); err != nil {
		t.Fatalf("replay Submit() error = %v", err)
	}
	if n := len(pipe.Calls()); n != 1 {
		t.Errorf("Enqueue calls = %d, want 1", n)
	}
}

func TestSubmitPipelineAndMarkFailedBothFail(t *testing.T) {
	t.Parallel()
	base := inmem.NewStore()
	store := mock.BackedStore(base)
	updates := 0
	store.UpdateFn = func(context.Context, jobs.Job) error {
		updates++
		return jobs.Wrap(jobs.EUNAVAILABLE, errors.New("ddb throttled"), "busy")
	}
	pipe := &mock.Pipeline{EnqueueFn: func(context.Context, jobs.Job) error { return errors.New("sqs down") }}
	e := newEnv(t, store, pipe)

	_, err := e.svc.Submit(context.Background(), alice, spec, "")
	wantCode(t, "Submit", err, jobs.EUNAVAILABLE)
	if updates != 1 {
		t.Errorf("Update calls = %d, want 1", updates)
	}
	wantJob(t, "stored job", stored(t, base, "job_t1"), queuedJobAt("job_t1", alice.Subject, t0))
	log := e.log.String()
	var stranded string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "STRANDED_JOB") {
			stranded = line
		}
	}
	if stranded == "" {
		t.Fatalf("log = %q, want a STRANDED_JOB line", log)
	}
	for _, want := range []string{"level=ERROR", "jobId=job_t1", "ddb throttled"} {
		if !strings.Contains(stranded, want) {
			t.Errorf("STRANDED_JOB line = %q, want it to contain %q", stranded, want)
		}
	}
}

// queuedJobAt is the job Submit writes for owner at now with spec.
func queuedJobAt(id, owner string, now time.Time) jobs.Job {
	j := queuedJob(id, owner)
	j.CreatedAt, j.UpdatedAt = now, now
	return j
}

func TestSubmitIdempotency(t *testing.T) {
	t.Parallel()
	const key = "order-42"
	id := jobs.IdempotentID(alice.Subject, key)
	first := func(t *testing.T) (*env, *inmem.Store, *mock.Pipeline, jobs.Job) {
		t.Helper()
		base := inmem.NewStore()
		pipe := &mock.Pipeline{}
		e := newEnv(t, base, pipe)
		res, err := e.svc.Submit(context.Background(), alice, spec, key)
		if err != nil || res.Replayed {
			t.Fatalf("first Submit() = %+v, %v; want a new job", res, err)
		}
		want := queuedJobAt(id, alice.Subject, t0)
		want.IdempotencyKey = key
		wantJob(t, "first Submit", res.Job, want)
		return e, base, pipe, res.Job
	}

	t.Run("same key and spec replays a QUEUED job without sending it again", func(t *testing.T) {
		t.Parallel()
		e, base, pipe, orig := first(t)
		e.clock.Set(t0.Add(time.Hour))
		// Defaults spelled out normalize to the same spec.
		res, err := e.svc.Submit(context.Background(), alice, jobs.Spec{Prompt: spec.Prompt, Resolution: "720p"}, key)
		if err != nil {
			t.Fatalf("replay Submit() error = %v", err)
		}
		if !res.Replayed {
			t.Errorf("Replayed = false, want true")
		}
		wantJob(t, "replayed job", res.Job, orig)
		wantJob(t, "stored job", stored(t, base, id), orig)
		// A QUEUED job was sent, or its hand-off's outcome is unknown (the
		// pipeline or the sweeper resolves it): sending it again could
		// start it twice.
		if n := len(pipe.Calls()); n != 1 {
			t.Fatalf("Enqueue calls = %d, want 1 (the original only)", n)
		}
	})

	t.Run("replay of a job past QUEUED is not re-enqueued", func(t *testing.T) {
		t.Parallel()
		e, base, pipe, orig := first(t)
		started := orig
		started.Status, started.StartedAt, started.Version = jobs.Processing, t0, 2
		if err := base.Update(context.Background(), started); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Submit(context.Background(), alice, spec, key)
		if err != nil || !res.Replayed {
			t.Fatalf("replay Submit() = %+v, %v; want Replayed", res, err)
		}
		wantJob(t, "replayed job", res.Job, started)
		if n := len(pipe.Calls()); n != 1 {
			t.Errorf("Enqueue calls = %d, want 1", n)
		}
	})

	t.Run("same key, different spec", func(t *testing.T) {
		t.Parallel()
		e, base, pipe, orig := first(t)
		other := spec
		other.DurationSeconds = 6
		_, err := e.svc.Submit(context.Background(), alice, other, key)
		wantCode(t, "Submit", err, jobs.EUNPROCESSABLE)
		wantJob(t, "stored job", stored(t, base, id), orig)
		if n := len(pipe.Calls()); n != 1 {
			t.Errorf("Enqueue calls = %d, want 1", n)
		}
	})

	t.Run("exactly 24h later still replays", func(t *testing.T) {
		t.Parallel()
		e, _, _, orig := first(t)
		e.clock.Set(t0.Add(jobs.IdempotencyWindow))
		res, err := e.svc.Submit(context.Background(), alice, spec, key)
		if err != nil || !res.Replayed {
			t.Fatalf("Submit() = %+v, %v; want Replayed", res, err)
		}
		wantJob(t, "replayed job", res.Job, orig)
	})

	t.Run("key reused after 24h", func(t *testing.T) {
		t.Parallel()
		e, _, pipe, _ := first(t)
		e.clock.Set(t0.Add(jobs.IdempotencyWindow + time.Millisecond))
		_, err := e.svc.Submit(context.Background(), alice, spec, key)
		wantCode(t, "Submit", err, jobs.EUNPROCESSABLE)
		if msg := jobs.ErrorMessage(err); !strings.Contains(msg, "24 hours") {
			t.Errorf("message = %q, want it to mention 24 hours", msg)
		}
		if n := len(pipe.Calls()); n != 1 {
			t.Errorf("Enqueue calls = %d, want 1", n)
		}
	})

	t.Run("same key, other caller, is a separate job", func(t *testing.T) {
		t.Parallel()
		e, base, _, orig := first(t)
		res, err := e.svc.Submit(context.Background(), bob, spec, key)
		if err != nil || res.Replayed {
			t.Fatalf("Submit() = %+v, %v; want a new job", res, err)
		}
		if res.Job.ID == orig.ID || res.Job.OwnerID != bob.Subject {
			t.Errorf("bob's job = %s owned by %s, want a new ID owned by bob", res.Job.ID, res.Job.OwnerID)
		}
		wantJob(t, "alice's job", stored(t, base, id), orig)
	})

	t.Run("replay read fails", func(t *testing.T) {
		t.Parallel()
		base := inmem.NewStore()
		seed(t, base, queuedJob(id, alice.Subject))
		store := mock.BackedStore(base)
		store.GetLatestFn = func(context.Context, string) (jobs.Job, error) {
			return jobs.Job{}, jobs.Errorf(jobs.EUNAVAILABLE, "busy")
		}
		e := newEnv(t, store, mock.StrictPipeline(t))
		_, err := e.svc.Submit(context.Background(), alice, spec, key)
		wantCode(t, "Submit", err, jobs.EUNAVAILABLE)
	})
}

func TestSubmitDerivedIDCollisionWithAnotherJob(t *testing.T) {
	t.Parallel()
	const key = "k1"
	id := jobs.IdempotentID(alice.Subject, key)
	tests := []struct {
		name  string
		owner string
		key   string
	}{
		{"owned by someone else", "mallory-sub", key},
		{"ownerless legacy job", "", key},
		{"same owner, no key", alice.Subject, ""},
		{"same owner, other key", alice.Subject, "k2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := inmem.NewStore()
			j := queuedJob(id, tt.owner)
			j.IdempotencyKey = tt.key
			seed(t, base, j)
			e := newEnv(t, base, mock.StrictPipeline(t))
			res, err := e.svc.Submit(context.Background(), alice, spec, key)
			wantCode(t, "Submit", err, jobs.EUNPROCESSABLE)
			wantJob(t, "Submit result", res.Job, jobs.Job{})
			if msg := jobs.ErrorMessage(err); strings.Contains(msg, "mallory") {
				t.Errorf("message = %q leaks the other owner", msg)
			}
		})
	}
}

func TestSubmitIdempotentRetryRequeuesAFailedHandOff(t *testing.T) {
	t.Parallel()
	const key = "retry-after-503"
	base := inmem.NewStore()
	down := errors.New("sqs down")
	pipe := &mock.Pipeline{EnqueueFn: func(context.Context, jobs.Job) error { return down }}
	e := newEnv(t, base, pipe)
	id := jobs.IdempotentID(alice.Subject, key)

	if _, err := e.svc.Submit(context.Background(), alice, spec, key); jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Fatalf("first Submit error = %v, want %s", err, jobs.EUNAVAILABLE)
	}
	if got := stored(t, base, id); got.Status != jobs.Failed || got.Error == nil || got.Error.Code != jobs.EnqueueFailedCode {
		t.Fatalf("after failed hand-off: status %s, error %+v; want FAILED/%s", got.Status, got.Error, jobs.EnqueueFailedCode)
	}

	pipe.EnqueueFn = nil // the queue is back
	e.clock.Set(t0.Add(time.Minute))
	res, err := e.svc.Submit(context.Background(), alice, spec, key)
	if err != nil || !res.Replayed {
		t.Fatalf("retry Submit() = %+v, %v; want a replayed job", res, err)
	}
	got := stored(t, base, id)
	if got.Status != jobs.Queued || got.Error != nil || !got.CompletedAt.IsZero() || !got.ExpiresAt.IsZero() || got.Version != 3 {
		t.Errorf("requeued job = %+v; want QUEUED, no error, no completedAt/expiresAt, version 3", got)
	}
	if !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("createdAt, updatedAt = %v, %v; want %v, %v", got.CreatedAt, got.UpdatedAt, t0, t0.Add(time.Minute))
	}
	calls := pipe.Calls()
	if len(calls) != 2 || calls[1].Status != jobs.Queued || calls[1].ID != id {
		t.Errorf("Enqueue calls = %+v; want the failed attempt, then the requeued job", calls)
	}

	// A job FAILED by the pipeline is final, even with the same key.
	failed := got
	failed.Status, failed.Error, failed.Version = jobs.Failed, &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}, 4
	if err := base.Update(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	res, err = e.svc.Submit(context.Background(), alice, spec, key)
	if err != nil || res.Job.Status != jobs.Failed || len(pipe.Calls()) != 2 {
		t.Errorf("replay of a pipeline-FAILED job = %+v, %v, %d enqueues; want it returned as is, no enqueue", res.Job, err, len(pipe.Calls()))
	}
}
