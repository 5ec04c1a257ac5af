package apigw_test

// Fuzz targets for what the handlers parse from a request: the groups claim,
// the authorizer's claims, and the submit body. Their seed corpora run in
// every `go test`; `go test -run=^$ -fuzz=^FuzzParseGroups$ ./internal/apigw/`
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
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// fzGroupOK states the documented group-name rule independently of the
// implementation's regular expression.
func fzGroupOK(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.@+=:-", c) >= 0) {
			return false
		}
	}
	return true
}

var fzGroupSeeds = []string{
	"", " ", "admin", "admin,video", "admin, video", "[admin video]", "[admin  video]", `["admin","video"]`, `["admin"]`,
	"[]", `[""]`, `["admin"`, `["admin",1]`, `[ "admin" ]`, `{"admin":true}`, "[admin,video]", "admin video",
	"admin,,video", "video,", ",", "[", "]", "[[admin]]", "admin\x00", "аdmin", "Admin", strings.Repeat("g", 129),
	`["a\u0064min"]`, `["admin\u0000"]`, "[admin]x", "x[admin]", `["admin"] `, "\tadmin\n",
}

// fzClaimNames reports whether claim spells out group g: literally, or as
// an element of a JSON array.
func fzClaimNames(claim, g string) bool {
	if strings.Contains(claim, g) {
		return true
	}
	var names []string
	if json.Unmarshal([]byte(strings.TrimSpace(claim)), &names) != nil {
		return false
	}
	for _, n := range names {
		if n == g {
			return true
		}
	}
	return false
}

func FuzzParseGroups(f *testing.F) {
	for _, s := range fzGroupSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		groups, err := apigw.ParseGroups(s)
		if err != nil {
			if got := jobs.ErrorCode(err); got != jobs.EUNAUTHORIZED {
				t.Fatalf("ParseGroups(%q) code = %s, want %s", s, got, jobs.EUNAUTHORIZED)
			}
			if groups != nil {
				t.Fatalf("ParseGroups(%q) returned groups %q with an error", s, groups)
			}
			return
		}
		for _, g := range groups {
			if !fzGroupOK(g) {
				t.Fatalf("ParseGroups(%q) accepted group %q outside the documented names", s, g)
			}
			// A name the claim does not spell out (JSON escapes decoded)
			// cannot be granted: "admin" comes only from a claim that says so.
			if !fzClaimNames(s, g) {
				t.Fatalf("ParseGroups(%q) returned %q, which the claim does not contain", s, g)
			}
		}
		if trimmed := strings.TrimSpace(s); (trimmed == "" || trimmed == "[]") && len(groups) != 0 {
			t.Fatalf("ParseGroups(%q) = %q, want none", s, groups)
		}
	})
}

func FuzzCallerFromRequest(f *testing.F) {
	// subKind: 0 a string, 1 a number, 2 a boolean, 3 null, 4 absent.
	f.Add("0f3c2a1e-sub", uint8(0), "alice", "admin", true)
	f.Add("0f3c2a1e-sub", uint8(0), "alice", "", false)
	f.Add("", uint8(0), "", "", false)
	f.Add("   ", uint8(0), "u", "video", true)
	f.Add(strings.Repeat("s", 129), uint8(0), "u", "", false)
	f.Add("sub", uint8(1), "u", "admin", true)
	f.Add("sub", uint8(2), "u", "admin", true)
	f.Add("sub", uint8(3), "u", "admin", true)
	f.Add("sub", uint8(4), "u", "admin", true)
	f.Add("sub", uint8(0), "u", `["admin"`, true)
	f.Add("sub", uint8(0), "u", "[admin video]", true)
	f.Add("sub\x00", uint8(0), "u\xff", "admin,video", true)
	f.Fuzz(func(t *testing.T, sub string, subKind uint8, username, groups string, hasGroups bool) {
		claims := map[string]any{"cognito:username": username}
		switch subKind % 5 {
		case 0:
			claims["sub"] = sub
		case 1:
			claims["sub"] = float64(len(sub))
		case 2:
			claims["sub"] = len(sub)%2 == 0
		case 3:
			claims["sub"] = nil
		}
		if hasGroups {
			claims["cognito:groups"] = groups
		}
		req := &events.APIGatewayProxyRequest{RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": claims}}}
		c, err := apigw.CallerFromRequest(req)

		wantGroups, groupsErr := []string(nil), error(nil)
		if hasGroups {
			wantGroups, groupsErr = apigw.ParseGroups(groups)
		}
		subOK := subKind%5 == 0 && strings.TrimSpace(sub) != "" && len(sub) <= 128
		if err != nil {
			if got := jobs.ErrorCode(err); got != jobs.EUNAUTHORIZED {
				t.Fatalf("code = %s, want %s", got, jobs.EUNAUTHORIZED)
			}
			if !reflect.DeepEqual(c, jobs.Caller{}) {
				t.Fatalf("caller %+v returned with an error", c)
			}
			if subOK && groupsErr == nil {
				t.Fatalf("rejected sub %q with groups %q (present %v): %v", sub, groups, hasGroups, err)
			}
			return
		}
		if !subOK || groupsErr != nil {
			t.Fatalf("accepted sub %q (kind %d) with groups %q: %+v; want fail-closed", sub, subKind%5, groups, c)
		}
		if c.Subject != sub || c.Username != username || !reflect.DeepEqual(c.Groups, wantGroups) {
			t.Fatalf("caller = %+v, want subject %q, username %q, groups %q", c, sub, username, wantGroups)
		}
	})
}

// fzStore accepts every write and holds nothing: submits through the handler
// can be fuzzed without growing memory.
type fzStore struct{}

func (fzStore) Get(context.Context, string) (jobs.Job, error) {
	return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "No job with that id.")
}
func (s fzStore) GetLatest(ctx context.Context, id string) (jobs.Job, error) { return s.Get(ctx, id) }
func (fzStore) Create(context.Context, jobs.Job) error                       { return nil }
func (fzStore) Update(context.Context, jobs.Job) error                       { return nil }

type fzPipeline struct{}

func (fzPipeline) Enqueue(context.Context, jobs.Job) error { return nil }

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
	h := apigw.NewHandler(&jobs.Service{Store: fzStore{}, Pipeline: fzPipeline{}, Log: log}, apigw.DefaultAllowedOrigins, log)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, b64 bool) {
		req := events.APIGatewayProxyRequest{
			HTTPMethod:      http.MethodPost,
			Headers:         map[string]string{"Content-Type": contentType},
			Body:            string(body),
			IsBase64Encoded: b64,
			RequestContext:  events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": map[string]any{"sub": "fuzz-sub"}}},
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
