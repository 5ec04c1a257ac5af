package apigw_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

func TestNotModified(t *testing.T) {
	t.Parallel()
	const tag = `"abc123"`
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{tag}, true},
		{[]string{`W/"abc123"`}, true},
		{[]string{`"x", "abc123"`}, true},
		{[]string{` "x" ,W/"abc123" `}, true},
		{[]string{`"x"`, `"abc123"`}, true}, // the header sent twice
		{[]string{"*"}, true},
		{[]string{`"abc12"`}, false},
		{[]string{`"abc1234"`}, false},
		{[]string{`abc123`}, false}, // unquoted: malformed, ignored
		{[]string{`"abc123`}, false},
		{[]string{`"a,b", "c"`}, false},
		{[]string{`W/`}, false},
	}
	for _, tt := range tests {
		if got := apigw.NotModified(tt.values, tag); got != tt.want {
			t.Errorf("NotModified(%q, %s) = %v, want %v", tt.values, tag, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p      apigw.Polling
		status jobs.Status
		want   string
	}{
		{apigw.Polling{}, jobs.Queued, "2"},
		{apigw.Polling{}, jobs.Processing, "5"},
		{apigw.Polling{Queued: 3 * time.Second, Processing: 1500 * time.Millisecond}, jobs.Queued, "3"},
		{apigw.Polling{Queued: 3 * time.Second, Processing: 1500 * time.Millisecond}, jobs.Processing, "2"},
		{apigw.Polling{Processing: time.Millisecond}, jobs.Processing, "1"},
		{apigw.Polling{}, jobs.Completed, ""},
		{apigw.Polling{}, jobs.Failed, ""},
		{apigw.Polling{}, jobs.Cancelled, ""},
	}
	for _, tt := range tests {
		got, ok := tt.p.RetryAfter(tt.status)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%+v.RetryAfter(%s) = %q, %v; want %q", tt.p, tt.status, got, ok, tt.want)
		}
	}
}

func TestETagFollowsTheJob(t *testing.T) {
	t.Parallel()
	j := jobstest.NewJob("job_1", "alice")
	base := apigw.ETag(j)
	if len(base) != 26 || base[0] != '"' || base[25] != '"' {
		t.Fatalf("ETag = %s, want a quoted 24-hex-digit strong tag", base)
	}
	next := j
	next.Version++
	recreated := j
	recreated.CreatedAt = recreated.CreatedAt.Add(time.Millisecond)
	other := j
	other.ID = "job_2"
	for name, k := range map[string]jobs.Job{"next version": next, "recreated": recreated, "another job": other} {
		if apigw.ETag(k) == base {
			t.Errorf("%s has the same ETag", name)
		}
	}
	same := j
	same.OwnerID = "bob" // not part of the representation
	if apigw.ETag(same) != base {
		t.Errorf("ETag depends on something outside the representation")
	}
}

func headersHandler(t *testing.T) *apigw.Handler {
	t.Helper()
	ok, _, _, _ := oaHandlers(t)
	return ok
}

func TestGetJob304KeepsCORSAndPollingHeaders(t *testing.T) {
	t.Parallel()
	h := headersHandler(t)
	h.Polling = apigw.Polling{Queued: 7 * time.Second}
	first, _ := h.GetJob(context.Background(), getEv("job_queued", map[string]string{"Origin": "https://admin.deepfoundai.com"}).proxy())
	if first.StatusCode != 200 || first.Headers["Retry-After"] != "7" {
		t.Fatalf("first GET: %d, Retry-After %q; want 200 and the configured 7", first.StatusCode, first.Headers["Retry-After"])
	}
	ev := getEv("job_queued", map[string]string{"Origin": "https://admin.deepfoundai.com"}).proxy()
	ev.MultiValueHeaders["if-none-match"] = []string{`"nope"`, first.Headers["ETag"]}
	resp, _ := h.GetJob(context.Background(), ev)
	want := map[string]string{
		"ETag": first.Headers["ETag"], "Retry-After": "7", "Vary": "Origin", "Cache-Control": "private, no-cache, no-store",
		"Access-Control-Allow-Origin": "https://admin.deepfoundai.com", "Access-Control-Expose-Headers": apigw.ExposedHeaders,
	}
	if resp.StatusCode != 304 || resp.Body != "" {
		t.Fatalf("conditional GET: %d %q, want 304 and no body", resp.StatusCode, resp.Body)
	}
	for k, v := range want {
		if resp.Headers[k] != v {
			t.Errorf("304 header %s = %q, want %q", k, resp.Headers[k], v)
		}
	}
	if _, ok := resp.Headers["Content-Type"]; ok {
		t.Errorf("304 has a Content-Type")
	}
	if !strings.Contains(apigw.ExposedHeaders, "Idempotent-Replayed") || !strings.Contains(apigw.ExposedHeaders, "ETag") {
		t.Errorf("ExposedHeaders = %q: browser code could not read ETag or Idempotent-Replayed", apigw.ExposedHeaders)
	}
}

func TestListJobsQueryParameters(t *testing.T) {
	t.Parallel()
	h := headersHandler(t)
	ctx := context.Background()
	list := func(mutate func(*events.APIGatewayProxyRequest)) events.APIGatewayProxyResponse {
		ev := listEv("carol", "", nil).proxy()
		mutate(&ev)
		resp, _ := h.ListJobs(ctx, ev)
		return resp
	}
	// status may repeat; the values add up.
	resp := list(func(ev *events.APIGatewayProxyRequest) {
		ev.MultiValueQueryStringParameters = map[string][]string{"status": {"PROCESSING", "queued"}}
		ev.QueryStringParameters = map[string]string{"status": "queued"}
	})
	if resp.StatusCode != 200 || strings.Count(resp.Body, `"jobId"`) != 3 {
		t.Errorf("repeated status: %d %s; want carol's 3 QUEUED jobs", resp.StatusCode, resp.Body)
	}
	// Only queryStringParameters (as some test tools send): still read.
	resp = list(func(ev *events.APIGatewayProxyRequest) { ev.QueryStringParameters = map[string]string{"limit": "1"} })
	if resp.StatusCode != 200 || strings.Count(resp.Body, `"jobId"`) != 1 || !strings.Contains(resp.Body, `"nextCursor"`) {
		t.Errorf("limit=1 without multi-value parameters: %d %s", resp.StatusCode, resp.Body)
	}
	bad := map[string]map[string][]string{
		"repeated limit": {"limit": {"1", "2"}},
		"empty cursor":   {"cursor": {""}},
		"empty scope":    {"scope": {""}},
		"empty order":    {"order": {""}},
		"limit zero":     {"limit": {"0"}},
		"limit word":     {"limit": {"ten"}},
		"empty status":   {"status": {"QUEUED,"}},
		"empty ids":      {"ids": {""}},
		"bad id":         {"ids": {"job_1,../x"}},
		"long ids":       {"ids": {strings.Repeat("a", 7000)}},
	}
	for name, q := range bad {
		resp := list(func(ev *events.APIGatewayProxyRequest) { ev.MultiValueQueryStringParameters = q })
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"invalid_request"`) {
			t.Errorf("%s: %d %s; want 400 invalid_request", name, resp.StatusCode, resp.Body)
		}
	}
	// An empty listing is an empty array, never null.
	resp, _ = h.ListJobs(ctx, listEv("nobody", "", nil).proxy())
	if resp.Body != `{"jobs":[]}` {
		t.Errorf("empty listing body = %s", resp.Body)
	}
}

func TestCancelJobHeaders(t *testing.T) {
	t.Parallel()
	h := headersHandler(t)
	ctx := context.Background()
	resp, _ := h.CancelJob(ctx, cancelEv("job_running", "alice", "").proxy())
	if resp.StatusCode != 202 || resp.Headers["Location"] != "/v1/jobs/job_running" || resp.Headers["Retry-After"] != "5" || !strings.Contains(resp.Body, `"cancelRequested":true`) {
		t.Errorf("cancel PROCESSING: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	resp, _ = h.CancelJob(ctx, cancelEv("job_queued", "alice", "").proxy())
	if resp.StatusCode != 200 || resp.Headers["Location"] != "" || resp.Headers["Retry-After"] != "" || !strings.Contains(resp.Body, `"terminal":true`) {
		t.Errorf("cancel QUEUED: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// TestUnknownQueryParameterEchoIsValidUTF8: a long unknown parameter name is
// echoed cut short, on a character boundary, so the error stays valid JSON
// text whatever bytes the name had.
func TestUnknownQueryParameterEchoIsValidUTF8(t *testing.T) {
	t.Parallel()
	h := headersHandler(t)
	for _, name := range []string{strings.Repeat("a", 31) + "é" + "tail", strings.Repeat("é", 40), strings.Repeat("🎬", 40)} {
		ev := listEv("carol", "", nil).proxy()
		ev.QueryStringParameters = map[string]string{name: "1"}
		ev.MultiValueQueryStringParameters = map[string][]string{name: {"1"}}
		resp, _ := h.ListJobs(context.Background(), ev)
		msg := wantError(t, resp, 400, jobs.EINVALID)
		if !utf8.ValidString(msg) || strings.ContainsRune(msg, utf8.RuneError) {
			t.Errorf("parameter %q: message %q is not clean UTF-8", name, msg)
		}
		if !strings.Contains(msg, "…") || utf8.RuneCountInString(msg) > 120 {
			t.Errorf("parameter %q: message %q, want the name cut short and marked", name, msg)
		}
	}
}
