package apigw_test

// Bad input through the Lambda handlers: every malformed id, identity,
// origin, method and body gets its documented status, a JSON error body with
// a known code, the CORS rule, never a 500, and never another owner's job.
//
// Events are built as the JSON API Gateway's REST proxy integration sends and
// decoded into events.APIGatewayProxyRequest, so claims arrive exactly as the
// Cognito user pool authorizer passes them (every value a string).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
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
	biAlice   = "0f3c2a1e-alice-sub"
	biMallory = "7d9e4b2c-mallory-sub"

	biAliceJob   = "job_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	biMalloryJob = "job_mmmmmmmmmmmmmmmmmmmmmmmmmm"
	biLegacyJob  = "legacy-20240101-0001" // no ownerId: admins only

	biMalloryPrompt = "MALLORY-SECRET-PROMPT-7f3a"
	biLegacyPrompt  = "LEGACY-SECRET-PROMPT-91c2"

	biAdminOrigin = "https://admin.deepfoundai.com"
	biVideoOrigin = "https://video.deepfoundai.com"
)

type biFixture struct {
	h        *apigw.Handler
	base     *inmem.Store
	pipeline *inmem.Pipeline
	// reads and writes count the calls that reach the store, so tests can
	// show that malformed input never costs a read and failed requests
	// write nothing.
	reads, writes atomic.Int64
	// secrets are other owners' job ids and prompts: no response to alice,
	// or to a caller without identity, may contain them.
	secrets []string
}

// biSetup returns a handler over an in-memory store holding alice's job,
// mallory's job (submitted through the handler with an Idempotency-Key) and
// an ownerless legacy job.
func biSetup(t *testing.T) *biFixture {
	t.Helper()
	base := inmem.NewStore()
	pipeline := &inmem.Pipeline{}
	f := &biFixture{base: base, pipeline: pipeline}
	store := &mock.Store{
		GetFn:       func(ctx context.Context, id string) (jobs.Job, error) { f.reads.Add(1); return base.Get(ctx, id) },
		GetLatestFn: func(ctx context.Context, id string) (jobs.Job, error) { f.reads.Add(1); return base.GetLatest(ctx, id) },
		CreateFn:    func(ctx context.Context, j jobs.Job) error { f.writes.Add(1); return base.Create(ctx, j) },
		UpdateFn:    func(ctx context.Context, j jobs.Job) error { f.writes.Add(1); return base.Update(ctx, j) },
	}
	svc := &jobs.Service{Store: store, Pipeline: pipeline}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.h = apigw.NewHandler(svc, testenv.AllowedOrigins, log)
	f.h.Identity = apigw.Identity{Issuer: biIssuer, ClientIDs: []string{biClientID}}

	ctx := context.Background()
	now := time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)
	for _, j := range []jobs.Job{
		{ID: biAliceJob, OwnerID: biAlice, Status: jobs.Queued, Spec: jobs.Spec{Prompt: "alice's cat", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}, CreatedAt: now, UpdatedAt: now, Version: 1},
		{ID: biMalloryJob, OwnerID: biMallory, Status: jobs.Completed, Progress: 100, OutputURL: "https://cdn.example/mallory.mp4", Spec: jobs.Spec{Prompt: biMalloryPrompt, DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}, CreatedAt: now, UpdatedAt: now, Version: 1},
		{ID: biLegacyJob, Status: jobs.Queued, Spec: jobs.Spec{Prompt: biLegacyPrompt}, CreatedAt: now, UpdatedAt: now, Version: 1},
	} {
		if err := base.Create(ctx, j); err != nil {
			t.Fatalf("seed %s: %v", j.ID, err)
		}
	}
	resp, err := f.h.SubmitJob(ctx, biEvent(biSubmit(`{"prompt":"`+biMalloryPrompt+`-2"}`), biClaims(biMallory, ""), map[string]string{"Idempotency-Key": "shared-key-1"}))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("seed mallory's submit: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var jr apigw.JobResponse
	if err := json.Unmarshal([]byte(resp.Body), &jr); err != nil {
		t.Fatalf("seed mallory's submit: %v", err)
	}
	f.secrets = []string{biMalloryJob, biMalloryPrompt, biLegacyJob, biLegacyPrompt, jr.JobID, "mallory.mp4"}
	f.reads.Store(0)
	f.writes.Store(0)
	return f
}

// biRoute is the API Gateway resource an event targets.
type biRoute struct {
	resource, method string
	pathParams       map[string]any // nil: no pathParameters
	body             string
	base64           bool
}

func biGet(id string) biRoute {
	return biRoute{resource: "/v1/jobs/{id}", method: http.MethodGet, pathParams: map[string]any{"id": id}}
}

func biSubmit(body string) biRoute {
	return biRoute{resource: "/v1/jobs", method: http.MethodPost, body: body}
}

// biClaims are the claims of an ID token as the Cognito authorizer passes
// them: all strings. groups "" omits cognito:groups.
// The user pool and app client of the fixtures.
const (
	biIssuer   = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"
	biClientID = "4example0client0id0000000"
)

func biClaims(sub, groups string) map[string]any {
	c := map[string]any{
		"sub":              sub,
		"cognito:username": "user-" + sub,
		"email":            sub + "@example.com",
		"email_verified":   "true",
		"iss":              biIssuer,
		"aud":              biClientID,
		"token_use":        "id",
		"auth_time":        "1750680000",
		"exp":              "Mon Jun 23 13:00:00 UTC 2025",
		"iat":              "Mon Jun 23 12:00:00 UTC 2025",
	}
	if groups != "" {
		c["cognito:groups"] = groups
	}
	return c
}

// biNoAuthorizer marks an event whose requestContext has no authorizer.
const biNoAuthorizer = "<no authorizer>"

// biEvent builds a REST API proxy event. authorizer is the value of
// requestContext.authorizer.claims (a map from biClaims, or any JSON value),
// or biNoAuthorizer; a value of type biRawAuthorizer replaces
// requestContext.authorizer itself.
func biEvent(r biRoute, authorizer any, headers map[string]string) events.APIGatewayProxyRequest {
	h := map[string]any{
		"Accept":            "application/json",
		"Host":              "o0fvahtccd.execute-api.us-east-1.amazonaws.com",
		"User-Agent":        "Mozilla/5.0",
		"X-Amzn-Trace-Id":   "Root=1-685942c0-0123456789abcdef01234567",
		"X-Forwarded-For":   "203.0.113.9",
		"X-Forwarded-Port":  "443",
		"X-Forwarded-Proto": "https",
	}
	if r.method == http.MethodPost {
		h["Content-Type"] = "application/json"
	}
	if c, ok := authorizer.(map[string]any); ok {
		h["Authorization"] = testenv.TokenForClaims(c) // the verified token the claims came from
	}
	for k, v := range headers {
		if v == "<absent>" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	mv := map[string]any{}
	for k, v := range h {
		mv[k] = []any{v}
	}
	path := "/v1/jobs"
	if id, ok := r.pathParams["id"].(string); ok {
		path += "/" + id
	}
	rc := map[string]any{
		"resourceId":        "abc123",
		"resourcePath":      r.resource,
		"httpMethod":        r.method,
		"extendedRequestId": "MbCdEfGhIjKlMnO=",
		"requestTime":       "23/Jun/2025:12:00:00 +0000",
		"path":              "/prod" + path,
		"accountId":         "123456789012",
		"protocol":          "HTTP/1.1",
		"stage":             "prod",
		"domainPrefix":      "o0fvahtccd",
		"requestTimeEpoch":  1750680000000,
		"requestId":         "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"identity":          map[string]any{"sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
		"domainName":        "o0fvahtccd.execute-api.us-east-1.amazonaws.com",
		"apiId":             "o0fvahtccd",
	}
	switch a := authorizer.(type) {
	case string:
		if a != biNoAuthorizer {
			rc["authorizer"] = map[string]any{"claims": a}
		}
	case biRawAuthorizer:
		rc["authorizer"] = a.v
	default:
		rc["authorizer"] = map[string]any{"claims": a}
	}
	ev := map[string]any{
		"resource":              r.resource,
		"path":                  path,
		"httpMethod":            r.method,
		"headers":               h,
		"multiValueHeaders":     mv,
		"queryStringParameters": nil,
		"pathParameters":        nil,
		"stageVariables":        nil,
		"requestContext":        rc,
		"body":                  nil,
		"isBase64Encoded":       r.base64,
	}
	if r.pathParams != nil {
		ev["pathParameters"] = r.pathParams
	}
	if r.body != "" {
		ev["body"] = r.body
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	var req events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		panic(err)
	}
	return req
}

// biRawAuthorizer is a whole requestContext.authorizer value.
type biRawAuthorizer struct{ v any }

// biInternalDetail are fragments that would reveal implementation detail.
var biInternalDetail = []string{"json:", "strconv", "goroutine", "panic", "runtime error", "reflect", "apigw.", "jobs.", "dynamodb", "DynamoDB", "unmarshal", "Go value", "<nil>", "%!"}

// biMaxMessage bounds error messages: they may name a field, never echo a
// body back.
const biMaxMessage = 256

// biOrigin is the request's Origin as the handler must read it: header names
// in any case, from headers or else multiValueHeaders.
func biOrigin(req events.APIGatewayProxyRequest) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, "Origin") {
			return v
		}
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, "Origin") && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// biCheck asserts the rules every response obeys.
func biCheck(t *testing.T, f *biFixture, req events.APIGatewayProxyRequest, resp events.APIGatewayProxyResponse, err error, wantStatus int, wantCode jobs.Code, mayLeak bool) {
	t.Helper()
	for _, v := range biViolations(f, req, resp, err, wantStatus, wantCode, mayLeak) {
		t.Error(v)
	}
}

// biViolations lists the rules resp breaks.
func biViolations(f *biFixture, req events.APIGatewayProxyRequest, resp events.APIGatewayProxyResponse, err error, wantStatus int, wantCode jobs.Code, mayLeak bool) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	if err != nil {
		bad("handler returned error %v; it must always answer with a response", err)
	}
	if resp.StatusCode != wantStatus {
		bad("status = %d, want %d (body %.300s)", resp.StatusCode, wantStatus, resp.Body)
	}
	if resp.StatusCode >= 500 && wantStatus < 500 {
		bad("bad input answered %d", resp.StatusCode)
	}
	if got, want := resp.Headers["Vary"], "Origin"; got != want {
		bad("Vary = %q, want %q", got, want)
	}
	if got, want := resp.Headers["Content-Type"], "application/json"; got != want {
		bad("Content-Type = %q, want %q", got, want)
	}
	origin := biOrigin(req)
	acao, has := resp.Headers["Access-Control-Allow-Origin"]
	switch allowed := origin == biAdminOrigin || origin == biVideoOrigin; {
	case allowed && acao != origin:
		bad("Access-Control-Allow-Origin = %q, want %q", acao, origin)
	case !allowed && has:
		bad("Access-Control-Allow-Origin = %q for origin %q, want none", acao, origin)
	}
	// Retry-After: on every 503, and on a success only as polling advice
	// for an unfinished job; never on another error.
	_, hasRetry := resp.Headers["Retry-After"]
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && !hasRetry:
		bad("503 without Retry-After")
	case resp.StatusCode >= 400 && resp.StatusCode != http.StatusServiceUnavailable && hasRetry:
		bad("Retry-After present with status %d", resp.StatusCode)
	case resp.StatusCode < 400:
		var jr apigw.JobResponse
		if json.Unmarshal([]byte(resp.Body), &jr) == nil && hasRetry == jr.Status.Terminal() {
			bad("Retry-After present = %v for a %s job", hasRetry, jr.Status)
		}
	}
	if !mayLeak {
		all := resp.Body
		for k, hv := range resp.Headers {
			all += "\n" + k + ": " + hv
		}
		for _, s := range f.secrets {
			if strings.Contains(all, s) {
				bad("response contains another owner's data %q:\n%.500s", s, all)
			}
		}
	}
	if wantStatus < 400 {
		var jr apigw.JobResponse
		if err := json.Unmarshal([]byte(resp.Body), &jr); err != nil || jr.JobID == "" {
			bad("success body %.300s: not a job (%v)", resp.Body, err)
		}
		return v
	}
	var body apigw.ErrorBody
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		bad("error body %.300q is not {\"error\":{\"code\",\"message\"}}: %v", resp.Body, err)
		return v
	}
	if got := jobs.Code(body.Error.Code); got != wantCode {
		bad("error code = %q, want %q", got, wantCode)
	}
	known := false
	for _, c := range jobs.Codes {
		known = known || jobs.Code(body.Error.Code) == c
	}
	if !known {
		bad("error code %q is not one of jobs.Codes", body.Error.Code)
	}
	if got, want := resp.StatusCode, apigw.HTTPStatus(jobs.Errorf(jobs.Code(body.Error.Code), "")); got != want {
		bad("status %d does not match code %q (table says %d)", got, body.Error.Code, want)
	}
	if body.Error.Message == "" || len(body.Error.Message) > biMaxMessage {
		bad("error message has %d bytes, want 1 to %d: %.300q", len(body.Error.Message), biMaxMessage, body.Error.Message)
	}
	for _, s := range biInternalDetail {
		if strings.Contains(body.Error.Message, s) {
			bad("error message %q reveals internal detail %q", body.Error.Message, s)
		}
	}
	return v
}

func TestBadInputJobID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		pathParams map[string]any
		wantStatus int
		wantCode   jobs.Code
	}{
		{"empty", map[string]any{"id": ""}, 400, jobs.EINVALID},
		{"no pathParameters", nil, 400, jobs.EINVALID},
		{"pathParameters without id", map[string]any{"jobId": biAliceJob}, 400, jobs.EINVALID},
		{"2049 bytes", map[string]any{"id": strings.Repeat("a", 2049)}, 400, jobs.EINVALID},
		{"129 bytes", map[string]any{"id": strings.Repeat("a", jobs.MaxIDLength+1)}, 400, jobs.EINVALID},
		{"128 bytes, unknown", map[string]any{"id": "job_" + strings.Repeat("z", jobs.MaxIDLength-4)}, 404, jobs.ENOTFOUND},
		{"unicode letter", map[string]any{"id": "jöb_1"}, 400, jobs.EINVALID},
		{"emoji", map[string]any{"id": "job_😀"}, 400, jobs.EINVALID},
		{"full-width", map[string]any{"id": "ｊｏｂ＿１"}, 400, jobs.EINVALID},
		{"escaped NUL", map[string]any{"id": "%00"}, 400, jobs.EINVALID},
		{"escaped NUL suffix", map[string]any{"id": biAliceJob + "%00"}, 400, jobs.EINVALID},
		{"NUL byte", map[string]any{"id": "\x00"}, 400, jobs.EINVALID},
		{"NUL after a valid id", map[string]any{"id": biAliceJob + "\x00"}, 400, jobs.EINVALID},
		{"escaped slash", map[string]any{"id": "%2F"}, 400, jobs.EINVALID},
		{"escaped slash to another job", map[string]any{"id": "x%2F" + biMalloryJob}, 400, jobs.EINVALID},
		{"slash", map[string]any{"id": "a/" + biMalloryJob}, 400, jobs.EINVALID},
		{"dot dot slash", map[string]any{"id": "../"}, 400, jobs.EINVALID},
		{"traversal", map[string]any{"id": "..%2F..%2F" + biMalloryJob}, 400, jobs.EINVALID},
		{"dot dot", map[string]any{"id": ".."}, 400, jobs.EINVALID},
		{"SQL injection", map[string]any{"id": "' OR 1=1 --"}, 400, jobs.EINVALID},
		{"SQL injection after id", map[string]any{"id": biMalloryJob + "' OR '1'='1"}, 400, jobs.EINVALID},
		{"script", map[string]any{"id": "<script>alert(1)</script>"}, 400, jobs.EINVALID},
		{"NoSQL operator", map[string]any{"id": `{"$ne":1}`}, 400, jobs.EINVALID},
		{"PartiQL", map[string]any{"id": `x" OR ownerId <> "`}, 400, jobs.EINVALID},
		{"template", map[string]any{"id": "${jndi:ldap://x/a}"}, 400, jobs.EINVALID},
		{"leading space", map[string]any{"id": " " + biAliceJob}, 400, jobs.EINVALID},
		{"trailing newline", map[string]any{"id": biAliceJob + "\n"}, 400, jobs.EINVALID},
		{"leading dash", map[string]any{"id": "-job"}, 400, jobs.EINVALID},
		{"leading underscore", map[string]any{"id": "_job"}, 400, jobs.EINVALID},
		{"another owner's job", map[string]any{"id": biMalloryJob}, 404, jobs.ENOTFOUND},
		{"another owner's job, upper-case", map[string]any{"id": strings.ToUpper(biMalloryJob)}, 404, jobs.ENOTFOUND},
		{"ownerless legacy job", map[string]any{"id": biLegacyJob}, 404, jobs.ENOTFOUND},
		{"unknown", map[string]any{"id": "job_00000000000000000000000000"}, 404, jobs.ENOTFOUND},
		{"own job (control)", map[string]any{"id": biAliceJob}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := biSetup(t)
			r := biGet("")
			r.pathParams = tt.pathParams
			req := biEvent(r, biClaims(biAlice, ""), map[string]string{"Origin": biAdminOrigin})
			resp, err := f.h.GetJob(context.Background(), req)
			biCheck(t, f, req, resp, err, tt.wantStatus, tt.wantCode, false)
			if tt.wantStatus == http.StatusBadRequest {
				if got := f.reads.Load(); got != 0 {
					t.Errorf("malformed id cost %d store reads, want 0", got)
				}
			}
			if resp.StatusCode == http.StatusOK {
				var jr apigw.JobResponse
				_ = json.Unmarshal([]byte(resp.Body), &jr)
				if jr.JobID != biAliceJob {
					t.Errorf("jobId = %q, want %q", jr.JobID, biAliceJob)
				}
			}
		})
	}
}

func TestBadInputIdentity(t *testing.T) {
	t.Parallel()
	forgedAdminJWT := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"`+biMallory+`","cognito:groups":["admin"]}`)) + "."
	// tok is the Authorization header of the verified ID token of sub with
	// groups (nil: none) and extra claims.
	tok := func(sub string, groups any, extra map[string]any) map[string]string {
		p := map[string]any{}
		for k, v := range biClaims(sub, "") {
			p[k] = v
		}
		if groups != nil {
			p["cognito:groups"] = groups
		}
		for k, v := range extra {
			p[k] = v
		}
		return map[string]string{"Authorization": testenv.IDToken(p)}
	}
	with := func(sub any, extra map[string]any) map[string]any {
		c := biClaims(biAlice, "")
		if sub == nil {
			delete(c, "sub")
		} else {
			c["sub"] = sub
		}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name       string
		id         string
		authorizer any
		headers    map[string]string
		wantStatus int
		wantCode   jobs.Code
		mayLeak    bool // admin controls see other owners' jobs
	}{
		{"no authorizer", biAliceJob, biNoAuthorizer, nil, 401, jobs.EUNAUTHORIZED, false},
		{"authorizer null", biAliceJob, biRawAuthorizer{nil}, nil, 401, jobs.EUNAUTHORIZED, false},
		{"authorizer empty", biAliceJob, biRawAuthorizer{map[string]any{}}, nil, 401, jobs.EUNAUTHORIZED, false},
		{"Lambda-authorizer shape, no claims", biAliceJob, biRawAuthorizer{map[string]any{"principalId": biAlice, "sub": biAlice}}, nil, 401, jobs.EUNAUTHORIZED, false},
		{"claims null", biAliceJob, nil, nil, 401, jobs.EUNAUTHORIZED, false},
		{"claims a JSON string", biAliceJob, `{"sub":"` + biAlice + `"}`, nil, 401, jobs.EUNAUTHORIZED, false},
		{"claims an array", biAliceJob, []any{map[string]any{"sub": biAlice}}, nil, 401, jobs.EUNAUTHORIZED, false},
		{"claims empty", biAliceJob, map[string]any{}, nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub missing", biAliceJob, with(nil, nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub empty", biAliceJob, with("", nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub blank", biAliceJob, with("  \t", nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub a number", biAliceJob, with(42, nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub a boolean", biAliceJob, with(true, nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub null", biAliceJob, map[string]any{"sub": nil}, nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub an array", biAliceJob, with([]any{biAlice}, nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub an object", biAliceJob, with(map[string]any{"value": biAlice}, nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"sub 129 bytes", biAliceJob, with(strings.Repeat("s", 129), nil), nil, 401, jobs.EUNAUTHORIZED, false},
		{"only username", biAliceJob, map[string]any{"cognito:username": biAlice}, nil, 401, jobs.EUNAUTHORIZED, false},

		// The identity is the verified ID token's, consistent with the
		// claims: a token API Gateway did not verify for these claims is no
		// identity.
		{"forged alg=none admin token, no claims", biMalloryJob, biNoAuthorizer, map[string]string{"Authorization": "Bearer " + forgedAdminJWT}, 401, jobs.EUNAUTHORIZED, false},
		{"forged admin token beside user claims", biMalloryJob, biClaims(biAlice, ""), map[string]string{"Authorization": forgedAdminJWT}, 401, jobs.EUNAUTHORIZED, false},
		{"no token beside user claims", biAliceJob, biClaims(biAlice, "admin"), map[string]string{"Authorization": "<absent>"}, 401, jobs.EUNAUTHORIZED, false},
		{"token not a JWT", biAliceJob, biClaims(biAlice, ""), map[string]string{"Authorization": "Bearer abc"}, 401, jobs.EUNAUTHORIZED, false},
		{"access token", biAliceJob, biClaims(biAlice, ""), tok(biAlice, nil, map[string]any{"token_use": "access"}), 401, jobs.EUNAUTHORIZED, false},
		{"token of another pool", biAliceJob, biClaims(biAlice, ""), tok(biAlice, nil, map[string]any{"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER"}), 401, jobs.EUNAUTHORIZED, false},
		{"token of another app client", biAliceJob, biClaims(biAlice, ""), tok(biAlice, nil, map[string]any{"aud": "someone-elses-client"}), 401, jobs.EUNAUTHORIZED, false},
		{"Bearer alone", biAliceJob, biNoAuthorizer, map[string]string{"Authorization": "Bearer"}, 401, jobs.EUNAUTHORIZED, false},
		{"groups header", biMalloryJob, biClaims(biAlice, ""), map[string]string{"cognito:groups": "admin", "X-Cognito-Groups": "admin"}, 404, jobs.ENOTFOUND, false},

		// cognito:groups, the token's JSON array, on another owner's job:
		// admin only for a group named exactly "admin".
		{"groups [admin]", biMalloryJob, biClaims(biAlice, "admin"), tok(biAlice, []any{"admin"}, nil), 200, "", true},
		{"groups [video admin]", biMalloryJob, biClaims(biAlice, "video,admin"), tok(biAlice, []any{"video", "admin"}, nil), 200, "", true},
		{"admin sees ownerless job", biLegacyJob, biClaims(biAlice, "admin"), tok(biAlice, []any{"admin"}, nil), 200, "", true},
		{"a group named support,admin", biMalloryJob, biClaims(biAlice, "support,admin"), tok(biAlice, []any{"support,admin"}, nil), 404, jobs.ENOTFOUND, false},
		{`a group named "admin"`, biMalloryJob, biClaims(biAlice, `["\"admin\""]`), tok(biAlice, []any{`"admin"`}, nil), 404, jobs.ENOTFOUND, false},
		{"a group named [admin video]", biMalloryJob, biClaims(biAlice, "[admin video]"), tok(biAlice, []any{"[admin video]"}, nil), 404, jobs.ENOTFOUND, false},
		{"a group named admin,,video", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"admin,,video"}, nil), 404, jobs.ENOTFOUND, false},
		{"groups Admin", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"Admin"}, nil), 404, jobs.ENOTFOUND, false},
		{"groups ADMIN", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"ADMIN"}, nil), 404, jobs.ENOTFOUND, false},
		{"groups padded", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{" admin "}, nil), 404, jobs.ENOTFOUND, false},
		{"groups administrators", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"administrators", "xadmin", "admin2"}, nil), 404, jobs.ENOTFOUND, false},
		{"groups unicode", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"аdmin"}, nil), 404, jobs.ENOTFOUND, false}, // Cyrillic а
		{"groups admin with NUL", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"admin\x00"}, nil), 404, jobs.ENOTFOUND, false},
		{"groups a string", biMalloryJob, biClaims(biAlice, "admin"), tok(biAlice, "admin", nil), 404, jobs.ENOTFOUND, false},
		{"groups with a number", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, []any{"admin", 1}, nil), 404, jobs.ENOTFOUND, false},
		{"groups an object", biMalloryJob, biClaims(biAlice, ""), tok(biAlice, map[string]any{"admin": true}, nil), 404, jobs.ENOTFOUND, false},
		{"ownerless job, non-admin", biLegacyJob, biClaims(biAlice, "video"), tok(biAlice, []any{"video"}, nil), 404, jobs.ENOTFOUND, false},

		// No lock-out: whatever groups the pool gives a user, they keep
		// their own jobs.
		{"group R&D, own job", biAliceJob, biClaims(biAlice, "R&D"), tok(biAlice, []any{"R&D"}, nil), 200, "", false},
		{"group Équipe, own job", biAliceJob, biClaims(biAlice, "[Équipe]"), tok(biAlice, []any{"Équipe"}, nil), 200, "", false},
		{"group video/editors, own job", biAliceJob, biClaims(biAlice, `[ "video/editors" ]`), tok(biAlice, []any{"video/editors"}, nil), 200, "", false},
		{"groups 129-byte name, own job", biAliceJob, biClaims(biAlice, ""), tok(biAlice, []any{strings.Repeat("g", 129)}, nil), 200, "", false},
		{"groups a number, own job", biAliceJob, biClaims(biAlice, ""), tok(biAlice, 1, nil), 200, "", false},
		{"groups null, own job", biAliceJob, biClaims(biAlice, ""), tok(biAlice, nil, map[string]any{"cognito:groups": nil}), 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := biSetup(t)
			headers := map[string]string{"Origin": biVideoOrigin}
			for k, v := range tt.headers {
				headers[k] = v
			}
			req := biEvent(biGet(tt.id), tt.authorizer, headers)
			resp, err := f.h.GetJob(context.Background(), req)
			biCheck(t, f, req, resp, err, tt.wantStatus, tt.wantCode, tt.mayLeak)
			if tt.wantStatus == http.StatusUnauthorized && f.reads.Load() != 0 {
				t.Errorf("request without identity cost %d store reads, want 0", f.reads.Load())
			}

			// The same identity on submit: 401 cases write nothing.
			sreq := biEvent(biSubmit(`{"prompt":"a cat"}`), tt.authorizer, headers)
			sresp, err := f.h.SubmitJob(context.Background(), sreq)
			if tt.wantStatus == http.StatusUnauthorized {
				biCheck(t, f, sreq, sresp, err, 401, jobs.EUNAUTHORIZED, false)
				if got := f.writes.Load(); got != 0 {
					t.Errorf("submit without identity made %d writes, want 0", got)
				}
			} else {
				biCheck(t, f, sreq, sresp, err, 202, "", false)
			}
		})
	}
}

func TestBadInputOrigin(t *testing.T) {
	t.Parallel()
	origins := []struct {
		name    string
		headers map[string]string
	}{
		{"admin origin", map[string]string{"Origin": biAdminOrigin}},
		{"video origin", map[string]string{"Origin": biVideoOrigin}},
		{"lower-case header name", map[string]string{"origin": biAdminOrigin}},
		{"no origin", nil},
		{"unlisted", map[string]string{"Origin": "https://evil.example"}},
		{"null", map[string]string{"Origin": "null"}},
		{"wildcard", map[string]string{"Origin": "*"}},
		{"allowed plus suffix", map[string]string{"Origin": biAdminOrigin + ".evil.com"}},
		{"allowed plus port", map[string]string{"Origin": biAdminOrigin + ":443"}},
		{"allowed plus path", map[string]string{"Origin": biAdminOrigin + "/"}},
		{"prefix on host", map[string]string{"Origin": "https://xadmin.deepfoundai.com"}},
		{"prefix on scheme", map[string]string{"Origin": "evil" + biAdminOrigin}},
		{"subdomain", map[string]string{"Origin": "https://evil.admin.deepfoundai.com"}},
		{"upper-case", map[string]string{"Origin": strings.ToUpper(biAdminOrigin)}},
		{"mixed case host", map[string]string{"Origin": "https://Admin.DeepFoundAI.com"}},
		{"http", map[string]string{"Origin": "http://admin.deepfoundai.com"}},
		{"leading space", map[string]string{"Origin": " " + biAdminOrigin}},
		{"two origins", map[string]string{"Origin": biAdminOrigin + ", https://evil.example"}},
		{"NUL suffix", map[string]string{"Origin": biAdminOrigin + "\x00"}},
		{"userinfo", map[string]string{"Origin": "https://admin.deepfoundai.com@evil.example"}},
	}
	requests := []struct {
		name       string
		submit     bool
		id         string
		authorizer any
		wantStatus int
		wantCode   jobs.Code
	}{
		{"200", false, biAliceJob, biClaims(biAlice, ""), 200, ""},
		{"400", false, "../x", biClaims(biAlice, ""), 400, jobs.EINVALID},
		{"401", false, biAliceJob, biNoAuthorizer, 401, jobs.EUNAUTHORIZED},
		{"404", false, biMalloryJob, biClaims(biAlice, ""), 404, jobs.ENOTFOUND},
		{"202", true, "", biClaims(biAlice, ""), 202, ""},
		{"415", true, "", biClaims(biAlice, ""), 415, jobs.EUNSUPPORTED},
	}
	for _, o := range origins {
		for _, r := range requests {
			t.Run(o.name+"/"+r.name, func(t *testing.T) {
				t.Parallel()
				f := biSetup(t)
				var (
					req  events.APIGatewayProxyRequest
					resp events.APIGatewayProxyResponse
					err  error
				)
				if r.submit {
					h := map[string]string{}
					for k, v := range o.headers {
						h[k] = v
					}
					if r.wantStatus == http.StatusUnsupportedMediaType {
						h["Content-Type"] = "text/plain"
					}
					req = biEvent(biSubmit(`{"prompt":"a cat"}`), r.authorizer, h)
					resp, err = f.h.SubmitJob(context.Background(), req)
				} else {
					req = biEvent(biGet(r.id), r.authorizer, o.headers)
					resp, err = f.h.GetJob(context.Background(), req)
				}
				biCheck(t, f, req, resp, err, r.wantStatus, r.wantCode, false)
			})
		}
	}

	t.Run("only in multiValueHeaders", func(t *testing.T) {
		t.Parallel()
		f := biSetup(t)
		req := biEvent(biGet(biAliceJob), biClaims(biAlice, ""), nil)
		req.MultiValueHeaders["Origin"] = []string{biVideoOrigin}
		resp, err := f.h.GetJob(context.Background(), req)
		biCheck(t, f, req, resp, err, 200, "", false)
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != biVideoOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, biVideoOrigin)
		}
	})
}

// Method routing is API Gateway's: each handler serves its one route. GetJob
// reached with another method, a body or query parameters still only reads,
// and only what the caller may see.
func TestBadInputGetJobIgnoresMethodAndBody(t *testing.T) {
	t.Parallel()
	body := `{"status":"COMPLETED","ownerId":"` + biAlice + `","outputUrl":"https://evil.example/x.mp4"}`
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", ""} {
		for _, target := range []struct {
			id         string
			wantStatus int
			wantCode   jobs.Code
		}{{biAliceJob, 200, ""}, {biMalloryJob, 404, jobs.ENOTFOUND}} {
			t.Run(method+"/"+target.id, func(t *testing.T) {
				t.Parallel()
				f := biSetup(t)
				r := biGet(target.id)
				r.method, r.body = method, body
				req := biEvent(r, biClaims(biAlice, ""), map[string]string{"Origin": biAdminOrigin, "Content-Type": "application/json"})
				req.QueryStringParameters = map[string]string{"ownerId": biMallory, "admin": "true"}
				resp, err := f.h.GetJob(context.Background(), req)
				biCheck(t, f, req, resp, err, target.wantStatus, target.wantCode, false)
				if got := f.writes.Load(); got != 0 {
					t.Errorf("GetJob made %d writes, want 0", got)
				}
				j, err := f.base.Get(context.Background(), target.id)
				if err != nil || j.Version != 1 || j.OutputURL == "https://evil.example/x.mp4" {
					t.Errorf("stored job changed: %+v, %v", j, err)
				}
			})
		}
	}
}

func TestBadInputSubmitBody(t *testing.T) {
	t.Parallel()
	nested := func(depth int) string {
		return strings.Repeat("[", depth) + strings.Repeat("]", depth)
	}
	b64 := base64.StdEncoding.EncodeToString
	tenMB := `{"prompt":"` + strings.Repeat("a", 10<<20) + `"}`
	type tc struct {
		name        string
		body        string
		base64      bool
		contentType string // "" keeps application/json; "<absent>" removes it
		idemKey     string
		wantStatus  int
		wantCode    jobs.Code
		wantInMsg   string // the field the message must name
	}
	tests := []tc{
		{name: "valid (control)", body: `{"prompt":"a cat surfing"}`, wantStatus: 202},
		{name: "valid with options (control)", body: `{"prompt":"a cat","options":{"durationSeconds":10,"aspectRatio":"9:16","resolution":"1080p"}}`, wantStatus: 202},

		{name: "empty", body: "", wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "body"},
		{name: "whitespace", body: " \n\t ", wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "body"},
		{name: "invalid JSON", body: `{"prompt":`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "body"},
		{name: "trailing comma", body: `{"prompt":"x",}`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "single quotes", body: `{'prompt':'x'}`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "form encoded", body: `prompt=a+cat`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "two objects", body: `{"prompt":"x"}{"prompt":"y"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "body"},
		{name: "trailing garbage", body: `{"prompt":"x"} x`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "array", body: `[{"prompt":"x"}]`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "body"},
		{name: "null", body: `null`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "body"},
		{name: "string", body: `"a cat"`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "number", body: `1`, wantStatus: 400, wantCode: jobs.EINVALID},

		{name: "prompt a number", body: `{"prompt":1}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt an array", body: `{"prompt":["a"]}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt an object", body: `{"prompt":{"text":"a"}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt null", body: `{"prompt":null}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt missing", body: `{"options":{"durationSeconds":5}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt blank", body: `{"prompt":"  "}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt with NUL", body: `{"prompt":"a\u0000b"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "prompt too long", body: `{"prompt":"` + strings.Repeat("é", jobs.MaxPromptRunes+1) + `"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "options a string", body: `{"prompt":"x","options":"fast"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "options"},
		{name: "options an array", body: `{"prompt":"x","options":[]}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "options"},
		{name: "duration a string", body: `{"prompt":"x","options":{"durationSeconds":"5"}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "duration fractional", body: `{"prompt":"x","options":{"durationSeconds":5.5}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "duration boolean", body: `{"prompt":"x","options":{"durationSeconds":true}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "duration negative", body: `{"prompt":"x","options":{"durationSeconds":-1}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "duration too long", body: `{"prompt":"x","options":{"durationSeconds":61}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "huge number", body: `{"prompt":"x","options":{"durationSeconds":1e999}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "huge integer", body: `{"prompt":"x","options":{"durationSeconds":99999999999999999999999999}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "duration beyond 2^32", body: `{"prompt":"x","options":{"durationSeconds":4294967301}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "aspect ratio a number", body: `{"prompt":"x","options":{"aspectRatio":1.77}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "aspectRatio"},
		{name: "aspect ratio unknown", body: `{"prompt":"x","options":{"aspectRatio":"4:3"}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "aspectRatio"},
		{name: "resolution unknown", body: `{"prompt":"x","options":{"resolution":"4k"}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "resolution"},
		{name: "unknown field", body: `{"prompt":"x","promt":"y"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "promt"},
		{name: "unknown option", body: `{"prompt":"x","options":{"fps":60}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "fps"},
		{name: "long unknown field name", body: `{"prompt":"x","` + strings.Repeat("k", 10000) + `":1}`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "markup field name", body: `{"prompt":"x","<script>alert(1)</script>":1}`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "server-owned field in options", body: `{"prompt":"x","options":{"status":"COMPLETED"}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "status"},
		{name: "server-owned field, other case", body: `{"prompt":"x","JobId":"` + biMalloryJob + `"}`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "server-owned field, upper case", body: `{"prompt":"x","OWNERID":"` + biMallory + `"}`, wantStatus: 400, wantCode: jobs.EINVALID},

		{name: "deeply nested unknown field", body: `{"prompt":"x","extra":` + nested(7000) + `}`, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "deeply nested prompt", body: `{"prompt":` + nested(7000) + `}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},
		{name: "deeply nested options", body: `{"prompt":"x","options":{"durationSeconds":` + nested(7000) + `}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "durationSeconds"},
		{name: "nesting beyond the size limit", body: `{"prompt":"x","extra":` + nested(20000) + `}`, wantStatus: 413, wantCode: jobs.ETOOLARGE},

		{name: "duplicate server-owned key", body: `{"prompt":"x","status":"QUEUED","status":"COMPLETED"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "status"},
		{name: "duplicate options", body: `{"prompt":"x","options":{},"options":{"durationSeconds":"9"}}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "options: repeated"},
		{name: "duplicate prompt, last blank", body: `{"prompt":"x","prompt":""}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},

		{name: "10 MB", body: tenMB, wantStatus: 413, wantCode: jobs.ETOOLARGE},
		{name: "10 MB base64", body: b64([]byte(tenMB)), base64: true, wantStatus: 413, wantCode: jobs.ETOOLARGE},
		{name: "one byte over the limit", body: `{"prompt":"x","pad":"` + strings.Repeat(" ", apigw.MaxSubmitBytes-23+1) + `"}`, wantStatus: 413, wantCode: jobs.ETOOLARGE},
		{name: "at the limit, too long a prompt", body: `{"prompt":"` + strings.Repeat("a", apigw.MaxSubmitBytes-13) + `"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "prompt"},

		{name: "base64 garbage", body: "!!!not base64!!!", base64: true, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "base64"},
		{name: "base64 URL alphabet", body: base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xbf}), base64: true, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "base64"},
		{name: "base64 of binary", body: b64([]byte{0xff, 0xfe, 0x00, 0x01, 0x80}), base64: true, wantStatus: 400, wantCode: jobs.EINVALID},
		{name: "base64 of JSON (control)", body: b64([]byte(`{"prompt":"a cat"}`)), base64: true, wantStatus: 202},
		{name: "base64 flag on plain JSON", body: `{"prompt":"a cat"}`, base64: true, wantStatus: 400, wantCode: jobs.EINVALID},

		{name: "no content type", body: `{"prompt":"x"}`, contentType: "<absent>", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "text/plain", body: `{"prompt":"x"}`, contentType: "text/plain", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "form content type", body: `prompt=x`, contentType: "application/x-www-form-urlencoded", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "multipart", body: `--b--`, contentType: "multipart/form-data; boundary=b", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "latin-1 charset", body: `{"prompt":"x"}`, contentType: "application/json; charset=iso-8859-1", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "json suffix type", body: `{"prompt":"x"}`, contentType: "application/vnd.api+json", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "jsonx", body: `{"prompt":"x"}`, contentType: "application/jsonx", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "malformed content type", body: `{"prompt":"x"}`, contentType: "application/json; ;;=", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "wrong type, wrong body: type first", body: `<xml/>`, contentType: "application/xml", wantStatus: 415, wantCode: jobs.EUNSUPPORTED},
		{name: "utf-8 charset, any case (control)", body: `{"prompt":"x"}`, contentType: "Application/JSON; charset=UTF-8", wantStatus: 202},

		{name: "idempotency key too long", body: `{"prompt":"x"}`, idemKey: strings.Repeat("k", jobs.MaxIdempotencyKeyLen+1), wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "Idempotency-Key"},
		{name: "idempotency key with space", body: `{"prompt":"x"}`, idemKey: "a b", wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "Idempotency-Key"},
		{name: "idempotency key non-ASCII", body: `{"prompt":"x"}`, idemKey: "ключ", wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "Idempotency-Key"},
		{name: "idempotency key control char", body: `{"prompt":"x"}`, idemKey: "k\x7f", wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: "Idempotency-Key"},
		{name: "idempotency key at the limit (control)", body: `{"prompt":"x"}`, idemKey: strings.Repeat("k", jobs.MaxIdempotencyKeyLen), wantStatus: 202},
		{name: "another owner's idempotency key", body: `{"prompt":"x"}`, idemKey: "shared-key-1", wantStatus: 202},
	}
	for name := range map[string]bool{"jobId": true, "id": true, "status": true, "progress": true, "outputUrl": true, "error": true, "createdAt": true, "updatedAt": true, "startedAt": true, "completedAt": true, "ownerId": true, "version": true, "expiresAt": true, "cancelRequested": true} {
		tests = append(tests, tc{name: "server-owned " + name, body: `{"prompt":"x","` + name + `":"` + biMalloryJob + `"}`, wantStatus: 400, wantCode: jobs.EINVALID, wantInMsg: name})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := biSetup(t)
			r := biSubmit(tt.body)
			r.base64 = tt.base64
			headers := map[string]string{"Origin": biAdminOrigin}
			if tt.contentType != "" {
				headers["Content-Type"] = tt.contentType
			}
			if tt.idemKey != "" {
				headers["Idempotency-Key"] = tt.idemKey
			}
			req := biEvent(r, biClaims(biAlice, ""), headers)
			resp, err := f.h.SubmitJob(context.Background(), req)
			biCheck(t, f, req, resp, err, tt.wantStatus, tt.wantCode, false)
			if tt.wantInMsg != "" && !strings.Contains(resp.Body, tt.wantInMsg) {
				t.Errorf("error body %.300s does not name %q", resp.Body, tt.wantInMsg)
			}
			queued := len(f.pipeline.Jobs()) - 1 // mallory's, from the set-up
			if tt.wantStatus >= 400 {
				if got := f.writes.Load(); got != 0 {
					t.Errorf("rejected submit made %d writes, want 0", got)
				}
				if queued != 0 {
					t.Errorf("rejected submit enqueued %d jobs, want 0", queued)
				}
				return
			}
			var jr apigw.JobResponse
			_ = json.Unmarshal([]byte(resp.Body), &jr)
			stored, err := f.base.Get(context.Background(), jr.JobID)
			if err != nil || stored.OwnerID != biAlice || stored.Status != jobs.Queued || queued != 1 {
				t.Errorf("accepted job %q: stored %+v, %v; enqueued %d; want alice's QUEUED job, enqueued once", jr.JobID, stored, err, queued)
			}
			if got, want := resp.Headers["Location"], "/v1/jobs/"+jr.JobID; got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
		})
	}
}

// Repeated member names, at any level and whatever their values, are a 400
// that writes and enqueues nothing: two readers of such a body (a validator
// and a decoder, or the pipeline) could each see a different document.
func TestBadInputSubmitDuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"prompt":"first","prompt":"second"}`,
		`{"prompt":"a cat","options":{"durationSeconds":5},"options":{"durationSeconds":7}}`,
		`{"prompt":"a cat","options":{},"options":{"fps":60}}`,
		`{"prompt":"a cat","options":{"durationSeconds":5,"durationSeconds":7}}`,
		`{"prompt":"a cat","options":null,"options":{"resolution":"1080p"}}`,
		`{"prompt":"a cat"}]`,
		`{"prompt":"a cat","options":{"resolution":"720p"}]}`,
	} {
		f := biSetup(t)
		req := biEvent(biSubmit(body), biClaims(biAlice, ""), nil)
		resp, err := f.h.SubmitJob(context.Background(), req)
		biCheck(t, f, req, resp, err, 400, jobs.EINVALID, false)
	}
}

// The checker itself must be able to fail: a response that breaks each rule
// is caught.
func TestBadInputCheckerCatchesViolations(t *testing.T) {
	t.Parallel()
	f := biSetup(t)
	req := biEvent(biGet(biAliceJob), biClaims(biAlice, ""), map[string]string{"Origin": "https://evil.example"})
	good := events.APIGatewayProxyResponse{StatusCode: 404, Headers: map[string]string{"Vary": "Origin", "Content-Type": "application/json"}, Body: `{"error":{"code":"not_found","message":"No job with that id."}}`}
	bad := map[string]func(r *events.APIGatewayProxyResponse){
		"500":     func(r *events.APIGatewayProxyResponse) { r.StatusCode = 500 },
		"no Vary": func(r *events.APIGatewayProxyResponse) { delete(r.Headers, "Vary") },
		"ACAO for evil": func(r *events.APIGatewayProxyResponse) {
			r.Headers["Access-Control-Allow-Origin"] = "https://evil.example"
		},
		"leak": func(r *events.APIGatewayProxyResponse) {
			r.Body = strings.Replace(r.Body, "No job", biMalloryPrompt, 1)
		},
		"unknown code": func(r *events.APIGatewayProxyResponse) { r.Body = `{"error":{"code":"nope","message":"x"}}` },
		"extra field": func(r *events.APIGatewayProxyResponse) {
			r.Body = `{"error":{"code":"not_found","message":"x","stack":"y"}}`
		},
		"internal detail": func(r *events.APIGatewayProxyResponse) {
			r.Body = `{"error":{"code":"not_found","message":"json: cannot unmarshal"}}`
		},
		"echoed body": func(r *events.APIGatewayProxyResponse) {
			r.Body = `{"error":{"code":"not_found","message":"` + strings.Repeat("x", 300) + `"}}`
		},
		"stray Retry-After": func(r *events.APIGatewayProxyResponse) { r.Headers["Retry-After"] = "2" },
	}
	for name, mutate := range bad {
		r := good
		r.Headers = map[string]string{}
		for k, v := range good.Headers {
			r.Headers[k] = v
		}
		mutate(&r)
		if len(biViolations(f, req, r, nil, 404, jobs.ENOTFOUND, false)) == 0 {
			t.Errorf("%s: checker passed a violating response", name)
		}
	}
	if v := biViolations(f, req, good, nil, 404, jobs.ENOTFOUND, false); len(v) != 0 {
		t.Errorf("checker rejects a good response: %v", v)
	}
}
