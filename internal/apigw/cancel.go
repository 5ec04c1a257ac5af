package apigw

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// CancelJob serves POST /v1/jobs/{id}/cancel for the job's owner or an
// admin; any request body is ignored. 200 with the job once it is
// CANCELLED (a QUEUED job at once; repeating the request is harmless); 202
// with the job, cancelRequested true, Location and Retry-After while a PROCESSING job
// waits for the pipeline to stop; 409 for a COMPLETED or FAILED job; 404 for
// unknown, expired and other people's jobs.
func (h *Handler) CancelJob(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return h.serve(ctx, req, h.cancelJob)
}

func (h *Handler) cancelJob(ctx context.Context, req *events.APIGatewayProxyRequest, caller jobs.Caller) (events.APIGatewayProxyResponse, error) {
	j, err := h.Service.Cancel(ctx, caller, req.PathParameters["id"])
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	status, extra := http.StatusOK, map[string]string(nil)
	if j.Status != jobs.Cancelled {
		status, extra = http.StatusAccepted, map[string]string{"Location": "/v1/jobs/" + j.ID}
	}
	h.Log.InfoContext(ctx, "job cancel", "requestId", req.RequestContext.RequestID, "jobId", j.ID,
		"status", j.Status, "cancelRequested", j.CancelRequested, "by", caller.Subject)
	return h.respondJob(req, status, j, caller, extra), nil
}
