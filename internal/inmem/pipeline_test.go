package inmem_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

func job(id string) jobs.Job {
	return jobs.Job{ID: id, OwnerID: "alice", Status: jobs.Queued, Version: 1}
}

func ids(js []jobs.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func TestPipelineRecordsInOrder(t *testing.T) {
	t.Parallel()
	var p inmem.Pipeline
	for _, id := range []string{"job_a", "job_b", "job_c"} {
		if err := p.Enqueue(context.Background(), job(id)); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", id, err)
		}
	}
	got := p.Jobs()
	if fmt.Sprint(ids(got)) != "[job_a job_b job_c]" {
		t.Errorf("Jobs() = %v, want [job_a job_b job_c]", ids(got))
	}
	got[0].ID = "mutated"
	if again := p.Jobs(); again[0].ID != "job_a" {
		t.Errorf("Jobs() shares its slice with callers: got %q after mutating a copy", again[0].ID)
	}
}

func TestPipelineFail(t *testing.T) {
	t.Parallel()
	boom := jobs.Errorf(jobs.EUNAVAILABLE, "queue down")
	var seen []string
	p := &inmem.Pipeline{Fail: func(j jobs.Job) error {
		seen = append(seen, j.ID)
		if j.ID == "job_bad" {
			return boom
		}
		return nil
	}}
	if err := p.Enqueue(context.Background(), job("job_ok")); err != nil {
		t.Errorf("Enqueue(job_ok) error = %v, want nil", err)
	}
	if err := p.Enqueue(context.Background(), job("job_bad")); !errors.Is(err, boom) {
		t.Errorf("Enqueue(job_bad) error = %v, want %v", err, boom)
	}
	if fmt.Sprint(seen) != "[job_ok job_bad]" {
		t.Errorf("Fail saw %v, want [job_ok job_bad]", seen)
	}
	if got := ids(p.Jobs()); fmt.Sprint(got) != "[job_ok]" {
		t.Errorf("Jobs() = %v, want only the job that was accepted", got)
	}
}

func TestPipelineChannel(t *testing.T) {
	t.Parallel()
	p := &inmem.Pipeline{C: make(chan jobs.Job, 1)}
	if err := p.Enqueue(context.Background(), job("job_a")); err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	if got := <-p.C; got.ID != "job_a" {
		t.Errorf("received %q, want job_a", got.ID)
	}
}

func TestPipelineChannelWithReader(t *testing.T) {
	t.Parallel()
	p := &inmem.Pipeline{C: make(chan jobs.Job)}
	done := make(chan []string)
	go func() {
		var got []string
		for j := range p.C {
			got = append(got, j.ID)
		}
		done <- got
	}()
	for _, id := range []string{"job_a", "job_b"} {
		if err := p.Enqueue(context.Background(), job(id)); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", id, err)
		}
	}
	close(p.C)
	if got := <-done; fmt.Sprint(got) != "[job_a job_b]" {
		t.Errorf("reader got %v, want [job_a job_b]", got)
	}
}

func TestPipelineChannelCancelledContext(t *testing.T) {
	t.Parallel()
	// Nobody reads C, so only the cancelled context can end the send.
	p := &inmem.Pipeline{C: make(chan jobs.Job)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Enqueue(ctx, job("job_a"))
	if code := jobs.ErrorCode(err); code != jobs.EUNAVAILABLE {
		t.Errorf("Enqueue() code = %q, want %q (err %v)", code, jobs.EUNAVAILABLE, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue() error = %v, want it to wrap context.Canceled", err)
	}
	if got := p.Jobs(); len(got) != 0 {
		t.Errorf("Jobs() after a failed Enqueue = %v, want none", got)
	}
	// Even with room in the channel, a cancelled context hands nothing over.
	buffered := &inmem.Pipeline{C: make(chan jobs.Job, 1)}
	if err := buffered.Enqueue(ctx, job("job_b")); jobs.ErrorCode(err) != jobs.EUNAVAILABLE || len(buffered.C) != 0 || len(buffered.Jobs()) != 0 {
		t.Errorf("buffered Enqueue(cancelled) = %v, %d in channel, %d recorded; want EUNAVAILABLE and nothing handed over", err, len(buffered.C), len(buffered.Jobs()))
	}
}

func TestPipelineConcurrentEnqueue(t *testing.T) {
	t.Parallel()
	var p inmem.Pipeline
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Enqueue(context.Background(), job(fmt.Sprintf("job_%d", i))); err != nil {
				t.Errorf("Enqueue error = %v", err)
			}
			_ = p.Jobs()
		}()
	}
	wg.Wait()
	got := p.Jobs()
	seen := map[string]bool{}
	for _, j := range got {
		seen[j.ID] = true
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("Jobs() has %d jobs (%d distinct), want %d", len(got), len(seen), n)
	}
}

func TestPipelineDrivesTheService(t *testing.T) {
	t.Parallel()
	p := &inmem.Pipeline{}
	svc := &jobs.Service{Store: inmem.NewStore(), Pipeline: p}
	res, err := svc.Submit(context.Background(), jobs.Caller{Subject: "alice"}, jobs.Spec{Prompt: "x"}, "")
	if err != nil {
		t.Fatalf("Submit() error = %v", err)
	}
	if got := p.Jobs(); len(got) != 1 || got[0].ID != res.Job.ID {
		t.Errorf("Jobs() = %v, want [%s]", ids(got), res.Job.ID)
	}
}
