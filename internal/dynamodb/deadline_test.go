package dynamodb_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// TestDeadlines runs the limits, the sweeper and the worker check against
// real conditional writes and the status index.
func TestDeadlines(t *testing.T) {
	jobstest.TestDeadlines(t, func(t *testing.T) jobstest.Backend {
		client, table := testenv.NewTable(t)
		s := dynamodb.New(client, table)
		return jobstest.Backend{Store: s, Index: s}
	})
}
