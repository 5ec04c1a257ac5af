package apigw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

const (
	adminOrigin = "https://admin.deepfoundai.com"
	videoOrigin = "https://video.deepfoundai.com"
	origins     = adminOrigin + "," + videoOrigin
)

// Claims as the Cognito user pool authorizer of a REST API passes them:
// every value a string.
var (
	aliceClaims = cognitoClaims("alice-sub", "alice", "")
	bobClaims   = cognitoClaims("bob-sub", "bob", "video")
	adminClaims = cognitoClaims("root-sub", "root", "admin")
)

func cognitoClaims(sub, username, groups string) map[string]any {
	c := map[string]any{
		"sub":              sub,
		"cognito:username": username,
		"email":            username + "@example.com",
		"email_verified":   "true",
		"token_use":        "id",
		"aud":              "4bcdefghijklmnopqrstuvwxyz",
		"iss":              "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI",
		"auth_time":        "1750680000",
		"iat":              "1750680000",
		"exp":              "Mon Jun 23 13:00:00 UTC 2025",
	}
	if groups != "" {
		c["cognito:groups"] = groups
	}
	return c
}

// request describes one API Gateway REST proxy request.
type request struct {
	method, resource, path string
	pathParams             map[string]string
	// headers are sent in both headers and multiValueHeaders, as API Gateway
	// does; multiOnly sends them in multiValueHeaders only.
	headers   map[string]string
	multiOnly bool
	// claims go in requestContext.authorizer.claims; nil means no
	// authorizer. authorizer, if set, replaces requestContext.authorizer.
	claims     map[string]any
	authorizer any
	body       string
	base64     bool
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// event builds the JSON document API Gateway sends a Lambda proxy
// integration for r and decodes it the way the Lambda runtime does.
func event(t *testing.T, r request) events.APIGatewayProxyRequest {
	t.Helper()
	if c, ok := r.claims, r.authorizer == nil; ok && c != nil && !hasHeader(r.headers, "Authorization") {
		// The verified ID token those claims came from.
		h := map[string]string{"Authorization": testenv.TokenForClaims(c)}
		for k, v := range r.headers {
			h[k] = v
		}
		r.headers = h
	}
	var headers map[string]string
	multi := map[string][]string{}
	for k, v := range r.headers {
		multi[k] = []string{v}
	}
	if !r.multiOnly {
		headers = r.headers
	}
	rc := map[string]any{
		"resourceId":        "a1b2c3",
		"resourcePath":      r.resource,
		"httpMethod":        r.method,
		"extendedRequestId": "Ab1CdEfGhIjKlM=",
		"requestTime":       "23/Jun/2025:12:00:00 +0000",
		"path":              "/prod" + r.path,
		"accountId":         "123456789012",
		"protocol":          "HTTP/1.1",
		"stage":             "prod",
		"domainPrefix":      "api",
		"requestTimeEpoch":  1750680000000,
		"requestId":         "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"identity": map[string]any{
			"sourceIp":  "203.0.113.7",
			"userAgent": "Mozilla/5.0",
		},
		"domainName": "api.deepfoundai.com",
		"apiId":      "abcdef1234",
	}
	switch {
	case r.authorizer != nil:
		rc["authorizer"] = r.authorizer
	case r.claims != nil:
		rc["authorizer"] = map[string]any{"claims": r.claims}
	}
	var pathParams any
	if r.pathParams != nil {
		pathParams = r.pathParams
	}
	var body any
	if r.body != "" {
		body = r.body
	}
	doc := map[string]any{
		"resource":                        r.resource,
		"path":                            r.path,
		"httpMethod":                      r.method,
		"headers":                         headers,
		"multiValueHeaders":               multi,
		"queryStringParameters":           nil,
		"multiValueQueryStringParameters": nil,
		"pathParameters":                  pathParams,
		"stageVariables":                  nil,
		"requestContext":                  rc,
		"body":                            body,
		"isBase64Encoded":                 r.base64,
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode event: %v", err)
	}
	return ev
}

// getRequest is GET /v1/jobs/{id} from an allowed origin.
func getRequest(t *testing.T, id string, claims map[string]any) events.APIGatewayProxyRequest {
	t.Helper()
	return event(t, request{
		method: "GET", resource: "/v1/jobs/{id}", path: "/v1/jobs/" + id,
		pathParams: map[string]string{"id": id},
		headers:    map[string]string{"Accept": "application/json", "Origin": adminOrigin},
		claims:     claims,
	})
}

// submitRequest is POST /v1/jobs with a JSON body from an allowed origin;
// extra headers are added (an empty value deletes a header).
func submitRequest(t *testing.T, body string, claims map[string]any, extra map[string]string) events.APIGatewayProxyRequest {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json", "Origin": videoOrigin}
	for k, v := range extra {
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return event(t, request{method: "POST", resource: "/v1/jobs", path: "/v1/jobs", headers: h, claims: claims, body: body})
}

// The fakes of the ports live in internal/mock.
type (
	fakeStore    = mock.Store
	fakePipeline = mock.Pipeline
)

var (
	errUnexpected = mock.ErrUnexpected
	strictStore   = mock.StrictStore
)

var t0 = time.Date(2025, 6, 23, 12, 0, 0, 123e6, time.UTC)

// newHandler returns a handler over store and pipeline with the clock at t0,
// IDs job_h1, job_h2, ... and a captured log.
func newHandler(t *testing.T, store jobs.Store, pipeline jobs.Pipeline) (*apigw.Handler, *testenv.LogBuffer) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	svc := &jobs.Service{
		Store: store, Pipeline: pipeline,
		Now: func() time.Time { return t0 },
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("job_h%d", n)
		},
	}
	buf := &testenv.LogBuffer{}
	return apigw.NewHandler(svc, origins, slog.New(slog.NewJSONHandler(buf, nil))), buf
}

// seed stores j (Version 1) in s.
func seed(t *testing.T, s jobs.Store, j jobs.Job) {
	t.Helper()
	j.Version = 1
	if err := s.Create(context.Background(), j); err != nil {
		t.Fatalf("seed %q: %v", j.ID, err)
	}
}

// decodeObject decodes a JSON object response body.
func decodeObject(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	return m
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// wantKeys fails the test unless m has exactly the given keys.
func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := keys(m); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

// wantError fails the test unless resp is an error response with the given
// status and code, the standard headers, and returns its message.
func wantError(t *testing.T, resp events.APIGatewayProxyResponse, status int, code jobs.Code) string {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, resp.Body)
	}
	wantStandardHeaders(t, resp)
	m := decodeObject(t, resp.Body)
	wantKeys(t, "error body", m, "error")
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("error = %#v, want an object", m["error"])
	}
	wantKeys(t, "error object", e, "code", "message")
	if got := e["code"]; got != string(code) {
		t.Errorf("error.code = %v, want %q", got, code)
	}
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Errorf("error.message = %#v, want a non-empty string", e["message"])
	}
	wantRetryAfter := status == http.StatusServiceUnavailable
	if got, ok := resp.Headers["Retry-After"]; ok != wantRetryAfter || (ok && got != apigw.RetryAfterUnavailable) {
		t.Errorf("Retry-After = %q (present %v), want present %v with %q", got, ok, wantRetryAfter, apigw.RetryAfterUnavailable)
	}
	return msg
}

// wantStandardHeaders checks the headers every JSON response carries.
func wantStandardHeaders(t *testing.T, resp events.APIGatewayProxyResponse) {
	t.Helper()
	want := map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "private, no-cache, no-store",
		"X-Content-Type-Options": "nosniff",
		"Vary":                   "Origin",
	}
	for k, v := range want {
		if got := resp.Headers[k]; got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

// newMemory returns an in-memory store and pipeline.
func newMemory() (*inmem.Store, *inmem.Pipeline) { return inmem.NewStore(), &inmem.Pipeline{} }
