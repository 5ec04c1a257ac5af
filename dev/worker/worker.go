// Package worker simulates the video pipeline for local runs, as a real
// worker would run against AWS: it receives hand-off messages from the
// pipeline queue over SQS, asks the worker check whether it may start,
// reports PROCESSING with rising progress, and ends with COMPLETED and an
// output URL or, sometimes, FAILED with an error code — every report a
// status event on the status-events queue, through the public worker
// package. `make run` points it at its local SQS and Lambda endpoints, so
// what the dashboard shows took the path a real pipeline's reports take. A
// cancel is honoured at the next step: the check after each report answers
// it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/worker"
)

// FailureCode is the error code of simulated failures.
const FailureCode = "RENDER_FAILED"

// Queue is the part of the SQS client the worker receives with.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *awssqs.DeleteMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.DeleteMessageOutput, error)
}

// Worker is a simulated pipeline.
type Worker struct {
	// Queue and QueueURL: where hand-offs arrive.
	Queue    Queue
	QueueURL string
	// Client reports and checks.
	Client *worker.Client
	// OutputURL returns where a completed job's video is served.
	OutputURL func(jobID string) string
	// Steps is the number of PROCESSING progress updates (default 4).
	Steps int
	// QueueDelay is how long a job waits before work starts; StepDelay the
	// time between updates (defaults 500 ms and 1 s).
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
		w.Sleep = jobs.Sleep
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
}

// visibility is how long a received hand-off stays hidden while its job is
// worked on; a worker that dies leaves it to reappear for another.
const visibility = 300

// Run receives and processes hand-offs until ctx ends, then waits for the
// jobs in progress (which stop at their next step). A message is deleted
// once its job is done with, whatever the outcome; one that could not be
// processed (the queue or the check unreachable) reappears after its
// visibility timeout.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	sem := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		out, err := w.Queue.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.QueueURL), MaxNumberOfMessages: int32(min(10, w.Concurrency)),
			WaitTimeSeconds: 1, VisibilityTimeout: visibility,
		})
		if err != nil {
			if ctx.Err() == nil {
				w.Log.Error("simulated pipeline: receive failed", "err", err)
				_ = w.Sleep(ctx, time.Second)
			}
			continue
		}
		for _, m := range out.Messages {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(m types.Message) {
				defer wg.Done()
				defer func() { <-sem }()
				w.handle(ctx, m)
			}(m)
		}
	}
}

func (w *Worker) handle(ctx context.Context, m types.Message) {
	h, err := worker.ParseHandoff(aws.ToString(m.Body))
	if err == nil {
		err = w.Process(ctx, h.JobID)
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.Log.Error("simulated pipeline: job not processed; the hand-off will reappear", "messageId", aws.ToString(m.MessageId), "err", err)
		}
		return
	}
	if _, err := w.Queue.DeleteMessage(context.WithoutCancel(ctx), &awssqs.DeleteMessageInput{QueueUrl: aws.String(w.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		w.Log.Error("simulated pipeline: delete failed", "err", err)
	}
}

// Process takes one job through its lifecycle, asking the worker check
// before it starts and after each report: it stops, reporting CANCELLED,
// when the answer is cancel, and silently when it is gone (the job was
// cancelled while QUEUED, finished, or a duplicate hand-off).
func (w *Worker) Process(ctx context.Context, jobID string) error {
	w.defaults()
	if err := w.Sleep(ctx, w.QueueDelay); err != nil {
		return err
	}
	if stop, err := w.stop(ctx, jobID); stop || err != nil {
		return err
	}
	for i := 1; i <= w.Steps; i++ {
		p := float64(i*100) / float64(w.Steps+1)
		if err := w.Client.Progress(ctx, jobID, p); err != nil {
			return err
		}
		if err := w.Sleep(ctx, w.StepDelay); err != nil {
			return err
		}
		if stop, err := w.stop(ctx, jobID); stop || err != nil {
			return err
		}
	}
	if w.Rand() < w.FailureRate {
		return w.Client.Fail(ctx, jobID, FailureCode, "The renderer ran out of GPU memory (simulated failure).")
	}
	return w.Client.Complete(ctx, jobID, w.OutputURL(jobID))
}

// stop asks the worker check and acts on a cancel.
func (w *Worker) stop(ctx context.Context, jobID string) (bool, error) {
	ans, err := w.Client.Check(ctx, jobID)
	if err != nil {
		return true, fmt.Errorf("check %s: %w", jobID, err)
	}
	w.Log.Debug("simulated pipeline: check", "jobId", jobID, "decision", ans.Decision)
	switch ans.Decision {
	case worker.DecisionCancel:
		return true, w.Client.Cancelled(ctx, jobID)
	case worker.DecisionGone:
		return true, nil
	}
	return false, nil
}
