package jobs

import (
	"context"
	"time"
)

// Limits bound how long a job may stay unfinished, whatever the pipeline
// does. A job past one is ended by Expire (the sweeper calls it): FAILED with
// one of the timeout codes below, or CANCELLED. Zero fields take the
// DefaultLimits value.
type Limits struct {
	// Queue is the longest a job may stay QUEUED, from createdAt:
	// QUEUE_TIMEOUT (the pipeline never picked it up, or its hand-off was
	// lost).
	Queue time.Duration
	// Heartbeat is the longest a PROCESSING job may go without a sign of
	// life (any status event, or a worker check): HEARTBEAT_TIMEOUT (the
	// worker crashed).
	Heartbeat time.Duration
	// Run is the longest a job may stay PROCESSING, from startedAt:
	// RUN_TIMEOUT (the worker is alive but never finishes).
	Run time.Duration
	// Cancel is how long a cancel request on a PROCESSING job may go
	// unanswered before the job is CANCELLED without the worker.
	Cancel time.Duration
}

// DefaultLimits are the limits of a Service whose Limits are zero, and the
// template's parameter defaults.
var DefaultLimits = Limits{Queue: time.Hour, Heartbeat: 10 * time.Minute, Run: 2 * time.Hour, Cancel: 5 * time.Minute}

// Error codes of jobs ended by a limit.
const (
	QueueTimeoutCode     = "QUEUE_TIMEOUT"
	HeartbeatTimeoutCode = "HEARTBEAT_TIMEOUT"
	RunTimeoutCode       = "RUN_TIMEOUT"
)

// Bounds of a per-job deadline (the Cancel-After request header).
const (
	MinCancelAfter = 5 * time.Second
	MaxCancelAfter = 24 * time.Hour
)

// Reason says why Expire ended (or asked to cancel) a job; "" when the job
// is within every limit.
type Reason string

// Reasons of Expire. The first three are also the FAILED job's error code.
const (
	ReasonQueueTimeout     Reason = QueueTimeoutCode
	ReasonHeartbeatTimeout Reason = HeartbeatTimeoutCode
	ReasonRunTimeout       Reason = RunTimeoutCode
	// ReasonCancelTimeout: a cancel request went unanswered; the job is
	// CANCELLED.
	ReasonCancelTimeout Reason = "CANCEL_TIMEOUT"
	// ReasonDeadline: the job's own deadline (Cancel-After) passed. A
	// QUEUED job is CANCELLED at once; a PROCESSING one gets a cancel
	// request, which ReasonCancelTimeout then ends if unanswered.
	ReasonDeadline Reason = "DEADLINE"
)

// Reasons lists every Reason, for metrics and exhaustive tests.
var Reasons = []Reason{ReasonQueueTimeout, ReasonHeartbeatTimeout, ReasonRunTimeout, ReasonCancelTimeout, ReasonDeadline}

func (s *Service) limits() Limits {
	l := s.Limits
	d := DefaultLimits
	if l.Queue <= 0 {
		l.Queue = d.Queue
	}
	if l.Heartbeat <= 0 {
		l.Heartbeat = d.Heartbeat
	}
	if l.Run <= 0 {
		l.Run = d.Run
	}
	if l.Cancel <= 0 {
		l.Cancel = d.Cancel
	}
	return l
}

// heartbeatEvery is how stale a recorded heartbeat must be before a sign of
// life that changes nothing else is written: each write changes the job's
// version (and ETag), so heartbeats are coalesced to a few per limit.
func (l Limits) heartbeatEvery() time.Duration { return l.Heartbeat / 4 }

// lastHeard is when the pipeline last gave a sign of life for j.
func (j Job) lastHeard() time.Time {
	t := j.StartedAt
	if j.HeartbeatAt.After(t) {
		t = j.HeartbeatAt
	}
	return t
}

// cancelRequestedAt is when the pending cancel request was made (older
// records kept no time: their last update is the best bound).
func (j Job) cancelRequestedAt() time.Time {
	if !j.CancelRequestedAt.IsZero() {
		return j.CancelRequestedAt
	}
	return j.UpdatedAt
}

// Overdue reports which limit j is past at now, under l, or "" if none.
// Order matters when several are: an unanswered cancel ends as the user
// asked (CANCELLED); a deadline before the other limits, for the same reason.
func (l Limits) Overdue(j Job, now time.Time) Reason {
	past := func(from time.Time, d time.Duration) bool { return !from.IsZero() && !now.Before(from.Add(d)) }
	switch j.Status {
	case Queued:
		switch {
		case !j.Deadline.IsZero() && !now.Before(j.Deadline):
			return ReasonDeadline
		case past(j.CreatedAt, l.Queue):
			return ReasonQueueTimeout
		}
	case Processing:
		switch {
		case j.CancelRequested && past(j.cancelRequestedAt(), l.Cancel):
			return ReasonCancelTimeout
		case !j.CancelRequested && !j.Deadline.IsZero() && !now.Before(j.Deadline):
			return ReasonDeadline
		case past(j.StartedAt, l.Run):
			return ReasonRunTimeout
		case past(j.lastHeard(), l.Heartbeat):
			return ReasonHeartbeatTimeout
		}
	}
	return ""
}

// expire computes what the limit j is past does to it; Duplicate (and no
// change) when j is within every limit.
func (s *Service) expire(j Job) (Job, Outcome, Reason, error) {
	l := s.limits()
	now := s.now()
	reason := l.Overdue(j, now)
	var next Job
	var outcome Outcome
	var err error
	switch reason {
	case "":
		return j, Duplicate, "", nil
	case ReasonQueueTimeout:
		next, outcome, err = s.apply(j, Event{JobID: j.ID, Status: Failed, Error: &JobError{Code: QueueTimeoutCode,
			Message: "The video pipeline did not start the job within " + l.Queue.String() + "."}})
	case ReasonRunTimeout:
		next, outcome, err = s.apply(j, Event{JobID: j.ID, Status: Failed, Error: &JobError{Code: RunTimeoutCode,
			Message: "The job did not finish within " + l.Run.String() + " of starting."}})
	case ReasonHeartbeatTimeout:
		next, outcome, err = s.apply(j, Event{JobID: j.ID, Status: Failed, Error: &JobError{Code: HeartbeatTimeoutCode,
			Message: "The video pipeline stopped reporting on the job for " + l.Heartbeat.String() + "."}})
	case ReasonCancelTimeout:
		next, outcome, err = s.apply(j, Event{JobID: j.ID, Status: Cancelled})
	case ReasonDeadline:
		if j.Status == Queued {
			next, outcome, err = s.apply(j, Event{JobID: j.ID, Status: Cancelled})
		} else {
			next, outcome = s.requestCancel(j), Applied
		}
	}
	return next, outcome, reason, err
}

// requestCancel records a cancel request on a PROCESSING job.
func (s *Service) requestCancel(j Job) Job {
	now := s.now()
	next := j
	next.CancelRequested = true
	next.CancelRequestedAt = now
	next.UpdatedAt = now
	next.Version++
	return next
}

// Expire ends the job if it is past a limit (see Limits and Reason), with the
// same conditional write as every other change: a status event that lands
// first wins, and Expire then re-reads and decides again, so a late real
// event and the sweeper never both win. It returns the job, whether it
// changed (Applied) or not (Duplicate), and the reason; ENOTFOUND for an
// unknown job.
func (s *Service) Expire(ctx context.Context, id string) (Job, Outcome, Reason, error) {
	if err := ValidateID(id); err != nil {
		return Job{}, "", "", err
	}
	var reason Reason
	j, outcome, err := s.update(ctx, id, func(j Job) (Job, Outcome, error) {
		next, outcome, r, err := s.expire(j)
		reason = r
		return next, outcome, err
	})
	if err != nil || outcome != Applied {
		reason = ""
	}
	return j, outcome, reason, err
}

// Decision is the answer to a worker asking whether it may still work on a
// job (Service.Check).
type Decision string

// Decisions of Check.
const (
	// Continue: the job is QUEUED or PROCESSING and nobody asked to cancel
	// it; start or keep working.
	Continue Decision = "continue"
	// Cancel: a cancel was requested (by a user, or the job's deadline);
	// stop and report CANCELLED.
	Cancel Decision = "cancel"
	// Gone: the job is finished (COMPLETED, FAILED or CANCELLED: a limit
	// may have ended it), expired or unknown; stop and report nothing.
	Gone Decision = "gone"
)

// Check tells a worker whether it may still work on a job, before it starts
// and while it runs. On a PROCESSING job the call is a heartbeat (recorded
// with a conditional write, coalesced: at most a few writes per heartbeat
// limit). A job past a limit other than the heartbeat's (which the call
// itself answers) is ended here as the sweeper would end it, so the answer
// never waits for the next sweep. A malformed ID is EINVALID; an unknown
// job is Gone, not an error.
func (s *Service) Check(ctx context.Context, id string) (Decision, Job, error) {
	if err := ValidateID(id); err != nil {
		return "", Job{}, err
	}
	j, _, err := s.update(ctx, id, func(j Job) (Job, Outcome, error) {
		if r := s.limits().Overdue(j, s.now()); r != "" && r != ReasonHeartbeatTimeout {
			next, outcome, _, err := s.expire(j)
			return next, outcome, err
		}
		if next, ok := s.heartbeat(j); ok {
			return next, Heartbeat, nil
		}
		return j, Duplicate, nil
	})
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return Gone, Job{}, nil
	case err != nil:
		return "", Job{}, err
	}
	return decide(j, s.now()), j, nil
}

func decide(j Job, now time.Time) Decision {
	switch {
	case j.Status.Terminal() || j.Expired(now):
		return Gone
	case j.CancelRequested:
		return Cancel
	}
	return Continue
}

// heartbeat records a sign of life on a PROCESSING job whose last recorded
// one is older than the coalescing interval.
func (s *Service) heartbeat(j Job) (Job, bool) {
	now := s.now()
	if j.Status != Processing || now.Sub(j.lastHeard()) < s.limits().heartbeatEvery() {
		return j, false
	}
	next := j
	next.HeartbeatAt = now
	next.Version++
	return next, true
}
