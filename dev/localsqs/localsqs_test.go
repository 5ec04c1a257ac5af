package localsqs_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/deepfoundai/jobs-api/dev/localsqs"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{now: time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)} }
func creds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("local", "local", "")
}
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
func body(m types.Message) string  { return aws.ToString(m.Body) }
func count(m types.Message) string { return m.Attributes["ApproximateReceiveCount"] }

// start serves s and returns SDK clients pointed at it, as a worker would
// be with AWS_ENDPOINT_URL_SQS / _LAMBDA.
func start(t *testing.T, s *localsqs.Server) (*sqs.Client, *lambda.Client) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	q := sqs.New(sqs.Options{Region: "us-east-1", Credentials: creds(), BaseEndpoint: aws.String(srv.URL)})
	l := lambda.New(lambda.Options{Region: "us-east-1", Credentials: creds(), BaseEndpoint: aws.String(srv.URL)})
	return q, l
}

func receive(t *testing.T, c *sqs.Client, url string, max int32, vis *int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: max, VisibilityTimeout: aws.ToInt32(vis)})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func TestQueueSemantics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := localsqs.New([]localsqs.QueueConfig{
		{Name: "work", VisibilityTimeout: 30 * time.Second, DeadLetter: "work-dlq", MaxReceiveCount: 2},
		{Name: "work-dlq"},
	}, nil)
	s.Now = clk.Now
	c, _ := start(t, s)
	url := s.QueueURL("work")
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("work")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", got, err, url)
	}
	for _, b := range []string{"one", "two", "three"} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatalf("SendMessage: %v", err) // the SDK also checks MD5OfMessageBody
		}
	}
	first := receive(t, c, url, 2, nil)
	if len(first) != 2 || body(first[0]) != "one" || body(first[1]) != "two" || count(first[0]) != "1" {
		t.Fatalf("first receive: %+v", first)
	}
	if rest := receive(t, c, url, 10, nil); len(rest) != 1 || body(rest[0]) != "three" {
		t.Fatalf("in-flight messages delivered again: %+v", rest)
	}
	// Deleted: gone. Made visible: back. Neither: back after the timeout.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle}); code(err) != "ReceiptHandleIsInvalid" {
		t.Errorf("second delete: %v, want ReceiptHandleIsInvalid", err)
	}
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[1].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	again := receive(t, c, url, 10, aws.Int32(5))
	if len(again) != 1 || body(again[0]) != "two" || count(again[0]) != "2" {
		t.Fatalf("after ChangeMessageVisibility 0: %+v", again)
	}
	clk.Add(6 * time.Second) // "two" (5 s) is visible again; "three" (30 s) is not
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[1].ReceiptHandle}); code(err) != "ReceiptHandleIsInvalid" {
		t.Errorf("delete with an old receipt: %v, want ReceiptHandleIsInvalid", err)
	}
	// Received twice already (maxReceiveCount 2): the third receive moves it.
	if got := receive(t, c, url, 10, nil); len(got) != 0 {
		t.Fatalf("want nothing visible, got %+v", got)
	}
	dlq := receive(t, c, s.QueueURL("work-dlq"), 10, nil)
	if len(dlq) != 1 || body(dlq[0]) != "two" || count(dlq[0]) != "1" {
		t.Fatalf("dead-letter queue: %+v", dlq)
	}
	clk.Add(30 * time.Second)
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "1" {
		t.Errorf("GetQueueAttributes = %v, %v", attrs, err)
	}
	for name, err := range map[string]error{
		"unknown queue": func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.QueueURL("nope")), MessageBody: aws.String("x")})
			return err
		}(),
		"group on a standard queue": func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
			return err
		}(),
		"too many": func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
			return err
		}(),
		"unsupported": func() error {
			_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	s := localsqs.New([]localsqs.QueueConfig{{Name: "q"}}, nil)
	c, _ := start(t, s)
	url := s.QueueURL("q")
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("late")})
	}()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 10})
	if err != nil || len(out.Messages) != 1 || body(out.Messages[0]) != "late" {
		t.Fatalf("long poll = %+v, %v; want the message sent while it waited", out, err)
	}
}

func TestFIFO(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := localsqs.New([]localsqs.QueueConfig{{Name: "jobs.fifo"}}, nil)
	c, _ := start(t, s)
	url := aws.String(s.QueueURL("jobs.fifo"))
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x")}); code(err) != "MissingParameter" {
		t.Errorf("FIFO send without a group: %v, want MissingParameter", err)
	}
	send := func(b, group, dedup string) {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(b), MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup)}); err != nil {
			t.Fatal(err)
		}
	}
	send("a1", "a", "1")
	send("a1 again", "a", "1") // deduplicated
	send("a2", "a", "2")
	send("b1", "b", "3")
	got := receive(t, c, *url, 10, nil)
	if len(got) != 2 || body(got[0]) != "a1" || body(got[1]) != "b1" {
		t.Fatalf("want one message per group (a1, b1), got %+v", got)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if next := receive(t, c, *url, 10, nil); len(next) != 1 || body(next[0]) != "a2" {
		t.Fatalf("after deleting a1: %+v, want a2", next)
	}
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := localsqs.New(nil, map[string]localsqs.Function{
		"Echo": localsqs.JSONFunction(func(_ context.Context, in map[string]string) (map[string]string, error) {
			if in["fail"] != "" {
				return nil, errors.New("invalid_request: " + in["fail"])
			}
			return map[string]string{"got": in["jobId"]}, nil
		}),
	})
	_, l := start(t, s)
	for _, name := range []string{"Echo", "arn:aws:lambda:us-east-1:000000000000:function:Echo"} {
		out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"jobId":"job_1"}`)})
		if err != nil || out.FunctionError != nil || string(out.Payload) != `{"got":"job_1"}` {
			t.Errorf("Invoke(%s) = %+v, %v", name, out, err)
		}
	}
	out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("Echo"), Payload: []byte(`{"fail":"jobId"}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"invalid_request: jobId"`) {
		t.Errorf("a failing function: %+v (%s), %v", out, out.Payload, err)
	}
	if _, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("Nope")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("unknown function: %v, want ResourceNotFoundException", err)
	}
}
