package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
	"github.com/deepfoundai/jobs-api/worker"
)

// TestSweepAndCheck runs the built SweepJobsFn and WorkerCheckFn on one
// table: a crashed worker's job and a job nobody picked up are ended by a
// scheduled invocation with the configured limits, which logs its metrics
// in the embedded metric format; the worker check answers what it finds.
func TestSweepAndCheck(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	client, table := testenv.NewTable(t)
	env := map[string]string{
		"JOBS_TABLE": table, "AWS_ENDPOINT_URL_DYNAMODB": testenv.Endpoint(t),
		"JOB_QUEUE_TIMEOUT_SECONDS": "3600", "JOB_HEARTBEAT_TIMEOUT_SECONDS": "600", "METRICS_NAMESPACE": "JobsApi/e2e",
	}
	sweep := startFunction(t, "SweepJobsFn", sweepJobsBin, env)
	check := startFunction(t, "WorkerCheckFn", checkJobBin, env)

	now := time.Now().UTC().Truncate(time.Millisecond)
	crashed := jobstest.NewJob(jobs.NewID(), "alice")
	crashed.Status, crashed.Progress = jobs.Processing, 30
	crashed.CreatedAt, crashed.StartedAt, crashed.HeartbeatAt = now.Add(-30*time.Minute), now.Add(-29*time.Minute), now.Add(-11*time.Minute)
	stuck := jobstest.NewJob(jobs.NewID(), "bob")
	stuck.CreatedAt = now.Add(-2 * time.Hour)
	alive := jobstest.NewJob(jobs.NewID(), "carol")
	alive.Status, alive.CreatedAt, alive.StartedAt = jobs.Processing, now.Add(-time.Minute), now.Add(-time.Minute)
	store := dynamodb.New(client, table)
	for _, j := range []jobs.Job{crashed, stuck, alive} {
		j.UpdatedAt = j.CreatedAt
		if err := store.Create(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}

	status, body, _ := sweep.invokeRaw(t, map[string]any{"source": "aws.events", "detail-type": "Scheduled Event"})
	var sum struct {
		Scanned int            `json:"scanned"`
		Changed map[string]int `json:"changed"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &sum) != nil || sum.Scanned != 3 || sum.Changed["HEARTBEAT_TIMEOUT"] != 1 || sum.Changed["QUEUE_TIMEOUT"] != 1 {
		t.Fatalf("sweep: HTTP %d %s", status, body)
	}
	for id, code := range map[string]string{crashed.ID: jobs.HeartbeatTimeoutCode, stuck.ID: jobs.QueueTimeoutCode} {
		j, err := store.GetLatest(context.Background(), id)
		if err != nil || j.Status != jobs.Failed || j.Error == nil || j.Error.Code != code {
			t.Errorf("job %s = %+v, %v; want FAILED %s", id, j, err, code)
		}
	}
	waitForOutput(t, sweep, `"JobsTimedOut":2`)
	waitForOutput(t, sweep, `"Namespace":"JobsApi/e2e"`)
	waitForOutput(t, sweep, "JOB_TIMED_OUT")

	for _, tt := range []struct {
		id   string
		want worker.Decision
	}{{alive.ID, worker.DecisionContinue}, {crashed.ID, worker.DecisionGone}, {jobs.NewID(), worker.DecisionGone}} {
		status, body, _ := check.invokeRaw(t, worker.CheckRequest{JobID: tt.id})
		var resp worker.CheckResponse
		if status != http.StatusOK || json.Unmarshal(body, &resp) != nil || resp.Decision != tt.want || resp.CheckWithinSeconds != 300 {
			t.Errorf("check %s: HTTP %d %s; want %s within 300 s", tt.id, status, body, tt.want)
		}
	}
	// A malformed request is a function error naming the field, nothing more.
	status, body, _ = check.invokeRaw(t, map[string]any{"JobID": alive.ID})
	if status != http.StatusOK || !strings.Contains(string(body), "JobID: unknown field") || !strings.Contains(string(body), "errorMessage") {
		t.Errorf("malformed check: HTTP %d %s; want a function error naming JobID", status, body)
	}
}
