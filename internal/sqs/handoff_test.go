package sqs_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/sqs"
)

// sdkClient is the real SQS client, retries included, on endpoint.
func sdkClient(endpoint string) *awssqs.Client {
	return awssqs.New(awssqs.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
}

// accept answers a SendMessage as SQS does (JSON protocol).
func accept(w http.ResponseWriter, r *http.Request) {
	var in struct{ MessageBody string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := md5.Sum([]byte(in.MessageBody))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": "m-1", "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}

func sqsError(status int, typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.sqs#`+typ+`","message":"no"}`)
	}
}

// silent reads the request and never answers: a timeout after sending.
func silent(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// drop reads the request and closes the connection without an answer.
func drop(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// TestEnqueueTellsNotSentFromUnknown runs the SDK against stand-ins for
// SQS: an error before the request is written and any error answer from
// SQS mean "certainly not sent"; a request written and not answered means
// "unknown" (jobs.ErrHandoffUnknown), even if a retry then gets an error
// answer.
func TestEnqueueTellsNotSentFromUnknown(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // connection refused: nothing written

	tests := []struct {
		name     string
		handlers []http.HandlerFunc // one per attempt; the last repeats
		endpoint string             // instead of a server
		want     string             // "sent", "not sent", "unknown"
	}{
		{name: "accepted", handlers: []http.HandlerFunc{accept}, want: "sent"},
		{name: "client error answer", handlers: []http.HandlerFunc{sqsError(400, "InvalidParameterValue")}, want: "not sent"},
		{name: "access denied", handlers: []http.HandlerFunc{sqsError(400, "AccessDenied")}, want: "not sent"},
		{name: "server errors on every attempt", handlers: []http.HandlerFunc{sqsError(500, "InternalError")}, want: "not sent"},
		{name: "throttled then accepted", handlers: []http.HandlerFunc{sqsError(400, "RequestThrottled"), accept}, want: "sent"},
		{name: "connection refused", endpoint: closedURL, want: "not sent"},
		{name: "no answer before the deadline", handlers: []http.HandlerFunc{silent}, want: "unknown"},
		{name: "connection dropped after sending", handlers: []http.HandlerFunc{drop}, want: "unknown"},
		{name: "dropped, then an error answer", handlers: []http.HandlerFunc{drop, sqsError(500, "InternalError")}, want: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			endpoint := tt.endpoint
			if endpoint == "" {
				var n atomic.Int32
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					i := int(n.Add(1)) - 1
					tt.handlers[min(i, len(tt.handlers)-1)](w, r)
				}))
				t.Cleanup(srv.Close)
				endpoint = srv.URL
			}
			p := sqs.New(sdkClient(endpoint), endpoint+"/123456789012/pipeline")
			p.Timeout = 500 * time.Millisecond
			err := p.Enqueue(context.Background(), job)
			got := "sent"
			switch {
			case errors.Is(err, jobs.ErrHandoffUnknown):
				got = "unknown"
			case err != nil:
				got = "not sent"
			}
			if got != tt.want {
				t.Fatalf("Enqueue() = %v: %s, want %s", err, got, tt.want)
			}
			if err != nil && jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
				t.Errorf("Enqueue() code = %s, want %s", jobs.ErrorCode(err), jobs.EUNAVAILABLE)
			}
		})
	}
}

// TestSubmitOverTheSDKHandoff: what each outcome does to the job.
func TestSubmitOverTheSDKHandoff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		handler    http.HandlerFunc
		wantErr    bool
		wantStatus jobs.Status
	}{
		{"not sent: FAILED ENQUEUE_FAILED and 503", sqsError(400, "AccessDenied"), true, jobs.Failed},
		{"unknown: stays QUEUED and accepted", silent, false, jobs.Queued},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			p := sqs.New(sdkClient(srv.URL), srv.URL+"/123456789012/pipeline")
			p.Timeout = 300 * time.Millisecond
			store := inmem.NewStore()
			svc := &jobs.Service{Store: store, Pipeline: p}
			res, err := svc.Submit(context.Background(), jobs.Caller{Subject: "alice-sub"}, jobs.Spec{Prompt: "a cat"}, "key-1")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Submit() error = %v, want error %v", err, tt.wantErr)
			}
			id := jobs.IdempotentID("alice-sub", "key-1")
			got, gerr := store.Get(context.Background(), id)
			if gerr != nil || got.Status != tt.wantStatus {
				t.Fatalf("stored job %+v, %v; want %s", got, gerr, tt.wantStatus)
			}
			if tt.wantStatus == jobs.Failed && (got.Error == nil || got.Error.Code != jobs.EnqueueFailedCode) {
				t.Errorf("error = %+v, want %s", got.Error, jobs.EnqueueFailedCode)
			}
			if !tt.wantErr && res.Job.ID != id {
				t.Errorf("accepted job %q, want %q", res.Job.ID, id)
			}
		})
	}
}
