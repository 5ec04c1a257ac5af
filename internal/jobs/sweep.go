package jobs

import (
	"context"
	"errors"
	"time"
)

// Bounds of one Sweep, so that a scheduled run always fits its function's
// timeout; what a run leaves, the next one takes.
const (
	DefaultSweepScan   = 1000 // jobs read per status
	DefaultSweepChange = 200  // jobs changed
)

// SweepOptions bound one Sweep.
type SweepOptions struct {
	// MaxScan is the most jobs read per status (DefaultSweepScan if 0).
	MaxScan int
	// MaxChange is the most jobs changed (DefaultSweepChange if 0).
	MaxChange int
	// OnChange, if set, is called for each job Sweep changed, with why.
	OnChange func(j Job, r Reason)
}

// SweepResult is what one Sweep did.
type SweepResult struct {
	// Scanned counts the jobs read.
	Scanned int
	// Changed counts the jobs changed, by reason.
	Changed map[Reason]int
	// Truncated is true when a bound stopped the sweep before every
	// unfinished job was read.
	Truncated bool
}

// sweeper is the identity Sweep lists jobs as: it reads every job.
var sweeper = Caller{Subject: "jobs-api/sweeper", Admin: true}

// Sweep finds unfinished jobs past a limit and ends them with Expire. It
// reads QUEUED and then PROCESSING jobs oldest first through the status
// index (List with ScopeAll: Query, never Scan), at most MaxScan of each,
// and changes at most MaxChange. A job the index shows in a status it has
// since left is re-read by Expire and left alone. Errors on single jobs do
// not stop the sweep; they are joined into the returned error, with the
// result of everything else.
func (s *Service) Sweep(ctx context.Context, o SweepOptions) (SweepResult, error) {
	if o.MaxScan <= 0 {
		o.MaxScan = DefaultSweepScan
	}
	if o.MaxChange <= 0 {
		o.MaxChange = DefaultSweepChange
	}
	res := SweepResult{Changed: map[Reason]int{}}
	changed := 0
	limits := s.limits()
	var errs []error
	for _, st := range []Status{Queued, Processing} {
		cursor, scanned := "", 0
		for {
			if changed >= o.MaxChange || scanned >= o.MaxScan {
				res.Truncated = true
				break
			}
			page, err := s.List(ctx, sweeper, ListRequest{
				Scope: ScopeAll, Statuses: []Status{st}, Order: OldestFirst,
				Limit: min(MaxPageSize, o.MaxScan-scanned), Cursor: cursor,
			})
			if err != nil {
				return res, errors.Join(append(errs, err)...)
			}
			now := s.now()
			for _, j := range page.Jobs {
				scanned++
				res.Scanned++
				if changed >= o.MaxChange {
					break
				}
				if limits.Overdue(j, now) == "" {
					continue
				}
				got, outcome, reason, err := s.Expire(ctx, j.ID)
				switch {
				case ErrorCode(err) == ENOTFOUND:
				case err != nil:
					errs = append(errs, err)
				case outcome == Applied:
					changed++
					res.Changed[reason]++
					if o.OnChange != nil {
						o.OnChange(got, reason)
					}
				}
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
			if err := ctx.Err(); err != nil {
				return res, errors.Join(append(errs, err)...)
			}
		}
	}
	return res, errors.Join(errs...)
}

// NextCheck is how long a worker may wait between checks (Service.Check)
// and still count as alive: half the heartbeat limit.
func (s *Service) NextCheck() time.Duration { return s.limits().Heartbeat / 2 }
