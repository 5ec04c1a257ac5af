package dynamodb_test

// Faults between the functions and DynamoDB, injected into the production
// client (the functions' AWS settings from config.Load and
// dynamodb.NewClient, so the SDK's standard retryer with the deployed
// settings does the retrying) in front of real dynalite: throttling,
// an exhausted retry quota, an endpoint that never answers, a closed port,
// and a pipeline that fails after the write. Every one must end as a 503 with
// Retry-After before the function's own deadline, and leave the table with
// nothing half-written.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// ftClient builds the client the functions build, from the environment a
// Lambda sandbox provides, pointed at endpoint through the standard
// AWS_ENDPOINT_URL_DYNAMODB.
func ftClient(t *testing.T, endpoint string) *ddb.Client {
	t.Helper()
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "JOBS_TABLE": "Jobs"}
	c, err := config.Load(config.UpdateJobFn, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return dynamodb.NewClient(c.AWS, c.DynamoDBEndpoint)
}

// ftFaults injects errors into every attempt the SDK makes, after its retry
// middleware, so the real retryer sees them as it would a DynamoDB answer.
type ftFaults struct {
	// Fail returns the error to inject into the n-th attempt (from 1) of
	// op, or nil to let the attempt through.
	Fail func(op string, n int) error

	mu       sync.Mutex
	attempts map[string]int
}

func (f *ftFaults) Attempts(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[op]
}

func (f *ftFaults) option(op string) func(*ddb.Options) {
	return func(o *ddb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("injectFault", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				f.mu.Lock()
				if f.attempts == nil {
					f.attempts = map[string]int{}
				}
				f.attempts[op]++
				n := f.attempts[op]
				f.mu.Unlock()
				if f.Fail != nil {
					if err := f.Fail(op, n); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
		})
	}
}

// ftAPI is a dynamodb.API whose calls go through the faults.
type ftAPI struct {
	dynamodb.API
	faults *ftFaults
}

func (a ftAPI) GetItem(ctx context.Context, in *ddb.GetItemInput, opts ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	return a.API.GetItem(ctx, in, append(opts, a.faults.option("GetItem"))...)
}

func (a ftAPI) PutItem(ctx context.Context, in *ddb.PutItemInput, opts ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	return a.API.PutItem(ctx, in, append(opts, a.faults.option("PutItem"))...)
}

func ftThrottled(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "injected " + code, Fault: smithy.FaultServer}
}

// ftEnv is a handler over a DynamoDB store with faults, and a pipeline.
type ftEnv struct {
	client   *ddb.Client // production client, without faults
	raw      *ddb.Client // test client for inspecting the table
	table    string
	faults   *ftFaults
	store    *dynamodb.Store
	pipeline *mock.Pipeline
	h        *apigw.Handler
}

func newFTEnv(t *testing.T, endpoint string) *ftEnv {
	t.Helper()
	raw, table := testenv.NewTable(t)
	if endpoint == "" {
		endpoint = testenv.Endpoint(t)
	}
	e := &ftEnv{client: ftClient(t, endpoint), raw: raw, table: table, faults: &ftFaults{}, pipeline: &mock.Pipeline{}}
	e.store = dynamodb.New(ftAPI{API: e.client, faults: e.faults}, table)
	svc := &jobs.Service{Store: e.store, Pipeline: e.pipeline, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.h = apigw.NewHandler(svc, testenv.AllowedOrigins, svc.Log)
	return e
}

const ftOwner = "owner-sub-1"

// ftToken is the verified ID token the claims come from.
var ftToken = testenv.IDToken(map[string]any{"sub": ftOwner, "token_use": "id"})

func ftClaims() map[string]any { return map[string]any{"claims": map[string]any{"sub": ftOwner}} }

func ftGet(id string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		Resource: "/v1/jobs/{id}", Path: "/v1/jobs/" + id, HTTPMethod: http.MethodGet,
		Headers:        map[string]string{"Origin": "https://admin.deepfoundai.com", "Authorization": ftToken},
		PathParameters: map[string]string{"id": id},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-1", Authorizer: ftClaims()},
	}
}

func ftSubmit(body, idemKey string) events.APIGatewayProxyRequest {
	h := map[string]string{"Origin": "https://admin.deepfoundai.com", "Content-Type": "application/json", "Authorization": ftToken}
	if idemKey != "" {
		h["Idempotency-Key"] = idemKey
	}
	return events.APIGatewayProxyRequest{
		Resource: "/v1/jobs", Path: "/v1/jobs", HTTPMethod: http.MethodPost, Headers: h, Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-2", Authorizer: ftClaims()},
	}
}

// ftFunctionDeadline stands in for the Lambda function's timeout: the
// handler must have answered before it, whatever DynamoDB does.
func ftFunctionDeadline(t *testing.T, store *dynamodb.Store) (context.Context, context.CancelFunc) {
	t.Helper()
	d := store.Timeout
	if d <= 0 {
		d = jobs.DefaultCallTimeout
	}
	return context.WithTimeout(context.Background(), 5*d)
}

// ftWant503 checks a response is the documented answer to an unavailable
// dependency, given before the function's deadline.
func ftWant503(t *testing.T, ctx context.Context, resp events.APIGatewayProxyResponse, err error) {
	t.Helper()
	if ctx.Err() != nil {
		t.Errorf("handler answered after the function deadline (%v)", ctx.Err())
	}
	if err != nil {
		t.Fatalf("handler error %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503 (%s)", resp.StatusCode, resp.Body)
	}
	if got, want := resp.Headers["Retry-After"], apigw.RetryAfterUnavailable; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if got, want := resp.Headers["Access-Control-Allow-Origin"], "https://admin.deepfoundai.com"; got != want {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, want)
	}
	if got, want := resp.Body, `"code":"`+string(jobs.EUNAVAILABLE)+`"`; !strings.Contains(got, want) {
		t.Errorf("body %s lacks %s", got, want)
	}
}

// ftScan returns every item in the table, read strongly consistent.
func ftScan(t *testing.T, e *ftEnv) []map[string]types.AttributeValue {
	t.Helper()
	out, err := e.raw.Scan(context.Background(), &ddb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out.Items
}

// ftWholeItems checks that every stored item is whole: it has the
// attributes every job has, decodes, and is consistent with its status.
func ftWholeItems(t *testing.T, e *ftEnv) []jobs.Job {
	t.Helper()
	var all []jobs.Job
	for _, it := range ftScan(t, e) {
		for _, a := range []string{"jobId", "status", "progress", "createdAt", "updatedAt", "version", "ownerId", "request", "specHash"} {
			if _, ok := it[a]; !ok {
				t.Errorf("item %v lacks %q", it["jobId"], a)
			}
		}
		id, _ := it["jobId"].(*types.AttributeValueMemberS)
		if id == nil {
			continue
		}
		j, err := e.store.GetLatest(context.Background(), id.Value)
		if err != nil {
			t.Errorf("item %s does not decode: %v", id.Value, err)
			continue
		}
		if (j.Status == jobs.Failed) != (j.Error != nil) || (j.Status == jobs.Completed) != (j.OutputURL != "") {
			t.Errorf("item %s is inconsistent: %+v", id.Value, j)
		}
		if j.Status.Terminal() && (j.CompletedAt.IsZero() || j.ExpiresAt.IsZero()) {
			t.Errorf("terminal item %s lacks completedAt/expiresAt: %+v", id.Value, j)
		}
		all = append(all, j)
	}
	return all
}

func ftSeed(t *testing.T, e *ftEnv) jobs.Job {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := jobs.Job{ID: jobs.NewID(), OwnerID: ftOwner, Status: jobs.Queued, Spec: jobs.Spec{Prompt: "p", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}, SpecHash: "h", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := dynamodb.New(e.raw, e.table).Create(context.Background(), j); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return j
}

// The SDK's retryer absorbs short throttling: the poll still succeeds.
func TestFaultThrottlingRetriedBySDK(t *testing.T) {
	for _, code := range []string{"ProvisionedThroughputExceededException", "ThrottlingException"} {
		t.Run(code, func(t *testing.T) {
			e := newFTEnv(t, "")
			j := ftSeed(t, e)
			e.faults.Fail = func(op string, n int) error {
				if n <= 2 {
					return ftThrottled(code)
				}
				return nil
			}
			ctx, cancel := ftFunctionDeadline(t, e.store)
			defer cancel()
			resp, err := e.h.GetJob(ctx, ftGet(j.ID))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GetJob = %d %s, %v; want 200 after two throttled attempts", resp.StatusCode, resp.Body, err)
			}
			if got, want := e.faults.Attempts("GetItem"), 3; got != want {
				t.Errorf("GetItem attempts = %d, want %d (2 throttled + 1)", got, want)
			}
		})
	}
}

// Throttling that outlasts the SDK's attempts is a 503 with Retry-After,
// reads and writes alike, and a failed write hands nothing off.
func TestFaultThrottlingOutlastsRetries(t *testing.T) {
	for _, code := range []string{"ProvisionedThroughputExceededException", "ThrottlingException"} {
		t.Run(code, func(t *testing.T) {
			e := newFTEnv(t, "")
			j := ftSeed(t, e)
			e.faults.Fail = func(string, int) error { return ftThrottled(code) }

			ctx, cancel := ftFunctionDeadline(t, e.store)
			defer cancel()
			resp, err := e.h.GetJob(ctx, ftGet(j.ID))
			ftWant503(t, ctx, resp, err)
			if got, want := e.faults.Attempts("GetItem"), 3; got != want {
				t.Errorf("GetItem attempts = %d, want %d: the standard retryer's maximum, and no strong re-read after a throttled read", got, want)
			}

			_, err = e.store.Get(ctx, j.ID)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != code || jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
				t.Errorf("Get error = %v, want %s with cause %s", err, jobs.EUNAVAILABLE, code)
			}

			resp, err = e.h.SubmitJob(ctx, ftSubmit(`{"prompt":"a cat"}`, ""))
			ftWant503(t, ctx, resp, err)
			if got := len(e.pipeline.Accepted()); got != 0 {
				t.Errorf("a submit whose write failed handed off %d jobs, want 0", got)
			}
			if items := ftScan(t, e); len(items) != 1 {
				t.Errorf("table holds %d items, want only the seeded one", len(items))
			}
		})
	}
}

// Once throttling has drained the client's retry quota (500 tokens, 5 per
// throttled retry), calls fail on their first throttled attempt with
// ratelimit.QuotaExceededError instead of retrying: still a 503.
func TestFaultRetryQuotaExhausted(t *testing.T) {
	e := newFTEnv(t, "")
	j := ftSeed(t, e)
	e.faults.Fail = func(string, int) error { return ftThrottled("ThrottlingException") }

	var wg sync.WaitGroup
	for range 120 { // 120 calls x 2 retries x 5 tokens > 500 tokens
		wg.Go(func() { _, _ = e.store.Get(context.Background(), j.ID) })
	}
	wg.Wait()

	before := e.faults.Attempts("GetItem")
	ctx, cancel := ftFunctionDeadline(t, e.store)
	defer cancel()
	_, err := e.store.Get(ctx, j.ID)
	var quota ratelimit.QuotaExceededError
	if !errors.As(err, &quota) || jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Fatalf("Get error = %v, want %s caused by ratelimit.QuotaExceededError", err, jobs.EUNAVAILABLE)
	}
	if got := e.faults.Attempts("GetItem") - before; got != 1 {
		t.Errorf("attempts with the quota exhausted = %d, want 1", got)
	}
	resp, err := e.h.GetJob(ctx, ftGet(j.ID))
	ftWant503(t, ctx, resp, err)
}

// ftBlackHole accepts connections and never answers.
func ftBlackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// An endpoint slower than the deadline: each call is cut off at the store's
// Timeout, the error says so, and the function answers 503 long before its
// own deadline.
func TestFaultEndpointNeverAnswers(t *testing.T) {
	e := newFTEnv(t, ftBlackHole(t))
	e.store.Timeout = 300 * time.Millisecond

	ctx, cancel := ftFunctionDeadline(t, e.store)
	defer cancel()
	_, err := e.store.Get(ctx, "job_x")
	if !errors.Is(err, context.DeadlineExceeded) || jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Errorf("Get error = %v, want %s caused by context.DeadlineExceeded", err, jobs.EUNAVAILABLE)
	}
	if ctx.Err() != nil {
		t.Errorf("Get returned after 5x its Timeout")
	}

	resp, err := e.h.GetJob(ctx, ftGet("job_x"))
	ftWant503(t, ctx, resp, err)
	resp, err = e.h.SubmitJob(ctx, ftSubmit(`{"prompt":"a cat"}`, ""))
	ftWant503(t, ctx, resp, err)
	if got := len(e.pipeline.Accepted()); got != 0 {
		t.Errorf("handed off %d jobs whose write timed out, want 0", got)
	}
}

// A closed port: connections are refused, the SDK retries them, then 503.
func TestFaultEndpointUnreachable(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e := newFTEnv(t, "http://127.0.0.1:"+strconv.Itoa(port))

	ctx, cancel := ftFunctionDeadline(t, e.store)
	defer cancel()
	_, err = e.store.Get(ctx, "job_x")
	if !errors.Is(err, syscall.ECONNREFUSED) || jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Errorf("Get error = %v, want %s caused by ECONNREFUSED", err, jobs.EUNAVAILABLE)
	}
	if got, want := e.faults.Attempts("GetItem"), 3; got != want {
		t.Errorf("GetItem attempts = %d, want %d (connection errors are retried)", got, want)
	}
	resp, err := e.h.GetJob(ctx, ftGet("job_x"))
	ftWant503(t, ctx, resp, err)
}

// The pipeline fails after the write: the job is FAILED with
// ENQUEUE_FAILED, whole, and the client is told to retry.
func TestFaultHandOffFailsAfterWrite(t *testing.T) {
	e := newFTEnv(t, "")
	e.pipeline.EnqueueFn = func(context.Context, jobs.Job) error { return jobs.Errorf(jobs.EUNAVAILABLE, "queue down") }

	ctx, cancel := ftFunctionDeadline(t, e.store)
	defer cancel()
	resp, err := e.h.SubmitJob(ctx, ftSubmit(`{"prompt":"a cat"}`, ""))
	ftWant503(t, ctx, resp, err)

	all := ftWholeItems(t, e)
	if len(all) != 1 {
		t.Fatalf("table holds %d items, want 1", len(all))
	}
	j := all[0]
	if j.Status != jobs.Failed || j.Error == nil || j.Error.Code != jobs.EnqueueFailedCode || j.Version != 2 {
		t.Errorf("job = %s v%d %+v, want FAILED v2 with %s", j.Status, j.Version, j.Error, jobs.EnqueueFailedCode)
	}
	if j.OwnerID != ftOwner || j.Spec.Prompt != "a cat" {
		t.Errorf("job lost its owner or request: %+v", j)
	}
}

// Queue and table both fail: the job cannot be marked FAILED and stays
// QUEUED (the STRANDED_JOB alarm). The client got a 503; its retry with the
// Idempotency-Key answers the job as it is and does not send it again: a
// replay cannot tell this job from one whose hand-off's outcome is unknown,
// and sending that twice could start it twice. The sweeper's queue limit
// ends it (QUEUE_TIMEOUT) unless an operator acts on the alarm first.
func TestFaultHandOffAndMarkFailedBothFail(t *testing.T) {
	e := newFTEnv(t, "")
	var queueDown atomic.Bool
	queueDown.Store(true)
	e.pipeline.EnqueueFn = func(context.Context, jobs.Job) error {
		if queueDown.Load() {
			return jobs.Errorf(jobs.EUNAVAILABLE, "queue down")
		}
		return nil
	}
	e.faults.Fail = func(op string, n int) error {
		if op == "PutItem" && n > 1 { // the create lands, the mark-FAILED does not
			return ftThrottled("ThrottlingException")
		}
		return nil
	}
	ctx, cancel := ftFunctionDeadline(t, e.store)
	defer cancel()
	body := `{"prompt":"a cat","options":{"durationSeconds":7}}`
	resp, err := e.h.SubmitJob(ctx, ftSubmit(body, "retry-key-1"))
	ftWant503(t, ctx, resp, err)
	all := ftWholeItems(t, e)
	if len(all) != 1 || all[0].Status != jobs.Queued || all[0].Version != 1 {
		t.Fatalf("stored = %+v, want one QUEUED v1 job", all)
	}

	queueDown.Store(false)
	e.faults.Fail = nil
	resp, err = e.h.SubmitJob(context.Background(), ftSubmit(body, "retry-key-1"))
	if err != nil || resp.StatusCode != http.StatusAccepted || resp.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("retry = %d %v %s, %v; want 202 replayed", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	if q := e.pipeline.Accepted(); len(q) != 0 {
		t.Errorf("handed off %v, want nothing (only ENQUEUE_FAILED jobs are sent again)", q)
	}
	if after := ftWholeItems(t, e); len(after) != 1 || after[0].Version != 1 {
		t.Errorf("after the retry the table holds %+v, want the same QUEUED v1 job", after)
	}
}

// Duplicate deliveries of one submit (same Idempotency-Key, same body),
// concurrently: one job, every response names it.
func TestFaultDuplicateSubmitDeliveries(t *testing.T) {
	e := newFTEnv(t, "")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]int{}
		created int
	)
	for range n {
		wg.Go(func() {
			resp, err := e.h.SubmitJob(context.Background(), ftSubmit(`{"prompt":"a cat"}`, "dup-key-1"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != http.StatusAccepted {
				t.Errorf("delivery = %d %s, %v; want 202", resp.StatusCode, resp.Body, err)
				return
			}
			ids[resp.Headers["Location"]]++
			if resp.Headers["Idempotent-Replayed"] != "true" {
				created++
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 || created != 1 {
		t.Errorf("locations %v, %d not replayed; want one job, created once", ids, created)
	}
	all := ftWholeItems(t, e)
	if len(all) != 1 || all[0].Version != 1 || all[0].Status != jobs.Queued {
		t.Errorf("table = %+v, want one QUEUED v1 job", all)
	}
	for _, q := range e.pipeline.Accepted() {
		if q.ID != all[0].ID {
			t.Errorf("handed off %s, want only %s", q.ID, all[0].ID)
		}
	}

	// The same key with another body is refused, and changes nothing.
	resp, err := e.h.SubmitJob(context.Background(), ftSubmit(`{"prompt":"a dog"}`, "dup-key-1"))
	if err != nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body = %d %s, %v; want 422", resp.StatusCode, resp.Body, err)
	}
	if after := ftWholeItems(t, e); len(after) != 1 || after[0].Spec.Prompt != "a cat" {
		t.Errorf("table = %+v, want the first job unchanged", after)
	}
}

// A retried delivery after a failed hand-off finds the FAILED job: it is
// returned as it is (202, replayed, FAILED with ENQUEUE_FAILED), not
// re-created, re-queued or reversed. The client learns from the body that
// it must submit again with a new key.
func TestFaultDuplicateAfterFailedHandOff(t *testing.T) {
	e := newFTEnv(t, "")
	e.pipeline.EnqueueFn = func(context.Context, jobs.Job) error { return jobs.Errorf(jobs.EUNAVAILABLE, "queue down") }
	resp, err := e.h.SubmitJob(context.Background(), ftSubmit(`{"prompt":"a cat"}`, "k-failed"))
	ftWant503(t, context.Background(), resp, err)
	if all := ftWholeItems(t, e); len(all) != 1 || all[0].Status != jobs.Failed || all[0].Version != 2 {
		t.Fatalf("after the failed hand-off: table = %+v, want one FAILED v2 job", all)
	}

	// The queue is back: a retry with the same key requeues that same job
	// (the pipeline never saw it and no client was told it was accepted).
	e.pipeline.EnqueueFn = nil
	resp, err = e.h.SubmitJob(context.Background(), ftSubmit(`{"prompt":"a cat"}`, "k-failed"))
	if err != nil || resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, `"status":"QUEUED"`) || resp.Headers["Idempotent-Replayed"] != "true" {
		t.Errorf("retry = %d %v %s, %v; want 202 replaying the requeued job", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	if got := len(e.pipeline.Accepted()); got != 1 {
		t.Errorf("the requeued job was handed off %d times, want 1", got)
	}
	all := ftWholeItems(t, e)
	if len(all) != 1 || all[0].Status != jobs.Queued || all[0].Version != 3 || all[0].Error != nil {
		t.Errorf("table = %+v, want one QUEUED v3 job without error", all)
	}
}
