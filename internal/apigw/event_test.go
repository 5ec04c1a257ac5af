package apigw_test

import (
	"encoding/json"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

// TestJobEventsMatchOpenAPI renders push events of every job shape and
// holds them to the JobEvent schema: the job as an admin's GET shows it,
// and the ETag a GET would send.
func TestJobEventsMatchOpenAPI(t *testing.T) {
	t.Parallel()
	doc, _ := oaSpec(t)
	schema := doc.Components.Schemas["JobEvent"].Value
	done := jobstest.NewJob("job_done", "alice-sub")
	done.Status, done.Progress, done.OutputURL, done.CompletedAt, done.Version = jobs.Completed, 100, "https://cdn.example.com/x.mp4", jobstest.T0, 4
	legacy := jobs.Job{ID: "legacy-1", Status: jobs.Queued, CreatedAt: jobstest.T0, UpdatedAt: jobstest.T0, Version: 1}
	for _, j := range []jobs.Job{jobstest.NewJob("job_new", "alice-sub"), done, legacy} {
		b, err := apigw.RenderJobEvent(j)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(v); err != nil {
			t.Errorf("%s: event %s does not match JobEvent: %v", j.ID, b, err)
		}
		ev := apigw.NewJobEvent(j)
		if ev.ETag != apigw.ETag(j) || ev.Job.OwnerID != j.OwnerID || ev.Job.Version != j.Version || ev.Type != "job" {
			t.Errorf("%s: event %+v, want the job's ETag, owner and version", j.ID, ev)
		}
	}
	// Drift is caught: a field the schema does not know.
	var bad map[string]any
	b, _ := apigw.RenderJobEvent(done)
	_ = json.Unmarshal(b, &bad)
	bad["job"].(map[string]any)["idempotencyKey"] = "k"
	if err := schema.VisitJSON(bad); err == nil {
		t.Error("JobEvent schema accepted an undocumented job field")
	}
}
