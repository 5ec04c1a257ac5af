package inmem_test

import (
	"context"
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

func TestPipelineRemembersTheLatestOnly(t *testing.T) {
	t.Parallel()
	var p inmem.Pipeline
	const n = inmem.PipelineMemory + 10
	for i := range n {
		if err := p.Enqueue(context.Background(), job(fmt.Sprintf("job_%d", i))); err != nil {
			t.Fatalf("Enqueue error = %v", err)
		}
	}
	got := p.Jobs()
	if len(got) != inmem.PipelineMemory {
		t.Fatalf("Jobs() has %d jobs after %d hand-offs, want the latest %d", len(got), n, inmem.PipelineMemory)
	}
	if first, last := got[0].ID, got[len(got)-1].ID; first != "job_10" || last != fmt.Sprintf("job_%d", n-1) {
		t.Errorf("Jobs() runs %s..%s, want job_10..job_%d", first, last, n-1)
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
