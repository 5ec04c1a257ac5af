package jobstest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// testLimits are short, distinct limits so each scenario can step past
// exactly one.
var testLimits = jobs.Limits{Queue: 10 * time.Minute, Heartbeat: 4 * time.Minute, Run: 30 * time.Minute, Cancel: 2 * time.Minute}

// deadlineService returns a Service with testLimits and a clock at T0.
func deadlineService(b Backend) (*jobs.Service, *Clock) {
	svc, clock := service(b)
	clock.Set(T0)
	svc.Limits = testLimits
	return svc, clock
}

// sweep runs one Sweep and fails the test on an error.
func sweep(t *testing.T, svc *jobs.Service) jobs.SweepResult {
	t.Helper()
	res, err := svc.Sweep(context.Background(), jobs.SweepOptions{})
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return res
}

// wantState fails unless the stored job has the status (and, for FAILED,
// the error code) given.
func wantState(t *testing.T, s jobs.Store, id string, st jobs.Status, code string) jobs.Job {
	t.Helper()
	j := latest(t, s, id)
	got := ""
	if j.Error != nil {
		got = j.Error.Code
	}
	if j.Status != st || got != code {
		t.Fatalf("%s: %s %q, want %s %q", id, j.Status, got, st, code)
	}
	if st.Terminal() && (j.CompletedAt.IsZero() || j.ExpiresAt.IsZero()) {
		t.Errorf("%s: terminal without completedAt/expiresAt: %+v", id, j)
	}
	return j
}

// TestDeadlines runs the limits on unfinished jobs (jobs.Limits), the
// sweeper (Service.Sweep) and the worker check (Service.Check) on a real
// backend: a crashed worker, a slow queue, an ignored cancel, a job's own
// deadline, and late events racing the sweeper with one winner per step.
func TestDeadlines(t *testing.T, newBackend BackendFactory) {
	ctx := context.Background()

	t.Run("CrashedWorkerFailsWithHeartbeatTimeout", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		create(t, b.Store, NewJob("job_crash", "alice"), NewJob("job_alive", "alice"))
		for _, id := range []string{"job_crash", "job_alive"} {
			if _, o, err := svc.Advance(ctx, jobs.Event{JobID: id, Status: jobs.Processing, Progress: intp(30)}); err != nil || o != jobs.Applied {
				t.Fatalf("PROCESSING 30: %q, %v", o, err)
			}
		}
		// job_alive keeps reporting; job_crash is never heard from again.
		for _, m := range []time.Duration{2, 4, 6} {
			clock.Set(T0.Add(m * time.Minute))
			if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_alive", Status: jobs.Processing, Progress: intp(30 + int(m))}); err != nil {
				t.Fatal(err)
			}
			res := sweep(t, svc)
			if m < 4 && len(res.Changed) != 0 {
				t.Fatalf("at +%dm (within the heartbeat limit): sweep changed %v", m, res.Changed)
			}
		}
		wantState(t, b.Store, "job_crash", jobs.Failed, jobs.HeartbeatTimeoutCode)
		wantState(t, b.Store, "job_alive", jobs.Processing, "")
		// The crashed job is never again a candidate: 400 days later it is
		// expired (TTL), not PROCESSING.
		clock.Set(T0.Add(400 * 24 * time.Hour))
		if d, _, err := svc.Check(ctx, "job_crash"); err != nil || d != jobs.Gone {
			t.Errorf("Check 400 days later = %q, %v; want gone", d, err)
		}
	})

	t.Run("SlowQueueFailsWithQueueTimeout", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		old, young := NewJob("job_old", "alice"), NewJob("job_young", "bob")
		young.CreatedAt, young.UpdatedAt = T0.Add(5*time.Minute), T0.Add(5*time.Minute)
		create(t, b.Store, old, young)
		clock.Set(T0.Add(testLimits.Queue - time.Millisecond))
		if res := sweep(t, svc); len(res.Changed) != 0 || res.Scanned != 2 {
			t.Fatalf("just before the queue limit: %+v, want 2 scanned, none changed", res)
		}
		clock.Set(T0.Add(testLimits.Queue))
		var seen []string
		res, err := svc.Sweep(ctx, jobs.SweepOptions{OnChange: func(j jobs.Job, r jobs.Reason) { seen = append(seen, j.ID+" "+string(r)) }})
		if err != nil || res.Changed[jobs.ReasonQueueTimeout] != 1 || len(seen) != 1 || seen[0] != "job_old QUEUE_TIMEOUT" {
			t.Fatalf("at the queue limit: %+v, %v, OnChange %v; want job_old QUEUE_TIMEOUT only", res, err, seen)
		}
		j := wantState(t, b.Store, "job_old", jobs.Failed, jobs.QueueTimeoutCode)
		if !j.StartedAt.IsZero() {
			t.Errorf("a job that never started has startedAt %v", j.StartedAt)
		}
		wantState(t, b.Store, "job_young", jobs.Queued, "")
		// The worker that finally gets the hand-off is told not to start,
		// and its late PROCESSING is stale.
		if d, _, _ := svc.Check(ctx, "job_old"); d != jobs.Gone {
			t.Errorf("Check after QUEUE_TIMEOUT = %q, want gone", d)
		}
		if _, o, err := svc.Advance(ctx, jobs.Event{JobID: "job_old", Status: jobs.Processing, Progress: intp(0)}); err != nil || o != jobs.Stale {
			t.Errorf("late PROCESSING after QUEUE_TIMEOUT: %q, %v; want stale", o, err)
		}
	})

	t.Run("RunTimeoutEndsAWorkerThatNeverFinishes", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		create(t, b.Store, NewJob("job_slow", "alice"))
		for m := time.Duration(0); m <= testLimits.Run; m += time.Minute {
			clock.Set(T0.Add(m))
			if d, _, err := svc.Check(ctx, "job_slow"); err != nil || (m < testLimits.Run && d != jobs.Continue) {
				t.Fatalf("Check at +%v = %q, %v", m, d, err)
			}
			if m == 0 {
				if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_slow", Status: jobs.Processing, Progress: intp(1)}); err != nil {
					t.Fatal(err)
				}
			}
			sweep(t, svc)
		}
		wantState(t, b.Store, "job_slow", jobs.Failed, jobs.RunTimeoutCode)
	})

	t.Run("IgnoredCancelEndsCancelled", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		create(t, b.Store, NewJob("job_c", "alice"))
		if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_c", Status: jobs.Processing, Progress: intp(10)}); err != nil {
			t.Fatal(err)
		}
		clock.Set(T0.Add(time.Minute))
		if j, err := svc.Cancel(ctx, alice, "job_c"); err != nil || !j.CancelRequested || !j.CancelRequestedAt.Equal(T0.Add(time.Minute)) {
			t.Fatalf("Cancel: %+v, %v", j, err)
		}
		// The worker hears of it, keeps reporting progress, never stops.
		clock.Set(T0.Add(2 * time.Minute))
		if d, _, _ := svc.Check(ctx, "job_c"); d != jobs.Cancel {
			t.Errorf("Check after a cancel request = %q, want cancel", d)
		}
		if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_c", Status: jobs.Processing, Progress: intp(50)}); err != nil {
			t.Fatal(err)
		}
		if res := sweep(t, svc); len(res.Changed) != 0 {
			t.Fatalf("within the cancel limit: %v", res.Changed)
		}
		clock.Set(T0.Add(time.Minute + testLimits.Cancel))
		if res := sweep(t, svc); res.Changed[jobs.ReasonCancelTimeout] != 1 {
			t.Fatalf("past the cancel limit: %v, want one CANCEL_TIMEOUT", res.Changed)
		}
		j := wantState(t, b.Store, "job_c", jobs.Cancelled, "")
		if j.Progress != 50 {
			t.Errorf("progress %d, want 50 kept", j.Progress)
		}
		if _, o, _ := svc.Advance(ctx, jobs.Event{JobID: "job_c", Status: jobs.Completed, OutputURL: outURL}); o != jobs.Rejected {
			t.Errorf("COMPLETED after the sweeper cancelled: %q, want rejected", o)
		}
		if d, _, _ := svc.Check(ctx, "job_c"); d != jobs.Gone {
			t.Errorf("Check after CANCELLED = %q, want gone", d)
		}
	})

	t.Run("JobDeadlineCancels", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		queued, running := NewJob("job_dq", "alice"), NewJob("job_dr", "alice")
		queued.Deadline, running.Deadline = T0.Add(time.Minute), T0.Add(time.Minute)
		create(t, b.Store, queued, running)
		if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_dr", Status: jobs.Processing, Progress: intp(5)}); err != nil {
			t.Fatal(err)
		}
		clock.Set(T0.Add(time.Minute))
		res := sweep(t, svc)
		if res.Changed[jobs.ReasonDeadline] != 2 {
			t.Fatalf("at the deadline: %v, want 2 DEADLINE", res.Changed)
		}
		wantState(t, b.Store, "job_dq", jobs.Cancelled, "")
		r := wantState(t, b.Store, "job_dr", jobs.Processing, "")
		if !r.CancelRequested {
			t.Fatalf("a running job at its deadline: cancelRequested false, want true")
		}
		if d, _, _ := svc.Check(ctx, "job_dr"); d != jobs.Cancel {
			t.Errorf("Check at the deadline = %q, want cancel", d)
		}
		if again := sweep(t, svc); len(again.Changed) != 0 {
			t.Errorf("a second sweep at the deadline changed %v", again.Changed)
		}
		// The worker honours it.
		if _, o, err := svc.Advance(ctx, jobs.Event{JobID: "job_dr", Status: jobs.Cancelled}); err != nil || o != jobs.Applied {
			t.Errorf("worker's CANCELLED: %q, %v", o, err)
		}
	})

	t.Run("HeartbeatsAreRecordedAndCoalesced", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		create(t, b.Store, NewJob("job_hb", "alice"))
		if _, _, err := svc.Advance(ctx, jobs.Event{JobID: "job_hb", Status: jobs.Processing, Progress: intp(20)}); err != nil {
			t.Fatal(err)
		}
		v := latest(t, b.Store, "job_hb").Version
		every := testLimits.Heartbeat / 4
		tests := []struct {
			at      time.Duration
			ev      *jobs.Event // nil: a Check
			want    jobs.Outcome
			written bool
		}{
			{every / 2, &jobs.Event{Status: jobs.Processing, Progress: intp(20)}, jobs.Duplicate, false},
			{every, &jobs.Event{Status: jobs.Processing, Progress: intp(20)}, jobs.Heartbeat, true},
			{every + time.Second, &jobs.Event{Status: jobs.Processing}, jobs.Duplicate, false},
			{2 * every, &jobs.Event{Status: jobs.Processing, Progress: intp(10)}, jobs.Heartbeat, true},
			{3 * every, nil, "", true},
			{3*every + time.Second, nil, "", false},
		}
		for i, tt := range tests {
			clock.Set(T0.Add(tt.at))
			if tt.ev != nil {
				tt.ev.JobID = "job_hb"
				if _, o, err := svc.Advance(ctx, *tt.ev); err != nil || o != tt.want {
					t.Fatalf("step %d: %q, %v; want %q", i, o, err, tt.want)
				}
			} else if d, _, err := svc.Check(ctx, "job_hb"); err != nil || d != jobs.Continue {
				t.Fatalf("step %d: Check = %q, %v", i, d, err)
			}
			j := latest(t, b.Store, "job_hb")
			if tt.written {
				v++
				if !j.HeartbeatAt.Equal(T0.Add(tt.at)) {
					t.Errorf("step %d: heartbeatAt %v, want %v", i, j.HeartbeatAt, T0.Add(tt.at))
				}
			}
			if j.Version != v || j.Progress != 20 {
				t.Errorf("step %d: version %d progress %d, want %d and 20", i, j.Version, j.Progress, v)
			}
		}
		// Those heartbeats kept it alive past the limit counted from startedAt.
		clock.Set(T0.Add(testLimits.Heartbeat + time.Second))
		if res := sweep(t, svc); len(res.Changed) != 0 {
			t.Errorf("sweep after recent heartbeats changed %v", res.Changed)
		}
	})

	t.Run("CheckAnswers", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := deadlineService(b)
		done := NewJob("job_done", "alice")
		done.Status, done.Progress, done.OutputURL = jobs.Completed, 100, outURL
		create(t, b.Store, NewJob("job_q", "alice"), done)
		tests := []struct {
			id   string
			want jobs.Decision
		}{{"job_q", jobs.Continue}, {"job_done", jobs.Gone}, {"job_unknown", jobs.Gone}}
		for _, tt := range tests {
			if d, _, err := svc.Check(ctx, tt.id); err != nil || d != tt.want {
				t.Errorf("Check(%s) = %q, %v; want %q", tt.id, d, err, tt.want)
			}
		}
		if _, _, err := svc.Check(ctx, "../x"); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("Check(malformed id) error = %v, want %s", err, jobs.EINVALID)
		}
		if v := latest(t, b.Store, "job_q").Version; v != 1 {
			t.Errorf("Check on a QUEUED job wrote it (version %d)", v)
		}
	})

	// The check ends a job past a limit itself, as the sweeper would, so a
	// worker never starts one; but a job silent too long is not failed by
	// the very check that shows its worker alive.
	t.Run("CheckEndsOverdueJobs", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		stale, due, quiet := NewJob("job_stale", "alice"), NewJob("job_due", "alice"), NewJob("job_quiet", "alice")
		due.Deadline = T0.Add(time.Minute)
		quiet.Status, quiet.StartedAt = jobs.Processing, T0
		create(t, b.Store, stale, due, quiet)
		clock.Set(T0.Add(testLimits.Queue))
		tests := []struct {
			id     string
			want   jobs.Decision
			status jobs.Status
			code   string
		}{
			{"job_stale", jobs.Gone, jobs.Failed, jobs.QueueTimeoutCode},
			{"job_due", jobs.Gone, jobs.Cancelled, ""},
			{"job_quiet", jobs.Continue, jobs.Processing, ""},
		}
		for _, tt := range tests {
			if d, _, err := svc.Check(ctx, tt.id); err != nil || d != tt.want {
				t.Errorf("Check(%s) = %q, %v; want %q", tt.id, d, err, tt.want)
			}
			wantState(t, b.Store, tt.id, tt.status, tt.code)
		}
		if j := latest(t, b.Store, "job_quiet"); !j.HeartbeatAt.Equal(clock.Now()) {
			t.Errorf("the check on a silent job recorded no heartbeat: %v", j.HeartbeatAt)
		}
		if res := sweep(t, svc); len(res.Changed) != 0 {
			t.Errorf("sweep after the checks changed %v, want nothing left", res.Changed)
		}
	})

	t.Run("SweepIsBounded", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		for i := range 5 {
			j := NewJob(fmt.Sprintf("job_b%d", i), "alice")
			j.CreatedAt = T0.Add(time.Duration(i) * time.Second)
			create(t, b.Store, j)
		}
		clock.Set(T0.Add(time.Hour))
		var order []string
		res, err := svc.Sweep(ctx, jobs.SweepOptions{MaxChange: 2, OnChange: func(j jobs.Job, _ jobs.Reason) { order = append(order, j.ID) }})
		if err != nil || res.Changed[jobs.ReasonQueueTimeout] != 2 || !res.Truncated {
			t.Fatalf("MaxChange 2: %+v, %v", res, err)
		}
		if fmt.Sprint(order) != "[job_b0 job_b1]" {
			t.Errorf("changed %v, want the oldest first [job_b0 job_b1]", order)
		}
		res, err = svc.Sweep(ctx, jobs.SweepOptions{MaxScan: 2})
		if err != nil || res.Changed[jobs.ReasonQueueTimeout] != 2 || !res.Truncated {
			t.Fatalf("MaxScan 2: %+v, %v", res, err)
		}
		if res = sweep(t, svc); res.Changed[jobs.ReasonQueueTimeout] != 1 || res.Truncated {
			t.Errorf("last run: %+v, want the one left and not truncated", res)
		}
	})

	// One winner per step: the sweeper racing a late real event, a cancel,
	// and another sweeper, each on a job past its limit.
	t.Run("LateEventsRaceTheSweeper", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := deadlineService(b)
		const rounds = 6
		racers := []struct {
			name string
			run  func(id string) (jobs.Outcome, error)
			want func(j jobs.Job) bool // the job as this racer leaves it
		}{
			{"COMPLETED", func(id string) (jobs.Outcome, error) {
				_, o, err := advance(ctx, svc, jobs.Event{JobID: id, Status: jobs.Completed, OutputURL: outURL})
				return o, err
			}, func(j jobs.Job) bool { return j.Status == jobs.Completed && j.OutputURL == outURL }},
			{"progress", func(id string) (jobs.Outcome, error) {
				_, o, err := advance(ctx, svc, jobs.Event{JobID: id, Status: jobs.Processing, Progress: intp(90)})
				return o, err
			}, func(j jobs.Job) bool { return j.Status == jobs.Processing && j.Progress == 90 }},
			{"sweeper", func(id string) (jobs.Outcome, error) {
				_, o, _, err := svc.Expire(ctx, id)
				return o, err
			}, func(j jobs.Job) bool { return j.Status == jobs.Failed && j.Error.Code == jobs.HeartbeatTimeoutCode }},
		}
		for r := range rounds {
			for i, other := range racers {
				id := fmt.Sprintf("job_r%d_%d", r, i)
				clock.Set(T0)
				create(t, b.Store, NewJob(id, "alice"))
				if _, _, err := svc.Advance(ctx, jobs.Event{JobID: id, Status: jobs.Processing, Progress: intp(10)}); err != nil {
					t.Fatal(err)
				}
				clock.Set(T0.Add(testLimits.Heartbeat))
				var wg sync.WaitGroup
				var outs [2]jobs.Outcome
				var errs [2]error
				wg.Add(2)
				go func() { defer wg.Done(); _, outs[0], _, errs[0] = svc.Expire(ctx, id) }()
				go func() { defer wg.Done(); outs[1], errs[1] = other.run(id) }()
				wg.Wait()
				for k, err := range errs {
					if err != nil && jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
						t.Fatalf("%s: racer %d: %v", other.name, k, err)
					}
				}
				final := latest(t, b.Store, id)
				sweeperWon := racers[2].want(final)
				switch {
				case other.name == "sweeper":
					if !sweeperWon || (outs[0] == jobs.Applied) == (outs[1] == jobs.Applied) {
						t.Errorf("two sweepers: outcomes %q %q, job %s; want exactly one applied", outs[0], outs[1], final.Status)
					}
				case other.name == "progress":
					// A sign of life first saves the job; the timeout first
					// makes the late report stale. Never both.
					if sweeperWon == other.want(final) || (outs[0] == jobs.Applied) != sweeperWon || (outs[1] == jobs.Applied) == sweeperWon {
						t.Errorf("sweeper vs progress: outcomes %q %q, job %+v", outs[0], outs[1], final)
					}
				default:
					if sweeperWon == other.want(final) || (outs[0] == jobs.Applied) != sweeperWon || (outs[1] == jobs.Applied) == sweeperWon {
						t.Errorf("sweeper vs %s: outcomes %q %q, job %+v; want one winner", other.name, outs[0], outs[1], final)
					}
				}
			}
		}
	})
}
