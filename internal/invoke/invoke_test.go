package invoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/mock"
	"github.com/deepfoundai/jobs-api/test/contracttest"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
	"github.com/deepfoundai/jobs-api/worker"
)

func newService(t *testing.T, store jobs.Store, clock *jobstest.Clock) *jobs.Service {
	t.Helper()
	return &jobs.Service{Store: store, Now: clock.Now, Limits: jobs.Limits{Queue: 10 * time.Minute, Heartbeat: 4 * time.Minute}}
}

func create(t *testing.T, s jobs.Store, js ...jobs.Job) {
	t.Helper()
	for _, j := range js {
		if err := s.Create(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckHandler(t *testing.T) {
	t.Parallel()
	store := inmem.NewStore()
	clock := jobstest.NewClock(jobstest.T0)
	running := jobstest.NewJob("job_run", "alice")
	running.Status, running.StartedAt = jobs.Processing, jobstest.T0
	cancelling := running
	cancelling.ID, cancelling.CancelRequested = "job_cancel", true
	create(t, store, jobstest.NewJob("job_q", "alice"), running, cancelling)
	var logs testenv.LogBuffer
	h := &invoke.CheckHandler{Service: newService(t, store, clock), Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	tests := []struct {
		payload string
		want    worker.CheckResponse
		err     string
	}{
		{`{"jobId":"job_q"}`, worker.CheckResponse{JobID: "job_q", Decision: worker.DecisionContinue, Status: "QUEUED", CheckWithinSeconds: 120}, ""},
		{`{"jobId":"job_run"}`, worker.CheckResponse{JobID: "job_run", Decision: worker.DecisionContinue, Status: "PROCESSING", CheckWithinSeconds: 120}, ""},
		{`{"jobId":"job_cancel"}`, worker.CheckResponse{JobID: "job_cancel", Decision: worker.DecisionCancel, Status: "PROCESSING", CheckWithinSeconds: 120}, ""},
		{`{"jobId":"job_nope"}`, worker.CheckResponse{JobID: "job_nope", Decision: worker.DecisionGone, CheckWithinSeconds: 120}, ""},
		{`{"JobId":"job_q"}`, worker.CheckResponse{}, "invalid_request: JobId: unknown field"},
		{`{"jobId":"job_q","x":1}`, worker.CheckResponse{}, "invalid_request: x: unknown field"},
		{`{"jobId":"../etc"}`, worker.CheckResponse{}, "invalid_request: job id"},
		{`{"jobId":7}`, worker.CheckResponse{}, "invalid_request: jobId: a string"},
		{`[]`, worker.CheckResponse{}, "invalid_request: request"},
		{`{"jobId":"` + strings.Repeat("a", 2000) + `"}`, worker.CheckResponse{}, "invalid_request: request: at most"},
	}
	for _, tt := range tests {
		got, err := h.Handle(context.Background(), json.RawMessage(tt.payload))
		if tt.err != "" {
			if contracttest.Check(t, contracttest.CheckRequest, []byte(tt.payload)) == nil {
				t.Errorf("check-request schema accepts %.40s, which the function refuses", tt.payload)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("Handle(%.40s) error = %v, want %q…", tt.payload, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Handle(%s) = %+v, %v; want %+v", tt.payload, got, err, tt.want)
		}
		contracttest.Valid(t, contracttest.CheckRequest, []byte(tt.payload))
		out, _ := json.Marshal(got)
		contracttest.Valid(t, contracttest.CheckResponse, out)
	}
	// A check four minutes on kept job_run alive (a heartbeat).
	clock.Set(jobstest.T0.Add(3 * time.Minute))
	if _, err := h.Handle(context.Background(), json.RawMessage(`{"jobId":"job_run"}`)); err != nil {
		t.Fatal(err)
	}
	if j, _ := store.GetLatest(context.Background(), "job_run"); !j.HeartbeatAt.Equal(clock.Now()) {
		t.Errorf("heartbeatAt = %v, want the check's time %v", j.HeartbeatAt, clock.Now())
	}
	// A failing table: an error that names no cause.
	failing := &mock.Store{GetLatestFn: func(context.Context, string) (jobs.Job, error) {
		return jobs.Job{}, jobs.Wrap(jobs.EUNAVAILABLE, errors.New("dynamodb: secret detail"), "try later")
	}}
	h.Service = newService(t, failing, clock)
	if _, err := h.Handle(context.Background(), json.RawMessage(`{"jobId":"job_q"}`)); err == nil || strings.Contains(err.Error(), "secret") || !strings.HasPrefix(err.Error(), "service_unavailable") {
		t.Errorf("on a failing table: %v, want service_unavailable without the cause", err)
	}
}

func TestSweepHandlerLogsMetrics(t *testing.T) {
	t.Parallel()
	store := inmem.NewStore()
	clock := jobstest.NewClock(jobstest.T0)
	running := jobstest.NewJob("job_run", "alice")
	running.Status, running.StartedAt = jobs.Processing, jobstest.T0
	young := jobstest.NewJob("job_young", "bob")
	young.CreatedAt = jobstest.T0.Add(5 * time.Minute)
	create(t, store, jobstest.NewJob("job_q", "alice"), running, young)
	clock.Set(jobstest.T0.Add(10 * time.Minute))
	var logs testenv.LogBuffer
	h := &invoke.SweepHandler{
		Service: newService(t, store, clock), Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Namespace: "JobsApi/test", Now: clock.Now,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := h.Handle(ctx, json.RawMessage(`{"source":"aws.events"}`))
	if err != nil || sum.Scanned != 3 || sum.Changed["QUEUE_TIMEOUT"] != 1 || sum.Changed["HEARTBEAT_TIMEOUT"] != 1 || sum.Truncated {
		t.Fatalf("Handle = %+v, %v", sum, err)
	}
	var timedOut []string
	var emf map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if strings.HasPrefix(m["msg"].(string), "JOB_TIMED_OUT") {
			timedOut = append(timedOut, m["jobId"].(string)+" "+m["reason"].(string))
		}
		if _, ok := m["_aws"]; ok {
			emf = m
		}
	}
	if strings.Join(timedOut, ",") != "job_q QUEUE_TIMEOUT,job_run HEARTBEAT_TIMEOUT" {
		t.Errorf("JOB_TIMED_OUT lines: %v", timedOut)
	}
	if emf == nil {
		t.Fatalf("no embedded-metric-format line in %s", logs.String())
	}
	meta := emf["_aws"].(map[string]any)
	if meta["Timestamp"].(float64) != float64(clock.Now().UnixMilli()) {
		t.Errorf("Timestamp = %v", meta["Timestamp"])
	}
	directive := meta["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if directive["Namespace"] != "JobsApi/test" {
		t.Errorf("Namespace = %v", directive["Namespace"])
	}
	want := map[string]float64{"JobsSwept": 3, "JobsTimedOut": 2, "QueueTimeouts": 1, "HeartbeatTimeouts": 1, "RunTimeouts": 0, "CancelTimeouts": 0, "DeadlinesReached": 0, "SweepErrors": 0}
	metrics := directive["Metrics"].([]any)
	if len(metrics) != len(want) {
		t.Errorf("%d metrics declared, want %d", len(metrics), len(want))
	}
	for _, m := range metrics {
		name := m.(map[string]any)["Name"].(string)
		// Every declared metric is a root member (the format requires it).
		if got, ok := emf[name].(float64); !ok || got != want[name] {
			t.Errorf("metric %s = %v, want %v", name, emf[name], want[name])
		}
	}
}

func TestSweepHandlerFailsWhenItCannotList(t *testing.T) {
	t.Parallel()
	failing := &mock.Store{}
	var logs testenv.LogBuffer
	h := &invoke.SweepHandler{Service: &jobs.Service{Store: failing}, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Namespace: "JobsApi/test"}
	if _, err := h.Handle(context.Background(), nil); err == nil {
		t.Fatalf("Handle without an index succeeded")
	}
	if !strings.Contains(logs.String(), `"SweepErrors":1`) {
		t.Errorf("no SweepErrors metric in %s", logs.String())
	}
}
