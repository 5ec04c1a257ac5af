package localserver

import (
	"encoding/json"
	"log/slog"

	"github.com/deepfoundai/jobs-api/dev/localapi"
	"github.com/deepfoundai/jobs-api/dev/localsqs"
	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// functions maps each function logical ID of template.yaml to the handler
// its Lambda main runs, so the local API invokes the same code in-process.
// The routes themselves come from the template; a new function needs one
// line here (the server refuses to start if the template wires a method to
// a function missing from this map).
func functions(h *apigw.Handler) map[string]localapi.Function {
	return map[string]localapi.Function{
		"GetJobFn":    h.GetJob,
		"SubmitJobFn": h.SubmitJob,
		"ListJobsFn":  h.ListJobs,
		"CancelJobFn": h.CancelJob,
	}
}

// invokedFunctions maps the functions of template.yaml that workers invoke
// directly (Lambda Invoke) to the handlers their mains run, served on the
// local Lambda endpoint. SweepJobsFn (scheduled) and UpdateJobFn (the
// status-events queue) are driven by the local pipeline instead.
func invokedFunctions(svc *jobs.Service, log *slog.Logger) map[string]localsqs.Function {
	return map[string]localsqs.Function{
		"WorkerCheckFn": localsqs.JSONFunction[json.RawMessage]((&invoke.CheckHandler{Service: svc, Log: log}).Handle),
	}
}
