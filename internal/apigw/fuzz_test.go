package apigw_test

// Fuzz targets for what the handlers parse from a request: the caller's
// identity (claims and ID token) and the submit body. Their seed corpora run
// in every `go test`; `go test -run=^$ -fuzz=^FuzzCaller$ ./internal/apigw/`
// (or another target) searches further. Results are in BENCHMARKS.md.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// FuzzCaller: whatever the token's payload and the claims hold, the caller
// is the claims' sub or EUNAUTHORIZED, never someone else; admin only when a
// group of the payload's array is exactly the admin group; groups never turn
// a consistent identity into a 401.
func FuzzCaller(f *testing.F) {
	f.Add("alice-sub", "alice-sub", "id", `["admin"]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `["support,admin"]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `"admin"`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `["R&D","Équipe","video/editors"]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `[ "admin" ]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `["\"admin\""]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `["Admin","admins"," admin"]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `[1,"admin"]`, "admin")
	f.Add("alice-sub", "alice-sub", "access", `["admin"]`, "admin")
	f.Add("alice-sub", "mallory-sub", "id", `["admin"]`, "admin")
	f.Add("", "", "id", `["admin"]`, "admin")
	f.Add("alice-sub", "alice-sub", "id", `["ops"]`, "ops")
	f.Fuzz(func(t *testing.T, claimSub, tokenSub, tokenUse, groups, adminGroup string) {
		var rawGroups json.RawMessage
		payload := map[string]any{"sub": tokenSub, "token_use": tokenUse, "iss": fzIssuer, "aud": "client-1"}
		if json.Unmarshal([]byte(groups), &rawGroups) == nil {
			payload["cognito:groups"] = rawGroups
		}
		req := &events.APIGatewayProxyRequest{
			Headers:        map[string]string{"Authorization": "Bearer " + testenv.IDToken(payload)},
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": map[string]any{"sub": claimSub, "cognito:groups": groups}}},
		}
		id := apigw.Identity{Issuer: fzIssuer, ClientIDs: []string{"client-1"}, AdminGroup: adminGroup}
		c, err := id.Caller(req)
		consistent := claimSub == tokenSub && tokenUse == "id" && strings.TrimSpace(claimSub) != "" && len(claimSub) <= 128
		if err != nil {
			if jobs.ErrorCode(err) != jobs.EUNAUTHORIZED || !reflect.DeepEqual(c, jobs.Caller{}) {
				t.Fatalf("Caller() = %+v, %v; want EUNAUTHORIZED and no caller", c, err)
			}
			if consistent {
				t.Fatalf("consistent identity %q with groups %s refused: %v", claimSub, groups, err)
			}
			return
		}
		if !consistent || c.Subject != claimSub {
			t.Fatalf("Caller() = %+v from claims sub %q, token sub %q, token_use %q", c, claimSub, tokenSub, tokenUse)
		}
		var names []string
		if json.Unmarshal(rawGroups, &names) != nil {
			names = nil // not an array of strings: no groups
		}
		want := adminGroup
		if want == "" {
			want = jobs.AdminGroup
		}
		wantAdmin := false
		for _, n := range names {
			wantAdmin = wantAdmin || n == want
		}
		if c.IsAdmin() != wantAdmin {
			t.Fatalf("groups %s, admin group %q: IsAdmin() = %v, want %v", groups, adminGroup, c.IsAdmin(), wantAdmin)
		}
	})
}

const fzIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"

func FuzzDecodeSubmit(f *testing.F) {
	for _, s := range []struct {
		contentType, body string
		b64               bool
	}{
		{"application/json", `{"prompt":"a cat"}`, false},
		{"application/json", `{"prompt":"a cat","options":{"durationSeconds":10,"aspectRatio":"9:16","resolution":"1080p"}}`, false},
		{"application/json; charset=utf-8", `{"prompt":"x"}`, false},
		{"Application/JSON; charset=UTF-8", `{"prompt":"x"}`, false},
		{"application/json", base64.StdEncoding.EncodeToString([]byte(`{"prompt":"x"}`)), true},
		{"application/json", "!!!", true},
		{"application/json", "", false},
		{"application/json", "null", false},
		{"application/json", "[]", false},
		{"application/json", `{"prompt":1}`, false},
		{"application/json", `{"prompt":"x","jobId":"j"}`, false},
		{"application/json", `{"prompt":"x","options":{},"options":{"fps":1}}`, false},
		{"application/json", `{"prompt":"x","prompt":"y"}`, false},
		{"application/json", `{"prompt":"x"}]`, false},
		{"application/json", `{"prompt":"\u202ex"}`, false},
		{"application/json", `{"prompt":"\u200b\u3164"}`, false},
		{"application/json", `{"prompt":"x","JobId":"j"}`, false},
		{"application/json", `{"prompt":"x","options":{"durationSeconds":1e999}}`, false},
		{"application/json", `{"prompt":"x","options":{"durationSeconds":-1}}`, false},
		{"application/json", `{"prompt":"x","options":{"status":"COMPLETED"}}`, false},
		{"application/json", `{"prompt":"x","prompt":""}`, false},
		{"application/json", `{"prompt":"x"} {}`, false},
		{"application/json", `{"prompt":"a\u0000b"}`, false},
		{"application/json", `{"PROMPT":"x"}`, false},
		{"application/json", `{"prompt":"x","` + strings.Repeat("k", 300) + `":1}`, false},
		{"application/json", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false},
		{"application/json", `{"prompt":"` + strings.Repeat("a", apigw.MaxSubmitBytes) + `"}`, false},
		{"text/plain", `{"prompt":"x"}`, false},
		{"", `{"prompt":"x"}`, false},
		{"application/json; charset=latin1", `{"prompt":"x"}`, false},
		{"application/json;;", `{"prompt":"x"}`, false},
	} {
		f.Add(s.contentType, []byte(s.body), s.b64)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A store that accepts every write and holds nothing, so submits can
	// be fuzzed without growing memory.
	store := &mock.Store{
		GetFn: func(context.Context, string) (jobs.Job, error) {
			return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "No job with that id.")
		},
		GetLatestFn: func(context.Context, string) (jobs.Job, error) {
			return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "No job with that id.")
		},
		CreateFn: func(context.Context, jobs.Job) error { return nil },
		UpdateFn: func(context.Context, jobs.Job) error { return nil },
	}
	h := apigw.NewHandler(&jobs.Service{Store: store, Pipeline: &inmem.Pipeline{}, Log: log}, testenv.AllowedOrigins, log)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, b64 bool) {
		req := events.APIGatewayProxyRequest{
			HTTPMethod:        http.MethodPost,
			Headers:           map[string]string{"Content-Type": contentType},
			Body:              string(body),
			IsBase64Encoded:   b64,
			RequestContext:    events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": map[string]any{"sub": "fuzz-sub"}}},
			MultiValueHeaders: map[string][]string{"Authorization": {testenv.IDToken(map[string]any{"sub": "fuzz-sub", "token_use": "id"})}},
		}
		spec, err := apigw.DecodeSubmit(&req)
		if err != nil {
			switch code := jobs.ErrorCode(err); code {
			case jobs.EINVALID, jobs.ETOOLARGE, jobs.EUNSUPPORTED:
			default:
				t.Fatalf("DecodeSubmit code = %s, want invalid_request, payload_too_large or unsupported_media_type (err %v)", code, err)
			}
			if msg := jobs.ErrorMessage(err); msg == "" || len(msg) > 256 {
				t.Fatalf("DecodeSubmit message has %d bytes, want 1 to 256", len(msg))
			}
		} else if _, nerr := spec.Normalize(); nerr != nil && jobs.ErrorCode(nerr) != jobs.EINVALID {
			t.Fatalf("decoded spec %+v fails Normalize with %v, want nil or %s", spec, nerr, jobs.EINVALID)
		}

		resp, herr := h.SubmitJob(context.Background(), req)
		if herr != nil {
			t.Fatalf("SubmitJob error %v", herr)
		}
		switch resp.StatusCode {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("SubmitJob status %d (%s), want 202, 400, 413 or 415", resp.StatusCode, resp.Body)
		}
		if (resp.StatusCode == http.StatusAccepted) != (err == nil && func() bool { _, e := spec.Normalize(); return e == nil }()) {
			t.Fatalf("SubmitJob status %d disagrees with DecodeSubmit (err %v) and Normalize", resp.StatusCode, err)
		}
	})
}
