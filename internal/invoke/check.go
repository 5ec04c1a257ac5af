// Package invoke holds the handlers of the functions that are invoked
// directly rather than through API Gateway or SQS: the worker check (a
// worker's IAM-authorised Lambda Invoke) and the sweeper (an EventBridge
// schedule). Payloads are the documented messages of package worker.
package invoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/worker"
)

// CheckHandler is WorkerCheckFn's handler: it answers a worker's
// worker.CheckRequest with jobs.Service.Check (continue, cancel or gone),
// which on a PROCESSING job is also a heartbeat.
type CheckHandler struct {
	Service *jobs.Service
	Log     *slog.Logger
}

// maxCheckPayload bounds the request read: a job ID and its JSON.
const maxCheckPayload = 1024

// Handle answers one check. A malformed request returns an error (the
// invoker sees FunctionError "Unhandled" with a message naming the field);
// so does a failing table (retry). An unknown job is answered "gone".
func (h *CheckHandler) Handle(ctx context.Context, payload json.RawMessage) (worker.CheckResponse, error) {
	id, err := decodeCheck(payload)
	if err != nil {
		h.Log.WarnContext(ctx, "worker check refused", "reason", jobs.ErrorMessage(err))
		return worker.CheckResponse{}, publicError(err)
	}
	d, j, err := h.Service.Check(ctx, id)
	if err != nil {
		h.Log.ErrorContext(ctx, "worker check failed", "jobId", id, "code", jobs.ErrorCode(err), "err", err.Error())
		return worker.CheckResponse{}, publicError(err)
	}
	h.Log.InfoContext(ctx, "worker check", "jobId", id, "decision", d, "status", j.Status, "version", j.Version)
	return worker.CheckResponse{
		JobID: id, Decision: worker.Decision(d), Status: string(j.Status),
		CheckWithinSeconds: int(h.Service.NextCheck().Seconds()),
	}, nil
}

// decodeCheck reads {"jobId": "..."}: exactly that name, nothing else.
func decodeCheck(payload json.RawMessage) (string, error) {
	if len(payload) > maxCheckPayload {
		return "", jobs.Errorf(jobs.EINVALID, "request: at most %d bytes", maxCheckPayload)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil || fields == nil {
		return "", jobs.Errorf(jobs.EINVALID, `request: a JSON object {"jobId": "..."}`)
	}
	for name := range fields {
		if name != "jobId" {
			return "", jobs.Errorf(jobs.EINVALID, "%.64s: unknown field; the request is {\"jobId\": \"...\"}", name)
		}
	}
	var req worker.CheckRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return "", jobs.Errorf(jobs.EINVALID, "jobId: a string")
	}
	if err := jobs.ValidateID(req.JobID); err != nil {
		return "", err
	}
	return req.JobID, nil
}

// publicError is what the invoker sees: the error's code and caller-safe
// message, never its cause.
func publicError(err error) error {
	return fmt.Errorf("%s: %s", jobs.ErrorCode(err), jobs.ErrorMessage(err))
}
