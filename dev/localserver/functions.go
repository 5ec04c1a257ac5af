package localserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/localapi"
	"github.com/deepfoundai/jobs-api/dev/localsqs"
	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
	"github.com/deepfoundai/jobs-api/internal/sqs"
)

// apiFunctions maps each API function of template.yaml to the handler its
// Lambda main (cmd/<function>) runs, built the same way from the same
// configuration, so the local API invokes the same code in-process. The
// routes themselves come from the template; a new function needs one line
// here (the server refuses to start if the template wires a method to a
// function missing from this map).
var apiFunctions = map[string]func(lambdamain.Env) localapi.Function{
	config.GetJobFn:    func(e lambdamain.Env) localapi.Function { return e.Handler(e.Service()).GetJob },
	config.SubmitJobFn: func(e lambdamain.Env) localapi.Function { return e.Handler(submitService(e)).SubmitJob },
	config.ListJobsFn:  func(e lambdamain.Env) localapi.Function { return e.Handler(e.Service()).ListJobs },
	config.CancelJobFn: func(e lambdamain.Env) localapi.Function { return e.Handler(e.Service()).CancelJob },
}

// submitService is SubmitJobFn's service, with the pipeline's queue.
func submitService(e lambdamain.Env) *jobs.Service {
	svc := e.Service()
	svc.Pipeline = sqs.New(sqs.NewClient(e.Config.AWS, e.Config.SQSEndpoint), e.Config.QueueURL)
	return svc
}

// invokedFunctions maps the functions of template.yaml that workers invoke
// directly (Lambda Invoke) to the handlers their mains run, served on the
// local Lambda endpoint. SweepJobsFn (scheduled) and UpdateJobFn (the
// status-events queue) are driven by the local pipeline instead.
func invokedFunctions(envs map[string]lambdamain.Env) map[string]localsqs.Function {
	e := envs[config.WorkerCheckFn]
	return map[string]localsqs.Function{
		config.WorkerCheckFn: localsqs.JSONFunction[json.RawMessage]((&invoke.CheckHandler{Service: e.Service(), Log: e.Log}).Handle),
	}
}

// localFunctions are the functions the local server runs.
var localFunctions = []string{config.GetJobFn, config.SubmitJobFn, config.ListJobsFn, config.CancelJobFn,
	config.UpdateJobFn, config.SweepJobsFn, config.WorkerCheckFn}

// localEnv is what the local server layers over a function's Environment
// (as template.yaml resolves it with the local parameters) before
// config.Load reads it, because the local stand-ins live elsewhere than the
// AWS resources the template names (docs/local.md lists them):
//   - AWS_REGION and credentials: with -dynamodb-endpoint, the process's
//     own when AWS_ACCESS_KEY_ID is set (an endpoint of your own, a region
//     even, may check them), else dummies;
//   - AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS: the embedded
//     engine (or -dynamodb-endpoint) and the local SQS endpoint;
//   - PIPELINE_QUEUE_URL: the local pipeline queue;
//   - COGNITO_ISSUER and COGNITO_APP_CLIENT_IDS: the dev user pool;
//   - CURSOR_KEY: a random key per start (the template's is a Secrets
//     Manager reference).
//
// Everything else (the table name, ALLOWED_ORIGINS, ADMIN_GROUP, the
// timeouts, limits, retention, Retry-After advice) is the template's.
type localEnv struct {
	dynamoDB, sqs, pipelineQueue, issuer, clientID string
	cursorKey                                      string
	ownCredentials                                 bool
}

func (l localEnv) vars() map[string]string {
	m := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_DYNAMODB": l.dynamoDB, "AWS_ENDPOINT_URL_SQS": l.sqs, "PIPELINE_QUEUE_URL": l.pipelineQueue,
		"COGNITO_ISSUER": l.issuer, "COGNITO_APP_CLIENT_IDS": l.clientID, "CURSOR_KEY": l.cursorKey,
	}
	if l.ownCredentials && os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			if v := os.Getenv(k); v != "" {
				m[k] = v
			}
		}
	}
	return m
}

// newCursorKey returns a random CURSOR_KEY for one run of the server.
func newCursorKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loadConfigs reads each local function's configuration from its
// resolved Environment with the local layer on top, through config.Load as
// the Lambda mains do.
func loadConfigs(r *samtemplate.Resolver, local localEnv) (map[string]config.Config, error) {
	configs := map[string]config.Config{}
	for _, fn := range localFunctions {
		vars, err := r.Environment(fn)
		if err != nil {
			return nil, err
		}
		maps.Copy(vars, local.vars())
		if configs[fn], err = config.Load(fn, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }); err != nil {
			return nil, fmt.Errorf("%s configuration: %w", fn, err)
		}
	}
	return configs, nil
}
