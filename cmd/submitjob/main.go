// Command submitjob is SubmitJobFn: POST /v1/jobs, which records each new job
// as QUEUED in the jobs table and hands it to the video pipeline's SQS queue.
// Configuration: see internal/config (PIPELINE_QUEUE_URL is required).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
	"github.com/deepfoundai/jobs-api/internal/sqs"
)

func main() {
	e := lambdamain.Init(config.SubmitJobFn)
	svc := e.Service()
	svc.Pipeline = sqs.New(sqs.NewClient(e.Config.AWS, e.Config.SQSEndpoint), e.Config.QueueURL)
	lambda.Start(e.Handler(svc).SubmitJob)
}
