// Command worker is an example video-pipeline worker built on the public
// package github.com/deepfoundai/jobs-api/worker and the AWS SDK, and
// nothing else of this repository. It takes hand-offs from the pipeline
// queue, asks the worker check before it starts and between steps, reports
// progress, honours a cancel, and completes. The same binary runs against
// AWS and against `make run`: the SDK reads AWS_ENDPOINT_URL_SQS and
// AWS_ENDPOINT_URL_LAMBDA (the local server prints them).
//
// Configuration (environment):
//
//	PIPELINE_QUEUE_URL or PIPELINE_QUEUE_NAME           the hand-offs (default name: local-pipeline)
//	STATUS_EVENTS_QUEUE_URL or STATUS_EVENTS_QUEUE_NAME the reports (StatusEventsQueueUrl; default name: jobs-api-local-status-events)
//	WORKER_CHECK_FUNCTION                               WorkerCheckFnArn, or its name (default WorkerCheckFn)
//	OUTPUT_URL_PREFIX                                   where "rendered" videos are said to be (default https://cdn.example.com/videos/)
//	WORK_STEPS, WORK_STEP_DELAY                         the simulated render: 5 steps of 1s by default
//	AWS_REGION, credentials                             as for any AWS SDK program
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/deepfoundai/jobs-api/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// settings is the worker's configuration.
type settings struct {
	pipelineURL, statusURL string
	checkFunction          string
	outputPrefix           string
	steps                  int
	stepDelay              time.Duration
}

// run is main without the process: tests call it. It returns when ctx ends.
func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	q := sqs.NewFromConfig(cfg)
	set, err := load(ctx, q, getenv)
	if err != nil {
		return err
	}
	w := &exampleWorker{
		queue: q, set: set, log: log,
		client: &worker.Client{SQS: q, StatusQueueURL: set.statusURL, Lambda: lambda.NewFromConfig(cfg), CheckFunction: set.checkFunction},
	}
	log.Info("worker started", "pipelineQueue", set.pipelineURL, "statusQueue", set.statusURL, "check", set.checkFunction, "contract", worker.ContractVersion)
	return w.loop(ctx)
}

func load(ctx context.Context, q *sqs.Client, getenv func(string) string) (settings, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	url := func(urlVar, nameVar, def string) (string, error) {
		if u := getenv(urlVar); u != "" {
			return u, nil
		}
		out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(or(nameVar, def))})
		if err != nil {
			return "", fmt.Errorf("%s (or %s): %w", urlVar, nameVar, err)
		}
		return aws.ToString(out.QueueUrl), nil
	}
	s := settings{checkFunction: or("WORKER_CHECK_FUNCTION", "WorkerCheckFn"), outputPrefix: or("OUTPUT_URL_PREFIX", "https://cdn.example.com/videos/")}
	var err error
	if s.pipelineURL, err = url("PIPELINE_QUEUE_URL", "PIPELINE_QUEUE_NAME", "local-pipeline"); err != nil {
		return s, err
	}
	if s.statusURL, err = url("STATUS_EVENTS_QUEUE_URL", "STATUS_EVENTS_QUEUE_NAME", "jobs-api-local-status-events"); err != nil {
		return s, err
	}
	if s.steps, err = strconv.Atoi(or("WORK_STEPS", "5")); err != nil || s.steps < 1 {
		return s, fmt.Errorf("WORK_STEPS: a positive integer")
	}
	if s.stepDelay, err = time.ParseDuration(or("WORK_STEP_DELAY", "1s")); err != nil || s.stepDelay < 0 {
		return s, fmt.Errorf("WORK_STEP_DELAY: a duration such as 1s")
	}
	return s, nil
}

type exampleWorker struct {
	queue  *sqs.Client
	client *worker.Client
	set    settings
	log    *slog.Logger
}

// visibility is how long a received hand-off stays hidden; the worker
// extends it while it works, so another worker takes the job only if this
// one dies.
const visibility = 60

// loop takes one hand-off at a time until ctx ends.
func (w *exampleWorker) loop(ctx context.Context) error {
	for {
		out, err := w.queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.set.pipelineURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 5, VisibilityTimeout: visibility,
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			w.log.Error("receive failed; retrying", "err", err)
			time.Sleep(time.Second)
			continue
		}
		for _, m := range out.Messages {
			if err := w.handle(ctx, m); err != nil {
				// Not deleted: the hand-off reappears after its visibility
				// timeout and is tried again.
				w.log.Error("job not finished; it will be retried", "messageId", aws.ToString(m.MessageId), "err", err)
			}
		}
	}
}

// handle works on one hand-off and deletes it once the job is done with.
func (w *exampleWorker) handle(ctx context.Context, m types.Message) error {
	h, err := worker.ParseHandoff(aws.ToString(m.Body))
	if err != nil {
		return err
	}
	log := w.log.With("jobId", h.JobID)
	if err := w.work(ctx, h, m, log); err != nil {
		return err
	}
	_, err = w.queue.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.set.pipelineURL), ReceiptHandle: m.ReceiptHandle})
	return err
}

// work renders h (simulated), checking before it starts and after every
// step; on a cancel it stops and acknowledges it.
func (w *exampleWorker) work(ctx context.Context, h worker.Handoff, m types.Message, log *slog.Logger) error {
	proceed := func() (bool, error) {
		ans, err := w.client.Check(ctx, h.JobID)
		if err != nil {
			return false, err
		}
		switch ans.Decision {
		case worker.DecisionCancel:
			log.Info("cancel requested; stopping")
			return false, w.client.Cancelled(ctx, h.JobID)
		case worker.DecisionGone:
			log.Info("job is gone (cancelled while queued, finished or expired); skipping")
			return false, nil
		}
		return true, nil
	}
	if ok, err := proceed(); !ok || err != nil {
		return err
	}
	log.Info("rendering", "prompt", h.Request.Prompt, "seconds", h.Request.DurationSeconds)
	for i := 0; i < w.set.steps; i++ {
		if err := w.client.Progress(ctx, h.JobID, float64(i)*100/float64(w.set.steps)); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.set.stepDelay):
		}
		if _, err := w.queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(w.set.pipelineURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: visibility,
		}); err != nil {
			return err
		}
		if ok, err := proceed(); !ok || err != nil {
			return err
		}
	}
	log.Info("done")
	return w.client.Complete(ctx, h.JobID, w.set.outputPrefix+h.JobID+".mp4")
}
