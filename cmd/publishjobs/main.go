// Command publishjobs is PublishJobsFn: it consumes the jobs table's DynamoDB
// stream and publishes each committed change of a job to its owner's AWS
// AppSync Events channel (internal/appsync.StreamHandler), reporting the
// first record it could not publish so the stream retries from there.
// Configuration: see internal/config (EVENTS_PUBLISH_URL is required). It may
// only read the table's stream, publish to the jobs namespace and send to its
// failure queue (the mapping's destination).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

func main() {
	e := lambdamain.Init(config.PublishJobsFn)
	lambda.Start(e.StreamPublisher().Handle)
}
