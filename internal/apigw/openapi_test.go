package apigw_test

// Validates real handler responses, on every code path, against
// docs/openapi.yaml with kin-openapi; and shows that the validation fails
// when a response drifts from the document.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

var (
	oaOnce   sync.Once
	oaDoc    *openapi3.T
	oaRouter routers.Router
	oaErr    error
)

// oaSpec loads and validates docs/openapi.yaml once.
func oaSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	oaOnce.Do(func() {
		loader := openapi3.NewLoader()
		oaDoc, oaErr = loader.LoadFromFile("../../docs/openapi.yaml")
		if oaErr == nil {
			oaErr = oaDoc.Validate(context.Background())
		}
		if oaErr == nil {
			oaRouter, oaErr = gorillamux.NewRouter(oaDoc)
		}
	})
	if oaErr != nil {
		t.Fatalf("docs/openapi.yaml: %v", oaErr)
	}
	return oaDoc, oaRouter
}

const oaBase = "https://o0fvahtccd.execute-api.us-east-1.amazonaws.com/prod"

// oaEvent is a REST API proxy event as API Gateway sends it.
type oaEvent struct {
	method, resource, path string
	pathParams             map[string]string
	query                  map[string][]string
	headers                map[string]string
	body                   string
	sub, groups            string // no sub: no claims at all
}

func (e oaEvent) proxy() events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{
		Resource: e.resource, Path: e.path, HTTPMethod: e.method, PathParameters: e.pathParams,
		Headers: map[string]string{}, MultiValueHeaders: map[string][]string{}, Body: e.body,
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-1", Stage: "prod", HTTPMethod: e.method, ResourcePath: e.resource},
	}
	for k, v := range e.headers {
		req.Headers[k] = v
		req.MultiValueHeaders[k] = []string{v}
	}
	if len(e.query) > 0 {
		req.QueryStringParameters = map[string]string{}
		req.MultiValueQueryStringParameters = map[string][]string{}
		for k, vs := range e.query {
			req.QueryStringParameters[k] = vs[len(vs)-1]
			req.MultiValueQueryStringParameters[k] = vs
		}
	}
	if e.sub != "" {
		claims := map[string]any{"sub": e.sub, "cognito:username": e.sub, "token_use": "id"}
		if e.groups != "" {
			claims["cognito:groups"] = e.groups
		}
		req.RequestContext.Authorizer = map[string]any{"claims": claims}
		if req.Headers == nil {
			req.Headers = map[string]string{}
		}
		req.Headers["Authorization"] = testenv.TokenForClaims(claims)
	}
	return req
}

// oaHTTPRequest rebuilds the HTTP request behind a proxy event, for routing.
func oaHTTPRequest(ev events.APIGatewayProxyRequest) *http.Request {
	u, _ := url.Parse(oaBase)
	u.Path += ev.Path
	q := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	r, _ := http.NewRequest(ev.HTTPMethod, u.String(), strings.NewReader(ev.Body))
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	return r
}

// oaValidate checks resp against the document for the request in ev: the
// status is documented for the operation, every header sent is documented,
// and headers and body match their schemas.
func oaValidate(t *testing.T, ev events.APIGatewayProxyRequest, resp events.APIGatewayProxyResponse) error {
	t.Helper()
	_, router := oaSpec(t)
	httpReq := oaHTTPRequest(ev)
	route, params, err := router.FindRoute(httpReq)
	if err != nil {
		return fmt.Errorf("route %s %s not in the document: %w", ev.HTTPMethod, ev.Path, err)
	}
	doc := route.Operation.Responses.Status(resp.StatusCode)
	if doc == nil || doc.Value == nil {
		return fmt.Errorf("status %d is not documented for %s %s", resp.StatusCode, ev.HTTPMethod, route.Path)
	}
	hdr := http.Header{}
	for k, v := range resp.Headers {
		hdr.Set(k, v)
		if strings.EqualFold(k, "Content-Type") {
			continue
		}
		documented := false
		for name := range doc.Value.Headers {
			documented = documented || strings.EqualFold(name, k)
		}
		if !documented {
			return fmt.Errorf("header %s of a %d is not documented", k, resp.StatusCode)
		}
	}
	if resp.StatusCode == http.StatusNotModified { // kin-openapi skips 304s
		if resp.Body != "" {
			return fmt.Errorf("304 with a body")
		}
		for name, h := range doc.Value.Headers {
			if h.Value.Required && hdr.Get(name) == "" {
				return fmt.Errorf("304 without required header %s", name)
			}
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: httpReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.StatusCode,
		Header:  hdr,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes([]byte(resp.Body))
	return openapi3filter.ValidateResponse(context.Background(), in)
}

var oaNow = jobstest.T0.Add(time.Hour)

// oaHandlers returns handlers over a seeded in-memory store, one over a
// throttled store, one over a broken store, and one whose pipeline is down.
func oaHandlers(t *testing.T) (ok, unavailable, broken, noPipeline *apigw.Handler) {
	t.Helper()
	store := inmem.NewStore()
	seed := []jobs.Job{jobstest.NewJob("job_queued", "alice"), jobstest.NewJob("job_bob", "bob")}
	running := jobstest.NewJob("job_running", "alice")
	running.Status, running.Progress, running.StartedAt = jobs.Processing, 40, jobstest.T0
	done := jobstest.NewJob("job_done", "alice")
	done.Status, done.Progress, done.OutputURL = jobs.Completed, 100, "https://cdn.example.com/out.mp4"
	done.StartedAt, done.CompletedAt, done.ExpiresAt = jobstest.T0, jobstest.T0, oaNow.Add(24*time.Hour)
	failed := jobstest.NewJob("job_failed", "alice")
	failed.Status, failed.Error = jobs.Failed, &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}
	failed.CompletedAt = jobstest.T0
	for i := range 3 {
		j := jobstest.NewJob(fmt.Sprintf("job_p%d", i), "carol")
		j.CreatedAt = jobstest.T0.Add(time.Duration(i) * time.Second)
		seed = append(seed, j)
	}
	for _, j := range append(seed, running, done, failed) {
		if err := store.Create(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	mk := func(s jobs.Store, x jobs.Index, p jobs.Pipeline) *apigw.Handler {
		svc := &jobs.Service{Store: s, Index: x, Pipeline: p, Now: func() time.Time { return oaNow }, Log: log}
		return apigw.NewHandler(svc, testenv.AllowedOrigins, log)
	}
	failing := func(err error) *apigw.Handler {
		return mk(mock.FailingStore(err), mock.FailingIndex(err), &inmem.Pipeline{})
	}
	down := &mock.Pipeline{EnqueueFn: func(context.Context, jobs.Job) error { return jobs.Errorf(jobs.EUNAVAILABLE, "queue down") }}
	empty := inmem.NewStore()
	return mk(store, store, &inmem.Pipeline{}),
		failing(jobs.Errorf(jobs.EUNAVAILABLE, "throttled")),
		failing(errors.New("AccessDeniedException: no")),
		mk(empty, empty, down)
}

type oaCase struct {
	name    string
	handler func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
	ev      oaEvent
	status  int
}

func getEv(id string, headers map[string]string) oaEvent {
	return oaEvent{method: "GET", resource: "/v1/jobs/{id}", path: "/v1/jobs/" + id, pathParams: map[string]string{"id": id},
		headers: headers, sub: "alice"}
}

func cancelEv(id, sub, groups string) oaEvent {
	return oaEvent{method: "POST", resource: "/v1/jobs/{id}/cancel", path: "/v1/jobs/" + id + "/cancel", pathParams: map[string]string{"id": id},
		headers: map[string]string{"Origin": "https://admin.deepfoundai.com"}, sub: sub, groups: groups}
}

func listEv(sub, groups string, query map[string][]string) oaEvent {
	return oaEvent{method: "GET", resource: "/v1/jobs", path: "/v1/jobs", query: query,
		headers: map[string]string{"Origin": "https://video.deepfoundai.com"}, sub: sub, groups: groups}
}

func submitEv(body string, headers map[string]string) oaEvent {
	h := map[string]string{"Content-Type": "application/json", "Origin": "https://video.deepfoundai.com"}
	for k, v := range headers {
		h[k] = v
	}
	return oaEvent{method: "POST", resource: "/v1/jobs", path: "/v1/jobs", body: body, headers: h, sub: "alice"}
}

// batchNotModified is a batch request carrying the ETag of its own answer.
func batchNotModified(t *testing.T, h *apigw.Handler, ids string) oaEvent {
	t.Helper()
	ev := listEv("alice", "", map[string][]string{"ids": {ids}})
	resp, err := h.ListJobs(context.Background(), ev.proxy())
	if err != nil || resp.Headers["ETag"] == "" {
		t.Fatalf("batch %s: %v, headers %v", ids, err, resp.Headers)
	}
	ev.headers = map[string]string{"Origin": "https://video.deepfoundai.com", "If-None-Match": resp.Headers["ETag"]}
	return ev
}

func oaCases(t *testing.T) []oaCase {
	ok, unavailable, broken, noPipeline := oaHandlers(t)
	etag := apigw.ETag(func() jobs.Job { j := jobstest.NewJob("job_queued", "alice"); return j }())
	origin := map[string]string{"Origin": "https://admin.deepfoundai.com"}
	noClaims := func(e oaEvent) oaEvent { e.sub = ""; return e }
	return []oaCase{
		// GET /v1/jobs/{id}
		{"get queued", ok.GetJob, getEv("job_queued", origin), 200},
		{"get processing", ok.GetJob, getEv("job_running", nil), 200},
		{"get completed", ok.GetJob, getEv("job_done", origin), 200},
		{"get failed", ok.GetJob, getEv("job_failed", origin), 200},
		{"get not modified", ok.GetJob, getEv("job_queued", map[string]string{"If-None-Match": etag, "Origin": "https://admin.deepfoundai.com"}), 304},
		{"get stale etag", ok.GetJob, getEv("job_queued", map[string]string{"If-None-Match": `"0000"`}), 200},
		{"get malformed id", ok.GetJob, getEv("bad id!", origin), 400},
		{"get no claims", ok.GetJob, noClaims(getEv("job_queued", origin)), 401},
		{"get foreign", ok.GetJob, getEv("job_bob", origin), 404},
		{"get throttled", unavailable.GetJob, getEv("job_queued", origin), 503},
		{"get broken", broken.GetJob, getEv("job_queued", origin), 500},
		// POST /v1/jobs
		{"submit", ok.SubmitJob, submitEv(`{"prompt":"a fox"}`, nil), 202},
		{"submit with key", ok.SubmitJob, submitEv(`{"prompt":"a fox","options":{"durationSeconds":8}}`, map[string]string{"Idempotency-Key": "k-1"}), 202},
		{"submit replayed", ok.SubmitJob, submitEv(`{"prompt":"a fox","options":{"durationSeconds":8}}`, map[string]string{"Idempotency-Key": "k-1"}), 202},
		{"submit key reused", ok.SubmitJob, submitEv(`{"prompt":"a hen"}`, map[string]string{"Idempotency-Key": "k-1"}), 422},
		{"submit with Cancel-After", ok.SubmitJob, submitEv(`{"prompt":"a fox"}`, map[string]string{"Cancel-After": "30m"}), 202},
		{"submit bad Cancel-After", ok.SubmitJob, submitEv(`{"prompt":"a fox"}`, map[string]string{"Cancel-After": "forever"}), 400},
		{"submit bad body", ok.SubmitJob, submitEv(`{"prompt":""}`, nil), 400},
		{"submit server field", ok.SubmitJob, submitEv(`{"prompt":"x","status":"COMPLETED"}`, nil), 400},
		{"submit too large", ok.SubmitJob, submitEv(`{"prompt":"`+strings.Repeat("a", apigw.MaxSubmitBytes)+`"}`, nil), 413},
		{"submit not json", ok.SubmitJob, submitEv(`prompt=x`, map[string]string{"Content-Type": "text/plain"}), 415},
		{"submit no claims", ok.SubmitJob, noClaims(submitEv(`{"prompt":"x"}`, nil)), 401},
		{"submit pipeline down", noPipeline.SubmitJob, submitEv(`{"prompt":"x"}`, nil), 503},
		{"submit broken", broken.SubmitJob, submitEv(`{"prompt":"x"}`, nil), 500},
		// GET /v1/jobs
		{"list mine", ok.ListJobs, listEv("alice", "", nil), 200},
		{"list filtered page", ok.ListJobs, listEv("carol", "", map[string][]string{"status": {"queued", "PROCESSING"}, "limit": {"2"}}), 200},
		{"list all as admin", ok.ListJobs, listEv("root", "admin", map[string][]string{"scope": {"all"}, "status": {"QUEUED"}, "order": {"oldest"}}), 200},
		{"list empty", ok.ListJobs, listEv("nobody", "", nil), 200},
		{"batch", ok.ListJobs, listEv("alice", "", map[string][]string{"ids": {"job_done,job_bob,job_missing,job_queued"}}), 200},
		{"batch as admin", ok.ListJobs, listEv("root", "admin", map[string][]string{"ids": {"job_done,job_bob"}}), 200},
		{"batch not modified", ok.ListJobs, batchNotModified(t, ok, "job_running,job_done"), 304},
		{"list bad limit", ok.ListJobs, listEv("alice", "", map[string][]string{"limit": {"500"}}), 400},
		{"list bad cursor", ok.ListJobs, listEv("alice", "", map[string][]string{"cursor": {"forged.cursor"}}), 400},
		{"list unknown parameter", ok.ListJobs, listEv("alice", "", map[string][]string{"statuses": {"QUEUED"}}), 400},
		{"list all as non-admin", ok.ListJobs, listEv("alice", "", map[string][]string{"scope": {"all"}}), 400},
		{"batch mixed with list", ok.ListJobs, listEv("alice", "", map[string][]string{"ids": {"job_done"}, "limit": {"2"}}), 400},
		{"batch too many", ok.ListJobs, listEv("alice", "", map[string][]string{"ids": {strings.Repeat("job_x,", 50) + "job_y"}}), 400},
		{"list no claims", ok.ListJobs, listEv("", "", nil), 401},
		{"list throttled", unavailable.ListJobs, listEv("alice", "", nil), 503},
		{"batch broken", broken.ListJobs, listEv("alice", "", map[string][]string{"ids": {"job_done"}}), 500},
		// POST /v1/jobs/{id}/cancel
		{"cancel queued", ok.CancelJob, cancelEv("job_queued", "alice", ""), 200},
		{"cancel again", ok.CancelJob, cancelEv("job_queued", "alice", ""), 200},
		{"cancel processing", ok.CancelJob, cancelEv("job_running", "alice", ""), 202},
		{"cancel completed", ok.CancelJob, cancelEv("job_done", "alice", ""), 409},
		{"cancel foreign", ok.CancelJob, cancelEv("job_bob", "alice", ""), 404},
		{"cancel as admin", ok.CancelJob, cancelEv("job_bob", "root", "admin"), 200},
		{"cancel malformed id", ok.CancelJob, cancelEv("bad*id", "alice", ""), 400},
		{"cancel no claims", ok.CancelJob, cancelEv("job_queued", "", ""), 401},
		{"cancel throttled", unavailable.CancelJob, cancelEv("job_queued", "alice", ""), 503},
		{"cancel broken", broken.CancelJob, cancelEv("job_queued", "alice", ""), 500},
	}
}

func TestResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tc := range oaCases(t) { // in order: some cases depend on earlier ones
		ev := tc.ev.proxy()
		resp, err := tc.handler(context.Background(), ev)
		if err != nil {
			t.Fatalf("%s: handler error %v", tc.name, err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (body %s)", tc.name, resp.StatusCode, tc.status, resp.Body)
			continue
		}
		if err := oaValidate(t, ev, resp); err != nil {
			t.Errorf("%s: response does not match docs/openapi.yaml: %v\nheaders %v\nbody %s", tc.name, err, resp.Headers, resp.Body)
		}
		seen[fmt.Sprintf("%s %s %d", ev.HTTPMethod, ev.Resource, resp.StatusCode)] = true
	}
	// Every status the document promises for a function-served operation
	// is produced by some case above (the gateway-only ones excepted).
	doc, _ := oaSpec(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if method == http.MethodOptions {
				continue
			}
			for code, r := range op.Responses.Map() {
				if code == "403" || code == "429" || (r.Value.Description != nil && strings.Contains(*r.Value.Description, "Never sent by the functions")) {
					continue
				}
				if !seen[fmt.Sprintf("%s %s %s", method, path, code)] {
					t.Errorf("%s %s %s is documented but no test case produces it", method, path, code)
				}
			}
		}
	}
}

// TestOpenAPIValidationCatchesDrift mutates real responses the way a code
// change could, and expects the validation to fail each time.
func TestOpenAPIValidationCatchesDrift(t *testing.T) {
	t.Parallel()
	ok, _, _, _ := oaHandlers(t)
	get := getEv("job_done", map[string]string{"Origin": "https://admin.deepfoundai.com"}).proxy()
	base, _ := ok.GetJob(context.Background(), get)
	list := listEv("carol", "", map[string][]string{"limit": {"1"}}).proxy()
	page, _ := ok.ListJobs(context.Background(), list)
	if err := oaValidate(t, get, base); err != nil {
		t.Fatalf("unmutated GET response fails: %v", err)
	}
	if err := oaValidate(t, list, page); err != nil {
		t.Fatalf("unmutated list response fails: %v", err)
	}
	body := func(resp events.APIGatewayProxyResponse, change func(map[string]any)) events.APIGatewayProxyResponse {
		var m map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, _ := json.Marshal(m)
		out := resp
		out.Body = string(b)
		return out
	}
	header := func(resp events.APIGatewayProxyResponse, k, v string) events.APIGatewayProxyResponse {
		out := resp
		out.Headers = map[string]string{}
		for hk, hv := range resp.Headers {
			out.Headers[hk] = hv
		}
		if v == "" {
			delete(out.Headers, k)
		} else {
			out.Headers[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		ev   events.APIGatewayProxyRequest
		resp events.APIGatewayProxyResponse
	}{
		{"progress becomes a string", get, body(base, func(m map[string]any) { m["progress"] = "100" })},
		{"progress over 100", get, body(base, func(m map[string]any) { m["progress"] = 140 })},
		{"jobId renamed id", get, body(base, func(m map[string]any) { m["id"] = m["jobId"]; delete(m, "jobId") })},
		{"undocumented field", get, body(base, func(m map[string]any) { m["idempotencyKey"] = "k-1" })},
		{"no version", get, body(base, func(m map[string]any) { delete(m, "version") })},
		{"options without resolution", get, body(base, func(m map[string]any) { delete(m["options"].(map[string]any), "resolution") })},
		{"unknown status", get, body(base, func(m map[string]any) { m["status"] = "DONE" })},
		{"outputUrl null", get, body(base, func(m map[string]any) { m["outputUrl"] = nil })},
		{"timestamp not UTC", get, body(base, func(m map[string]any) { m["createdAt"] = "2025-06-23T12:00:00+02:00" })},
		{"terminal false", get, body(base, func(m map[string]any) { m["terminal"] = false })},
		{"list without jobs", list, body(page, func(m map[string]any) { delete(m, "jobs") })},
		{"cursor renamed", list, body(page, func(m map[string]any) { m["next"] = m["nextCursor"]; delete(m, "nextCursor") })},
		{"no ETag", get, header(base, "ETag", "")},
		{"weak ETag", get, header(base, "ETag", `W/"abc"`)},
		{"no Vary", get, header(base, "Vary", "")},
		{"cacheable", get, header(base, "Cache-Control", "max-age=60")},
		{"undocumented header", get, header(base, "X-Debug", "1")},
		{"undocumented status", get, func() events.APIGatewayProxyResponse { r := base; r.StatusCode = http.StatusTeapot; return r }()},
		{"error body shape", get, func() events.APIGatewayProxyResponse {
			r := base
			r.StatusCode, r.Body = http.StatusNotFound, `{"message":"not found"}`
			return header(r, "ETag", "")
		}()},
		{"304 with a body", get, func() events.APIGatewayProxyResponse { r := base; r.StatusCode = http.StatusNotModified; return r }()},
	}
	for _, tt := range tests {
		if err := oaValidate(t, tt.ev, tt.resp); err == nil {
			t.Errorf("%s: validation passed a drifted response", tt.name)
		} else {
			t.Logf("%s: %.150s", tt.name, strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
}

// TestOpenAPIRequestsOfTheDocumentValidate checks that the document accepts
// the requests the handlers accept (parameters, headers, body), so the two
// cannot drift apart on the request side either.
func TestOpenAPIRequestsOfTheDocumentValidate(t *testing.T) {
	t.Parallel()
	_, router := oaSpec(t)
	for _, tc := range oaCases(t) {
		if tc.status >= 300 && tc.status != http.StatusNotModified {
			continue
		}
		ev := tc.ev.proxy()
		r := oaHTTPRequest(ev)
		route, params, err := router.FindRoute(r)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s: request the handler accepts is invalid per the document: %v", tc.name, err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}
}
