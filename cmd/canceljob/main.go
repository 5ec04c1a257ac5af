// Command canceljob is CancelJobFn: POST /v1/jobs/{id}/cancel for a job's
// owner or an admin. Configuration: see internal/config. It may only GetItem
// and PutItem on the jobs table.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

func main() {
	e := lambdamain.Init(config.CancelJobFn)
	lambda.Start(e.Handler(e.Service()).CancelJob)
}
