package inmem_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

func TestDeadlines(t *testing.T) {
	jobstest.TestDeadlines(t, func(t *testing.T) jobstest.Backend {
		s := inmem.NewStore()
		return jobstest.Backend{Store: s, Index: s}
	})
}
