package dynamodb_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

func backend(t *testing.T) jobstest.Backend {
	client, table := testenv.NewTable(t)
	s := dynamodb.New(client, table)
	return jobstest.Backend{Store: s, Index: s}
}

// The service over real conditional writes: pipeline events, cancels and
// idempotent submits racing each other, listings and retention.
func TestServiceAdvance(t *testing.T) { jobstest.TestAdvance(t, backend) }
func TestServiceCancel(t *testing.T)  { jobstest.TestCancel(t, backend) }
func TestServiceListing(t *testing.T) { jobstest.TestListing(t, backend) }
