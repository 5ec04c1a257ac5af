package apigw_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// batchRequest is GET /v1/jobs?ids=... from an allowed origin, with
// If-None-Match when etag is set.
func batchRequest(t *testing.T, ids string, claims map[string]any, etag string) events.APIGatewayProxyRequest {
	t.Helper()
	h := map[string]string{"Origin": videoOrigin}
	if etag != "" {
		h["If-None-Match"] = etag
	}
	ev := event(t, request{method: "GET", resource: "/v1/jobs", path: "/v1/jobs", headers: h, claims: claims})
	ev.QueryStringParameters = map[string]string{"ids": ids}
	ev.MultiValueQueryStringParameters = map[string][]string{"ids": {ids}}
	return ev
}

// TestBatchPolling holds the ids form to the polling contract of a job's
// GET: an ETag that changes with any job in the answer, 304 while nothing
// changed, and the shortest Retry-After of its unfinished jobs.
func TestBatchPolling(t *testing.T) {
	t.Parallel()
	store, _ := newMemory()
	for _, j := range fixtureJobs() {
		seed(t, store, j)
	}
	h, _ := newHandler(t, store, nil)
	h.Polling = apigw.Polling{Queued: 2e9, Processing: 7e9}
	get := func(ids string, claims map[string]any, etag string) events.APIGatewayProxyResponse {
		t.Helper()
		resp, err := h.ListJobs(context.Background(), batchRequest(t, ids, claims, etag))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	tests := []struct {
		name, ids  string
		retryAfter string // "" = absent
	}{
		{"queued and processing: the shorter", "job_processing,job_queued", "2"},
		{"processing only", "job_processing,job_completed", "7"},
		{"all finished: nothing to poll for", "job_completed,job_failed,job_cancelled", ""},
		{"none visible", "job_nope", ""},
	}
	for _, tt := range tests {
		resp := get(tt.ids, aliceClaims, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d (%s)", tt.name, resp.StatusCode, resp.Body)
		}
		if got := resp.Headers["Retry-After"]; got != tt.retryAfter {
			t.Errorf("%s: Retry-After = %q, want %q", tt.name, got, tt.retryAfter)
		}
		etag := resp.Headers["ETag"]
		if etag == "" {
			t.Fatalf("%s: no ETag", tt.name)
		}
		again := get(tt.ids, aliceClaims, etag)
		if again.StatusCode != http.StatusNotModified || again.Body != "" || again.Headers["ETag"] != etag || again.Headers["Retry-After"] != tt.retryAfter {
			t.Errorf("%s: with its own ETag: %d %v %q, want 304, the same ETag and Retry-After, no body", tt.name, again.StatusCode, again.Headers, again.Body)
		}
	}

	// Any change to a job in the answer, and a change of who asks, is a new ETag.
	ids := "job_processing,job_queued"
	first := get(ids, aliceClaims, "")
	etag := first.Headers["ETag"]
	if admin := get(ids, adminClaims, etag); admin.StatusCode != http.StatusOK || admin.Headers["ETag"] == etag {
		t.Errorf("an admin's answer (with owners) under the owner's ETag: %d, ETag %s", admin.StatusCode, admin.Headers["ETag"])
	}
	if other := get("job_queued,job_processing", aliceClaims, etag); other.StatusCode != http.StatusOK {
		t.Errorf("another order under the first order's ETag: %d, want 200", other.StatusCode)
	}
	j, err := store.Get(context.Background(), "job_processing")
	if err != nil {
		t.Fatal(err)
	}
	j.Progress, j.Version = 50, j.Version+1
	if err := store.Update(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	changed := get(ids, aliceClaims, etag)
	if changed.StatusCode != http.StatusOK || changed.Headers["ETag"] == etag {
		t.Fatalf("after a progress change: %d, ETag %s (was %s), want 200 and a new ETag", changed.StatusCode, changed.Headers["ETag"], etag)
	}
	body := decodeObject(t, changed.Body)
	if got := body["jobs"].([]any)[0].(map[string]any)["progress"]; got != 50.0 {
		t.Errorf("progress after the change = %v, want 50", got)
	}
	// The paged form is not a poll: no ETag.
	page, _ := h.ListJobs(context.Background(), event(t, request{method: "GET", resource: "/v1/jobs", path: "/v1/jobs", claims: aliceClaims}))
	if _, ok := page.Headers["ETag"]; ok || page.StatusCode != http.StatusOK {
		t.Errorf("paged list: %d with ETag %q, want 200 without", page.StatusCode, page.Headers["ETag"])
	}
}

func TestJobViewShowsOwnersToAdminsOnly(t *testing.T) {
	t.Parallel()
	j := jobs.Job{ID: "job_1", OwnerID: "alice-sub", Status: jobs.Queued, Version: 3, Spec: jobs.Spec{Prompt: "p", DurationSeconds: 5, AspectRatio: "1:1", Resolution: "720p"}}
	tests := []struct {
		caller jobs.Caller
		want   string
	}{
		{jobs.Caller{Subject: "alice-sub"}, ""},
		{jobs.Caller{Subject: "root", Admin: true}, "alice-sub"},
	}
	for _, tt := range tests {
		v := apigw.JobView(j, tt.caller)
		if v.OwnerID != tt.want || v.Version != 3 || v.Options == nil || v.Options.AspectRatio != "1:1" {
			t.Errorf("JobView for %v = %+v, want ownerId %q, version 3 and the options", tt.caller, v, tt.want)
		}
	}
	if v := apigw.NewJobResponse(jobs.Job{ID: "old", Status: jobs.Completed, Version: 1}); v.Options != nil || v.Prompt != "" {
		t.Errorf("a job recorded without a request shows options %+v, prompt %q", v.Options, v.Prompt)
	}
}
