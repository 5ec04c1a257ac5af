package apigw_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

const validBody = `{"prompt":"a cat surfing a wave","options":{"durationSeconds":10,"aspectRatio":"9:16","resolution":"1080p"}}`

// paddedBody is a valid submit body of exactly n bytes.
func paddedBody(t *testing.T, n int) string {
	t.Helper()
	b := `{"prompt":"a cat"}`
	if n < len(b) {
		t.Fatalf("paddedBody(%d): too small", n)
	}
	return b + strings.Repeat(" ", n-len(b))
}

func TestSubmitJobAccepted(t *testing.T) {
	t.Parallel()
	store, pipe := newMemory()
	h, log := newHandler(t, store, pipe)
	resp, err := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, nil))
	if err != nil {
		t.Fatalf("SubmitJob returned error %v", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d, want 202 (body %s)", resp.StatusCode, resp.Body)
	}
	wantStandardHeaders(t, resp)
	if got := resp.Headers["Location"]; got != "/v1/jobs/job_h1" {
		t.Errorf("Location = %q, want /v1/jobs/job_h1", got)
	}
	if got := resp.Headers["Access-Control-Allow-Origin"]; got != videoOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, videoOrigin)
	}
	if got, ok := resp.Headers["Idempotent-Replayed"]; ok {
		t.Errorf("Idempotent-Replayed = %q on a first submit, want absent", got)
	}
	body := decodeObject(t, resp.Body)
	wantKeys(t, "202 body", body, "jobId", "status", "progress", "createdAt", "updatedAt", "version", "prompt", "options")
	want := map[string]any{"jobId": "job_h1", "status": "QUEUED", "progress": 0.0, "version": 1.0,
		"createdAt": "2025-06-23T12:00:00.123Z", "updatedAt": "2025-06-23T12:00:00.123Z",
		"prompt": "a cat surfing a wave", "options": map[string]any{"durationSeconds": 10.0, "aspectRatio": "9:16", "resolution": "1080p"}}
	for k, v := range want {
		if !equalJSON(body[k], v) {
			t.Errorf("body %s = %#v, want %#v", k, body[k], v)
		}
	}
	got, err := store.Get(context.Background(), "job_h1")
	if err != nil {
		t.Fatalf("stored job: %v", err)
	}
	wantSpec := jobs.Spec{Prompt: "a cat surfing a wave", DurationSeconds: 10, AspectRatio: "9:16", Resolution: "1080p"}
	if got.Spec != wantSpec || got.OwnerID != "alice-sub" || got.Status != jobs.Queued {
		t.Errorf("stored job spec %+v owner %q status %s, want %+v, alice-sub, QUEUED", got.Spec, got.OwnerID, got.Status, wantSpec)
	}
	if n := len(pipe.Jobs()); n != 1 {
		t.Errorf("enqueued %d jobs, want 1", n)
	}
	if l := log.String(); !strings.Contains(l, `"jobId":"job_h1"`) {
		t.Errorf("log = %s, want the submitted job logged", l)
	}
}

func TestSubmitJobDefaultsOptions(t *testing.T) {
	t.Parallel()
	store, pipe := newMemory()
	h, _ := newHandler(t, store, pipe)
	resp, _ := h.SubmitJob(context.Background(), submitRequest(t, `{"prompt":"x","options":{}}`, aliceClaims, nil))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d, want 202 (body %s)", resp.StatusCode, resp.Body)
	}
	got, err := store.Get(context.Background(), "job_h1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (jobs.Spec{Prompt: "x", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}); got.Spec != want {
		t.Errorf("stored spec = %+v, want %+v", got.Spec, want)
	}
}

func TestSubmitJobIdempotentReplay(t *testing.T) {
	t.Parallel()
	store, pipe := newMemory()
	h, _ := newHandler(t, store, pipe)
	hdr := map[string]string{"Idempotency-Key": "order-42"}
	first, _ := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, hdr))
	// Header names are case-insensitive.
	second, _ := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, map[string]string{"idempotency-key": "order-42"}))
	if first.StatusCode != http.StatusAccepted || second.StatusCode != http.StatusAccepted {
		t.Fatalf("statuses = %d, %d; want 202, 202", first.StatusCode, second.StatusCode)
	}
	if _, ok := first.Headers["Idempotent-Replayed"]; ok {
		t.Errorf("first response has Idempotent-Replayed")
	}
	if got := second.Headers["Idempotent-Replayed"]; got != "true" {
		t.Errorf("second Idempotent-Replayed = %q, want true", got)
	}
	wantID := jobs.IdempotentID("alice-sub", "order-42")
	if first.Headers["Location"] != "/v1/jobs/"+wantID || second.Headers["Location"] != first.Headers["Location"] {
		t.Errorf("Locations = %q, %q; want both /v1/jobs/%s", first.Headers["Location"], second.Headers["Location"], wantID)
	}
	if first.Body != second.Body {
		t.Errorf("replayed body = %s, want %s", second.Body, first.Body)
	}

	other := strings.Replace(validBody, "10", "11", 1)
	third, _ := h.SubmitJob(context.Background(), submitRequest(t, other, aliceClaims, hdr))
	wantError(t, third, http.StatusUnprocessableEntity, jobs.EUNPROCESSABLE)
}

func TestSubmitJobUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		contentType string
		ok          bool
	}{
		{"", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"application/jsonx", false},
		{"application/json-patch+json", false},
		{"application/json; charset=latin1", false},
		{"application/json; charset=iso-8859-1", false},
		{"application/json; charset=utf-16", false},
		{"application/json; charset", false},
		{"json", false},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"application/json;charset=UTF-8", true},
		{"Application/JSON", true},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			t.Parallel()
			store, pipe := newMemory()
			h, _ := newHandler(t, store, pipe)
			req := submitRequest(t, validBody, aliceClaims, map[string]string{"Content-Type": tt.contentType})
			resp, _ := h.SubmitJob(context.Background(), req)
			if tt.ok {
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("status = %d, want 202 (body %s)", resp.StatusCode, resp.Body)
				}
				return
			}
			wantError(t, resp, http.StatusUnsupportedMediaType, jobs.EUNSUPPORTED)
			if n := len(pipe.Jobs()); n != 0 {
				t.Errorf("enqueued %d jobs, want 0", n)
			}
		})
	}
}

func TestSubmitJobContentTypeHeaderLookup(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		headers   map[string]string
		multiOnly bool
	}{
		{"lower case", map[string]string{"content-type": "application/json"}, false},
		{"upper case", map[string]string{"CONTENT-TYPE": "application/json"}, false},
		{"multiValueHeaders only", map[string]string{"content-type": "application/json"}, true},
	} {
		store, pipe := newMemory()
		h, _ := newHandler(t, store, pipe)
		req := event(t, request{method: "POST", resource: "/v1/jobs", path: "/v1/jobs", headers: tt.headers, multiOnly: tt.multiOnly, claims: aliceClaims, body: validBody})
		resp, _ := h.SubmitJob(context.Background(), req)
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s: status = %d, want 202 (body %s)", tt.name, resp.StatusCode, resp.Body)
		}
	}
}

func TestSubmitJobBodySize(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		body   string
		base64 bool
		status int
	}{
		{"exactly the limit", paddedBody(t, apigw.MaxSubmitBytes), false, http.StatusAccepted},
		{"one byte over", paddedBody(t, apigw.MaxSubmitBytes+1), false, http.StatusRequestEntityTooLarge},
		{"far over, not JSON", strings.Repeat("x", 1<<20), false, http.StatusRequestEntityTooLarge},
		{"base64, exactly the limit", b64(paddedBody(t, apigw.MaxSubmitBytes)), true, http.StatusAccepted},
		{"base64, one byte over", b64(paddedBody(t, apigw.MaxSubmitBytes+1)), true, http.StatusRequestEntityTooLarge},
		{"base64, two bytes over", b64(paddedBody(t, apigw.MaxSubmitBytes+2)), true, http.StatusRequestEntityTooLarge},
		{"base64, far over", b64(paddedBody(t, 1<<20)), true, http.StatusRequestEntityTooLarge},
		{"base64, far over and not base64", strings.Repeat("!", 1<<20), true, http.StatusRequestEntityTooLarge},
		// The size is checked before decoding: an invalid body that would
		// decode to just over the limit is 413, not 400.
		{"base64, just over and not base64", strings.Repeat("!", 4*((apigw.MaxSubmitBytes+2)/3+1)), true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, pipe := newMemory()
			h, _ := newHandler(t, store, pipe)
			req := submitRequest(t, tt.body, aliceClaims, nil)
			req.IsBase64Encoded = tt.base64
			resp, _ := h.SubmitJob(context.Background(), req)
			if tt.status == http.StatusAccepted {
				if resp.StatusCode != tt.status {
					t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, resp.Body)
				}
				return
			}
			msg := wantError(t, resp, tt.status, jobs.ETOOLARGE)
			if !strings.Contains(msg, "16384") {
				t.Errorf("message = %q, want it to state the limit", msg)
			}
		})
	}
}

func TestSubmitJobBadRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		base64     bool
		wantPrefix string
	}{
		{"empty body", "", false, "body:"},
		{"blank body", " \n\t ", false, "body:"},
		{"invalid JSON", `{"prompt":`, false, "body:"},
		{"not JSON", `prompt=a cat`, false, "body:"},
		{"null", `null`, false, "body:"},
		{"array", `[]`, false, "body:"},
		{"array of objects", `[{"prompt":"x"}]`, false, "body:"},
		{"string", `"a cat"`, false, "body:"},
		{"number", `42`, false, "body:"},
		{"two objects", `{"prompt":"a"}{"prompt":"b"}`, false, "body:"},
		{"two objects, newline", "{\"prompt\":\"a\"}\n{\"prompt\":\"b\"}", false, "body:"},
		{"trailing garbage", `{"prompt":"a"} x`, false, "body:"},
		{"prompt a number", `{"prompt":1}`, false, "prompt:"},
		{"prompt an object", `{"prompt":{"text":"x"}}`, false, "prompt:"},
		{"prompt null", `{"prompt":null}`, false, "prompt:"},
		{"no prompt", `{"options":{"durationSeconds":5}}`, false, "prompt:"},
		{"blank prompt", `{"prompt":"  "}`, false, "prompt:"},
		{"prompt too long", `{"prompt":"` + strings.Repeat("é", 2001) + `"}`, false, "prompt:"},
		{"prompt with NUL", `{"prompt":"a\u0000b"}`, false, "prompt:"},
		{"options a string", `{"prompt":"x","options":"fast"}`, false, "options:"},
		{"durationSeconds a string", `{"prompt":"x","options":{"durationSeconds":"5"}}`, false, "options.durationSeconds:"},
		{"durationSeconds fractional", `{"prompt":"x","options":{"durationSeconds":5.5}}`, false, "options.durationSeconds:"},
		{"durationSeconds out of range", `{"prompt":"x","options":{"durationSeconds":61}}`, false, "options.durationSeconds:"},
		{"aspectRatio a number", `{"prompt":"x","options":{"aspectRatio":1.7}}`, false, "options.aspectRatio:"},
		{"aspectRatio unknown", `{"prompt":"x","options":{"aspectRatio":"4:3"}}`, false, "options.aspectRatio:"},
		{"resolution unknown", `{"prompt":"x","options":{"resolution":"4k"}}`, false, "options.resolution:"},
		{"unknown field", `{"prompt":"x","colour":"red"}`, false, "colour: unknown field"},
		{"unknown option", `{"prompt":"x","options":{"fps":30}}`, false, "options.fps: unknown field"},
		{"field name in another case", `{"PROMPT":"x"}`, false, "PROMPT: unknown field"},
		{"option name in another case", `{"prompt":"x","options":{"Resolution":"720p"}}`, false, "options.Resolution: unknown field"},
		{"durationSeconds zero", `{"prompt":"x","options":{"durationSeconds":0}}`, false, "options.durationSeconds:"},
		{"durationSeconds negative", `{"prompt":"x","options":{"durationSeconds":-1}}`, false, "options.durationSeconds:"},
		{"invalid base64", `eyJwcm9tcHQiOiJ4In0*`, true, "body: not valid base64"},
		{"base64 of invalid JSON", base64.StdEncoding.EncodeToString([]byte(`{"prompt":`)), true, "body:"},
	}
	for _, field := range []string{"jobId", "id", "status", "progress", "outputUrl", "error", "createdAt", "updatedAt",
		"startedAt", "completedAt", "ownerId", "version", "expiresAt", "cancelRequested"} {
		tests = append(tests, struct {
			name       string
			body       string
			base64     bool
			wantPrefix string
		}{"server-owned " + field, `{"prompt":"x","` + field + `":"QUEUED"}`, false, field + ": set by the server"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(t, strictStore(t), &fakePipeline{EnqueueFn: func(_ context.Context, j jobs.Job) error {
				t.Errorf("unexpected Enqueue(%s)", j.ID)
				return nil
			}})
			req := submitRequest(t, tt.body, aliceClaims, nil)
			req.IsBase64Encoded = tt.base64
			resp, err := h.SubmitJob(context.Background(), req)
			if err != nil {
				t.Fatalf("SubmitJob returned error %v", err)
			}
			msg := wantError(t, resp, http.StatusBadRequest, jobs.EINVALID)
			if !strings.HasPrefix(msg, tt.wantPrefix) {
				t.Errorf("message = %q, want prefix %q", msg, tt.wantPrefix)
			}
		})
	}
}

func TestSubmitJobBase64Body(t *testing.T) {
	t.Parallel()
	store, pipe := newMemory()
	h, _ := newHandler(t, store, pipe)
	req := submitRequest(t, base64.StdEncoding.EncodeToString([]byte(validBody)), aliceClaims, nil)
	req.IsBase64Encoded = true
	resp, _ := h.SubmitJob(context.Background(), req)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d, want 202 (body %s)", resp.StatusCode, resp.Body)
	}
	got, err := store.Get(context.Background(), "job_h1")
	if err != nil || got.Spec.Prompt != "a cat surfing a wave" || got.Spec.DurationSeconds != 10 {
		t.Errorf("stored job = %+v, %v; want the decoded spec", got.Spec, err)
	}
}

func TestSubmitJobIdempotencyKeyValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"printable ASCII", `a-Z_0.9~!"#$%&'()*+,/:;<=>?@[\]^{|}` + "`", true},
		{"255 bytes", strings.Repeat("k", 255), true},
		{"256 bytes", strings.Repeat("k", 256), false},
		{"space", "order 42", false},
		{"leading space", " order", false},
		{"tab", "order\t42", false},
		{"non-ASCII", "ключ", false},
		{"DEL", "order\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, pipe := newMemory()
			h, _ := newHandler(t, store, pipe)
			resp, _ := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, map[string]string{"Idempotency-Key": tt.key}))
			if tt.ok {
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("status = %d, want 202 (body %s)", resp.StatusCode, resp.Body)
				}
				return
			}
			msg := wantError(t, resp, http.StatusBadRequest, jobs.EINVALID)
			if !strings.HasPrefix(msg, "Idempotency-Key:") {
				t.Errorf("message = %q, want it to name Idempotency-Key", msg)
			}
			if n := len(pipe.Jobs()); n != 0 {
				t.Errorf("enqueued %d jobs, want 0", n)
			}
		})
	}
}

func TestSubmitJobUnauthorizedComesFirst(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t, strictStore(t), nil)
	for name, req := range map[string]events.APIGatewayProxyRequest{
		"no claims, valid body":   submitRequest(t, validBody, nil, nil),
		"no claims, wrong type":   submitRequest(t, validBody, nil, map[string]string{"Content-Type": "text/plain"}),
		"no claims, invalid JSON": submitRequest(t, "{", nil, nil),
		"blank sub":               submitRequest(t, validBody, map[string]any{"sub": ""}, nil),
	} {
		resp, _ := h.SubmitJob(context.Background(), req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status = %d, want 401", name, resp.StatusCode)
		}
		wantError(t, resp, http.StatusUnauthorized, jobs.EUNAUTHORIZED)
	}
}

func TestSubmitJobDependencyFailures(t *testing.T) {
	t.Parallel()
	t.Run("pipeline down", func(t *testing.T) {
		t.Parallel()
		store, _ := newMemory()
		pipe := &fakePipeline{EnqueueFn: func(context.Context, jobs.Job) error {
			return errors.New("sqs: https://sqs.eu-west-1.amazonaws.com/123456789012/pipeline unreachable")
		}}
		h, _ := newHandler(t, store, pipe)
		resp, _ := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, nil))
		wantError(t, resp, http.StatusServiceUnavailable, jobs.EUNAVAILABLE)
		if strings.Contains(resp.Body, "123456789012") {
			t.Errorf("body %s leaks the cause", resp.Body)
		}
		if _, ok := resp.Headers["Location"]; ok {
			t.Errorf("Location set on a 503")
		}
		got, err := store.Get(context.Background(), "job_h1")
		if err != nil || got.Status != jobs.Failed || got.Error == nil || got.Error.Code != jobs.EnqueueFailedCode {
			t.Errorf("stored job = %s %+v, %v; want FAILED with %s", got.Status, got.Error, err, jobs.EnqueueFailedCode)
		}
	})
	t.Run("store throttled", func(t *testing.T) {
		t.Parallel()
		store := strictStore(t)
		store.CreateFn = func(context.Context, jobs.Job) error {
			return jobs.Wrap(jobs.EUNAVAILABLE, errors.New("ThrottlingException"), "The job store is busy; retry shortly.")
		}
		h, _ := newHandler(t, store, &fakePipeline{EnqueueFn: func(_ context.Context, j jobs.Job) error {
			t.Errorf("unexpected Enqueue(%s)", j.ID)
			return nil
		}})
		resp, _ := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, nil))
		wantError(t, resp, http.StatusServiceUnavailable, jobs.EUNAVAILABLE)
	})
	t.Run("store panics", func(t *testing.T) {
		t.Parallel()
		store := strictStore(t)
		store.CreateFn = func(context.Context, jobs.Job) error { panic("boom") }
		h, _ := newHandler(t, store, nil)
		resp, err := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, nil))
		if err != nil {
			t.Fatalf("SubmitJob returned error %v", err)
		}
		wantError(t, resp, http.StatusInternalServerError, jobs.EINTERNAL)
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != videoOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, videoOrigin)
		}
	})
}

func TestDecodeSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want jobs.Spec
	}{
		{`{"prompt":"x"}`, jobs.Spec{Prompt: "x"}},
		{`  {"prompt":"x"}  ` + "\n", jobs.Spec{Prompt: "x"}},
		{`{"prompt":"x","options":null}`, jobs.Spec{Prompt: "x"}},
		{`{"prompt":"x","options":{"durationSeconds":7,"aspectRatio":"1:1","resolution":"720p"}}`,
			jobs.Spec{Prompt: "x", DurationSeconds: 7, AspectRatio: "1:1", Resolution: "720p"}},
		{`{"prompt":"caf\u00e9 \ud83c\udfac"}`, jobs.Spec{Prompt: "café 🎬"}},
	}
	for _, tt := range tests {
		req := submitRequest(t, tt.body, aliceClaims, nil)
		got, err := apigw.DecodeSubmit(&req)
		if err != nil || got != tt.want {
			t.Errorf("DecodeSubmit(%s) = %+v, %v; want %+v, nil", tt.body, got, err, tt.want)
		}
	}
}

func TestSubmitJobCancelAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  time.Duration // 0: a 400
	}{
		{"90s", 90 * time.Second},
		{"5s", 5 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"24h", 24 * time.Hour},
		{"4s", 0},
		{"24h0m1s", 0},
		{"500ms", 0},
		{"-5m", 0},
		{"5", 0},
		{"five minutes", 0},
		{strings.Repeat("1", 40) + "s", 0},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			store, pipe := newMemory()
			h, _ := newHandler(t, store, pipe)
			resp, _ := h.SubmitJob(context.Background(), submitRequest(t, validBody, aliceClaims, map[string]string{"Cancel-After": tt.value}))
			if tt.want == 0 {
				if msg := wantError(t, resp, http.StatusBadRequest, jobs.EINVALID); !strings.HasPrefix(msg, "Cancel-After:") {
					t.Errorf("message = %q, want it to name Cancel-After", msg)
				}
				if n := len(pipe.Jobs()); n != 0 {
					t.Errorf("enqueued %d jobs, want 0", n)
				}
				return
			}
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status = %d, want 202 (body %s)", resp.StatusCode, resp.Body)
			}
			id := decodeObject(t, resp.Body)["jobId"].(string)
			j, err := store.GetLatest(context.Background(), id)
			if err != nil || !j.Deadline.Equal(t0.Add(tt.want)) {
				t.Errorf("stored deadline = %v (%v), want createdAt + %v", j.Deadline, err, tt.want)
			}
			if got := decodeObject(t, resp.Body)["deadline"]; got != jobs.FormatTime(t0.Add(tt.want)) {
				t.Errorf("202 body deadline = %v, want %s", got, jobs.FormatTime(t0.Add(tt.want)))
			}
			if got := pipe.Jobs(); len(got) != 1 || !got[0].Deadline.Equal(t0.Add(tt.want)) {
				t.Errorf("handed-off jobs %+v, want one with the deadline", got)
			}
		})
	}
}

// Names that differ only in case are one HTTP header; when an event carries
// several, the same one is read every time: the name as the documentation
// spells it, else the first in byte order.
func TestHeaderLookupIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"documented spelling wins", map[string]string{"Content-Type": "application/json", "content-type": "text/plain", "CONTENT-TYPE": "text/plain"}, http.StatusAccepted},
		{"else the first in byte order", map[string]string{"content-type": "application/json", "CONTENT-TYPE": "text/plain", "Content-type": "application/json"}, http.StatusUnsupportedMediaType},
	} {
		store, pipe := newMemory()
		h, _ := newHandler(t, store, pipe)
		for i := 0; i < 64; i++ {
			req := event(t, request{method: "POST", resource: "/v1/jobs", path: "/v1/jobs", headers: tt.headers, claims: aliceClaims, body: validBody})
			if resp, _ := h.SubmitJob(context.Background(), req); resp.StatusCode != tt.want {
				t.Fatalf("%s: try %d: status = %d, want %d", tt.name, i, resp.StatusCode, tt.want)
			}
		}
	}
}
