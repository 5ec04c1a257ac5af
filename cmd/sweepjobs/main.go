// Command sweepjobs is SweepJobsFn: on a schedule, it ends the jobs past a
// limit (longest wait in QUEUED, silence in PROCESSING, total run, an
// unanswered cancel, the job's own deadline), found by Query on the status
// index, oldest first, a bounded number per run
// (internal/invoke.SweepHandler). Configuration: see internal/config (the
// JOB_*_TIMEOUT_SECONDS limits, METRICS_NAMESPACE). It may only Query the
// status index, BatchGetItem (each page's jobs) and GetItem and PutItem on
// the jobs table.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

func main() {
	e := lambdamain.Init(config.SweepJobsFn)
	lambda.Start((&invoke.SweepHandler{Service: e.Service(), Log: e.Log, Namespace: e.Config.MetricsNamespace}).Handle)
}
