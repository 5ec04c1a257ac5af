package apigw_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
)

// TestDeadlineBudget gives each route a store and a queue whose calls take
// 3 s unless their context ends first (a table or queue that is slow within
// its own call timeout, whatever DYNAMODB_TIMEOUT_MS is), under a 5 s
// invocation deadline: every route must answer the documented 503, with
// its CORS headers, and no call, the submit's FAILED mark included, may be
// allowed to run into the time kept to answer before the deadline.
func TestDeadlineBudget(t *testing.T) {
	t.Parallel()
	const callTime, timeout = 3 * time.Second, 5 * time.Second
	queued := jobs.Job{ID: "job_h1", OwnerID: "alice-sub", Status: jobs.Queued, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	tests := []struct {
		name  string
		route func(*apigw.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
		req   events.APIGatewayProxyRequest
		calls int // store and queue calls the route makes
	}{
		{"cancel: a read, then a write cut short", func(h *apigw.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return h.CancelJob
		}, event(t, request{method: "POST", resource: "/v1/jobs/{id}/cancel", path: "/v1/jobs/job_h1/cancel",
			pathParams: map[string]string{"id": "job_h1"}, headers: map[string]string{"Origin": adminOrigin}, claims: aliceClaims}), 2},
		{"submit: a write, a hand-off cut short, the FAILED mark", func(h *apigw.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return h.SubmitJob
		}, submitRequest(t, `{"prompt":"A kite"}`, aliceClaims, map[string]string{"Origin": adminOrigin}), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu        sync.Mutex
				deadlines []time.Time
			)
			slow := func(ctx context.Context) error {
				d, _ := ctx.Deadline()
				mu.Lock()
				deadlines = append(deadlines, d)
				mu.Unlock()
				select {
				case <-time.After(callTime):
					return nil
				case <-ctx.Done():
					return jobs.Wrap(jobs.EUNAVAILABLE, ctx.Err(), jobs.MsgStoreUnavailable)
				}
			}
			store := &mock.Store{
				GetLatestFn: func(ctx context.Context, _ string) (jobs.Job, error) { return queued, slow(ctx) },
				CreateFn:    func(ctx context.Context, _ jobs.Job) error { return slow(ctx) },
				UpdateFn:    func(ctx context.Context, _ jobs.Job) error { return slow(ctx) },
			}
			h, _ := newHandler(t, store, &mock.Pipeline{EnqueueFn: func(ctx context.Context, _ jobs.Job) error { return slow(ctx) }})
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			invocationEnd, _ := ctx.Deadline()

			resp, err := tt.route(h)(ctx, tt.req)
			if err != nil {
				t.Fatalf("handler error %v, want none", err)
			}
			wantError(t, resp, 503, jobs.EUNAVAILABLE)
			if got := resp.Headers["Access-Control-Allow-Origin"]; got != adminOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, adminOrigin)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(deadlines) != tt.calls {
				t.Errorf("%d calls, want %d", len(deadlines), tt.calls)
			}
			// Judged by the calls' deadlines, not by the clock: each must
			// leave at least half the reserve to answer before the
			// invocation's deadline (else API Gateway would answer 502).
			for i, d := range deadlines {
				if latest := invocationEnd.Add(-apigw.DefaultReserve / 2); d.IsZero() || d.After(latest) {
					t.Errorf("call %d: deadline %v, want one by %v, half the reserve before the invocation's", i+1, d, latest)
				}
			}
		})
	}
}
