// Package worker is the Go API of the Jobs API for the video pipeline's
// workers: read a hand-off, report progress, complete, fail or acknowledge a
// cancel, and ask whether a job may still be worked on (which is also a
// heartbeat). It speaks only the documented messages (ContractVersion; JSON
// Schemas in docs/schemas) over the AWS SDK, so a worker built on it runs
// unchanged against AWS and against `make run`'s local endpoints
// (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_LAMBDA).
//
// A worker's loop, per hand-off message:
//
//	h, _ := worker.ParseHandoff(body)
//	if d, _ := c.Check(ctx, h.JobID); d.Decision != worker.DecisionContinue { delete the message; return }
//	c.Progress(ctx, h.JobID, 0)
//	... work, calling c.Progress (or c.Check) at least every CheckWithinSeconds;
//	    stop when an answer says cancel (then c.Cancelled) or gone ...
//	c.Complete(ctx, h.JobID, outputURL)  // or c.Fail(ctx, h.JobID, code, message)
//
// Every report is also a heartbeat: a job with no report and no check for
// the stack's heartbeat limit is failed with HEARTBEAT_TIMEOUT.
//
// The package's API is versioned with the module; exported names keep their
// meaning within a major version.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSAPI is the part of the SQS client a Client uses; *sqs.Client is one.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// LambdaAPI is the part of the Lambda client a Client uses; *lambda.Client
// is one.
type LambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Client reports on jobs and checks them. Its methods are safe for
// concurrent use.
type Client struct {
	// SQS and StatusQueueURL: where status events go (the stack's
	// StatusEventsQueueUrl output).
	SQS            SQSAPI
	StatusQueueURL string
	// Lambda and CheckFunction: the worker check function (the stack's
	// WorkerCheckFnArn output, or its name).
	Lambda        LambdaAPI
	CheckFunction string
}

// Progress reports a PROCESSING job's progress, 0–100 (a fraction is
// rounded down by the service). The first report moves a QUEUED job to
// PROCESSING.
func (c *Client) Progress(ctx context.Context, jobID string, percent float64) error {
	return c.Send(ctx, StatusEvent{JobID: jobID, Status: Processing, Progress: &percent})
}

// Heartbeat reports that work on a job goes on, without progress.
func (c *Client) Heartbeat(ctx context.Context, jobID string) error {
	return c.Send(ctx, StatusEvent{JobID: jobID, Status: Processing})
}

// Complete reports a job done, with where its video is (an http(s) URL of
// at most MaxOutputURLBytes).
func (c *Client) Complete(ctx context.Context, jobID, outputURL string) error {
	return c.Send(ctx, StatusEvent{JobID: jobID, Status: Completed, OutputURL: outputURL})
}

// Fail reports a job failed: a machine-readable code (e.g. "GPU_OOM") and
// a message for people.
func (c *Client) Fail(ctx context.Context, jobID, code, message string) error {
	return c.Send(ctx, StatusEvent{JobID: jobID, Status: Failed, Error: &EventError{Code: code, Message: message}})
}

// Cancelled reports that work on a job stopped because a cancel was
// requested (Check answered DecisionCancel).
func (c *Client) Cancelled(ctx context.Context, jobID string) error {
	return c.Send(ctx, StatusEvent{JobID: jobID, Status: Cancelled})
}

// Send validates ev and sends it to the status-events queue. A FIFO queue
// (URL ending in ".fifo") gets the job ID as message group, so one job's
// events stay in order.
func (c *Client) Send(ctx context.Context, ev StatusEvent) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if c.SQS == nil || c.StatusQueueURL == "" {
		return errors.New("worker: Client.SQS and StatusQueueURL are required to report")
	}
	body, err := marshal(ev)
	if err != nil {
		return fmt.Errorf("worker: encode status event: %w", err)
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(c.StatusQueueURL), MessageBody: aws.String(body)}
	if strings.HasSuffix(c.StatusQueueURL, ".fifo") {
		in.MessageGroupId = aws.String(ev.JobID)
	}
	if _, err := c.SQS.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("worker: send %s for %s: %w", ev.Status, ev.JobID, err)
	}
	return nil
}

// Check asks whether a job may still be worked on; on a PROCESSING job it
// is also a heartbeat. Call it before starting and then at least every
// CheckWithinSeconds of the answer. An error means no answer (network,
// throttling, a malformed job ID): retry, and keep working meanwhile.
func (c *Client) Check(ctx context.Context, jobID string) (CheckResponse, error) {
	if c.Lambda == nil || c.CheckFunction == "" {
		return CheckResponse{}, errors.New("worker: Client.Lambda and CheckFunction are required to check")
	}
	payload, err := json.Marshal(CheckRequest{JobID: jobID})
	if err != nil {
		return CheckResponse{}, err
	}
	out, err := c.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(c.CheckFunction), Payload: payload})
	if err != nil {
		return CheckResponse{}, fmt.Errorf("worker: check %s: %w", jobID, err)
	}
	if out.FunctionError != nil {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out.Payload, &fe)
		return CheckResponse{}, fmt.Errorf("worker: check %s: %s: %s", jobID, aws.ToString(out.FunctionError), fe.ErrorMessage)
	}
	var resp CheckResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.Decision == "" {
		return CheckResponse{}, fmt.Errorf("worker: check %s: unreadable answer %q", jobID, out.Payload)
	}
	return resp, nil
}
