// Package apigw adapts the jobs service to API Gateway REST API Lambda proxy
// integrations: it reads events.APIGatewayProxyRequest (Cognito claims
// included) and writes events.APIGatewayProxyResponse, with CORS headers and
// JSON error bodies on every response.
package apigw

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Handler serves the Jobs API routes. Its methods are Lambda handlers and
// never return an error: API Gateway would turn one into a 502 without CORS
// headers, which a browser cannot read.
type Handler struct {
	Service *jobs.Service
	CORS    CORS
	Log     *slog.Logger
	// Polling is the Retry-After advice on unfinished jobs (defaults if zero).
	Polling Polling
	// Identity is what the stage trusts about callers.
	Identity Identity
	// Reserve is how long before the invocation's deadline each request
	// stops waiting on its dependencies (DefaultReserve if 0), whatever
	// their own timeouts: a slow table or queue then ends as the documented
	// 503 with CORS headers, never the function timing out, which API
	// Gateway answers with a 502 a browser cannot read.
	Reserve time.Duration
}

// DefaultReserve is Handler.Reserve's default: the time to end the work
// begun (the submit's FAILED mark gets the first half) and answer.
const DefaultReserve = time.Second

// NewHandler returns a Handler with a policy for the given allowed origins.
func NewHandler(svc *jobs.Service, allowedOrigins string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{Service: svc, CORS: NewCORS(allowedOrigins), Log: log}
}

// JobResponse is the wire shape of a job. outputUrl is absent until the job
// is COMPLETED, error is present only when it is FAILED.
type JobResponse struct {
	JobID string `json:"jobId"`
	// OwnerID is the submitter's Cognito sub, shown to admins only (and in
	// push events, which go to the owner's own channel or to admins).
	OwnerID  string      `json:"ownerId,omitempty"`
	Status   jobs.Status `json:"status"`
	Progress int         `json:"progress"`
	// Prompt and Options are what was asked for, as normalized at submit
	// (defaults filled in); absent for jobs recorded without a request.
	Prompt          string       `json:"prompt,omitempty"`
	Options         *JobOptions  `json:"options,omitempty"`
	CreatedAt       string       `json:"createdAt"`
	UpdatedAt       string       `json:"updatedAt"`
	StartedAt       string       `json:"startedAt,omitempty"`
	CompletedAt     string       `json:"completedAt,omitempty"`
	OutputURL       string       `json:"outputUrl,omitempty"`
	Error           *ErrorDetail `json:"error,omitempty"`
	CancelRequested bool         `json:"cancelRequested,omitempty"`
	// Deadline is when the job is cancelled if unfinished (Cancel-After).
	Deadline string `json:"deadline,omitempty"`
	// Terminal is true once the job is COMPLETED, FAILED or CANCELLED: it
	// will not change again, so pollers can stop.
	Terminal bool `json:"terminal,omitempty"`
	// Version counts the job's writes, from 1: of two representations of
	// one job, the higher version is the newer (clients following pushed
	// events and polls drop what is older than what they hold).
	Version int64 `json:"version"`
}

// JobOptions are a job's submit options, defaults filled in.
type JobOptions struct {
	DurationSeconds int    `json:"durationSeconds"`
	AspectRatio     string `json:"aspectRatio"`
	Resolution      string `json:"resolution"`
}

// NewJobResponse renders j for the wire as its owner sees it (no ownerId).
func NewJobResponse(j jobs.Job) JobResponse {
	r := JobResponse{
		JobID:           j.ID,
		Status:          j.Status,
		Progress:        j.Progress,
		Prompt:          j.Spec.Prompt,
		CreatedAt:       jobs.FormatTime(j.CreatedAt),
		UpdatedAt:       jobs.FormatTime(j.UpdatedAt),
		StartedAt:       jobs.FormatTime(j.StartedAt),
		CompletedAt:     jobs.FormatTime(j.CompletedAt),
		OutputURL:       j.OutputURL,
		CancelRequested: j.CancelRequested,
		Deadline:        jobs.FormatTime(j.Deadline),
		Terminal:        j.Status.Terminal(),
		Version:         j.Version,
	}
	if j.Spec.Prompt != "" {
		r.Options = &JobOptions{DurationSeconds: j.Spec.DurationSeconds, AspectRatio: j.Spec.AspectRatio, Resolution: j.Spec.Resolution}
	}
	if j.Error != nil {
		r.Error = &ErrorDetail{Code: j.Error.Code, Message: j.Error.Message}
	}
	return r
}

// JobView renders j for caller: admins also see ownerId.
func JobView(j jobs.Job, caller jobs.Caller) JobResponse {
	r := NewJobResponse(j)
	if caller.IsAdmin() {
		r.OwnerID = j.OwnerID
	}
	return r
}

// route is one route's work after the prologue; its error becomes the
// error response.
type route func(ctx context.Context, req *events.APIGatewayProxyRequest, caller jobs.Caller) (events.APIGatewayProxyResponse, error)

// serve is every route's prologue: the deadline budget (jobs.WithReserve),
// the panic guard and the caller's identity, then r; an error is logged
// (with its internal cause) and rendered with its mapped status.
func (h *Handler) serve(ctx context.Context, req events.APIGatewayProxyRequest, r route) (resp events.APIGatewayProxyResponse, _ error) {
	ctx, cancel := jobs.WithReserve(ctx, cmp.Or(h.Reserve, DefaultReserve))
	defer cancel()
	defer h.recover(ctx, &req, &resp)
	caller, err := h.Identity.Caller(&req)
	if err == nil {
		resp, err = r(ctx, &req, caller)
	}
	if err != nil {
		status := HTTPStatus(err)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		h.Log.Log(ctx, level, "request failed", "requestId", req.RequestContext.RequestID,
			"resource", req.Resource, "method", req.HTTPMethod, "status", status, "err", err.Error())
		return h.CORS.respondError(&req, err), nil
	}
	return resp, nil
}

// GetJob serves GET /v1/jobs/{id}, with the polling contract: an ETag,
// 304 for a matching If-None-Match, and Retry-After until the job finishes.
// Authorization comes first, so a 304 never confirms someone else's job.
func (h *Handler) GetJob(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return h.serve(ctx, req, h.getJob)
}

func (h *Handler) getJob(ctx context.Context, req *events.APIGatewayProxyRequest, caller jobs.Caller) (events.APIGatewayProxyResponse, error) {
	j, err := h.Service.Get(ctx, caller, req.PathParameters["id"])
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return h.respondJob(req, http.StatusOK, j, caller, nil), nil
}

// SubmitJob serves POST /v1/jobs: 202 with Location, ETag and Retry-After.
func (h *Handler) SubmitJob(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return h.serve(ctx, req, h.submitJob)
}

func (h *Handler) submitJob(ctx context.Context, req *events.APIGatewayProxyRequest, caller jobs.Caller) (events.APIGatewayProxyResponse, error) {
	spec, err := DecodeSubmit(req)
	var key string
	if err == nil {
		key, err = idempotencyKey(req)
	}
	if err == nil {
		spec.CancelAfter, err = cancelAfter(req)
	}
	var res jobs.SubmitResult
	if err == nil {
		res, err = h.Service.Submit(ctx, caller, spec, key)
	}
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	extra := map[string]string{"Location": "/v1/jobs/" + res.Job.ID}
	if res.Replayed {
		extra["Idempotent-Replayed"] = "true"
	}
	h.Log.InfoContext(ctx, "job submitted", "requestId", req.RequestContext.RequestID, "jobId", res.Job.ID, "replayed", res.Replayed)
	// The 202 carries the same polling advice (ETag, Retry-After) as a GET,
	// so a client can wait before its first poll.
	return h.respondJob(req, http.StatusAccepted, res.Job, caller, extra), nil
}

// recover turns a panic into a logged 500 with the usual headers.
func (h *Handler) recover(ctx context.Context, req *events.APIGatewayProxyRequest, resp *events.APIGatewayProxyResponse) {
	if p := recover(); p != nil {
		h.Log.ErrorContext(ctx, "panic", "requestId", req.RequestContext.RequestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		*resp = h.CORS.respondError(req, jobs.Errorf(jobs.EINTERNAL, "panic"))
	}
}
