package dynamodb_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// TestLifecycle races pipeline events, cancels and idempotent submits
// through jobs.Service against real conditional writes.
func TestLifecycle(t *testing.T) {
	jobstest.TestLifecycle(t, func(t *testing.T) jobstest.Backend {
		client, table := testenv.NewTable(t)
		s := dynamodb.New(client, table)
		return jobstest.Backend{Store: s, Index: s}
	})
}
