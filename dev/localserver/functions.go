package localserver

import (
	"github.com/deepfoundai/jobs-api/dev/localapi"
	"github.com/deepfoundai/jobs-api/internal/apigw"
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
