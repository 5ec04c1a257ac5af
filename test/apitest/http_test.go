package apitest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/sqs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithDynamoDB(m)) }

const origin = "https://video.deepfoundai.com"

// api is the functions of one stack over one fresh table.
type api struct {
	h        *apigw.Handler
	consumer *sqs.Consumer
	store    *dynamodb.Store
}

func newAPI(t *testing.T) api {
	t.Helper()
	client, table := testenv.NewTable(t)
	store := dynamodb.New(client, table)
	log := slog.New(slog.DiscardHandler)
	svc := &jobs.Service{Store: store, Index: store, Pipeline: &inmem.Pipeline{}, Log: log, CursorKey: []byte("0123456789abcdef0123456789abcdef-test")}
	return api{h: apigw.NewHandler(svc, testenv.AllowedOrigins, log), consumer: sqs.NewConsumer(svc, log), store: store}
}

type call struct {
	method, resource, path string
	id                     string
	query                  map[string]string
	headers                map[string]string
	body, sub, groups      string
}

func (c call) event() events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		Resource: c.resource, Path: c.path, HTTPMethod: c.method, Body: c.body,
		Headers: map[string]string{"Origin": origin}, MultiValueHeaders: map[string][]string{"Origin": {origin}},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "r", Authorizer: map[string]any{
			"claims": map[string]any{"sub": c.sub, "cognito:groups": c.groups},
		}},
	}
	if c.id != "" {
		ev.PathParameters = map[string]string{"id": c.id}
	}
	// The verified ID token the claims come from.
	tok := map[string]any{"sub": c.sub, "token_use": "id"}
	if c.groups != "" {
		tok["cognito:groups"] = strings.Split(c.groups, ",")
	}
	ev.Headers["Authorization"] = testenv.IDToken(tok)
	ev.MultiValueHeaders["Authorization"] = []string{ev.Headers["Authorization"]}
	for k, v := range c.headers {
		ev.Headers[k] = v
		ev.MultiValueHeaders[k] = []string{v}
	}
	if len(c.query) > 0 {
		ev.QueryStringParameters = c.query
		ev.MultiValueQueryStringParameters = map[string][]string{}
		for k, v := range c.query {
			ev.MultiValueQueryStringParameters[k] = []string{v}
		}
	}
	return ev
}

func (a api) do(t *testing.T, c call) events.APIGatewayProxyResponse {
	t.Helper()
	var fn func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
	switch c.method + " " + c.resource {
	case "GET /v1/jobs/{id}":
		fn = a.h.GetJob
	case "POST /v1/jobs":
		fn = a.h.SubmitJob
	case "GET /v1/jobs":
		fn = a.h.ListJobs
	case "POST /v1/jobs/{id}/cancel":
		fn = a.h.CancelJob
	default:
		t.Fatalf("no route %s %s", c.method, c.resource)
	}
	resp, err := fn(context.Background(), c.event())
	if err != nil {
		t.Fatalf("%s %s: handler error %v", c.method, c.path, err)
	}
	if resp.Headers["Access-Control-Allow-Origin"] != origin || resp.Headers["Vary"] != "Origin" {
		t.Errorf("%s %s → %d without CORS headers: %v", c.method, c.path, resp.StatusCode, resp.Headers)
	}
	return resp
}

func submit(sub, body, key string) call {
	h := map[string]string{"Content-Type": "application/json"}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return call{method: "POST", resource: "/v1/jobs", path: "/v1/jobs", body: body, headers: h, sub: sub}
}

func get(sub, id string, headers map[string]string) call {
	return call{method: "GET", resource: "/v1/jobs/{id}", path: "/v1/jobs/" + id, id: id, sub: sub, headers: headers}
}

func list(sub, groups string, query map[string]string) call {
	return call{method: "GET", resource: "/v1/jobs", path: "/v1/jobs", sub: sub, groups: groups, query: query}
}

func cancel(sub, id string) call {
	return call{method: "POST", resource: "/v1/jobs/{id}/cancel", path: "/v1/jobs/" + id + "/cancel", id: id, sub: sub}
}

type jobBody struct {
	JobID   string `json:"jobId"`
	OwnerID string `json:"ownerId"`
	Prompt  string `json:"prompt"`
	Options struct {
		DurationSeconds int    `json:"durationSeconds"`
		AspectRatio     string `json:"aspectRatio"`
		Resolution      string `json:"resolution"`
	} `json:"options"`
	Version         int64  `json:"version"`
	Status          string `json:"status"`
	Progress        int    `json:"progress"`
	OutputURL       string `json:"outputUrl"`
	Terminal        bool   `json:"terminal"`
	CancelRequested bool   `json:"cancelRequested"`
}

type listBody struct {
	Jobs       []jobBody `json:"jobs"`
	NextCursor string    `json:"nextCursor"`
}

func decode[T any](t *testing.T, resp events.APIGatewayProxyResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

func want(t *testing.T, what string, resp events.APIGatewayProxyResponse, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.StatusCode, status, resp.Body)
	}
}

func TestConcurrentIdempotentSubmitsOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	const n = 8
	resps := make([]events.APIGatewayProxyResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i] = a.do(t, submit("alice", `{"prompt":"a lighthouse in fog"}`, "order-42"))
		}()
	}
	wg.Wait()
	first, replays := "", 0
	for i, r := range resps {
		want(t, fmt.Sprintf("submit %d", i), r, 202)
		id := decode[jobBody](t, r).JobID
		if first == "" {
			first = id
		}
		if id != first || r.Headers["Location"] != "/v1/jobs/"+id {
			t.Errorf("submit %d: job %s (Location %s), want %s", i, id, r.Headers["Location"], first)
		}
		if r.Headers["Idempotent-Replayed"] == "true" {
			replays++
		}
	}
	if replays != n-1 {
		t.Errorf("%d responses were replays, want %d (exactly one created the job)", replays, n-1)
	}
	mine := decode[listBody](t, a.do(t, list("alice", "", nil)))
	if len(mine.Jobs) != 1 {
		t.Errorf("alice has %d jobs after %d retries of one submit, want 1", len(mine.Jobs), n)
	}
	r := a.do(t, submit("alice", `{"prompt":"something else"}`, "order-42"))
	want(t, "same key, another body", r, 422)
	r = a.do(t, submit("bob", `{"prompt":"a lighthouse in fog"}`, "order-42"))
	want(t, "another user's same key", r, 202)
	if decode[jobBody](t, r).JobID == first || r.Headers["Idempotent-Replayed"] != "" {
		t.Errorf("bob's submit with alice's key returned her job or a replay")
	}
}

// TestPollingFollowsThePipeline polls a job the way a dashboard does while
// the pipeline moves it, with ETags and Retry-After.
func TestPollingFollowsThePipeline(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := a.do(t, submit("alice", `{"prompt":"a cat surfing","options":{"resolution":"1080p"}}`, ""))
	want(t, "submit", r, 202)
	id := decode[jobBody](t, r).JobID
	// What was asked for, as stored and read back, defaults filled in; the
	// owner only to admins.
	for _, c := range []struct {
		sub, groups, owner string
	}{{"alice", "", ""}, {"root", "admin", "alice"}} {
		r := a.do(t, call{method: "GET", resource: "/v1/jobs/{id}", path: "/v1/jobs/" + id, id: id, sub: c.sub, groups: c.groups})
		b := decode[jobBody](t, r)
		if b.Prompt != "a cat surfing" || b.Options.DurationSeconds != 5 || b.Options.AspectRatio != "16:9" || b.Options.Resolution != "1080p" || b.Version != 1 || b.OwnerID != c.owner {
			t.Errorf("GET as %s: %+v; want the prompt, options with defaults, version 1, ownerId %q", c.sub, b, c.owner)
		}
	}

	poll := func(etag string) events.APIGatewayProxyResponse {
		var h map[string]string
		if etag != "" {
			h = map[string]string{"If-None-Match": etag}
		}
		return a.do(t, get("alice", id, h))
	}
	first := poll("")
	want(t, "first poll", first, 200)
	etag := first.Headers["ETag"]
	if etag == "" || first.Headers["Retry-After"] != "2" {
		t.Fatalf("QUEUED poll: ETag %q, Retry-After %q; want an ETag and 2", etag, first.Headers["Retry-After"])
	}
	same := poll(etag)
	want(t, "unchanged poll", same, 304)
	if same.Body != "" || same.Headers["ETag"] != etag || same.Headers["Retry-After"] != "2" {
		t.Errorf("304: body %q, headers %v", same.Body, same.Headers)
	}
	if r := poll(`W/` + etag + `, "other"`); r.StatusCode != 304 {
		t.Errorf("weak ETag in a list: %d, want 304", r.StatusCode)
	}
	if r := a.do(t, get("bob", id, map[string]string{"If-None-Match": "*"})); r.StatusCode != 404 {
		t.Errorf("another user with If-None-Match: * got %d, want 404 (a 304 would confirm the job)", r.StatusCode)
	}

	deliver := func(bodies ...string) {
		t.Helper()
		var batch []events.SQSMessage
		for i, e := range bodies {
			batch = append(batch, events.SQSMessage{MessageId: fmt.Sprint(i), Body: fmt.Sprintf(`{"jobId":%q,%s}`, id, e)})
		}
		resp, _ := a.consumer.Handle(context.Background(), eventsOf(batch))
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("status events failed: %v", resp.BatchItemFailures)
		}
	}
	deliver(`"status":"PROCESSING","progress":30`, `"status":"PROCESSING","progress":30`)
	r = poll(etag)
	want(t, "poll after progress", r, 200)
	if b := decode[jobBody](t, r); b.Status != "PROCESSING" || b.Progress != 30 || r.Headers["Retry-After"] != "5" || r.Headers["ETag"] == etag {
		t.Errorf("PROCESSING poll: %+v, Retry-After %q, ETag %q (was %q)", b, r.Headers["Retry-After"], r.Headers["ETag"], etag)
	}
	etag = r.Headers["ETag"]
	deliver(`"status":"PROCESSING","progress":10`) // late, stale
	want(t, "poll after a stale event", poll(etag), 304)
	// The batch form polls the same way.
	batch := a.do(t, list("alice", "", map[string]string{"ids": id}))
	want(t, "batch poll", batch, 200)
	if b := decode[listBody](t, batch); len(b.Jobs) != 1 || b.Jobs[0].Version != 2 || batch.Headers["Retry-After"] != "5" {
		t.Errorf("batch poll: %+v, headers %v; want the job at version 2, Retry-After 5", b, batch.Headers)
	}
	bq := list("alice", "", map[string]string{"ids": id})
	bq.headers = map[string]string{"If-None-Match": batch.Headers["ETag"]}
	want(t, "unchanged batch poll", a.do(t, bq), 304)

	deliver(`"status":"COMPLETED","outputUrl":"https://cdn.example.com/cat.mp4"`, `"status":"PROCESSING","progress":95`)
	r = poll(etag)
	want(t, "poll after completion", r, 200)
	if b := decode[jobBody](t, r); !b.Terminal || b.Status != "COMPLETED" || b.Progress != 100 || b.OutputURL == "" || r.Headers["Retry-After"] != "" {
		t.Errorf("COMPLETED poll: %+v, Retry-After %q; want terminal, 100, outputUrl, no Retry-After", b, r.Headers["Retry-After"])
	}
	want(t, "cancel a completed job", a.do(t, cancel("alice", id)), 409)
}

func eventsOf(ms []events.SQSMessage) events.SQSEvent { return events.SQSEvent{Records: ms} }

func TestListBatchAndCancelOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ctx := context.Background()
	var aliceIDs []string
	for i := range 5 {
		j := jobstest.NewJob(fmt.Sprintf("job_a%d", i), "alice")
		j.CreatedAt = jobstest.T0.Add(time.Duration(i) * time.Minute)
		if err := a.store.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		aliceIDs = append([]string{j.ID}, aliceIDs...)
	}
	bobs := jobstest.NewJob("job_b0", "bob")
	bobs.CreatedAt = jobstest.T0.Add(time.Hour)
	if err := a.store.Create(ctx, bobs); err != nil {
		t.Fatal(err)
	}

	// Pages of 2, newest first, following nextCursor.
	var got []string
	q := map[string]string{"limit": "2", "status": "QUEUED"}
	var cursor string
	for range 10 {
		r := a.do(t, list("alice", "", q))
		want(t, "list page", r, 200)
		page := decode[listBody](t, r)
		for _, j := range page.Jobs {
			got = append(got, j.JobID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		q = map[string]string{"limit": "2", "status": "QUEUED", "cursor": cursor}
	}
	if fmt.Sprint(got) != fmt.Sprint(aliceIDs) {
		t.Errorf("alice's pages: %v, want %v", got, aliceIDs)
	}
	// Alice's cursor leaks nothing to bob or to another query.
	for name, c := range map[string]call{
		"bob":            list("bob", "", map[string]string{"limit": "2", "status": "QUEUED", "cursor": cursor}),
		"another filter": list("alice", "", map[string]string{"limit": "2", "status": "PROCESSING", "cursor": cursor}),
		"admin, all":     list("root", "admin", map[string]string{"scope": "all", "status": "QUEUED", "cursor": cursor}),
	} {
		r := a.do(t, c)
		if r.StatusCode != 400 || decode[listBody](t, r).Jobs != nil {
			t.Errorf("alice's cursor used by %s: %d %s; want 400 and no jobs", name, r.StatusCode, r.Body)
		}
	}
	// Admins list everyone's by status.
	r := a.do(t, list("root", "admin", map[string]string{"scope": "all", "status": "QUEUED", "order": "oldest", "limit": "100"}))
	want(t, "admin list", r, 200)
	if page := decode[listBody](t, r); len(page.Jobs) != 6 || page.Jobs[0].JobID != "job_a0" {
		t.Errorf("admin list: %+v", page)
	}

	// Batch: bob's id is simply absent for alice.
	r = a.do(t, list("alice", "", map[string]string{"ids": "job_a1,job_b0,job_nope,job_a3"}))
	want(t, "batch", r, 200)
	if page := decode[listBody](t, r); len(page.Jobs) != 2 || page.Jobs[0].JobID != "job_a1" || page.Jobs[1].JobID != "job_a3" || page.NextCursor != "" {
		t.Errorf("batch: %+v; want job_a1, job_a3", page)
	}

	// Cancel: QUEUED now, PROCESSING by request, foreign 404.
	want(t, "cancel bob's job as alice", a.do(t, cancel("alice", "job_b0")), 404)
	r = a.do(t, cancel("alice", "job_a0"))
	want(t, "cancel queued", r, 200)
	if b := decode[jobBody](t, r); b.Status != "CANCELLED" || !b.Terminal || r.Headers["ETag"] == "" {
		t.Errorf("cancel queued: %+v, headers %v", b, r.Headers)
	}
	want(t, "cancel again", a.do(t, cancel("alice", "job_a0")), 200)
	if _, _, err := a.consumer.Service.Advance(ctx, jobs.Event{JobID: "job_a1", Status: jobs.Processing}); err != nil {
		t.Fatal(err)
	}
	r = a.do(t, cancel("alice", "job_a1"))
	want(t, "cancel processing", r, 202)
	if b := decode[jobBody](t, r); b.Status != "PROCESSING" || !b.CancelRequested || r.Headers["Retry-After"] != "5" {
		t.Errorf("cancel processing: %+v, headers %v", b, r.Headers)
	}
	// The pipeline sees the request and stops the job.
	j, _, err := a.consumer.Service.Advance(ctx, jobs.Event{JobID: "job_a1", Status: jobs.Processing, Progress: ptr(50)})
	if err != nil || !j.CancelRequested {
		t.Fatalf("a worker's progress report: cancelRequested %v, %v; want true", j.CancelRequested, err)
	}
	if _, o, err := a.consumer.Service.Advance(ctx, jobs.Event{JobID: "job_a1", Status: jobs.Cancelled}); err != nil || o != jobs.Applied {
		t.Fatalf("pipeline cancels: %q, %v", o, err)
	}
	r = a.do(t, get("alice", "job_a1", nil))
	if b := decode[jobBody](t, r); b.Status != "CANCELLED" || !b.Terminal {
		t.Errorf("after the pipeline stopped it: %+v", b)
	}
}

func ptr(i int) *int { return &i }
