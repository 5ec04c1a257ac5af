package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// The REST API the events come from.
const (
	apiID     = "o0fvahtccd"
	accountID = "123456789012"
	stage     = "prod"
	apiHost   = apiID + ".execute-api.us-east-1.amazonaws.com"
	userPool  = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_E2eTestPl"
	appClient = "4b2c9e2e2etestclient0000ab"
)

// Origins: ALLOWED_ORIGINS of the functions under test, and one that is in
// the code's default list but not in theirs, which proves the variable
// reached the function.
const (
	allowedOrigin     = "https://app.e2e.example"
	allowedOrigins    = allowedOrigin + ",https://admin.e2e.example"
	defaultOnlyOrigin = "https://video.deepfoundai.com"
	foreignOrigin     = "https://evil.example"
)

// user is a Cognito user as the user pool authorizer describes it.
type user struct {
	sub      string
	username string
	groups   string // the cognito:groups claim as API Gateway passes it; "" for none
}

var (
	alice = user{sub: "0c8e5f1a-1d7e-4f59-9a39-6b1f0c4a0a11", username: "alice"}
	bob   = user{sub: "7d2b8e44-51f3-4c3e-8f0e-2a9b7c6d5e22", username: "bob"}
	admin = user{sub: "f3a1c2d4-9e8b-4a7c-b6d5-1e2f3a4b5c33", username: "ops-admin", groups: "admin"}
	// adminListed is an admin in several groups, which API Gateway renders
	// as a bracketed, space-separated list.
	adminListed = user{sub: "a9b8c7d6-e5f4-4321-8765-0fedcba98744", username: "ops-lead", groups: "[video admin]"}
)

// token is the ID token API Gateway verified and passes in Authorization:
// the same claims, cognito:groups a JSON array.
func (u user) token() string {
	c := u.claims()
	delete(c, "cognito:groups")
	if g := strings.FieldsFunc(u.groups, func(r rune) bool { return r == '[' || r == ']' || r == ' ' || r == ',' }); len(g) > 0 {
		c["cognito:groups"] = g
	}
	return testenv.IDToken(c)
}

// claims are the ID token's claims as a REST API's Cognito authorizer puts
// them in requestContext.authorizer.claims: every value a string, exp and
// auth_time rendered as dates.
func (u user) claims() map[string]any {
	now := time.Now().UTC()
	c := map[string]any{
		"sub":              u.sub,
		"cognito:username": u.username,
		"email":            u.username + "@e2e.example",
		"email_verified":   "true",
		"token_use":        "id",
		"iss":              userPool,
		"aud":              appClient,
		"event_id":         newUUID(),
		"auth_time":        now.Add(-time.Minute).Format(time.UnixDate),
		"iat":              now.Add(-time.Minute).Format(time.UnixDate),
		"exp":              now.Add(time.Hour).Format(time.UnixDate),
	}
	if u.groups != "" {
		c["cognito:groups"] = u.groups
	}
	return c
}

// request describes one HTTP request to the REST API.
type request struct {
	method   string // GET or POST
	path     string // e.g. /v1/jobs/job_123
	resource string // e.g. /v1/jobs/{id}
	params   map[string]string
	query    url.Values // the query string, decoded; nil for none
	origin   string     // "" for none
	user     *user      // nil: no authorizer claims (and no Authorization header)
	body     string     // "" for none
	base64   bool       // body is base64, as for binary media types
	headers  map[string]string
}

func getJob(id string, u *user, origin string) request {
	return request{method: "GET", path: "/v1/jobs/" + id, resource: "/v1/jobs/{id}",
		params: map[string]string{"id": id}, origin: origin, user: u}
}

func submitJob(body string, u *user, origin string) request {
	return request{method: "POST", path: "/v1/jobs", resource: "/v1/jobs", origin: origin, user: u,
		body: body, headers: map[string]string{"Content-Type": "application/json"}}
}

// event renders r as API Gateway sends it to a Lambda proxy integration of
// a REST API: single- and multi-value headers, nulls where API Gateway
// sends null, and the request context of a Cognito-authorized call.
func (r request) event() map[string]any {
	now := time.Now().UTC()
	headers := map[string]string{
		"Accept":                     "application/json",
		"Accept-Encoding":            "gzip, deflate, br",
		"CloudFront-Forwarded-Proto": "https",
		"Host":                       apiHost,
		"User-Agent":                 "Mozilla/5.0 (X11; Linux x86_64) e2e",
		"X-Amzn-Trace-Id":            "Root=1-" + strings.Repeat("0", 8) + "-" + randHex(12),
		"X-Forwarded-For":            "203.0.113.10, 130.176.0.1",
		"X-Forwarded-Port":           "443",
		"X-Forwarded-Proto":          "https",
	}
	if r.origin != "" {
		headers["Origin"] = r.origin
	}
	if r.user != nil {
		headers["Authorization"] = r.user.token()
	}
	for k, v := range r.headers {
		headers[k] = v
	}
	multi := map[string]any{}
	for k, v := range headers {
		multi[k] = []string{v}
	}
	var params any // null when the resource has none
	if r.params != nil {
		params = r.params
	}
	// Query parameters as a REST API passes them: decoded, the last value
	// of a repeated name in queryStringParameters, every value in the
	// multi-value form, both null without a query string.
	var query, multiQuery any
	if len(r.query) > 0 {
		single, multi := map[string]string{}, map[string][]string{}
		for k, vs := range r.query {
			single[k], multi[k] = vs[len(vs)-1], vs
		}
		query, multiQuery = single, multi
	}
	var body any
	if r.body != "" {
		body = r.body
	}
	requestID := newUUID()
	ctx := map[string]any{
		"resourceId":        "x1y2z3",
		"resourcePath":      r.resource,
		"httpMethod":        r.method,
		"extendedRequestId": "E2e" + randHex(6) + "=",
		"requestTime":       now.Format("02/Jan/2006:15:04:05 -0700"),
		"path":              "/" + stage + r.path,
		"accountId":         accountID,
		"protocol":          "HTTP/1.1",
		"stage":             stage,
		"domainPrefix":      apiID,
		"requestTimeEpoch":  now.UnixMilli(),
		"requestId":         requestID,
		"identity": map[string]any{
			"cognitoIdentityPoolId":         nil,
			"accountId":                     nil,
			"cognitoIdentityId":             nil,
			"caller":                        nil,
			"sourceIp":                      "203.0.113.10",
			"principalOrgId":                nil,
			"accessKey":                     nil,
			"cognitoAuthenticationType":     nil,
			"cognitoAuthenticationProvider": nil,
			"userArn":                       nil,
			"userAgent":                     headers["User-Agent"],
			"user":                          nil,
		},
		"domainName": apiHost,
		"apiId":      apiID,
	}
	if r.user != nil {
		ctx["authorizer"] = map[string]any{"claims": r.user.claims()}
	}
	return map[string]any{
		"resource":                        r.resource,
		"path":                            r.path,
		"httpMethod":                      r.method,
		"headers":                         headers,
		"multiValueHeaders":               multi,
		"queryStringParameters":           query,
		"multiValueQueryStringParameters": multiQuery,
		"pathParameters":                  params,
		"stageVariables":                  nil,
		"requestContext":                  ctx,
		"body":                            body,
		"isBase64Encoded":                 r.base64,
	}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// apiResponse is a function's proxy response, with checks.
type apiResponse struct {
	events.APIGatewayProxyResponse
}

// header returns a response header; the functions set single-value headers.
func (r apiResponse) header(name string) (string, bool) {
	v, ok := r.Headers[name]
	return v, ok
}

// wantStatus fails the test unless the response has the status.
func (r apiResponse) wantStatus(t *testing.T, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; headers %v; body %s", r.StatusCode, status, r.Headers, r.Body)
	}
}

// wantHeader fails the test unless the response has the header value.
func (r apiResponse) wantHeader(t *testing.T, name, want string) {
	t.Helper()
	if got, ok := r.header(name); !ok || got != want {
		t.Errorf("header %s = %q (present %v), want %q; headers %v", name, got, ok, want, r.Headers)
	}
}

// wantNoHeader fails the test if the response has the header.
func (r apiResponse) wantNoHeader(t *testing.T, name string) {
	t.Helper()
	if got, ok := r.header(name); ok {
		t.Errorf("header %s = %q, want none", name, got)
	}
}

// wantCORS checks the CORS headers for a request from origin.
func (r apiResponse) wantCORS(t *testing.T, origin string, allowed bool) {
	t.Helper()
	r.wantHeader(t, "Vary", "Origin")
	if allowed {
		r.wantHeader(t, "Access-Control-Allow-Origin", origin)
		r.wantHeader(t, "Access-Control-Expose-Headers", apigw.ExposedHeaders)
	} else {
		r.wantNoHeader(t, "Access-Control-Allow-Origin")
		r.wantNoHeader(t, "Access-Control-Expose-Headers")
	}
}

// fields decodes a JSON object body.
func (r apiResponse) fields(t *testing.T) map[string]any {
	t.Helper()
	r.wantHeader(t, "Content-Type", "application/json")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r.Body)
	}
	return m
}

// wantError checks an error response: status, JSON error body with code
// and a non-empty message, and for a 503 a Retry-After.
func (r apiResponse) wantError(t *testing.T, status int, code string) {
	t.Helper()
	r.wantStatus(t, status)
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("body is not an error body (%v): %s", err, r.Body)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		t.Errorf("error = %+v, want code %q and a message", *body.Error, code)
	}
	r.wantHeader(t, "Content-Type", "application/json")
	if status == 503 {
		r.wantHeader(t, "Retry-After", "2")
	} else {
		r.wantNoHeader(t, "Retry-After")
	}
}
