// Command checkjob is WorkerCheckFn: a worker invokes it with {"jobId"} to
// ask whether it may still work on the job; it answers continue, cancel or
// gone, and on a PROCESSING job the call is a heartbeat
// (internal/invoke.CheckHandler). Only the pipeline's role may invoke it (the
// PipelineRoleArn parameter). Configuration: see internal/config. It may only
// GetItem and PutItem on the jobs table.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

func main() {
	e := lambdamain.Init(config.WorkerCheckFn)
	lambda.Start((&invoke.CheckHandler{Service: e.Service(), Log: e.Log}).Handle)
}
