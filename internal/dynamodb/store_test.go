package dynamodb_test

import (
	"os"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithDynamoDB(m)) }

func TestStoreContract(t *testing.T) {
	jobstest.TestStore(t, func(t *testing.T) jobs.Store {
		client, table := testenv.NewTable(t)
		return dynamodb.New(client, table)
	})
}
