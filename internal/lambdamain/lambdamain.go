// Package lambdamain is the start-up every Jobs API Lambda function shares:
// its configuration (internal/config), logger and DynamoDB store, built once
// at init. A failure exits the process, which Lambda reports as
// Runtime.ExitError. The local server builds its functions with New from
// the same configuration.
package lambdamain

import (
	"log/slog"
	"os"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/appsync"
	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Env is what a function's main starts from.
type Env struct {
	Log    *slog.Logger
	Config config.Config
	// Store is the jobs table (nil for a function without one).
	Store *dynamodb.Store
	// OutputURLs is the rule for the pipeline's outputUrl (OUTPUT_URL_HOSTS;
	// the local server also allows its own loopback outputs).
	OutputURLs jobs.OutputURLs
}

// Init reads function's configuration from the process environment and
// builds its store, logging to stdout (which Lambda sends to CloudWatch
// Logs); it exits if the configuration is broken.
func Init(function string) Env {
	c, err := config.Load(function, os.LookupEnv)
	e := New(c, nil, config.NewLogger(os.Stdout, c.LogLevel))
	if err != nil {
		e.Log.Error("configuration", "err", err.Error())
		os.Exit(1)
	}
	return e
}

// New builds a function's store from c, on client (nil: a DynamoDB client
// from c's AWS settings).
func New(c config.Config, client dynamodb.API, log *slog.Logger) Env {
	e := Env{Log: log, Config: c, OutputURLs: jobs.OutputURLs{Hosts: c.OutputURLHosts}}
	if c.Table != "" {
		if client == nil {
			client = dynamodb.NewClient(c.AWS, c.DynamoDBEndpoint)
		}
		e.Store = dynamodb.New(client, c.Table)
		e.Store.Timeout = c.CallTimeout
	}
	return e
}

// Service returns the jobs service on the store with the configured
// retention, limits, outputUrl rule and cursor key; callers add the
// pipeline where their function has one.
func (e Env) Service() *jobs.Service {
	c := e.Config
	return &jobs.Service{Store: e.Store, CursorKey: c.CursorKey, Retention: c.Retention, Limits: c.Limits, Log: e.Log, OutputURLs: e.OutputURLs}
}

// Handler returns the API Gateway handler for svc, with the CORS policy, the
// polling advice (Retry-After) and the trusted identity (user pool, app
// clients, admin group) of the configuration.
func (e Env) Handler(svc *jobs.Service) *apigw.Handler {
	c := e.Config
	h := apigw.NewHandler(svc, c.AllowedOrigins, e.Log)
	h.Polling = apigw.Polling{Queued: c.RetryAfterQueued, Processing: c.RetryAfterProcessing}
	h.Identity = apigw.Identity{Issuer: c.CognitoIssuer, ClientIDs: c.AppClientIDs, AdminGroup: c.AdminGroup}
	return h
}

// StreamPublisher returns the consumer of the jobs table's stream that
// publishes each change to its owner's Events API channel: the stream image
// read by the DynamoDB adapter, the event rendered as the API renders a
// job, published to EVENTS_PUBLISH_URL with the function role's credentials.
func (e Env) StreamPublisher() *appsync.StreamHandler {
	return NewStreamPublisher(appsync.NewClient(e.Config.EventsPublishURL, e.Config.AWS), e.Log)
}

// NewStreamPublisher wires a stream handler to publisher p (the local
// server passes its own endpoint's client).
func NewStreamPublisher(p appsync.Publisher, log *slog.Logger) *appsync.StreamHandler {
	return &appsync.StreamHandler{Publisher: p, Decode: dynamodb.JobFromStreamImage, Render: apigw.RenderJobEvent, Log: log}
}
