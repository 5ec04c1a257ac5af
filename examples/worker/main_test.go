package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/contracttest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// TestAgainstMakeRun runs the example, configured only by environment (the
// SDK's endpoint variables and what make run prints), against the local
// server make run starts, without its simulated worker: the example takes
// each job from the pipeline queue, reports progress, honours a cancel and
// completes, and the service sees it all through its status-events queue.
func TestAgainstMakeRun(t *testing.T) {
	s, err := localserver.Start(context.Background(), localserver.Options{
		Addr: "127.0.0.1:0", Template: "../../template.yaml", Existing: "../../dev/existing-api.yaml", Params: "../../dev/params.json",
		Worker: false, Log: slog.New(slog.DiscardHandler),
		OnQueueSend: func(queue, body string) { // hand-offs and reports keep to the contracts
			schema := contracttest.StatusEvent
			if queue == "local-pipeline" {
				schema = contracttest.Handoff
			}
			contracttest.Valid(t, schema, []byte(body))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SQS": s.Queues.Endpoint, "AWS_ENDPOINT_URL_LAMBDA": s.Queues.Endpoint,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": "",
		// Queue names and the check function default to make run's.
		"PIPELINE_QUEUE_URL": "", "STATUS_EVENTS_QUEUE_URL": "", "WORKER_CHECK_FUNCTION": "",
		"WORK_STEPS": "4", "WORK_STEP_DELAY": "300ms",
	} {
		t.Setenv(k, v)
	}
	var logs testenv.LogBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, os.Getenv, &logs) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v\n%s", err, logs.String())
		}
	})

	alice := jobs.Caller{Subject: "alice-sub"}
	bg := context.Background()
	// wait polls the job until ok, recording every progress seen.
	wait := func(id string, ok func(jobs.Job) bool) (jobs.Job, []int) {
		t.Helper()
		var seen []int
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			j, err := s.Service.Get(bg, alice, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) == 0 || seen[len(seen)-1] != j.Progress {
				seen = append(seen, j.Progress)
			}
			if ok(j) {
				return j, seen
			}
		}
		t.Fatalf("job %s never got there; worker log:\n%s", id, logs.String())
		return jobs.Job{}, nil
	}

	done1, err := s.Service.Submit(bg, alice, jobs.Spec{Prompt: "a cat surfing a wave"}, "")
	if err != nil {
		t.Fatal(err)
	}
	j, seen := wait(done1.Job.ID, func(j jobs.Job) bool { return j.Status.Terminal() })
	if j.Status != jobs.Completed || j.OutputURL != "https://cdn.example.com/videos/"+j.ID+".mp4" || j.Progress != 100 {
		t.Errorf("first job = %+v, want COMPLETED with the example's output URL", j)
	}
	if len(seen) < 3 { // 0, some of 25/50/75, 100
		t.Errorf("progress seen %v, want it rising through the work", seen)
	}

	cancelled, err := s.Service.Submit(bg, alice, jobs.Spec{Prompt: "a dog skiing"}, "")
	if err != nil {
		t.Fatal(err)
	}
	wait(cancelled.Job.ID, func(j jobs.Job) bool { return j.Status == jobs.Processing && j.Progress >= 25 })
	if j, err := s.Service.Cancel(bg, alice, cancelled.Job.ID); err != nil || !j.CancelRequested {
		t.Fatalf("Cancel = %+v, %v; want a cancel request on the running job", j, err)
	}
	j, _ = wait(cancelled.Job.ID, func(j jobs.Job) bool { return j.Status.Terminal() })
	if j.Status != jobs.Cancelled || j.Progress == 100 {
		t.Errorf("cancelled job = %+v, want CANCELLED by the worker before it finished", j)
	}
	// The worker said so itself, well within the stack's cancel limit: the
	// sweeper had no part in it.
	if j.CompletedAt.Sub(j.CancelRequestedAt) > 5*time.Second {
		t.Errorf("CANCELLED %v after the request, want the worker's prompt answer", j.CompletedAt.Sub(j.CancelRequestedAt))
	}
}
