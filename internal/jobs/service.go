package jobs

import (
	"context"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"time"
)

// Defaults for Service fields left zero.
const (
	DefaultRetention      = 30 * 24 * time.Hour
	IdempotencyWindow     = 24 * time.Hour
	MaxIdempotencyKeyLen  = 255
	maxOptimisticAttempts = 5
)

// Service carries out the Jobs API's use cases over a Store and a Pipeline.
// Every adapter (Lambda handlers, the local server, Go workers) goes through
// it, so the rules live in one place.
type Service struct {
	Store    Store
	Pipeline Pipeline // may be nil for services that never submit
	// Now and NewID are injectable for deterministic tests.
	Now   func() time.Time
	NewID func() string
	// Retention is how long terminal jobs are kept (DefaultRetention if 0).
	Retention time.Duration
	Log       *slog.Logger
	// Index serves List and BatchGet; if nil, Store is used when it is an
	// Index too.
	Index Index
	// CursorKey signs List cursors (HMAC-SHA256). Every instance serving one
	// API must share it; if empty, a random per-process key is used.
	CursorKey []byte
	// Limits bound how long a job may stay unfinished (DefaultLimits for
	// zero fields); Expire and Check apply them.
	Limits Limits
	// OutputURLs is the rule for the pipeline's outputUrl, which users are
	// sent to.
	OutputURLs OutputURLs
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) retention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultRetention
}

// Get returns the job with the given ID if caller may see it. Unknown,
// expired and other people's jobs are all ENOTFOUND, so callers cannot probe
// for IDs. A malformed ID is EINVALID and costs no storage read.
func (s *Service) Get(ctx context.Context, caller Caller, id string) (Job, error) {
	if err := ValidateID(id); err != nil {
		return Job{}, err
	}
	j, err := s.Store.Get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if !j.VisibleTo(caller) || j.Expired(s.now()) {
		return Job{}, notFound()
	}
	return j, nil
}

func notFound() error { return Errorf(ENOTFOUND, "No job with that id.") }

// SubmitResult is what Submit did.
type SubmitResult struct {
	Job Job
	// Replayed is true when an earlier submit with the same idempotency key
	// created the job.
	Replayed bool
}

// Submit records a new QUEUED job for caller and hands it to the pipeline.
//
// The record is written first, with a put that cannot overwrite. If that
// fails nothing is handed off and the error (EUNAVAILABLE, usually) goes
// back to the caller. If the hand-off fails after the write, the job is
// marked FAILED with error code ENQUEUE_FAILED, so it never sits QUEUED
// forever, and EUNAVAILABLE is returned.
//
// With an idempotency key the job ID is derived from (caller, key): a retry
// with the same spec within IdempotencyWindow returns the original job (and
// hands a still-QUEUED one to the pipeline again, which covers a crash
// between write and hand-off; the pipeline is at-least-once anyway); the same
// key with a different spec, or after the window, is EUNPROCESSABLE.
func (s *Service) Submit(ctx context.Context, caller Caller, spec Spec, idempotencyKey string) (SubmitResult, error) {
	if caller.Subject == "" {
		return SubmitResult{}, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	spec, err := spec.Normalize()
	if err != nil {
		return SubmitResult{}, err
	}
	if len(idempotencyKey) > MaxIdempotencyKeyLen {
		return SubmitResult{}, Errorf(EINVALID, "Idempotency-Key: at most %d characters", MaxIdempotencyKeyLen)
	}
	now := s.now()
	j := Job{
		OwnerID:        caller.Subject,
		Status:         Queued,
		Spec:           spec,
		SpecHash:       spec.Hash(),
		IdempotencyKey: idempotencyKey,
		CreatedAt:      now,
		UpdatedAt:      now,
		Version:        1,
	}
	if spec.CancelAfter > 0 {
		j.Deadline = now.Add(spec.CancelAfter)
		j.Spec.CancelAfter = 0
	}
	switch {
	case idempotencyKey != "":
		j.ID = IdempotentID(caller.Subject, idempotencyKey)
	case s.NewID != nil:
		j.ID = s.NewID()
	default:
		j.ID = NewID()
	}

	err = s.Store.Create(ctx, j)
	if ErrorCode(err) == ECONFLICT && idempotencyKey != "" {
		return s.replay(ctx, caller, j)
	}
	if err != nil {
		return SubmitResult{}, err
	}
	if err := s.enqueue(ctx, j); err != nil {
		return SubmitResult{}, err
	}
	return SubmitResult{Job: j}, nil
}

func (s *Service) replay(ctx context.Context, caller Caller, j Job) (SubmitResult, error) {
	prev, err := s.Store.GetLatest(ctx, j.ID)
	if err != nil {
		return SubmitResult{}, err
	}
	switch {
	case prev.OwnerID != caller.Subject || prev.IdempotencyKey != j.IdempotencyKey:
		// A derived-ID collision with someone else's job: astronomically
		// unlikely, but never hand out another owner's job.
		return SubmitResult{}, Errorf(EUNPROCESSABLE, "Idempotency-Key cannot be used; choose another.")
	case j.CreatedAt.Sub(prev.CreatedAt) > IdempotencyWindow:
		return SubmitResult{}, Errorf(EUNPROCESSABLE, "Idempotency-Key was first used more than 24 hours ago; use a new key.")
	case prev.SpecHash != j.SpecHash:
		return SubmitResult{}, Errorf(EUNPROCESSABLE, "Idempotency-Key was already used with a different request body.")
	}
	// A replay sends the job again only when it certainly was not sent (the
	// service marked it FAILED ENQUEUE_FAILED, a code the pipeline cannot
	// send). A QUEUED job was sent, or is being sent by the first request, or
	// its hand-off's outcome is unknown: the pipeline's status events or the
	// sweeper's queue limit settle it, and sending it again could start it
	// twice. So a replay costs one read, never a message.
	if prev.Status == Failed && prev.Error != nil && prev.Error.Code == EnqueueFailedCode {
		return s.requeue(ctx, prev)
	}
	return SubmitResult{Job: prev, Replayed: true}, nil
}

// requeue gives a job whose hand-off certainly failed at submit another go, on a retry
// with its Idempotency-Key. It is the one way out of a terminal status, and
// safe: the pipeline never saw the job, and the submit that created it
// answered 503, so no client was told it was accepted.
func (s *Service) requeue(ctx context.Context, prev Job) (SubmitResult, error) {
	next := prev
	next.Status, next.Error = Queued, nil
	next.CompletedAt, next.ExpiresAt = time.Time{}, time.Time{}
	next.UpdatedAt = s.now()
	next.Version++
	if err := s.Store.Update(ctx, next); err != nil {
		if ErrorCode(err) == ECONFLICT { // a concurrent retry requeued it first
			return SubmitResult{}, Wrap(EUNAVAILABLE, err, "The job is being resubmitted; retry with the same Idempotency-Key.")
		}
		return SubmitResult{}, err
	}
	if err := s.enqueue(ctx, next); err != nil {
		return SubmitResult{}, err
	}
	return SubmitResult{Job: next, Replayed: true}, nil
}

// ServiceErrorCode reports whether code is one of the JobError codes the
// service gives the jobs it ends itself (EnqueueFailedCode and the limits'
// codes). Advance, the pipeline's way in, refuses them: the service acts on
// them (a replay re-sends an ENQUEUE_FAILED job), so they must mean what the
// service means.
func ServiceErrorCode(code string) bool {
	switch code {
	case EnqueueFailedCode, QueueTimeoutCode, HeartbeatTimeoutCode, RunTimeoutCode:
		return true
	}
	return false
}

// EnqueueFailedCode is the JobError code of jobs whose hand-off to the
// pipeline failed at submit.
const EnqueueFailedCode = "ENQUEUE_FAILED"

func (s *Service) enqueue(ctx context.Context, j Job) error {
	err := s.Pipeline.Enqueue(ctx, j)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrHandoffUnknown) {
		// The message may be on the queue: failing the job would discard
		// the pipeline's work on it. It stays QUEUED and the submit is
		// accepted; if the pipeline never saw it, the sweeper ends it with
		// QUEUE_TIMEOUT after Limits.Queue.
		s.log().WarnContext(ctx, "HANDOFF_UNKNOWN: the hand-off was sent and not answered; the job stays QUEUED", "jobId", j.ID, "err", err)
		return nil
	}
	s.log().ErrorContext(ctx, "pipeline hand-off failed; marking job FAILED", "jobId", j.ID, "err", err)
	failed, _, ferr := s.apply(j, Event{
		JobID:  j.ID,
		Status: Failed,
		Error:  &JobError{Code: EnqueueFailedCode, Message: "The job could not be handed to the video pipeline. Submit it again."},
	})
	if ferr == nil {
		// The write below goes on when the caller's deadline cut the hand-off
		// short, so that the job is not left QUEUED, within the invocation.
		wctx, cancel := Detached(ctx, DefaultCallTimeout)
		defer cancel()
		ferr = s.Store.Update(wctx, failed)
	}
	if ferr != nil {
		// Both the queue and the table are failing. The job stays QUEUED; this
		// log line is the alarm for operators (see README, Operations).
		s.log().ErrorContext(ctx, "STRANDED_JOB: could not mark job FAILED after hand-off failure", "jobId", j.ID, "err", ferr)
	}
	return Wrap(EUNAVAILABLE, err, "The job could not be accepted right now; retry shortly.")
}

// Event is a status report from the video pipeline.
type Event struct {
	JobID     string
	Status    Status
	Progress  *int // nil: unchanged (100 implied by COMPLETED)
	OutputURL string
	Error     *JobError
}

// Outcome says what an Event did to its job.
type Outcome string

// Outcomes of Advance.
const (
	Applied   Outcome = "applied"   // the job changed
	Duplicate Outcome = "duplicate" // the job already reflects the event
	Stale     Outcome = "stale"     // the job has moved past the event (out-of-order delivery)
	Rejected  Outcome = "rejected"  // the event contradicts a terminal state
	// Heartbeat: the event changed nothing a client sees, but was recorded
	// as the pipeline's sign of life on a PROCESSING job (Limits.Heartbeat).
	Heartbeat Outcome = "heartbeat"
)

// writes reports whether an outcome is stored.
func (o Outcome) writes() bool { return o == Applied || o == Heartbeat }

// Limits of an Event, documented in README (status events) and
// docs/schemas/status-event.schema.json.
const (
	MaxOutputURLBytes    = 2048
	MaxErrorCodeBytes    = 64
	MaxErrorMessageBytes = 1024
)

// Validate returns EINVALID for an event no job could accept.
func (e Event) Validate() error {
	if err := ValidateID(e.JobID); err != nil {
		return err
	}
	switch e.Status {
	case Processing, Completed, Failed, Cancelled:
	default:
		return Errorf(EINVALID, "status: one of PROCESSING, COMPLETED, FAILED, CANCELLED")
	}
	if e.Progress != nil && (*e.Progress < 0 || *e.Progress > 100) {
		return Errorf(EINVALID, "progress: an integer from 0 to 100")
	}
	if (e.Status == Completed) != (e.OutputURL != "") {
		return Errorf(EINVALID, "outputUrl: required with COMPLETED, and only with it")
	}
	if e.OutputURL != "" {
		u, err := url.Parse(e.OutputURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(e.OutputURL) > MaxOutputURLBytes {
			return Errorf(EINVALID, "outputUrl: an absolute http(s) URL of at most %d bytes", MaxOutputURLBytes)
		}
	}
	if (e.Status == Failed) != (e.Error != nil) {
		return Errorf(EINVALID, "error: required with FAILED, and only with it")
	}
	if e.Error != nil && (e.Error.Code == "" || e.Error.Message == "" || len(e.Error.Code) > MaxErrorCodeBytes || len(e.Error.Message) > MaxErrorMessageBytes) {
		return Errorf(EINVALID, "error: code (1-%d bytes) and message (1-%d bytes) are required", MaxErrorCodeBytes, MaxErrorMessageBytes)
	}
	return nil
}

// apply computes the job that results from ev, without writing it. The
// returned job has Version incremented when the outcome is Applied.
func (s *Service) apply(j Job, ev Event) (Job, Outcome, error) {
	if err := ev.Validate(); err != nil {
		return j, "", err
	}
	now := s.now()
	next := j
	switch {
	case ev.Status == j.Status && j.Status.Terminal():
		// The same end again: a redelivery, unless it tells a different
		// story (another output or error), which the first report wins over.
		if ev.OutputURL != j.OutputURL || !sameError(ev.Error, j.Error) {
			return j, Rejected, nil
		}
		return j, Duplicate, nil
	case ev.Status == j.Status:
		// Any event is a sign of life, even one that changes nothing else.
		if ev.Progress == nil || *ev.Progress == j.Progress {
			if hb, ok := s.heartbeat(j); ok {
				return hb, Heartbeat, nil
			}
			return j, Duplicate, nil
		}
		if *ev.Progress < j.Progress {
			if hb, ok := s.heartbeat(j); ok {
				return hb, Heartbeat, nil
			}
			return j, Stale, nil
		}
		next.Progress = *ev.Progress
	case j.Status.Terminal():
		if ev.Status.rank() < j.Status.rank() {
			return j, Stale, nil
		}
		return j, Rejected, nil
	case ev.Status.rank() < j.Status.rank():
		return j, Stale, nil
	case CanTransition(j.Status, ev.Status), j.Status == Queued && ev.Status == Completed:
		// A terminal event may overtake its PROCESSING event on the queue;
		// the job passes through PROCESSING rather than losing the result.
		next.Status = ev.Status
		// startedAt is when work began: entering PROCESSING, or passing
		// through it to COMPLETED. A job FAILED or CANCELLED straight from
		// QUEUED (a failed hand-off, a rejected request) never started.
		if next.StartedAt.IsZero() && (ev.Status == Processing || ev.Status == Completed) {
			next.StartedAt = now
		}
		if ev.Progress != nil && *ev.Progress > next.Progress {
			next.Progress = *ev.Progress
		}
		if ev.Status.Terminal() {
			next.CompletedAt = now
			next.ExpiresAt = now.Add(s.retention())
		}
		switch ev.Status {
		case Completed:
			next.Progress = 100
			next.OutputURL = ev.OutputURL
		case Failed:
			e := *ev.Error
			next.Error = &e
		}
	default:
		return j, Rejected, nil
	}
	if next.Status == Processing {
		next.HeartbeatAt = now
	}
	next.UpdatedAt = now
	next.Version = j.Version + 1
	return next, Applied, nil
}

func sameError(a, b *JobError) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Advance applies a pipeline event to its job with an optimistic-locking
// write, retrying when a concurrent writer got there first. Duplicate, stale
// and rejected events change nothing and return a nil error: redelivery must
// not poison a queue. A malformed event is EINVALID; an unknown job ENOTFOUND.
func (s *Service) Advance(ctx context.Context, ev Event) (Job, Outcome, error) {
	if err := ev.Validate(); err != nil {
		return Job{}, "", err
	}
	if ev.Error != nil && ServiceErrorCode(ev.Error.Code) {
		return Job{}, "", Errorf(EINVALID, "error.code: %s is set only by the jobs service", ev.Error.Code)
	}
	if ev.OutputURL != "" {
		if err := s.OutputURLs.Check(ev.OutputURL); err != nil {
			return Job{}, "", err
		}
	}
	return s.update(ctx, ev.JobID, func(j Job) (Job, Outcome, error) { return s.apply(j, ev) })
}

// Cancel cancels a job on behalf of caller (its owner or an admin). A QUEUED
// job becomes CANCELLED at once; a PROCESSING one gets CancelRequested for the
// pipeline to act on; an already CANCELLED job is returned unchanged. A
// COMPLETED or FAILED job is ECONFLICT.
func (s *Service) Cancel(ctx context.Context, caller Caller, id string) (Job, error) {
	if err := ValidateID(id); err != nil {
		return Job{}, err
	}
	j, _, err := s.update(ctx, id, func(j Job) (Job, Outcome, error) {
		if !j.VisibleTo(caller) || j.Expired(s.now()) {
			return j, "", notFound()
		}
		switch j.Status {
		case Queued:
			return s.apply(j, Event{JobID: j.ID, Status: Cancelled})
		case Processing:
			if j.CancelRequested {
				return j, Duplicate, nil
			}
			return s.requestCancel(j), Applied, nil
		case Cancelled:
			return j, Duplicate, nil
		default:
			return j, "", Errorf(ECONFLICT, "The job is %s and can no longer be cancelled.", j.Status)
		}
	})
	return j, err
}

// update runs a read-modify-write on one job until it lands without a
// concurrent change in between.
func (s *Service) update(ctx context.Context, id string, change func(Job) (Job, Outcome, error)) (Job, Outcome, error) {
	var lastErr error
	for range maxOptimisticAttempts {
		cur, err := s.Store.GetLatest(ctx, id)
		if err != nil {
			return Job{}, "", err
		}
		next, outcome, err := change(cur)
		if err != nil {
			// No job with an error: it may be one the caller may not see.
			return Job{}, "", err
		}
		if !outcome.writes() {
			return next, outcome, nil
		}
		err = s.Store.Update(ctx, next)
		if err == nil {
			return next, outcome, nil
		}
		if ErrorCode(err) != ECONFLICT {
			return Job{}, "", err
		}
		lastErr = err
		// Racing writers retry in lock-step without a little jitter.
		if err := Sleep(ctx, time.Duration(mrand.Int64N(int64(5*time.Millisecond)))); err != nil {
			return Job{}, "", Wrap(EUNAVAILABLE, err, "The job is being changed concurrently; retry shortly.")
		}
	}
	return Job{}, "", Wrap(EUNAVAILABLE, errors.Join(errors.New("too much contention"), lastErr), "The job is being changed concurrently; retry shortly.")
}

// Sleep waits for d or until ctx is done, and returns ctx.Err() if ctx
// ended first (at once, for d <= 0 and a done ctx).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
