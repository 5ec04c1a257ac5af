// Command updatejob is UpdateJobFn: it consumes the video pipeline's status
// events from the status-events SQS queue and applies each with
// jobs.Service.Advance, reporting partial batch failures (see
// internal/sqs.Consumer for what is retried and what goes to the dead-letter
// queue). Configuration: see internal/config. It may only GetItem and PutItem
// on the jobs table, and consume its one queue.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
	"github.com/deepfoundai/jobs-api/internal/sqs"
)

func main() {
	e := lambdamain.Init(config.UpdateJobFn)
	lambda.Start(sqs.NewConsumer(e.Service(), e.Log).Handle)
}
