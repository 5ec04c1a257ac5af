// Package lambdamain is the start-up every Jobs API Lambda function shares:
// configuration, logger and DynamoDB store, built once at init. A failure
// exits the process, which Lambda reports as Runtime.ExitError.
package lambdamain

import (
	"log/slog"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/appsync"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/lambdaenv"
)

// Env is what a function's main starts from.
type Env struct {
	Log    *slog.Logger
	Config lambdaenv.Config
	Store  *dynamodb.Store
}

// Init reads the configuration (see lambdaenv) and builds the store.
func Init() Env {
	e := Env{Log: lambdaenv.Logger()}
	var err error
	e.Config, err = lambdaenv.Load(apigw.DefaultAllowedOrigins)
	e.Check("configuration", err)
	client, err := dynamodb.NewClientFromEnv(dynamodb.ClientOptions{})
	e.Check("dynamodb client", err)
	e.Store = dynamodb.New(client, e.Config.Table)
	e.Store.Timeout = e.Config.CallTimeout
	return e
}

// Check exits, logging what failed, if err is not nil.
func (e Env) Check(what string, err error) {
	if err != nil {
		lambdaenv.Fatal(e.Log, what, err)
	}
}

// Service returns the jobs service on the store, with the configured
// retention; callers add the ports their function needs.
func (e Env) Service() *jobs.Service {
	return &jobs.Service{Store: e.Store, Retention: e.Config.Retention, Limits: e.Config.Limits, Log: e.Log,
		OutputURLs: jobs.OutputURLs{Hosts: e.Config.OutputURLHosts}}
}

// Handler returns the API Gateway handler for svc, with the CORS policy, the
// polling advice (Retry-After) and the trusted identity (user pool, app
// clients, admin group) from the environment.
func (e Env) Handler(svc *jobs.Service) *apigw.Handler {
	queued, processing, err := lambdaenv.Polling()
	e.Check("configuration", err)
	h := apigw.NewHandler(svc, e.Config.AllowedOrigins, e.Log)
	h.Polling = apigw.Polling{Queued: queued, Processing: processing}
	issuer, clients, admin, err := lambdaenv.Identity()
	e.Check("configuration", err)
	h.Identity = apigw.Identity{Issuer: issuer, ClientIDs: clients, AdminGroup: admin}
	return h
}

// StreamPublisher returns the consumer of the jobs table's stream that
// publishes each change to its owner's Events API channel: the stream image
// read by the DynamoDB adapter, the event rendered as the API renders a
// job, published to EVENTS_PUBLISH_URL with the function role's credentials.
func (e Env) StreamPublisher() *appsync.StreamHandler {
	client, err := appsync.NewClientFromEnv(e.Config.EventsPublishURL)
	e.Check("configuration", err)
	return NewStreamPublisher(client, e.Log)
}

// NewStreamPublisher wires a stream handler to publisher p (the local
// server passes its own endpoint's client).
func NewStreamPublisher(p appsync.Publisher, log *slog.Logger) *appsync.StreamHandler {
	return &appsync.StreamHandler{Publisher: p, Decode: dynamodb.JobFromStreamImage, Render: apigw.RenderJobEvent, Log: log}
}
