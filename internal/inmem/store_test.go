package inmem_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

func TestStoreContract(t *testing.T) {
	jobstest.TestStore(t, func(t *testing.T) jobs.Store { return inmem.NewStore() })
}
