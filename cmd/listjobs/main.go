// Command listjobs is ListJobsFn: GET /v1/jobs, a page of the caller's jobs
// (or, for admins, of every job with given statuses) and the batch form
// ?ids=a,b,c. Configuration: see internal/config (CURSOR_KEY is required). It
// may only Query the table's byOwner and byStatus indexes and BatchGetItem
// the table.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

func main() {
	e := lambdamain.Init(config.ListJobsFn)
	lambda.Start(e.Handler(e.Service()).ListJobs)
}
