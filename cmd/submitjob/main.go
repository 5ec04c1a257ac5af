// Command submitjob is SubmitJobFn: POST /v1/jobs, which records each new job
// as QUEUED in the jobs table and hands it to the video pipeline's SQS queue.
// Configuration: see internal/lambdaenv (PIPELINE_QUEUE_URL is required).
package main

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/lambdamain"
	"github.com/deepfoundai/jobs-api/internal/sqs"
)

func main() {
	e := lambdamain.Init()
	if e.Config.QueueURL == "" {
		e.Check("configuration", errors.New("PIPELINE_QUEUE_URL is not set"))
	}
	client, err := sqs.NewClientFromEnv()
	e.Check("sqs client", err)
	svc := e.Service()
	svc.Pipeline = sqs.New(client, e.Config.QueueURL)
	lambda.Start(e.Handler(svc).SubmitJob)
}
