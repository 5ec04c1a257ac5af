// Command submitjob is SubmitJobFn: POST /v1/jobs, which records each new job
// as QUEUED in the jobs table and hands it to the video pipeline's SQS queue.
// Configuration: see internal/lambdaenv (PIPELINE_QUEUE_URL is required).
package main

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/lambdaenv"
	"github.com/deepfoundai/jobs-api/internal/sqs"
)

func main() {
	log := lambdaenv.Logger()
	cfg, err := lambdaenv.Load(apigw.DefaultAllowedOrigins)
	if err == nil && cfg.QueueURL == "" {
		err = errors.New("PIPELINE_QUEUE_URL is not set")
	}
	if err != nil {
		lambdaenv.Fatal(log, "configuration", err)
	}
	ddbClient, err := dynamodb.NewClientFromEnv(dynamodb.ClientOptions{})
	if err != nil {
		lambdaenv.Fatal(log, "dynamodb client", err)
	}
	sqsClient, err := sqs.NewClientFromEnv()
	if err != nil {
		lambdaenv.Fatal(log, "sqs client", err)
	}
	store := dynamodb.New(ddbClient, cfg.Table)
	store.Timeout = cfg.CallTimeout
	svc := &jobs.Service{Store: store, Pipeline: sqs.New(sqsClient, cfg.QueueURL), Retention: cfg.Retention, Log: log}
	lambda.Start(apigw.NewHandler(svc, cfg.AllowedOrigins, log).SubmitJob)
}
