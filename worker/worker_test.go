package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/test/contracttest"
	"github.com/deepfoundai/jobs-api/worker"
)

// The package's documented limits are the service's.
func TestLimitsAreTheService(t *testing.T) {
	for name, got := range map[string][2]int{
		"MaxOutputURLBytes":    {worker.MaxOutputURLBytes, jobs.MaxOutputURLBytes},
		"MaxErrorCodeBytes":    {worker.MaxErrorCodeBytes, jobs.MaxErrorCodeBytes},
		"MaxErrorMessageBytes": {worker.MaxErrorMessageBytes, jobs.MaxErrorMessageBytes},
		"MaxJobIDBytes":        {worker.MaxJobIDBytes, jobs.MaxIDLength},
	} {
		if got[0] != got[1] {
			t.Errorf("worker.%s = %d, the service's is %d", name, got[0], got[1])
		}
	}
}

// The codes a worker may not send are exactly those the service refuses.
func TestServiceErrorCodesAreTheService(t *testing.T) {
	for _, c := range worker.ServiceErrorCodes {
		if !jobs.ServiceErrorCode(c) {
			t.Errorf("worker.ServiceErrorCodes has %s, which the service accepts from the pipeline", c)
		}
	}
	for _, c := range []string{jobs.EnqueueFailedCode, jobs.QueueTimeoutCode, jobs.HeartbeatTimeoutCode, jobs.RunTimeoutCode} {
		if !slices.Contains(worker.ServiceErrorCodes, c) {
			t.Errorf("worker.ServiceErrorCodes lacks %s, which the service refuses", c)
		}
	}
}

func TestClientSendsDocumentedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, queue := range []string{"https://sqs.us-east-1.amazonaws.com/123456789012/status", "https://sqs.us-east-1.amazonaws.com/123456789012/status.fifo"} {
		q := &mock.SQS{}
		c := &worker.Client{SQS: q, StatusQueueURL: queue}
		steps := []func() error{
			func() error { return c.Progress(ctx, "job_1", 40.5) },
			func() error { return c.Heartbeat(ctx, "job_1") },
			func() error { return c.Complete(ctx, "job_1", "https://cdn.example.com/o.mp4?a=1&b=2") },
			func() error { return c.Fail(ctx, "job_1", "GPU_OOM", "out of <memory>") },
			func() error { return c.Cancelled(ctx, "job_1") },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("%s step %d: %v", queue, i, err)
			}
		}
		calls := q.Calls()
		if len(calls) != len(steps) {
			t.Fatalf("%d messages sent, want %d", len(calls), len(steps))
		}
		for _, in := range calls {
			body := aws.ToString(in.MessageBody)
			contracttest.Valid(t, contracttest.StatusEvent, []byte(body))
			if aws.ToString(in.QueueUrl) != queue {
				t.Errorf("QueueUrl = %s", aws.ToString(in.QueueUrl))
			}
			fifo := strings.HasSuffix(queue, ".fifo")
			if got := aws.ToString(in.MessageGroupId); (got == "job_1") != fifo {
				t.Errorf("queue %s: MessageGroupId %q", queue, got)
			}
		}
		if body := aws.ToString(calls[2].MessageBody); !strings.Contains(body, "a=1&b=2") {
			t.Errorf("URL escaped in %s", body)
		}
	}
}

func TestClientRefusesWhatTheServiceWould(t *testing.T) {
	t.Parallel()
	q := &mock.SQS{}
	c := &worker.Client{SQS: q, StatusQueueURL: "https://sqs.example/q"}
	ctx := context.Background()
	bad := map[string]error{
		"progress over 100": c.Progress(ctx, "job_1", 100.5),
		"no job":            c.Progress(ctx, "", 5),
		"relative URL":      c.Complete(ctx, "job_1", "/o.mp4"),
		"URL too long":      c.Complete(ctx, "job_1", "https://cdn.example.com/"+strings.Repeat("a", worker.MaxOutputURLBytes)),
		"no error code":     c.Fail(ctx, "job_1", "", "m"),
		"long error code":   c.Fail(ctx, "job_1", strings.Repeat("C", worker.MaxErrorCodeBytes+1), "m"),
		"QUEUED":            c.Send(ctx, worker.StatusEvent{JobID: "job_1", Status: "QUEUED"}),
		"service's code":    c.Fail(ctx, "job_1", "QUEUE_TIMEOUT", "m"),
	}
	for name, err := range bad {
		if err == nil {
			t.Errorf("%s: sent, want an error", name)
		}
	}
	if n := len(q.Calls()); n != 0 {
		t.Errorf("%d invalid events sent", n)
	}
	failing := &worker.Client{SQS: &mock.SQS{SendMessageFn: func(context.Context, *sqs.SendMessageInput) (*sqs.SendMessageOutput, error) {
		return nil, errors.New("throttled")
	}}, StatusQueueURL: "https://sqs.example/q"}
	if err := failing.Progress(ctx, "job_1", 1); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("a failing queue: %v", err)
	}
	if err := (&worker.Client{}).Progress(ctx, "job_1", 1); err == nil {
		t.Errorf("no queue configured: sent")
	}
}

func TestClientCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var payloads []string
	answer := func(out *lambda.InvokeOutput, err error) *mock.Lambda {
		return &mock.Lambda{InvokeFn: func(_ context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
			if aws.ToString(in.FunctionName) != "WorkerCheckFn" {
				t.Errorf("FunctionName = %s", aws.ToString(in.FunctionName))
			}
			payloads = append(payloads, string(in.Payload))
			return out, err
		}}
	}
	ok := answer(&lambda.InvokeOutput{Payload: []byte(`{"jobId":"job_1","decision":"cancel","status":"PROCESSING","checkWithinSeconds":300}`)}, nil)
	got, err := (&worker.Client{Lambda: ok, CheckFunction: "WorkerCheckFn"}).Check(ctx, "job_1")
	if err != nil || got != (worker.CheckResponse{JobID: "job_1", Decision: worker.DecisionCancel, Status: "PROCESSING", CheckWithinSeconds: 300}) {
		t.Errorf("Check = %+v, %v", got, err)
	}
	contracttest.Valid(t, contracttest.CheckRequest, []byte(payloads[0]))
	for name, l := range map[string]*mock.Lambda{
		"function error": answer(&lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"invalid_request: job id"}`)}, nil),
		"no answer":      answer(&lambda.InvokeOutput{Payload: []byte(`{}`)}, nil),
		"network":        answer(nil, errors.New("connection refused")),
	} {
		if _, err := (&worker.Client{Lambda: l, CheckFunction: "WorkerCheckFn"}).Check(ctx, "job_1"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := (&worker.Client{}).Check(ctx, "job_1"); err == nil {
		t.Errorf("no function configured: no error")
	}
}

func TestParseHandoff(t *testing.T) {
	t.Parallel()
	body := `{"jobId":"job_1","ownerId":"alice","createdAt":"2025-06-23T12:00:00.123Z","deadline":"2025-06-23T12:30:00.123Z","request":{"prompt":"a cat","durationSeconds":5,"aspectRatio":"16:9","resolution":"720p"},"future":1}`
	contracttest.Valid(t, contracttest.Handoff, []byte(body))
	h, err := worker.ParseHandoff(body)
	if err != nil || h.JobID != "job_1" || h.Request.Prompt != "a cat" || h.Deadline == "" {
		t.Errorf("ParseHandoff = %+v, %v", h, err)
	}
	for _, b := range []string{`{}`, `nope`, `{"jobId":5}`} {
		if _, err := worker.ParseHandoff(b); err == nil {
			t.Errorf("ParseHandoff(%s): no error", b)
		}
	}
	if b, _ := json.Marshal(h); contracttest.Check(t, contracttest.Handoff, b) != nil {
		t.Errorf("a parsed hand-off re-encoded does not satisfy the schema: %s", b)
	}
}
