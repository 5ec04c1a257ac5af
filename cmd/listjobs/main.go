// Command listjobs is ListJobsFn: GET /v1/jobs, a page of the caller's jobs
// (or, for admins, of every job with given statuses) and the batch form
// ?ids=a,b,c. Configuration: see internal/lambdaenv (CURSOR_KEY is
// required). It may only Query the table's byOwner and byStatus indexes and
// BatchGetItem the table.
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
	key, err := lambdaenv.CursorKey()
	if err != nil {
		lambdaenv.Fatal(log, "configuration", err)
	}
	client, err := dynamodb.NewClientFromEnv(dynamodb.ClientOptions{})
	if err != nil {
		lambdaenv.Fatal(log, "dynamodb client", err)
	}
	store := dynamodb.New(client, cfg.Table)
	store.Timeout = cfg.CallTimeout
	svc := &jobs.Service{Store: store, Index: store, CursorKey: key, Log: log}
	lambda.Start(apigw.NewHandler(svc, cfg.AllowedOrigins, log).ListJobs)
}
