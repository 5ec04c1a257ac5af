// Package worker simulates the video pipeline for local runs: it takes jobs
// handed off at submit, moves each QUEUED job to PROCESSING with rising
// progress, then to COMPLETED with an output URL, or sometimes to FAILED
// with an error code. Every step goes through jobs.Service.Advance, the
// status-update path a real pipeline uses (conditional writes, forward
// only), so what the dashboard shows is what production rules allow. A
// cancel request is honoured at the next step, as the pipeline should.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// FailureCode is the error code of simulated failures.
const FailureCode = "RENDER_FAILED"

// Worker is a simulated pipeline.
type Worker struct {
	// Service applies the status events.
	Service *jobs.Service
	// OutputURL returns where a completed job's video is served.
	OutputURL func(jobID string) string
	// Steps is the number of PROCESSING progress updates (default 4).
	Steps int
	// QueueDelay is how long a job waits QUEUED; StepDelay the time between
	// updates (defaults 500 ms and 1 s).
	QueueDelay, StepDelay time.Duration
	// FailureRate is the fraction of jobs that FAIL (0 to 1).
	FailureRate float64
	// Concurrency bounds jobs processed at once (default 4).
	Concurrency int
	// Rand and Sleep are injectable for deterministic tests.
	Rand  func() float64
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger

	once sync.Once
}

func (w *Worker) defaults() { w.once.Do(w.setDefaults) }

func (w *Worker) setDefaults() {
	if w.Steps <= 0 {
		w.Steps = 4
	}
	if w.QueueDelay == 0 {
		w.QueueDelay = 500 * time.Millisecond
	}
	if w.StepDelay == 0 {
		w.StepDelay = time.Second
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 4
	}
	if w.Rand == nil {
		w.Rand = rand.Float64
	}
	if w.Sleep == nil {
		w.Sleep = sleep
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run processes jobs from in until in is closed or ctx ends, then waits for
// the jobs in progress (which stop at their next step once ctx has ended).
func (w *Worker) Run(ctx context.Context, in <-chan jobs.Job) {
	w.defaults()
	sem := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case j, ok := <-in:
			if !ok {
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := w.Process(ctx, j); err != nil && !errors.Is(err, context.Canceled) {
					w.Log.Error("simulated pipeline: job failed to advance", "jobId", j.ID, "err", err)
				}
			}()
		}
	}
}

// Process takes one job through its lifecycle. It stops early, without
// error, when the job is already past the step it would report (a
// duplicate hand-off, or a job cancelled meanwhile).
func (w *Worker) Process(ctx context.Context, j jobs.Job) error {
	w.defaults()
	if err := w.Sleep(ctx, w.QueueDelay); err != nil {
		return err
	}
	for i := 1; i <= w.Steps; i++ {
		p := i * 100 / (w.Steps + 1)
		cur, done, err := w.advance(ctx, jobs.Event{JobID: j.ID, Status: jobs.Processing, Progress: &p})
		if err != nil || done {
			return err
		}
		if cur.CancelRequested {
			_, _, err := w.advance(ctx, jobs.Event{JobID: j.ID, Status: jobs.Cancelled})
			return err
		}
		if err := w.Sleep(ctx, w.StepDelay); err != nil {
			return err
		}
	}
	if w.Rand() < w.FailureRate {
		_, _, err := w.advance(ctx, jobs.Event{JobID: j.ID, Status: jobs.Failed, Error: &jobs.JobError{
			Code: FailureCode, Message: "The renderer ran out of GPU memory (simulated failure).",
		}})
		return err
	}
	_, _, err := w.advance(ctx, jobs.Event{JobID: j.ID, Status: jobs.Completed, OutputURL: w.OutputURL(j.ID)})
	return err
}

// advance applies ev; done reports that the job is terminal or has moved
// past ev, so the simulation of this job should stop.
func (w *Worker) advance(ctx context.Context, ev jobs.Event) (jobs.Job, bool, error) {
	j, outcome, err := w.Service.Advance(ctx, ev)
	if err != nil {
		return j, true, fmt.Errorf("advance %s to %s: %w", ev.JobID, ev.Status, err)
	}
	w.Log.Debug("simulated pipeline event", "jobId", ev.JobID, "status", ev.Status, "outcome", outcome)
	return j, outcome != jobs.Applied || j.Status.Terminal(), nil
}
