// Command getjob is GetJobFn: GET /v1/jobs/{id} behind the Jobs API's REST
// API, as a Lambda function on provided.al2023. Configuration: see
// internal/config; it may only call dynamodb:GetItem.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

func main() {
	e := lambdamain.Init(config.GetJobFn)
	lambda.Start(e.Handler(e.Service()).GetJob)
}
