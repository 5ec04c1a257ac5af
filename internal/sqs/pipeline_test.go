package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/internal/sqs"
	"github.com/deepfoundai/jobs-api/test/contracttest"
	"github.com/deepfoundai/jobs-api/worker"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/video-pipeline"

// fakeAPI is an sqs.API made of a function field.
type fakeAPI struct {
	SendMessageFn func(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
}

func (f *fakeAPI) SendMessage(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
	return f.SendMessageFn(ctx, in, optFns...)
}

var job = jobs.Job{
	ID: "job_0123456789abcdefghjkmnpqrs", OwnerID: "alice-sub", Status: jobs.Queued,
	Spec:     jobs.Spec{Prompt: "a cat \"surfing\" <a> wave 🌊", DurationSeconds: 10, AspectRatio: "9:16", Resolution: "1080p"},
	SpecHash: "hash", IdempotencyKey: "secret-key",
	CreatedAt: time.Date(2025, 6, 23, 12, 0, 0, 123456789, time.UTC),
	UpdatedAt: time.Date(2025, 6, 23, 12, 0, 0, 123456789, time.UTC),
	Version:   1,
}

func TestEnqueueSendsTheDocumentedMessage(t *testing.T) {
	t.Parallel()
	calls := 0
	var body string
	api := &fakeAPI{SendMessageFn: func(ctx context.Context, in *awssqs.SendMessageInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
		calls++
		if got := aws.ToString(in.QueueUrl); got != queueURL {
			t.Errorf("QueueUrl = %q, want %q", got, queueURL)
		}
		body = aws.ToString(in.MessageBody)
		return &awssqs.SendMessageOutput{MessageId: aws.String("m1")}, nil
	}}
	if err := sqs.New(api, queueURL).Enqueue(context.Background(), job); err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	if calls != 1 {
		t.Fatalf("SendMessage calls = %d, want 1", calls)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("message body %q is not JSON: %v", body, err)
	}
	wantKeys(t, "message", msg, "jobId", "ownerId", "createdAt", "request")
	want := map[string]any{"jobId": job.ID, "ownerId": "alice-sub", "createdAt": "2025-06-23T12:00:00.123Z"}
	for k, v := range want {
		if msg[k] != v {
			t.Errorf("message %s = %#v, want %#v", k, msg[k], v)
		}
	}
	req, ok := msg["request"].(map[string]any)
	if !ok {
		t.Fatalf("request = %#v, want an object", msg["request"])
	}
	wantKeys(t, "request", req, "prompt", "durationSeconds", "aspectRatio", "resolution")
	wantReq := map[string]any{"prompt": job.Spec.Prompt, "durationSeconds": 10.0, "aspectRatio": "9:16", "resolution": "1080p"}
	for k, v := range wantReq {
		if req[k] != v {
			t.Errorf("request %s = %#v, want %#v", k, req[k], v)
		}
	}
	if strings.Contains(body, "secret-key") {
		t.Errorf("message %s carries the idempotency key", body)
	}

	contracttest.Valid(t, contracttest.Handoff, []byte(body))
	// The exported wire types decode it back.
	var typed worker.Handoff
	if err := json.Unmarshal([]byte(body), &typed); err != nil || typed.Request.Prompt != job.Spec.Prompt || typed.JobID != job.ID {
		t.Errorf("decoded Message = %+v, %v", typed, err)
	}
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

func TestEnqueueErrorsAreUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{"plain", errors.New("dial tcp: connection refused")},
		{"API error", &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "no queue"}},
		{"operation error", &smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessage", Err: errors.New("throttled")}},
		{"deadline", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		api := &fakeAPI{SendMessageFn: func(context.Context, *awssqs.SendMessageInput, ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
			return nil, tt.err
		}}
		err := sqs.New(api, queueURL).Enqueue(context.Background(), job)
		if code := jobs.ErrorCode(err); code != jobs.EUNAVAILABLE {
			t.Errorf("%s: Enqueue() code = %q, want %q (err %v)", tt.name, code, jobs.EUNAVAILABLE, err)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: Enqueue() error = %v, want the SDK error kept as cause", tt.name, err)
		}
		if msg, want := jobs.ErrorMessage(err), "The video pipeline is not accepting jobs; retry shortly."; msg != want {
			t.Errorf("%s: message = %q, want %q", tt.name, msg, want)
		}
	}
}

func TestEnqueueDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{"default", 0, jobs.DefaultCallTimeout},
		{"negative means default", -time.Second, jobs.DefaultCallTimeout},
		{"custom", 750 * time.Millisecond, 750 * time.Millisecond},
	}
	for _, tt := range tests {
		var deadline time.Time
		var hasDeadline bool
		api := &fakeAPI{SendMessageFn: func(ctx context.Context, _ *awssqs.SendMessageInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
			deadline, hasDeadline = ctx.Deadline()
			return &awssqs.SendMessageOutput{}, nil
		}}
		p := sqs.New(api, queueURL)
		p.Timeout = tt.timeout
		before := time.Now()
		if err := p.Enqueue(context.Background(), job); err != nil {
			t.Fatalf("%s: Enqueue() error = %v", tt.name, err)
		}
		after := time.Now()
		if !hasDeadline {
			t.Errorf("%s: SendMessage ctx has no deadline", tt.name)
			continue
		}
		// The deadline is set between before and after, tt.want ahead.
		if deadline.Before(before.Add(tt.want)) || deadline.After(after.Add(tt.want)) {
			t.Errorf("%s: deadline = %v, want %v after the call began", tt.name, deadline.Sub(before), tt.want)
		}
	}
}

func TestEnqueueKeepsAShorterCallerDeadline(t *testing.T) {
	t.Parallel()
	parent := time.Now().Add(100 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), parent)
	defer cancel()
	var got time.Time
	api := &fakeAPI{SendMessageFn: func(ctx context.Context, _ *awssqs.SendMessageInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
		got, _ = ctx.Deadline()
		return &awssqs.SendMessageOutput{}, nil
	}}
	if err := sqs.New(api, queueURL).Enqueue(ctx, job); err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	if !got.Equal(parent) {
		t.Errorf("deadline = %v, want the caller's %v", got, parent)
	}
}

func TestEnqueueCancelsItsContextAfterwards(t *testing.T) {
	t.Parallel()
	var sent context.Context
	api := &fakeAPI{SendMessageFn: func(ctx context.Context, _ *awssqs.SendMessageInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
		sent = ctx
		return &awssqs.SendMessageOutput{}, nil
	}}
	if err := sqs.New(api, queueURL).Enqueue(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if sent.Err() == nil {
		t.Errorf("the per-call context is still live after Enqueue returned, want it cancelled (no timer leak)")
	}
}

// TestEnqueueFIFO: SQS refuses a message without MessageGroupId on a FIFO
// queue (the template accepts a ".fifo" PipelineQueueName), so hand-offs to
// one carry the job as group and job and version as deduplication ID; a
// standard queue refuses both, so they are absent there.
func TestEnqueueFIFO(t *testing.T) {
	t.Parallel()
	job := jobs.Job{ID: "job_fifo", OwnerID: "alice", Status: jobs.Queued, Version: 3, Spec: jobs.Spec{Prompt: "p", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}}
	tests := []struct {
		url          string
		group, dedup string
	}{
		{"https://sqs.us-east-1.amazonaws.com/123456789012/video-jobs.fifo", "job_fifo", "job_fifo-3"},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/video-jobs", "", ""},
	}
	for _, tt := range tests {
		q := &mock.SQS{}
		if err := sqs.New(q, tt.url).Enqueue(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		in := q.Calls()[0]
		if got := aws.ToString(in.MessageGroupId); got != tt.group {
			t.Errorf("%s: MessageGroupId = %q, want %q", tt.url, got, tt.group)
		}
		if got := aws.ToString(in.MessageDeduplicationId); got != tt.dedup {
			t.Errorf("%s: MessageDeduplicationId = %q, want %q", tt.url, got, tt.dedup)
		}
	}
}
