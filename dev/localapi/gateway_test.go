package localapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localapi"
)

const (
	allowed    = "http://127.0.0.1:3001"
	disallowed = "http://127.0.0.1:3999"
	poolARN    = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_LocalDev"
	issuer     = "http://127.0.0.1:3000/us-east-1_LocalDev"
)

var t0 = time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

func poolKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return key
}

// recorder is a Lambda handler that keeps the events it receives.
type recorder struct {
	mu     sync.Mutex
	events []events.APIGatewayProxyRequest
	ctxs   []context.Context
	reply  func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
}

func (r *recorder) handle(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.ctxs = append(r.ctxs, ctx)
	reply := r.reply
	r.mu.Unlock()
	if reply != nil {
		return reply(ev)
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}, nil
}

func (r *recorder) last(t *testing.T) (events.APIGatewayProxyRequest, context.Context) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		t.Fatal("the function was not invoked")
	}
	return r.events[len(r.events)-1], r.ctxs[len(r.ctxs)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

type env struct {
	srv    *httptest.Server
	gw     *localapi.Gateway
	pool   *devauth.Pool
	get    *recorder
	submit *recorder
}

func loadTemplates(t *testing.T) (*samtemplate.Template, *samtemplate.Template, localapi.Params) {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	existing, err := samtemplate.Load("../../dev/existing-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	params, err := localapi.LoadParams("../../dev/params.json")
	if err != nil {
		t.Fatal(err)
	}
	return tpl, existing, params
}

// addResources parses a YAML "Resources:" snippet into tpl.
func addResources(t *testing.T, tpl *samtemplate.Template, yaml string) {
	t.Helper()
	extra, err := samtemplate.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range extra.Resources {
		tpl.Resources[id] = r
	}
}

func newEnv(t *testing.T, mutate func(cfg *localapi.Config)) *env {
	t.Helper()
	tpl, existing, params := loadTemplates(t)
	pool, err := devauth.NewPool(devauth.PoolConfig{Issuer: issuer, ClientID: "localclient", Key: poolKey(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	v := devauth.NewVerifier(func() time.Time { return t0.Add(time.Minute) })
	if err := v.TrustPool(poolARN, pool); err != nil {
		t.Fatal(err)
	}
	e := &env{pool: pool, get: &recorder{}, submit: &recorder{}}
	cfg := localapi.Config{
		Template: tpl, Existing: existing, Params: params, Verifier: v,
		Functions:    map[string]localapi.Function{"GetJobFn": e.get.handle, "SubmitJobFn": e.submit.handle, "ListJobsFn": (&recorder{}).handle, "CancelJobFn": (&recorder{}).handle},
		Now:          func() time.Time { return t0.Add(time.Minute) },
		NewRequestID: func() string { return "11111111-2222-4333-8444-555555555555" },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	gw, err := localapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.gw = gw
	e.srv = httptest.NewServer(gw)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) token(t *testing.T, user string, groups ...string) string {
	t.Helper()
	tok, _, err := e.pool.IDToken(devauth.User{Username: user, Groups: groups}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(t *testing.T, method, path string, hdr map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func TestProxyEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(t, "alice", "admin", "video")
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/jobs/job_a%2Fb?x=1&x=2&y=z%20z", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Origin", allowed)
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("User-Agent", "test-agent")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	ev, ctx := e.get.last(t)

	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("resource", ev.Resource, "/v1/jobs/{id}")
	check("path (still percent-encoded, as REST APIs pass it)", ev.Path, "/v1/jobs/job_a%2Fb")
	check("httpMethod", ev.HTTPMethod, "GET")
	check("pathParameters", ev.PathParameters, map[string]string{"id": "job_a%2Fb"})
	check("queryStringParameters (last value, decoded)", ev.QueryStringParameters, map[string]string{"x": "2", "y": "z z"})
	check("multiValueQueryStringParameters", ev.MultiValueQueryStringParameters, map[string][]string{"x": {"1", "2"}, "y": {"z z"}})
	check("stageVariables", ev.StageVariables, map[string]string(nil))
	check("headers[X-Multi] (last value)", ev.Headers["X-Multi"], "two")
	check("multiValueHeaders[X-Multi]", ev.MultiValueHeaders["X-Multi"], []string{"one", "two"})
	check("headers[Origin]", ev.Headers["Origin"], allowed)
	check("headers[X-Forwarded-For]", ev.Headers["X-Forwarded-For"], "127.0.0.1")
	check("headers[X-Forwarded-Proto]", ev.Headers["X-Forwarded-Proto"], "http")
	check("body", ev.Body, "")
	check("isBase64Encoded", ev.IsBase64Encoded, false)

	rc := ev.RequestContext
	check("accountId", rc.AccountID, "123456789012")
	check("resourceId", rc.ResourceID, "JobIdResource")
	check("operationName", rc.OperationName, "GetJob")
	check("stage", rc.Stage, "local")
	check("requestId", rc.RequestID, "11111111-2222-4333-8444-555555555555")
	check("identity.sourceIp", rc.Identity.SourceIP, "127.0.0.1")
	check("identity.userAgent", rc.Identity.UserAgent, "test-agent")
	check("resourcePath", rc.ResourcePath, "/v1/jobs/{id}")
	check("requestContext.httpMethod", rc.HTTPMethod, "GET")
	check("requestContext.path (with the stage)", rc.Path, "/local/v1/jobs/job_a%2Fb")
	check("apiId", rc.APIID, "local00api")
	check("protocol", rc.Protocol, "HTTP/1.1")
	check("requestTime", rc.RequestTime, "23/Jun/2025:12:01:00 +0000")
	check("requestTimeEpoch", rc.RequestTimeEpoch, t0.Add(time.Minute).UnixMilli())

	claims, ok := rc.Authorizer["claims"].(map[string]any)
	if !ok {
		t.Fatalf("authorizer = %#v, want a claims map", rc.Authorizer)
	}
	for k, v := range claims {
		if _, ok := v.(string); !ok {
			t.Errorf("claim %s = %#v (%T), want a string: API Gateway passes every claim as one", k, v, v)
		}
	}
	check("claims.sub", claims["sub"], devauth.Subject("alice"))
	check("claims.cognito:username", claims["cognito:username"], "alice")
	check("claims.cognito:groups", claims["cognito:groups"], "[admin video]")
	check("claims.token_use", claims["token_use"], "id")
	check("claims.aud", claims["aud"], "localclient")
	check("claims.iss", claims["iss"], issuer)
	check("claims.email_verified", claims["email_verified"], "true")
	check("claims.exp (Java Date format)", claims["exp"], "Mon Jun 23 13:00:00 UTC 2025")
	check("claims.iat", claims["iat"], "Mon Jun 23 12:00:00 UTC 2025")
	check("claims.auth_time", claims["auth_time"], "1750680000")

	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || !strings.HasSuffix(lc.InvokedFunctionArn, ":function:GetJobFn") {
		t.Errorf("lambda context = %+v, want the GetJobFn ARN", lc)
	}
	if dl, ok := ctx.Deadline(); !ok || dl.Before(time.Now().Add(5*time.Second)) {
		t.Errorf("handler context deadline = %v, %v; want the function's 10 s timeout", dl, ok)
	}

	// The wire shape: what a Lambda function in AWS would decode.
	raw, _ := json.Marshal(ev)
	var wire map[string]any
	_ = json.Unmarshal(raw, &wire)
	for _, k := range []string{"stageVariables"} {
		if v, present := wire[k]; !present || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, present)
		}
	}
}

func TestProxyEventBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *localapi.Config) { cfg.Params.BinaryMediaTypes = []string{"image/*"} })
	tok := e.token(t, "alice")
	tests := []struct {
		name, contentType, body string
		wantBody                string
		wantB64                 bool
	}{
		{"json", "application/json", `{"prompt":"a cat"}`, `{"prompt":"a cat"}`, false},
		{"binary media type", "image/png", "\x89PNG", base64.StdEncoding.EncodeToString([]byte("\x89PNG")), true},
		{"not UTF-8", "application/octet-stream", "\xff\xfe", base64.StdEncoding.EncodeToString([]byte("\xff\xfe")), true},
	}
	for _, tt := range tests {
		r := e.do(t, "POST", "/v1/jobs", map[string]string{"Authorization": tok, "Content-Type": tt.contentType}, tt.body)
		if r.status != 200 {
			t.Fatalf("%s: status %d", tt.name, r.status)
		}
		ev, _ := e.submit.last(t)
		if ev.Body != tt.wantBody || ev.IsBase64Encoded != tt.wantB64 {
			t.Errorf("%s: body = %q (base64 %v), want %q (base64 %v)", tt.name, ev.Body, ev.IsBase64Encoded, tt.wantBody, tt.wantB64)
		}
		if ev.Resource != "/v1/jobs" || ev.PathParameters != nil || ev.QueryStringParameters != nil || ev.MultiValueQueryStringParameters != nil {
			t.Errorf("%s: resource %q, pathParameters %v, query %v/%v; want /v1/jobs and nils", tt.name, ev.Resource, ev.PathParameters, ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
		}
	}
	big := strings.Repeat("x", localapi.MaxRequestBody+1)
	if r := e.do(t, "POST", "/v1/jobs", map[string]string{"Authorization": tok, "Content-Type": "application/json", "Origin": allowed}, big); r.status != 413 ||
		r.body != `{"error":{"code":"REQUEST_TOO_LARGE","message":"Request Too Long"}}` {
		t.Errorf("11 MB body: %d %s, want 413 REQUEST_TOO_LARGE", r.status, r.body)
	}
}

func TestProxyResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(t, "alice")
	tests := []struct {
		name       string
		reply      func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
		status     int
		body       string
		header     map[string][]string
		errorType  string
		noFunction bool
	}{
		{"headers merged, multi-value wins, base64 decoded", func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 201,
				Headers:           map[string]string{"X-One": "1", "X-Both": "single", "Content-Type": "text/plain"},
				MultiValueHeaders: map[string][]string{"X-Both": {"a", "b"}, "X-Many": {"m1", "m2"}},
				Body:              base64.StdEncoding.EncodeToString([]byte("hi\x00")), IsBase64Encoded: true}, nil
		}, 201, "hi\x00", map[string][]string{"X-One": {"1"}, "X-Both": {"a", "b"}, "X-Many": {"m1", "m2"}, "Content-Type": {"text/plain"}}, "", false},
		{"default content type", func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "{}"}, nil
		}, 200, "{}", map[string][]string{"Content-Type": {"application/json"}}, "", false},
		{"function error", func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{}, errors.New("boom")
		}, 502, `{"error":{"code":"DEFAULT_5XX","message":"Internal server error"}}`, nil, "InternalServerErrorException", false},
		{"function panic", func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			panic("boom")
		}, 502, `{"error":{"code":"DEFAULT_5XX","message":"Internal server error"}}`, nil, "InternalServerErrorException", false},
		{"malformed: no status", func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{Body: "x"}, nil
		}, 502, `{"error":{"code":"DEFAULT_5XX","message":"Internal server error"}}`, nil, "InternalServerErrorException", false},
		{"malformed: bad base64", func(events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "!!", IsBase64Encoded: true}, nil
		}, 502, `{"error":{"code":"DEFAULT_5XX","message":"Internal server error"}}`, nil, "InternalServerErrorException", false},
	}
	for _, tt := range tests {
		e.get.mu.Lock()
		e.get.reply = tt.reply
		e.get.mu.Unlock()
		r := e.do(t, "GET", "/v1/jobs/job_1", map[string]string{"Authorization": tok, "Origin": allowed}, "")
		if r.status != tt.status || r.body != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.name, r.status, r.body, tt.status, tt.body)
		}
		for k, want := range tt.header {
			if got := r.header.Values(k); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: header %s = %q, want %q", tt.name, k, got, want)
			}
		}
		if got := r.header.Get("x-amzn-ErrorType"); got != tt.errorType {
			t.Errorf("%s: x-amzn-ErrorType = %q, want %q", tt.name, got, tt.errorType)
		}
		if r.header.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s: no x-amzn-RequestId", tt.name)
		}
		if tt.status >= 500 && r.header.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("%s: 5xx without the DEFAULT_5XX CORS header", tt.name)
		}
	}
}

// TestMissingAuthenticationToken: what has no resource or method gets
// API Gateway's 403, through the template's DEFAULT_4XX (CORS included).
func TestMissingAuthenticationToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(t, "alice")
	tests := []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/v1"},
		{"GET", "/v1/jobs/x/y"},
		{"GET", "/v1//jobs/x"},
		{"GET", "/v2/jobs/x"},
		{"DELETE", "/v1/jobs/x"},
		{"PUT", "/v1/jobs"},
		{"PATCH", "/v1/jobs/x"},
		{"HEAD", "/v1/jobs/x"},
	}
	want := `{"error":{"code":"MISSING_AUTHENTICATION_TOKEN","message":"Missing Authentication Token"}}`
	for _, tt := range tests {
		r := e.do(t, tt.method, tt.path, map[string]string{"Origin": allowed, "Authorization": tok}, "")
		if r.status != 403 {
			t.Errorf("%s %s: status %d, want 403", tt.method, tt.path, r.status)
		}
		if tt.method != "HEAD" && r.body != want {
			t.Errorf("%s %s: body %s, want %s", tt.method, tt.path, r.body, want)
		}
		if r.header.Get("Access-Control-Allow-Origin") != allowed || r.header.Get("Vary") != "Origin" {
			t.Errorf("%s %s: CORS headers %v, want the DEFAULT_4XX ones", tt.method, tt.path, r.header)
		}
		if r.header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Errorf("%s %s: x-amzn-ErrorType %q", tt.method, tt.path, r.header.Get("x-amzn-ErrorType"))
		}
	}
	if n := e.get.count() + e.submit.count(); n != 0 {
		t.Errorf("functions invoked %d times, want 0", n)
	}
	r := e.do(t, "GET", "/nope", nil, "")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no Origin: Access-Control-Allow-Origin = %q, want none", r.header.Get("Access-Control-Allow-Origin"))
	}

	// Without the template's gateway responses, API Gateway's own default.
	bare := newEnv(t, func(cfg *localapi.Config) {
		for id, res := range cfg.Template.Resources {
			if res.Type == "AWS::ApiGateway::GatewayResponse" {
				delete(cfg.Template.Resources, id)
			}
		}
	})
	r = bare.do(t, "GET", "/nope", map[string]string{"Origin": allowed}, "")
	if r.status != 403 || r.body != `{"message":"Missing Authentication Token"}` || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("uncustomised: %d %s %v, want 403 {\"message\":\"Missing Authentication Token\"} without CORS", r.status, r.body, r.header)
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		name, path, origin string
		allowOrigin        string
		allowMethods       string
	}{
		{"job, allowed origin", "/v1/jobs/job_1", allowed, allowed, "GET,OPTIONS"},
		{"job, other allowed origin", "/v1/jobs/job_1", "http://localhost:3001", "http://localhost:3001", "GET,OPTIONS"},
		{"job, disallowed origin", "/v1/jobs/job_1", disallowed, "", "GET,OPTIONS"},
		{"job, allowed origin with a suffix", "/v1/jobs/job_1", allowed + ".evil.example", "", "GET,OPTIONS"},
		{"job, list of origins", "/v1/jobs/job_1", allowed + ",http://localhost:3001", "", "GET,OPTIONS"},
		{"job, null origin", "/v1/jobs/job_1", "null", "", "GET,OPTIONS"},
		{"job, no origin", "/v1/jobs/job_1", "", "", "GET,OPTIONS"},
		{"jobs (existing API stand-in), allowed", "/v1/jobs", allowed, allowed, "GET,POST,OPTIONS"},
		{"jobs (existing API stand-in), disallowed", "/v1/jobs", disallowed, "", "GET,POST,OPTIONS"},
	}
	for _, tt := range tests {
		hdr := map[string]string{"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
		if tt.origin != "" {
			hdr["Origin"] = tt.origin
		}
		r := e.do(t, "OPTIONS", tt.path, hdr, "")
		if r.status != 204 {
			t.Errorf("%s: status %d, want 204", tt.name, r.status)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", tt.name, got, tt.allowOrigin)
		}
		if got := r.header.Get("Access-Control-Allow-Methods"); got != tt.allowMethods {
			t.Errorf("%s: Access-Control-Allow-Methods = %q, want %q", tt.name, got, tt.allowMethods)
		}
		if r.header.Get("Vary") != "Origin" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("%s: headers %v", tt.name, r.header)
		}
	}
}

// TestAuthorizerRejections: every refused token is a 401 the browser can
// read (DEFAULT_4XX's CORS headers), and the function never runs.
func TestAuthorizerRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	expired, _, err := e.pool.IDToken(devauth.User{Username: "alice"}, -time.Second)
	if err != nil {
		t.Fatal(err)
	}
	access, err := e.pool.AccessToken(devauth.User{Username: "alice"}, "aws.cognito.signin.user.admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := devauth.NewPool(devauth.PoolConfig{Issuer: issuer, ClientID: "localclient", Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, _, err := other.IDToken(devauth.User{Username: "alice"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, auth, message string }{
		{"missing", "", "Unauthorized"},
		{"garbage", "Bearer garbage", "Unauthorized"},
		{"expired", expired, "The incoming token has expired"},
		{"wrong key", wrongKey, "Unauthorized"},
		{"access token", access, "Unauthorized"},
	}
	for _, tt := range tests {
		for _, route := range []struct{ method, path string }{{"GET", "/v1/jobs/job_1"}, {"POST", "/v1/jobs"}} {
			hdr := map[string]string{"Origin": allowed, "Content-Type": "application/json"}
			if tt.auth != "" {
				hdr["Authorization"] = tt.auth
			}
			r := e.do(t, route.method, route.path, hdr, `{"prompt":"x"}`)
			want := `{"error":{"code":"UNAUTHORIZED","message":"` + tt.message + `"}}`
			if r.status != 401 || r.body != want {
				t.Errorf("%s %s: %d %s, want 401 %s", tt.name, route.method, r.status, r.body, want)
			}
			if r.header.Get("Access-Control-Allow-Origin") != allowed || r.header.Get("x-amzn-ErrorType") != "UnauthorizedException" {
				t.Errorf("%s %s: headers %v, want CORS and UnauthorizedException", tt.name, route.method, r.header)
			}
		}
	}
	if n := e.get.count() + e.submit.count(); n != 0 {
		t.Errorf("functions invoked %d times, want 0", n)
	}
}

// TestArrayClaimsBracketed: cognito:groups reaches the function as REST API
// events show it, bracketed and space-separated.
func TestArrayClaimsBracketed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.do(t, "GET", "/v1/jobs/j", map[string]string{"Authorization": e.token(t, "bob", "admin", "video")}, "")
	ev, _ := e.get.last(t)
	if got, want := ev.RequestContext.Authorizer["claims"].(map[string]any)["cognito:groups"], "[admin video]"; got != want {
		t.Errorf("cognito:groups = %q, want %q", got, want)
	}
}

// TestRoutesComeFromTheTemplate: a method added to a copy of the template
// is served with no code change; one removed is gone.
func TestRoutesComeFromTheTemplate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *localapi.Config) {
		addResources(t, cfg.Template, `
Resources:
  JobStatusResource:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref RestApiId
      ParentId: !Ref JobIdResource
      PathPart: status
  GetJobStatusMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref RestApiId
      ResourceId: !Ref JobStatusResource
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${GetJobFn.Arn}/invocations
  DeleteJobMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref RestApiId
      ResourceId: !Ref JobIdResource
      HttpMethod: DELETE
      AuthorizationType: COGNITO_USER_POOLS
      AuthorizerId: !Ref JobsAuthorizer
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${SubmitJobFn.Arn}/invocations
  DeleteJobPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref SubmitJobFn
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApiId}/*/DELETE/v1/jobs/*
`)
		delete(cfg.Template.Resources, "OptionsJobIdMethod")
	})
	r := e.do(t, "GET", "/v1/jobs/job_9/status", nil, "")
	if r.status != 200 {
		t.Fatalf("new GET /v1/jobs/{id}/status: %d %s, want 200", r.status, r.body)
	}
	ev, _ := e.get.last(t)
	if ev.Resource != "/v1/jobs/{id}/status" || ev.PathParameters["id"] != "job_9" || ev.RequestContext.Authorizer != nil {
		t.Errorf("event resource %q params %v authorizer %v", ev.Resource, ev.PathParameters, ev.RequestContext.Authorizer)
	}
	if r := e.do(t, "DELETE", "/v1/jobs/job_9", map[string]string{"Authorization": e.token(t, "alice")}, ""); r.status != 200 {
		t.Errorf("new DELETE /v1/jobs/{id}: %d %s, want 200", r.status, r.body)
	}
	if ev, _ := e.submit.last(t); ev.HTTPMethod != "DELETE" {
		t.Errorf("DELETE reached SubmitJobFn as %s", ev.HTTPMethod)
	}
	if r := e.do(t, "DELETE", "/v1/jobs/job_9", nil, ""); r.status != 401 {
		t.Errorf("new DELETE without a token: %d, want 401 (its authorizer applies)", r.status)
	}
	if r := e.do(t, "OPTIONS", "/v1/jobs/job_9", map[string]string{"Origin": allowed}, ""); r.status != 403 {
		t.Errorf("removed OPTIONS /v1/jobs/{id}: %d, want 403", r.status)
	}
	routes := strings.Join(e.gw.Routes(), "\n")
	for _, want := range []string{"GET /v1/jobs/{id}/status -> GetJobFn (NONE)", "DELETE /v1/jobs/{id} -> SubmitJobFn (COGNITO_USER_POOLS)"} {
		if !strings.Contains(routes, want) {
			t.Errorf("Routes() =\n%s\nwant a line %q", routes, want)
		}
	}
}

// TestStackMethodReplacesStandIn: when the stack defines a method the
// existing-API file stands in for, the stack's is served.
func TestStackMethodReplacesStandIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *localapi.Config) {
		addResources(t, cfg.Template, `
Resources:
  OptionsJobsMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref RestApiId
      ResourceId: !Ref JobsResourceId
      HttpMethod: OPTIONS
      AuthorizationType: NONE
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses:
          - StatusCode: "200"
            ResponseParameters: {method.response.header.Access-Control-Allow-Methods: "'POST,OPTIONS'"}
      MethodResponses:
        - StatusCode: "200"
          ResponseParameters: {method.response.header.Access-Control-Allow-Methods: false}
`)
	})
	r := e.do(t, "OPTIONS", "/v1/jobs", map[string]string{"Origin": allowed}, "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Methods") != "POST,OPTIONS" {
		t.Errorf("OPTIONS /v1/jobs: %d %v, want the stack's 200 POST,OPTIONS", r.status, r.header)
	}
}

// TestLambdaPermissionIsRequired: as in AWS, a method whose function grants
// API Gateway no invoke permission for it answers 500.
func TestLambdaPermissionIsRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(cfg *localapi.Config) { delete(cfg.Template.Resources, "GetJobFnInvokePermission") })
	r := e.do(t, "GET", "/v1/jobs/job_1", map[string]string{"Authorization": e.token(t, "alice"), "Origin": allowed}, "")
	if r.status != 500 || r.body != `{"error":{"code":"API_CONFIGURATION_ERROR","message":"Internal server error"}}` {
		t.Errorf("without a permission: %d %s, want 500 API_CONFIGURATION_ERROR", r.status, r.body)
	}
	if e.get.count() != 0 {
		t.Error("the function ran without permission")
	}
}

func TestFunctionTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	e := newEnv(t, func(cfg *localapi.Config) {
		fn := cfg.Template.Resources["GetJobFn"]
		fn.Properties["Timeout"] = 0.05
		cfg.Functions["GetJobFn"] = func(ctx context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			<-release // ignores its deadline, like a stuck function
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}
	})
	r := e.do(t, "GET", "/v1/jobs/job_1", map[string]string{"Authorization": e.token(t, "alice")}, "")
	if r.status != 502 {
		t.Errorf("timed-out function: %d %s, want 502", r.status, r.body)
	}
}

func TestNewRejectsWhatItCannotEmulate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(t *testing.T, cfg *localapi.Config)
		want   string
	}{
		{"unregistered function", func(t *testing.T, cfg *localapi.Config) { delete(cfg.Functions, "SubmitJobFn") }, "does not register"},
		{"unknown existing resource", func(t *testing.T, cfg *localapi.Config) { cfg.Params.ExistingResources = nil }, "ExistingResources"},
		{"bad parameter", func(t *testing.T, cfg *localapi.Config) { cfg.Params.Parameters["RestApiId"] = "UPPER" }, "RestApiId"},
		{"unsupported authorization", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GetJobMethod"].Properties["AuthorizationType"] = "AWS_IAM"
		}, "AWS_IAM is not supported"},
		{"unsupported integration", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GetJobMethod"].Properties["Integration"].(map[string]any)["Type"] = "HTTP_PROXY"
		}, "HTTP_PROXY"},
		{"unsupported VTL", func(t *testing.T, cfg *localapi.Config) {
			ir := cfg.Template.Resources["OptionsJobIdMethod"].Properties["Integration"].(map[string]any)["IntegrationResponses"].([]any)[0].(map[string]any)
			ir["ResponseTemplates"] = map[string]any{"application/json": "#foreach($h in $input.params().header)#end"}
		}, "#foreach is not supported"},
		{"undeclared method response header", func(t *testing.T, cfg *localapi.Config) {
			ir := cfg.Template.Resources["OptionsJobIdMethod"].Properties["Integration"].(map[string]any)["IntegrationResponses"].([]any)[0].(map[string]any)
			ir["ResponseParameters"].(map[string]any)["method.response.header.X-Extra"] = "'1'"
		}, "not declared"},
		{"selection pattern", func(t *testing.T, cfg *localapi.Config) {
			ir := cfg.Template.Resources["OptionsJobIdMethod"].Properties["Integration"].(map[string]any)["IntegrationResponses"].([]any)[0].(map[string]any)
			ir["SelectionPattern"] = "5\\d\\d"
		}, "SelectionPattern is not supported"},
		{"ANY method", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GetJobMethod"].Properties["HttpMethod"] = "ANY"
		}, `HttpMethod "ANY"`},
		{"greedy path part", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["JobIdResource"].Properties["PathPart"] = "{proxy+}"
		}, "not a valid path part"},
		{"dynamic header mapping", func(t *testing.T, cfg *localapi.Config) {
			ir := cfg.Template.Resources["OptionsJobIdMethod"].Properties["Integration"].(map[string]any)["IntegrationResponses"].([]any)[0].(map[string]any)
			ir["ResponseParameters"].(map[string]any)["method.response.header.Vary"] = "integration.response.header.Vary"
		}, "only 'quoted'"},
		{"gateway response with an unsupported reference", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GatewayResponseDefault4XX"].Properties["ResponseTemplates"] = map[string]any{"application/json": `{"ip":"$context.identity.sourceIp"}`}
		}, "not defined"},
		{"gateway response with an unsupported mapping", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GatewayResponseDefault4XX"].Properties["ResponseParameters"] = map[string]any{"gatewayresponse.header.X": "context.requestId"}
		}, "only 'literals'"},
		{"method on another API", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GetJobMethod"].Properties["RestApiId"] = "otherapi00"
		}, "not the API being emulated"},
		{"existing-API file redefines a stack resource", func(t *testing.T, cfg *localapi.Config) {
			cfg.Existing.Resources["GetJobMethod"] = cfg.Existing.Resources["ExistingOptionsJobsMethod"]
		}, "has the name of a stack resource"},
		{"two stack methods for one route", func(t *testing.T, cfg *localapi.Config) {
			cfg.Template.Resources["GetJobMethod2"] = cfg.Template.Resources["GetJobMethod"]
		}, "are both GET /v1/jobs/{id}"},
	}
	for _, tt := range tests {
		tpl, existing, params := loadTemplates(t)
		cfg := localapi.Config{Template: tpl, Existing: existing, Params: params, Verifier: devauth.NewVerifier(nil),
			Functions: map[string]localapi.Function{"GetJobFn": (&recorder{}).handle, "SubmitJobFn": (&recorder{}).handle, "ListJobsFn": (&recorder{}).handle, "CancelJobFn": (&recorder{}).handle}}
		tt.mutate(t, &cfg)
		if _, err := localapi.New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestConditions: the template's Conditions decide what exists, as in
// CloudFormation: with ManagePostMethod "false" the stack has no POST
// /v1/jobs; with CognitoAuthorizerId set, methods use that existing
// authorizer instead of creating one.
func TestConditions(t *testing.T) {
	t.Parallel()
	noPost := newEnv(t, func(cfg *localapi.Config) { cfg.Params.Parameters["ManagePostMethod"] = "false" })
	tok := noPost.token(t, "alice")
	if r := noPost.do(t, "POST", "/v1/jobs", map[string]string{"Authorization": tok, "Content-Type": "application/json"}, `{"prompt":"x"}`); r.status != 403 {
		t.Errorf("ManagePostMethod=false: POST /v1/jobs = %d, want 403 (not this stack's method)", r.status)
	}
	if r := noPost.do(t, "GET", "/v1/jobs/j", map[string]string{"Authorization": tok}, ""); r.status != 200 {
		t.Errorf("ManagePostMethod=false: GET = %d, want 200", r.status)
	}

	existing := newEnv(t, func(cfg *localapi.Config) {
		cfg.Params.Parameters["CognitoAuthorizerId"] = "abc123"
		cfg.Params.ExistingAuthorizers = map[string][]string{"abc123": {poolARN}}
	})
	if r := existing.do(t, "GET", "/v1/jobs/j", map[string]string{"Authorization": existing.token(t, "alice")}, ""); r.status != 200 {
		t.Errorf("existing authorizer, valid token: %d, want 200", r.status)
	}
	if r := existing.do(t, "GET", "/v1/jobs/j", nil, ""); r.status != 401 {
		t.Errorf("existing authorizer, no token: %d, want 401", r.status)
	}

	tpl, ex, params := loadTemplates(t)
	params.Parameters["CognitoAuthorizerId"] = "abc123" // but not described in ExistingAuthorizers
	_, err := localapi.New(localapi.Config{Template: tpl, Existing: ex, Params: params, Verifier: devauth.NewVerifier(nil),
		Functions: map[string]localapi.Function{"GetJobFn": (&recorder{}).handle, "SubmitJobFn": (&recorder{}).handle, "ListJobsFn": (&recorder{}).handle, "CancelJobFn": (&recorder{}).handle}})
	if err == nil || !strings.Contains(err.Error(), "ExistingAuthorizers") {
		t.Errorf("unknown existing authorizer: %v, want an error naming ExistingAuthorizers", err)
	}
}
