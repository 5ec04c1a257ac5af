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

func TestLifecycle(t *testing.T) {
	jobstest.TestLifecycle(t, func(t *testing.T) jobstest.Backend {
		s := inmem.NewStore()
		return jobstest.Backend{Store: s, Index: s}
	})
}
