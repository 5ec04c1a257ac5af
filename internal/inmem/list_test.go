package inmem_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

func TestIndexContract(t *testing.T) {
	jobstest.TestIndex(t, func(t *testing.T) jobstest.Backend {
		s := inmem.NewStore()
		return jobstest.Backend{Store: s, Index: s}
	})
}

func backend(*testing.T) jobstest.Backend {
	s := inmem.NewStore()
	return jobstest.Backend{Store: s, Index: s}
}

// The service over the in-memory store: pipeline events, cancels and
// idempotent submits racing each other, listings and retention.
func TestServiceAdvance(t *testing.T) { jobstest.TestAdvance(t, backend) }
func TestServiceCancel(t *testing.T)  { jobstest.TestCancel(t, backend) }
func TestServiceListing(t *testing.T) { jobstest.TestListing(t, backend) }
