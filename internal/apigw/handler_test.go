package apigw_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Fixture jobs of alice's, one per status, and a legacy job without owner.
func fixtureJobs() []jobs.Job {
	spec := jobs.Spec{Prompt: "a cat", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}
	started, done := t0.Add(time.Minute), t0.Add(2*time.Minute)
	base := jobs.Job{OwnerID: "alice-sub", Spec: spec, SpecHash: spec.Hash(), IdempotencyKey: "secret-key", CreatedAt: t0, UpdatedAt: t0}
	mk := func(id string, edit func(j *jobs.Job)) jobs.Job {
		j := base
		j.ID = id
		edit(&j)
		return j
	}
	return []jobs.Job{
		mk("job_queued", func(j *jobs.Job) { j.Status = jobs.Queued }),
		mk("job_processing", func(j *jobs.Job) {
			j.Status, j.Progress, j.StartedAt, j.UpdatedAt = jobs.Processing, 42, started, started
		}),
		mk("job_cancelling", func(j *jobs.Job) {
			j.Status, j.Progress, j.StartedAt, j.UpdatedAt, j.CancelRequested = jobs.Processing, 42, started, started, true
		}),
		mk("job_completed", func(j *jobs.Job) {
			j.Status, j.Progress, j.StartedAt, j.CompletedAt, j.UpdatedAt = jobs.Completed, 100, started, done, done
			j.OutputURL, j.ExpiresAt = "https://cdn.example.com/out/1.mp4", done.Add(jobs.DefaultRetention)
		}),
		mk("job_failed", func(j *jobs.Job) {
			j.Status, j.Progress, j.StartedAt, j.CompletedAt, j.UpdatedAt = jobs.Failed, 10, started, done, done
			j.Error, j.ExpiresAt = &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}, done.Add(jobs.DefaultRetention)
		}),
		mk("job_cancelled", func(j *jobs.Job) {
			j.Status, j.CompletedAt, j.UpdatedAt, j.ExpiresAt = jobs.Cancelled, done, done, done.Add(jobs.DefaultRetention)
		}),
		{ID: "legacy-123", Status: jobs.Completed, Progress: 100, OutputURL: "https://cdn.example.com/old.mp4", CreatedAt: t0, UpdatedAt: t0},
	}
}

func TestGetJobBodies(t *testing.T) {
	t.Parallel()
	store, _ := newMemory()
	for _, j := range fixtureJobs() {
		seed(t, store, j)
	}
	h, _ := newHandler(t, store, nil)
	always := []string{"jobId", "status", "progress", "createdAt", "updatedAt", "version"}
	asked := []string{"prompt", "options"} // jobs submitted with a request
	tests := []struct {
		id     string
		claims map[string]any
		extra  []string
		want   map[string]any
	}{
		{id: "job_queued", claims: aliceClaims, extra: asked, want: map[string]any{
			"jobId": "job_queued", "status": "QUEUED", "progress": 0.0, "version": 1.0, "prompt": "a cat",
			"options":   map[string]any{"durationSeconds": 5.0, "aspectRatio": "16:9", "resolution": "720p"},
			"createdAt": "2025-06-23T12:00:00.123Z", "updatedAt": "2025-06-23T12:00:00.123Z",
		}},
		{id: "job_processing", claims: aliceClaims, extra: append([]string{"startedAt"}, asked...), want: map[string]any{
			"status": "PROCESSING", "progress": 42.0, "startedAt": "2025-06-23T12:01:00.123Z", "updatedAt": "2025-06-23T12:01:00.123Z",
		}},
		{id: "job_cancelling", claims: aliceClaims, extra: append([]string{"startedAt", "cancelRequested"}, asked...), want: map[string]any{
			"status": "PROCESSING", "cancelRequested": true,
		}},
		{id: "job_completed", claims: aliceClaims, extra: append([]string{"startedAt", "completedAt", "outputUrl"}, asked...), want: map[string]any{
			"status": "COMPLETED", "progress": 100.0, "outputUrl": "https://cdn.example.com/out/1.mp4",
			"completedAt": "2025-06-23T12:02:00.123Z",
		}},
		{id: "job_failed", claims: aliceClaims, extra: append([]string{"startedAt", "completedAt", "error"}, asked...), want: map[string]any{
			"status": "FAILED", "progress": 10.0, "error": map[string]any{"code": "GPU_OOM", "message": "out of memory"},
		}},
		{id: "job_cancelled", claims: aliceClaims, extra: append([]string{"completedAt"}, asked...), want: map[string]any{"status": "CANCELLED"}},
		// Admins also see whose job it is.
		{id: "job_queued", claims: adminClaims, extra: append([]string{"ownerId"}, asked...), want: map[string]any{"jobId": "job_queued", "status": "QUEUED", "ownerId": "alice-sub"}},
		{id: "legacy-123", claims: adminClaims, extra: []string{"outputUrl"}, want: map[string]any{"jobId": "legacy-123", "status": "COMPLETED"}},
	}
	for _, tt := range tests {
		resp, err := h.GetJob(context.Background(), getRequest(t, tt.id, tt.claims))
		if err != nil {
			t.Fatalf("GetJob(%s) returned error %v; handlers must not", tt.id, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GetJob(%s) status = %d, want 200 (body %s)", tt.id, resp.StatusCode, resp.Body)
			continue
		}
		wantStandardHeaders(t, resp)
		status, _ := tt.want["status"].(string)
		terminal := jobs.Status(status).Terminal()
		// Polling advice: unfinished jobs say when to ask again; finished
		// ones say they are final.
		if _, ok := resp.Headers["Retry-After"]; ok == terminal {
			t.Errorf("GetJob(%s): Retry-After present = %v for status %s", tt.id, ok, status)
		}
		if resp.Headers["ETag"] == "" {
			t.Errorf("GetJob(%s): no ETag", tt.id)
		}
		body := decodeObject(t, resp.Body)
		keys := append(append([]string(nil), always...), tt.extra...)
		if terminal {
			keys = append(keys, "terminal")
			if body["terminal"] != true {
				t.Errorf("GetJob(%s) terminal = %v, want true", tt.id, body["terminal"])
			}
		}
		wantKeys(t, "GetJob("+tt.id+")", body, keys...)
		for k, v := range tt.want {
			if got := body[k]; !equalJSON(got, v) {
				t.Errorf("GetJob(%s) %s = %#v, want %#v", tt.id, k, got, v)
			}
		}
		secrets := []string{"secret-key", "idempotencyKey", "specHash"} // never shown
		if tt.claims["sub"] != "root-sub" {
			secrets = append(secrets, "alice-sub") // owners only to admins
		}
		for _, secret := range secrets {
			if strings.Contains(resp.Body, secret) {
				t.Errorf("GetJob(%s) body %s contains internal field %q", tt.id, resp.Body, secret)
			}
		}
	}
}

func equalJSON(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		if len(am) != len(bm) {
			return false
		}
		for k := range am {
			if !equalJSON(am[k], bm[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestGetJobNotFoundIsIndistinguishable(t *testing.T) {
	t.Parallel()
	store, _ := newMemory()
	for _, j := range fixtureJobs() {
		seed(t, store, j)
	}
	h, _ := newHandler(t, store, nil)
	unknown, _ := h.GetJob(context.Background(), getRequest(t, "job_nope", bobClaims))
	foreign, _ := h.GetJob(context.Background(), getRequest(t, "job_queued", bobClaims))
	legacy, _ := h.GetJob(context.Background(), getRequest(t, "legacy-123", bobClaims))
	for name, resp := range map[string]struct {
		status int
		body   string
		hdrs   map[string]string
	}{
		"unknown": {unknown.StatusCode, unknown.Body, unknown.Headers},
		"foreign": {foreign.StatusCode, foreign.Body, foreign.Headers},
		"legacy":  {legacy.StatusCode, legacy.Body, legacy.Headers},
	} {
		if resp.status != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", name, resp.status)
		}
		if resp.body != unknown.Body {
			t.Errorf("%s: body = %s, want the unknown-job body %s", name, resp.body, unknown.Body)
		}
		if len(resp.hdrs) != len(unknown.Headers) {
			t.Errorf("%s: headers = %v, want the unknown-job headers %v", name, resp.hdrs, unknown.Headers)
		}
	}
	wantError(t, unknown, http.StatusNotFound, jobs.ENOTFOUND)
}

func TestGetJobErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		id     string
		claims map[string]any
		status int
		code   jobs.Code
	}{
		{"malformed id", "..%2Fetc", aliceClaims, http.StatusBadRequest, jobs.EINVALID},
		{"path traversal", "../x", aliceClaims, http.StatusBadRequest, jobs.EINVALID},
		{"markup", "<script>", aliceClaims, http.StatusBadRequest, jobs.EINVALID},
		{"too long", strings.Repeat("a", 129), aliceClaims, http.StatusBadRequest, jobs.EINVALID},
		{"no claims", "job_queued", nil, http.StatusUnauthorized, jobs.EUNAUTHORIZED},
		{"blank sub", "job_queued", map[string]any{"sub": " "}, http.StatusUnauthorized, jobs.EUNAUTHORIZED},
		{"an access token", "job_queued", map[string]any{"sub": "s", "token_use": "access"}, http.StatusUnauthorized, jobs.EUNAUTHORIZED},
		{"no claims beats malformed id", "../x", nil, http.StatusUnauthorized, jobs.EUNAUTHORIZED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(t, strictStore(t), nil)
			resp, err := h.GetJob(context.Background(), getRequest(t, tt.id, tt.claims))
			if err != nil {
				t.Fatalf("GetJob returned error %v", err)
			}
			wantError(t, resp, tt.status, tt.code)
		})
	}
}

func TestGetJobWithoutPathParameters(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t, strictStore(t), nil)
	req := getRequest(t, "x", aliceClaims)
	req.PathParameters = nil
	resp, _ := h.GetJob(context.Background(), req)
	wantError(t, resp, http.StatusBadRequest, jobs.EINVALID)
}

func TestGetJobStoreUnavailable(t *testing.T) {
	t.Parallel()
	store := strictStore(t)
	store.GetFn = func(context.Context, string) (jobs.Job, error) {
		return jobs.Job{}, jobs.Wrap(jobs.EUNAVAILABLE, errors.New("ProvisionedThroughputExceededException"), "The job store is busy; retry shortly.")
	}
	h, log := newHandler(t, store, nil)
	resp, _ := h.GetJob(context.Background(), getRequest(t, "job_x", aliceClaims))
	msg := wantError(t, resp, http.StatusServiceUnavailable, jobs.EUNAVAILABLE)
	if msg != "The job store is busy; retry shortly." {
		t.Errorf("message = %q, want the caller-safe message", msg)
	}
	if strings.Contains(resp.Body, "Provisioned") {
		t.Errorf("body %s leaks the cause", resp.Body)
	}
	if got := resp.Headers["Access-Control-Allow-Origin"]; got != adminOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, adminOrigin)
	}
	if l := log.String(); !strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, "ProvisionedThroughputExceededException") {
		t.Errorf("log = %s, want an ERROR line with the cause", l)
	}
}

func TestGetJobInternalErrorRevealsNothing(t *testing.T) {
	t.Parallel()
	const secret = "arn:aws:dynamodb:eu-west-1:123456789012:table/Jobs-prod AccessDeniedException"
	tests := []struct {
		name string
		err  error
	}{
		{"plain error", errors.New(secret)},
		{"EINTERNAL", jobs.Wrap(jobs.EINTERNAL, errors.New(secret), "DynamoDB GetItem failed: "+secret)},
	}
	for _, tt := range tests {
		store := strictStore(t)
		store.GetFn = func(context.Context, string) (jobs.Job, error) { return jobs.Job{}, tt.err }
		h, log := newHandler(t, store, nil)
		resp, _ := h.GetJob(context.Background(), getRequest(t, "job_x", aliceClaims))
		if msg := wantError(t, resp, http.StatusInternalServerError, jobs.EINTERNAL); msg != "Internal error." {
			t.Errorf("%s: message = %q, want %q", tt.name, msg, "Internal error.")
		}
		for _, part := range []string{"arn:aws", "123456789012", "AccessDenied", "DynamoDB", "Jobs-prod"} {
			if strings.Contains(resp.Body, part) {
				t.Errorf("%s: body %s leaks %q", tt.name, resp.Body, part)
			}
		}
		if !strings.Contains(log.String(), secret) {
			t.Errorf("%s: log = %s, want the cause for operators", tt.name, log.String())
		}
	}
}

func TestGetJobPanicIsA500WithHeaders(t *testing.T) {
	t.Parallel()
	store := strictStore(t)
	store.GetFn = func(context.Context, string) (jobs.Job, error) { panic("nil map write in store: secret-detail") }
	h, log := newHandler(t, store, nil)
	resp, err := h.GetJob(context.Background(), getRequest(t, "job_x", aliceClaims))
	if err != nil {
		t.Fatalf("GetJob returned error %v after a panic", err)
	}
	if msg := wantError(t, resp, http.StatusInternalServerError, jobs.EINTERNAL); msg != "Internal error." {
		t.Errorf("message = %q, want %q", msg, "Internal error.")
	}
	if got := resp.Headers["Access-Control-Allow-Origin"]; got != adminOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, adminOrigin)
	}
	if strings.Contains(resp.Body, "secret-detail") {
		t.Errorf("body %s leaks the panic value", resp.Body)
	}
	if l := log.String(); !strings.Contains(l, "secret-detail") || !strings.Contains(l, `"msg":"panic"`) {
		t.Errorf("log = %s, want the panic logged", l)
	}
}

func TestNewHandlerWithoutLogger(t *testing.T) {
	t.Parallel()
	h := apigw.NewHandler(&jobs.Service{Store: strictStore(t)}, origins, nil)
	if h.Log == nil {
		t.Fatal("NewHandler(nil logger).Log = nil, want a default logger")
	}
	resp, _ := h.GetJob(context.Background(), getRequest(t, "../x", aliceClaims))
	wantError(t, resp, http.StatusBadRequest, jobs.EINVALID)
	if got := resp.Headers["Access-Control-Allow-Origin"]; got != adminOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, adminOrigin)
	}
}
