// Package sqs hands jobs to the video pipeline through an Amazon SQS queue.
package sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/worker"
)

// API is the subset of the SQS client the pipeline uses.
type API interface {
	SendMessage(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
}

// Pipeline is a jobs.Pipeline on one queue.
type Pipeline struct {
	client   API
	queueURL string
	Timeout  time.Duration
}

var _ jobs.Pipeline = (*Pipeline)(nil)

// New returns a pipeline that sends to queueURL.
func New(client API, queueURL string) *Pipeline {
	return &Pipeline{client: client, queueURL: queueURL}
}

// NewClient is the one way this repository builds an SQS client: from the
// process's AWS settings (config.Config.AWS in the functions), on endpoint
// when it is not "" (the SDK's AWS_ENDPOINT_URL_SQS override).
func NewClient(cfg aws.Config, endpoint string) *awssqs.Client {
	return awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Handoff is the body the pipeline receives for j: its ID, owner, deadline
// and what to make (worker.Handoff, the documented hand-off message). The
// pipeline reports back with status events keyed by jobId.
func Handoff(j jobs.Job) worker.Handoff {
	return worker.Handoff{
		JobID: j.ID, OwnerID: j.OwnerID, CreatedAt: jobs.FormatTime(j.CreatedAt), Deadline: jobs.FormatTime(j.Deadline),
		Request: worker.Request{Prompt: j.Spec.Prompt, DurationSeconds: j.Spec.DurationSeconds, AspectRatio: j.Spec.AspectRatio, Resolution: j.Spec.Resolution},
	}
}

// Enqueue sends j's Handoff. On a FIFO queue (a URL ending in ".fifo", which
// SQS requires them to) the message group is the job ID, so jobs are not
// serialised behind each other, and the deduplication ID is the job ID and
// version: a retried hand-off of the same job within SQS's five-minute
// window is delivered once. Failures are EUNAVAILABLE, wrapping
// jobs.ErrHandoffUnknown when the message may have reached the queue
// (handoffTrace).
func (p *Pipeline) Enqueue(ctx context.Context, j jobs.Job) error {
	body, err := json.Marshal(Handoff(j))
	if err != nil {
		return jobs.Wrap(jobs.EINTERNAL, err, "encode pipeline message")
	}
	ctx, cancel := context.WithTimeout(ctx, jobs.CallTimeout(p.Timeout))
	defer cancel()
	in := &awssqs.SendMessageInput{
		QueueUrl:    aws.String(p.queueURL),
		MessageBody: aws.String(string(body)),
	}
	if strings.HasSuffix(p.queueURL, ".fifo") {
		in.MessageGroupId = aws.String(j.ID)
		in.MessageDeduplicationId = aws.String(j.ID + "-" + strconv.FormatInt(j.Version, 10))
	}
	var tr handoffTrace
	if _, err := p.client.SendMessage(ctx, in, tr.install); err != nil {
		if tr.maybeSent.Load() {
			err = fmt.Errorf("%w: %w", jobs.ErrHandoffUnknown, err)
		}
		return jobs.Wrap(jobs.EUNAVAILABLE, err, jobs.MsgPipelineUnavailable)
	}
	return nil
}

// handoffTrace tells, for one SendMessage call and all its attempts,
// whether the message may have reached the queue: some attempt's request
// was written in full and no answer came (a timeout or a dropped connection
// after sending), or SQS answered 2xx (whatever reading the answer did).
// Otherwise every attempt failed before its request was sent, or SQS
// answered it with an error: the message certainly is not on the queue.
// The SDK's errors cannot tell these apart (a deadline looks the same
// before and after the request is written), so the trace watches each
// attempt at the transport.
type handoffTrace struct {
	maybeSent atomic.Bool
}

// install adds the trace to one call's middleware stack, innermost in the
// deserialize step, which runs once per attempt (retries wrap it) and sees
// the raw HTTP response before the SDK turns it into a result or an error.
func (t *handoffTrace) install(o *awssqs.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("JobsHandoffTrace", t.attempt), middleware.After)
	})
}

func (t *handoffTrace) attempt(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}})
	out, md, err := next.HandleDeserialize(ctx, in)
	// On a transport error the SDK still returns a Response, with status 0.
	resp, _ := out.RawResponse.(*smithyhttp.Response)
	switch answered := resp != nil && resp.Response != nil && resp.StatusCode != 0; {
	case answered && resp.StatusCode >= 200 && resp.StatusCode < 300:
		t.maybeSent.Store(true)
	case !answered && wrote.Load():
		t.maybeSent.Store(true)
	}
	return out, md, err
}
