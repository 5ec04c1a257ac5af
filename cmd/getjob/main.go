// Command getjob is GetJobFn: GET /v1/jobs/{id} behind the Jobs API's REST
// API, as a Lambda function on provided.al2023. Configuration: see
// internal/lambdaenv; it may only call dynamodb:GetItem.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/lambdaenv"
)

func main() {
	log := lambdaenv.Logger()
	cfg, err := lambdaenv.Load(apigw.DefaultAllowedOrigins)
	if err != nil {
		lambdaenv.Fatal(log, "configuration", err)
	}
	client, err := dynamodb.NewClientFromEnv(dynamodb.ClientOptions{})
	if err != nil {
		lambdaenv.Fatal(log, "dynamodb client", err)
	}
	queued, processing, err := lambdaenv.Polling()
	if err != nil {
		lambdaenv.Fatal(log, "configuration", err)
	}
	store := dynamodb.New(client, cfg.Table)
	store.Timeout = cfg.CallTimeout
	svc := &jobs.Service{Store: store, Log: log}
	h := apigw.NewHandler(svc, cfg.AllowedOrigins, log)
	h.Polling = apigw.Polling{Queued: queued, Processing: processing}
	lambda.Start(h.GetJob)
}
