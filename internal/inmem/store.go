// Package inmem holds in-process implementations of the domain's ports: a
// job store and a pipeline. They back unit tests, benchmarks and fault
// injection; the job store passes the same contract suite as DynamoDB.
package inmem

import (
	"context"
	"sync"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Store is a jobs.Store in a map. Safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	jobs map[string]jobs.Job
}

var _ jobs.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store { return &Store{jobs: map[string]jobs.Job{}} }

// Get returns the job or ENOTFOUND.
func (s *Store) Get(_ context.Context, id string) (jobs.Job, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j, ok := s.jobs[id]
	if !ok {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "No job with that id.")
	}
	return clone(j), nil
}

// GetLatest is Get: this store is always consistent.
func (s *Store) GetLatest(ctx context.Context, id string) (jobs.Job, error) { return s.Get(ctx, id) }

// Create stores j unless its ID is taken (ECONFLICT).
func (s *Store) Create(_ context.Context, j jobs.Job) error {
	if j.Version != 1 {
		return jobs.Errorf(jobs.EINTERNAL, "create: version must be 1, got %d", j.Version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[j.ID]; ok {
		return jobs.Errorf(jobs.ECONFLICT, "The job was changed by someone else.")
	}
	s.jobs[j.ID] = clone(j)
	return nil
}

// Update replaces j if the stored version is j.Version-1 (else ECONFLICT).
func (s *Store) Update(_ context.Context, j jobs.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.jobs[j.ID]
	if !ok || cur.Version != j.Version-1 {
		return jobs.Errorf(jobs.ECONFLICT, "The job was changed by someone else.")
	}
	s.jobs[j.ID] = clone(j)
	return nil
}

func clone(j jobs.Job) jobs.Job {
	if j.Error != nil {
		e := *j.Error
		j.Error = &e
	}
	return j
}

// Pipeline accepts every job and remembers the most recent
// PipelineMemory of them, in order: a long run of tests or a fuzzer cannot
// make it grow without bound. Faults belong to the scripted fake
// (mock.Pipeline). Safe for concurrent use.
type Pipeline struct {
	mu   sync.Mutex
	jobs []jobs.Job
}

// PipelineMemory is how many of the latest jobs a Pipeline remembers.
const PipelineMemory = 1000

var _ jobs.Pipeline = (*Pipeline)(nil)

// Enqueue accepts j.
func (p *Pipeline) Enqueue(_ context.Context, j jobs.Job) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.jobs) == PipelineMemory {
		p.jobs = append(p.jobs[:0], p.jobs[1:]...)
	}
	p.jobs = append(p.jobs, j)
	return nil
}

// Jobs returns the remembered jobs, oldest first.
func (p *Pipeline) Jobs() []jobs.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]jobs.Job(nil), p.jobs...)
}
