package apigw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

func TestHTTPStatusMapsEveryCode(t *testing.T) {
	t.Parallel()
	want := map[jobs.Code]int{
		jobs.EINVALID:       http.StatusBadRequest,
		jobs.EUNAUTHORIZED:  http.StatusUnauthorized,
		jobs.ENOTFOUND:      http.StatusNotFound,
		jobs.ECONFLICT:      http.StatusConflict,
		jobs.ETOOLARGE:      http.StatusRequestEntityTooLarge,
		jobs.EUNSUPPORTED:   http.StatusUnsupportedMediaType,
		jobs.EUNPROCESSABLE: http.StatusUnprocessableEntity,
		jobs.EUNAVAILABLE:   http.StatusServiceUnavailable,
		jobs.EINTERNAL:      http.StatusInternalServerError,
	}
	seen := map[int]jobs.Code{}
	for _, code := range jobs.Codes {
		w, ok := want[code]
		if !ok {
			t.Errorf("code %q has no expected HTTP status in this test: add it here and to the adapter's table", code)
			continue
		}
		err := jobs.Errorf(code, "m")
		if got := apigw.HTTPStatus(err); got != w {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, w)
		}
		if got := apigw.HTTPStatus(fmt.Errorf("ctx: %w", err)); got != w {
			t.Errorf("HTTPStatus(wrapped %q) = %d, want %d", code, got, w)
		}
		if prev, dup := seen[w]; dup {
			t.Errorf("codes %q and %q both map to %d", prev, code, w)
		}
		seen[w] = code
	}
	if got := apigw.HTTPStatus(errors.New("boom")); got != http.StatusInternalServerError {
		t.Errorf("HTTPStatus(plain error) = %d, want 500", got)
	}
	if got := apigw.HTTPStatus(&jobs.Error{Code: "made_up"}); got != http.StatusInternalServerError {
		t.Errorf("HTTPStatus(unknown code) = %d, want 500", got)
	}
}

func TestNewCORS(t *testing.T) {
	t.Parallel()
	c := apigw.NewCORS(" https://a.example.com , https://b.example.com:8443,, ")
	tests := []struct {
		origin string
		want   bool
	}{
		{"https://a.example.com", true},
		{"https://b.example.com:8443", true},
		{"https://b.example.com", false},
		{"", false},
		{" https://a.example.com", false},
		{"https://a.example.com ", false},
	}
	for _, tt := range tests {
		if got := c.Allowed(tt.origin); got != tt.want {
			t.Errorf("Allowed(%q) = %v, want %v", tt.origin, got, tt.want)
		}
	}
	if apigw.NewCORS("").Allowed("") {
		t.Errorf(`NewCORS("").Allowed("") = true, want false`)
	}
}

// corsCase is a request Origin and whether it may read the response.
var corsCases = []struct {
	name    string
	origin  string
	allowed bool
}{
	{"admin dashboard", adminOrigin, true},
	{"video dashboard", videoOrigin, true},
	{"no origin", "", false},
	{"unlisted", "https://evil.example.com", false},
	{"null", "null", false},
	{"allowed plus suffix", adminOrigin + ".evil.com", false},
	{"allowed plus path", adminOrigin + "/", false},
	{"allowed plus port", adminOrigin + ":443", false},
	{"prefix of allowed", "https://admin.deepfoundai.co", false},
	{"upper-case host", "https://ADMIN.deepfoundai.com", false},
	{"http scheme", "http://admin.deepfoundai.com", false},
	{"two origins", adminOrigin + " " + videoOrigin, false},
	{"wildcard", "*", false},
}

func TestCORSOnSuccessAndErrorResponses(t *testing.T) {
	t.Parallel()
	store, _ := newMemory()
	seed(t, store, jobs.Job{ID: "job_alice", OwnerID: "alice-sub", Status: jobs.Queued, CreatedAt: t0, UpdatedAt: t0})
	h, _ := newHandler(t, store, nil)
	responses := map[string]func(origin string) events.APIGatewayProxyResponse{
		"200": func(origin string) events.APIGatewayProxyResponse {
			req := getRequest(t, "job_alice", aliceClaims)
			req.Headers["Origin"], req.MultiValueHeaders["Origin"] = origin, []string{origin}
			resp, _ := h.GetJob(context.Background(), req)
			return resp
		},
		"404": func(origin string) events.APIGatewayProxyResponse {
			req := getRequest(t, "job_alice", bobClaims)
			req.Headers["Origin"], req.MultiValueHeaders["Origin"] = origin, []string{origin}
			resp, _ := h.GetJob(context.Background(), req)
			return resp
		},
		"401": func(origin string) events.APIGatewayProxyResponse {
			req := getRequest(t, "job_alice", nil)
			req.Headers["Origin"], req.MultiValueHeaders["Origin"] = origin, []string{origin}
			resp, _ := h.GetJob(context.Background(), req)
			return resp
		},
	}
	for status, respond := range responses {
		for _, tc := range corsCases {
			resp := respond(tc.origin)
			what := fmt.Sprintf("%s response, %s origin", status, tc.name)
			if got := fmt.Sprint(resp.StatusCode); got != status {
				t.Errorf("%s: status = %s, want %s", what, got, status)
			}
			wantStandardHeaders(t, resp)
			allowOrigin, hasAllow := resp.Headers["Access-Control-Allow-Origin"]
			expose, hasExpose := resp.Headers["Access-Control-Expose-Headers"]
			if tc.allowed {
				if allowOrigin != tc.origin {
					t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", what, allowOrigin, tc.origin)
				}
				if expose != apigw.ExposedHeaders || !strings.Contains(expose, "Location") || !strings.Contains(expose, "Retry-After") {
					t.Errorf("%s: Access-Control-Expose-Headers = %q, want %q", what, expose, apigw.ExposedHeaders)
				}
			} else if hasAllow || hasExpose {
				t.Errorf("%s: Allow-Origin %q / Expose-Headers %q present, want neither", what, allowOrigin, expose)
			}
			if _, ok := resp.Headers["Access-Control-Allow-Credentials"]; ok {
				t.Errorf("%s: Access-Control-Allow-Credentials set, want absent", what)
			}
		}
	}
}

func TestRequestHeadersMatchCaseInsensitively(t *testing.T) {
	t.Parallel()
	store, _ := newMemory()
	seed(t, store, jobs.Job{ID: "job_alice", OwnerID: "alice-sub", Status: jobs.Queued, CreatedAt: t0, UpdatedAt: t0})
	h, _ := newHandler(t, store, nil)
	tests := []struct {
		name      string
		headers   map[string]string
		multiOnly bool
	}{
		{"canonical", map[string]string{"Origin": adminOrigin}, false},
		{"lower case (HTTP/2 clients)", map[string]string{"origin": adminOrigin}, false},
		{"upper case", map[string]string{"ORIGIN": adminOrigin}, false},
		{"multiValueHeaders only", map[string]string{"origin": adminOrigin}, true},
	}
	for _, tt := range tests {
		req := event(t, request{
			method: "GET", resource: "/v1/jobs/{id}", path: "/v1/jobs/job_alice",
			pathParams: map[string]string{"id": "job_alice"}, headers: tt.headers, multiOnly: tt.multiOnly, claims: aliceClaims,
		})
		if tt.multiOnly && req.Headers != nil {
			t.Fatalf("%s: test bug: headers = %v, want none", tt.name, req.Headers)
		}
		resp, _ := h.GetJob(context.Background(), req)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status = %d, want 200", tt.name, resp.StatusCode)
		}
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != adminOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", tt.name, got, adminOrigin)
		}
	}
}

func TestMultiValueHeaderWithoutValuesIsAbsent(t *testing.T) {
	t.Parallel()
	store, _ := newMemory()
	seed(t, store, jobs.Job{ID: "job_alice", OwnerID: "alice-sub", Status: jobs.Queued, CreatedAt: t0, UpdatedAt: t0})
	h, _ := newHandler(t, store, nil)
	req := getRequest(t, "job_alice", aliceClaims)
	req.Headers = nil
	req.MultiValueHeaders = map[string][]string{"Origin": {}, "Authorization": {testenv.TokenForClaims(aliceClaims)}}
	resp, _ := h.GetJob(context.Background(), req)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if got, ok := resp.Headers["Access-Control-Allow-Origin"]; ok {
		t.Errorf("Access-Control-Allow-Origin = %q, want absent", got)
	}
}
