package dynamodb_test

// Races on real dynalite: many goroutines push the same and competing
// transitions through jobs.Service (Advance for pipeline events, Cancel for
// users) at once. The conditional, versioned writes must let exactly one
// writer win each step, and the sequence of applied writes must be a legal
// history: versions +1 each, never backwards, progress monotonic, terminal
// final.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

const raceOwner = "race-owner"

// raceResult is what one racer got back.
type raceResult struct {
	name    string // what the racer did, e.g. "advance COMPLETED #3"
	kind    string // racers with the same kind send identical requests
	job     jobs.Job
	outcome jobs.Outcome
	err     error
}

// raceAct is one racer's request.
type raceAct struct {
	kind string
	do   func(ctx context.Context) (jobs.Job, jobs.Outcome, error)
}

func raceAdvance(svc *jobs.Service, ev jobs.Event) func(context.Context) (jobs.Job, jobs.Outcome, error) {
	return func(ctx context.Context) (jobs.Job, jobs.Outcome, error) { return svc.Advance(ctx, ev) }
}

// raceCancel adapts Service.Cancel, which reports no outcome (see raceHistory).
func raceCancel(svc *jobs.Service, id string) func(context.Context) (jobs.Job, jobs.Outcome, error) {
	return func(ctx context.Context) (jobs.Job, jobs.Outcome, error) {
		j, err := svc.Cancel(ctx, jobs.Caller{Subject: raceOwner}, id)
		return j, "", err
	}
}

// runRace runs every act at once, each from its own goroutine released by one
// signal, and returns what each got.
func runRace(acts []raceAct) []raceResult {
	start := make(chan struct{})
	out := make([]raceResult, len(acts))
	var wg sync.WaitGroup
	for i, a := range acts {
		wg.Go(func() {
			<-start
			j, o, err := a.do(context.Background())
			out[i] = raceResult{name: fmt.Sprintf("%s #%d", a.kind, i), kind: a.kind, job: j, outcome: o, err: err}
		})
	}
	close(start)
	wg.Wait()
	return out
}

type raceEnv struct {
	svc   *jobs.Service
	store *dynamodb.Store
	// lost counts writes refused because another racer changed the job
	// first: the evidence that racers really collided.
	lost atomic.Int64
}

// raceStore counts lost conditional writes.
type raceStore struct {
	jobs.Store
	lost *atomic.Int64
}

func (s raceStore) Update(ctx context.Context, j jobs.Job) error {
	err := s.Store.Update(ctx, j)
	if jobs.ErrorCode(err) == jobs.ECONFLICT {
		s.lost.Add(1)
	}
	return err
}

func newRaceEnv(t *testing.T) *raceEnv {
	t.Helper()
	client, table := testenv.NewTable(t)
	e := &raceEnv{store: dynamodb.New(client, table)}
	e.svc = &jobs.Service{Store: raceStore{Store: e.store, lost: &e.lost}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return e
}

func (e *raceEnv) seed(t *testing.T, status jobs.Status, progress int) jobs.Job {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := jobs.Job{ID: jobs.NewID(), OwnerID: raceOwner, Status: jobs.Queued, Spec: jobs.Spec{Prompt: "p", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}, SpecHash: "h", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.Create(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if status == jobs.Processing {
		p := progress
		var err error
		if j, _, err = e.svc.Advance(context.Background(), jobs.Event{JobID: j.ID, Status: jobs.Processing, Progress: &p}); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

func (e *raceEnv) stored(t *testing.T, id string) jobs.Job {
	t.Helper()
	j, err := e.store.GetLatest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// raceCheck asserts the invariants on what the racers got and on the
// stored job, and returns the writes in version order. allowedErrs are the
// error codes losers may get.
func raceCheck(t *testing.T, e *raceEnv, before jobs.Job, rs []raceResult, allowedErrs ...jobs.Code) []raceResult {
	t.Helper()
	for _, r := range rs {
		if r.err == nil {
			continue
		}
		ok := false
		for _, c := range allowedErrs {
			ok = ok || jobs.ErrorCode(r.err) == c
		}
		if !ok {
			t.Errorf("%s: unexpected error %v", r.name, r.err)
		}
	}
	t.Logf("%d racers, %d conditional writes lost so far in this table", len(rs), e.lost.Load())
	writes, violations := raceHistory(before, rs)
	for _, v := range violations {
		t.Error(v)
	}
	last := before
	if len(writes) > 0 {
		last = writes[len(writes)-1].job
	}
	if got, want := raceState(e.stored(t, before.ID)), raceState(last); got != want {
		t.Errorf("stored job %s, want the last applied write's %s", got, want)
	}
	return writes
}

// raceHistory finds the writes among the results and checks they form a
// legal history from before: one write per version, versions +1 each,
// only allowed transitions, never backwards, progress monotonic, nothing
// after a terminal state, no write without a change.
func raceHistory(before jobs.Job, rs []raceResult) (writes []raceResult, violations []string) {
	bad := func(format string, args ...any) { violations = append(violations, fmt.Sprintf(format, args...)) }
	byVersion := map[int64]raceResult{}
	// Advance reports Applied exactly when it wrote.
	for _, r := range rs {
		if r.err != nil || r.outcome != jobs.Applied {
			continue
		}
		if prev, dup := byVersion[r.job.Version]; dup {
			bad("version %d applied twice: by %s and %s", r.job.Version, prev.name, r.name)
			continue
		}
		byVersion[r.job.Version] = r
	}
	// Cancel has no outcome: a newer version than before that no Advance
	// wrote was written by a cancel (a repeated cancel returns the job as
	// it is, so several may name one version; one wrote it).
	for _, r := range rs {
		if r.err != nil || r.outcome != "" || r.job.Version <= before.Version {
			continue
		}
		if _, taken := byVersion[r.job.Version]; !taken {
			byVersion[r.job.Version] = r
		}
	}
	for _, w := range byVersion {
		writes = append(writes, w)
	}
	sort.Slice(writes, func(i, j int) bool { return writes[i].job.Version < writes[j].job.Version })

	prev := before
	for _, w := range writes {
		a := w.job
		switch {
		case a.Version != prev.Version+1:
			bad("%s wrote version %d after %d: want +1 per write", w.name, a.Version, prev.Version)
		case prev.Status.Terminal():
			bad("%s changed a terminal %s job to %s", w.name, prev.Status, a.Status)
		case a.Status != prev.Status && !jobs.CanTransition(prev.Status, a.Status) && !(prev.Status == jobs.Queued && a.Status == jobs.Completed):
			bad("%s moved %s -> %s: not a transition", w.name, prev.Status, a.Status)
		case a.Progress < prev.Progress:
			bad("%s moved progress back %d -> %d", w.name, prev.Progress, a.Progress)
		case prev.CancelRequested && !a.CancelRequested:
			bad("%s cleared cancelRequested", w.name)
		case a.Status == prev.Status && a.Progress == prev.Progress && a.CancelRequested == prev.CancelRequested:
			bad("%s wrote v%d with no change (%s %d%%)", w.name, a.Version, a.Status, a.Progress)
		}
		prev = a
	}
	return writes, violations
}

func raceState(j jobs.Job) string {
	e := ""
	if j.Error != nil {
		e = j.Error.Code
	}
	return fmt.Sprintf("v%d %s %d%% url=%q err=%q cancel=%v", j.Version, j.Status, j.Progress, j.OutputURL, e, j.CancelRequested)
}

func raceCount(rs []raceResult, kindPrefix string) int {
	n := 0
	for _, r := range rs {
		if strings.HasPrefix(r.kind, kindPrefix) {
			n++
		}
	}
	return n
}

func TestRaceTransitions(t *testing.T) {
	t.Parallel()
	e := newRaceEnv(t)
	p := func(n int) *int { return &n }

	t.Run("identical start events", func(t *testing.T) {
		t.Parallel()
		before := e.seed(t, jobs.Queued, 0)
		var acts []raceAct
		for range 12 {
			acts = append(acts, raceAct{"advance PROCESSING", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Processing})})
		}
		rs := runRace(acts)
		writes := raceCheck(t, e, before, rs)
		if len(writes) != 1 {
			t.Errorf("applied %d times, want exactly once", len(writes))
		}
		for _, r := range rs {
			if r.err == nil && r.outcome != jobs.Applied && r.outcome != jobs.Duplicate {
				t.Errorf("%s: outcome %s, want applied or duplicate", r.name, r.outcome)
			}
		}
	})

	t.Run("progress events", func(t *testing.T) {
		t.Parallel()
		before := e.seed(t, jobs.Processing, 0)
		var acts []raceAct
		for i := 1; i <= 10; i++ {
			for range 2 { // each event delivered twice
				acts = append(acts, raceAct{fmt.Sprintf("progress %d", i*10), raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Processing, Progress: p(i * 10)})})
			}
		}
		rs := runRace(acts)
		writes := raceCheck(t, e, before, rs, jobs.EUNAVAILABLE) // "too much contention" is allowed; the caller retries
		perKind := map[string]int{}
		for _, w := range writes {
			perKind[w.kind]++
		}
		for k, n := range perKind {
			if n != 1 {
				t.Errorf("%s applied %d times, want at most once", k, n)
			}
		}
		if len(writes) == 0 {
			t.Errorf("no progress event applied")
		}
		t.Logf("%d of %d progress deliveries applied; contention errors: %d", len(writes), len(rs), raceErrCount(rs))
	})

	t.Run("terminal events and cancels", func(t *testing.T) {
		t.Parallel()
		before := e.seed(t, jobs.Processing, 40)
		var acts []raceAct
		for i := range 6 {
			acts = append(acts,
				raceAct{"advance COMPLETED", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Completed, OutputURL: fmt.Sprintf("https://cdn.example/%d.mp4", i)})},
				raceAct{"advance FAILED", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Failed, Error: &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}})},
				raceAct{"advance CANCELLED", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Cancelled})},
				raceAct{"cancel", raceCancel(e.svc, before.ID)},
			)
		}
		rs := runRace(acts)
		writes := raceCheck(t, e, before, rs, jobs.ECONFLICT) // cancel after COMPLETED/FAILED
		terminal := 0
		for _, w := range writes {
			if w.job.Status.Terminal() {
				terminal++
			}
		}
		if terminal != 1 {
			t.Errorf("%d terminal writes, want exactly one winner", terminal)
		}
		if n := raceCount(writes, "cancel"); n > 1 {
			t.Errorf("cancel applied %d times, want at most once", n)
		}
		final := e.stored(t, before.ID)
		if !final.Status.Terminal() {
			t.Errorf("final status %s, want terminal", final.Status)
		}
		for _, r := range rs {
			if r.kind == "cancel" && r.err != nil && final.Status == jobs.Cancelled {
				t.Errorf("%s: %v, but the job ended CANCELLED", r.name, r.err)
			}
		}
	})

	t.Run("start against cancel", func(t *testing.T) {
		t.Parallel()
		before := e.seed(t, jobs.Queued, 0)
		var acts []raceAct
		for range 8 {
			acts = append(acts,
				raceAct{"advance PROCESSING", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Processing})},
				raceAct{"cancel", raceCancel(e.svc, before.ID)},
			)
		}
		rs := runRace(acts)
		writes := raceCheck(t, e, before, rs)
		perKind := map[string]int{}
		for _, w := range writes {
			perKind[w.kind]++
		}
		if perKind["advance PROCESSING"] > 1 || perKind["cancel"] > 1 || len(writes) == 0 {
			t.Errorf("writes per kind %v, want each at most once and at least one write", perKind)
		}
		switch final := e.stored(t, before.ID); {
		case final.Status == jobs.Cancelled && perKind["advance PROCESSING"] == 0:
		case final.Status == jobs.Processing && final.CancelRequested:
		default:
			t.Errorf("final %s, want CANCELLED before it started, or PROCESSING with cancelRequested", raceState(final))
		}
	})

	t.Run("events after the end change nothing", func(t *testing.T) {
		t.Parallel()
		before := e.seed(t, jobs.Processing, 60)
		before, _, err := e.svc.Advance(context.Background(), jobs.Event{JobID: before.ID, Status: jobs.Completed, OutputURL: "https://cdn.example/final.mp4"})
		if err != nil {
			t.Fatal(err)
		}
		var acts []raceAct
		for i := range 4 {
			acts = append(acts,
				raceAct{"advance PROCESSING", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Processing, Progress: p(10 * i)})},
				raceAct{"advance COMPLETED again", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Completed, OutputURL: fmt.Sprintf("https://cdn.example/other-%d.mp4", i)})},
				raceAct{"advance FAILED", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Failed, Error: &jobs.JobError{Code: "LATE", Message: "late"}})},
				raceAct{"advance CANCELLED", raceAdvance(e.svc, jobs.Event{JobID: before.ID, Status: jobs.Cancelled})},
				raceAct{"cancel", raceCancel(e.svc, before.ID)},
			)
		}
		rs := runRace(acts)
		if writes := raceCheck(t, e, before, rs, jobs.ECONFLICT); len(writes) != 0 {
			t.Errorf("%d writes to a COMPLETED job, want 0", len(writes))
		}
		if got, want := raceState(e.stored(t, before.ID)), raceState(before); got != want {
			t.Errorf("stored %s, want unchanged %s", got, want)
		}
	})
}

func raceErrCount(rs []raceResult) int {
	n := 0
	for _, r := range rs {
		if r.err != nil {
			n++
		}
	}
	return n
}

// The invariant checker must be able to fail.
func TestRaceCheckerCatchesBadHistories(t *testing.T) {
	t.Parallel()
	before := jobs.Job{ID: "job_x", Status: jobs.Processing, Progress: 50, Version: 2}
	at := func(v int64, s jobs.Status, progress int) raceResult {
		return raceResult{name: "w", kind: "k", outcome: jobs.Applied, job: jobs.Job{ID: "job_x", Status: s, Progress: progress, Version: v}}
	}
	bad := map[string][]raceResult{
		"version skipped": {at(4, jobs.Processing, 60)},
		"same version":    {at(3, jobs.Processing, 60), at(3, jobs.Processing, 70)},
		"progress back":   {at(3, jobs.Processing, 40)},
		"backwards":       {at(3, jobs.Queued, 50)},
		"after terminal":  {at(3, jobs.Completed, 100), at(4, jobs.Failed, 100)},
		"no-change write": {at(3, jobs.Processing, 50)},
	}
	for name, rs := range bad {
		if _, v := raceHistory(before, rs); len(v) == 0 {
			t.Errorf("%s: checker passed a bad history", name)
		}
	}
	if _, v := raceHistory(before, []raceResult{at(3, jobs.Processing, 60), at(4, jobs.Completed, 100)}); len(v) != 0 {
		t.Errorf("checker rejected a good history: %v", v)
	}
}
