// Command updatejob is UpdateJobFn: it consumes the video pipeline's status
// events from the status-events SQS queue and applies each with
// jobs.Service.Advance, reporting partial batch failures (see
// internal/sqs.Consumer for what is retried and what goes to the
// dead-letter queue). Configuration: see internal/lambdaenv. It may only
// GetItem and PutItem on the jobs table, and consume its one queue.
package main

import (
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
	if err != nil {
		lambdaenv.Fatal(log, "configuration", err)
	}
	client, err := dynamodb.NewClientFromEnv(dynamodb.ClientOptions{})
	if err != nil {
		lambdaenv.Fatal(log, "dynamodb client", err)
	}
	store := dynamodb.New(client, cfg.Table)
	store.Timeout = cfg.CallTimeout
	svc := &jobs.Service{Store: store, Retention: cfg.Retention, Log: log}
	lambda.Start(sqs.NewConsumer(svc, log).Handle)
}
