package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
)

// ContractVersion names the message formats this package speaks: the
// hand-off, the status event and the check, as the JSON Schemas in the
// repository's docs/schemas describe them. A change that could break a
// worker gets a new version and a new major version of this package.
const ContractVersion = 1

// Limits of the messages, enforced by the service; the schemas say the same.
const (
	// MaxOutputURLBytes bounds a COMPLETED event's outputUrl. A pre-signed
	// S3 URL with a session token can exceed it: hand out a URL without the
	// signature (e.g. behind CloudFront) instead.
	MaxOutputURLBytes = 2048
	// MaxErrorCodeBytes and MaxErrorMessageBytes bound a FAILED event's
	// error; both are required.
	MaxErrorCodeBytes    = 64
	MaxErrorMessageBytes = 1024
	// MaxJobIDBytes bounds a job ID.
	MaxJobIDBytes = 128
)

// Handoff is the body of a message on the pipeline queue: one job to make.
type Handoff struct {
	JobID   string `json:"jobId"`
	OwnerID string `json:"ownerId"`
	// CreatedAt is when the job was submitted (RFC 3339, UTC).
	CreatedAt string `json:"createdAt"`
	// Deadline, when set, is the submitter's limit (RFC 3339, UTC): past
	// it the job is cancelled, and Check answers DecisionCancel.
	Deadline string  `json:"deadline,omitempty"`
	Request  Request `json:"request"`
}

// Request is what to make.
type Request struct {
	Prompt          string `json:"prompt"`
	DurationSeconds int    `json:"durationSeconds"`
	AspectRatio     string `json:"aspectRatio"`
	Resolution      string `json:"resolution"`
}

// ParseHandoff reads a pipeline queue message body.
func ParseHandoff(body string) (Handoff, error) {
	var h Handoff
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&h); err != nil {
		return Handoff{}, fmt.Errorf("worker: hand-off message: %w", err)
	}
	if h.JobID == "" {
		return Handoff{}, fmt.Errorf("worker: hand-off message without a jobId")
	}
	return h, nil
}

// Status is a job status a worker reports.
type Status string

// The statuses a worker reports. QUEUED is the service's alone.
const (
	Processing Status = "PROCESSING"
	Completed  Status = "COMPLETED"
	Failed     Status = "FAILED"
	Cancelled  Status = "CANCELLED"
)

// StatusEvent is the body of a message on the status-events queue: a
// worker's report on one job. Field names are matched exactly.
type StatusEvent struct {
	JobID  string `json:"jobId"`
	Status Status `json:"status"`
	// Progress is 0–100; a fraction is accepted and rounded down (40.5 is
	// 40). Lower than the job's current progress is ignored (stale).
	Progress  *float64    `json:"progress,omitempty"`
	OutputURL string      `json:"outputUrl,omitempty"`
	Error     *EventError `json:"error,omitempty"`
}

// EventError says why a job FAILED.
type EventError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Validate reports what the service would refuse in e (the event would go to
// the dead-letter queue), so a worker finds its bug before sending.
func (e StatusEvent) Validate() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("worker: status event: "+format, args...) }
	if e.JobID == "" || len(e.JobID) > MaxJobIDBytes {
		return bad("jobId: 1 to %d bytes", MaxJobIDBytes)
	}
	switch e.Status {
	case Processing, Completed, Failed, Cancelled:
	default:
		return bad("status: one of PROCESSING, COMPLETED, FAILED, CANCELLED")
	}
	if e.Progress != nil && (math.IsNaN(*e.Progress) || *e.Progress < 0 || *e.Progress > 100) {
		return bad("progress: a number from 0 to 100")
	}
	if (e.Status == Completed) != (e.OutputURL != "") {
		return bad("outputUrl: required with COMPLETED, and only with it")
	}
	if e.OutputURL != "" {
		u, err := url.Parse(e.OutputURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(e.OutputURL) > MaxOutputURLBytes {
			return bad("outputUrl: an absolute http(s) URL of at most %d bytes", MaxOutputURLBytes)
		}
	}
	if (e.Status == Failed) != (e.Error != nil) {
		return bad("error: required with FAILED, and only with it")
	}
	if e.Error != nil && (e.Error.Code == "" || e.Error.Message == "" || len(e.Error.Code) > MaxErrorCodeBytes || len(e.Error.Message) > MaxErrorMessageBytes) {
		return bad("error: code (1-%d bytes) and message (1-%d bytes) are required", MaxErrorCodeBytes, MaxErrorMessageBytes)
	}
	if e.Error != nil && slices.Contains(ServiceErrorCodes, e.Error.Code) {
		return bad("error.code: %s is set only by the jobs service", e.Error.Code)
	}
	return nil
}

// ServiceErrorCodes are the error codes the service gives the jobs it ends
// itself (a failed hand-off, the limits on unfinished jobs). A status event
// may not use them: the service refuses it (it would go to the dead-letter
// queue).
var ServiceErrorCodes = []string{"ENQUEUE_FAILED", "QUEUE_TIMEOUT", "HEARTBEAT_TIMEOUT", "RUN_TIMEOUT"}

// Decision is the service's answer to "may I still work on this job?".
type Decision string

// The decisions.
const (
	// DecisionContinue: start, or keep working.
	DecisionContinue Decision = "continue"
	// DecisionCancel: a cancel was requested; stop and report CANCELLED.
	DecisionCancel Decision = "cancel"
	// DecisionGone: the job is finished (a limit may have ended it),
	// expired or unknown; stop and report nothing.
	DecisionGone Decision = "gone"
)

// CheckRequest is the payload of an invocation of the worker check function.
type CheckRequest struct {
	JobID string `json:"jobId"`
}

// CheckResponse is the worker check function's answer.
type CheckResponse struct {
	JobID    string   `json:"jobId"`
	Decision Decision `json:"decision"`
	// Status is the job's status ("" when the job is unknown).
	Status string `json:"status,omitempty"`
	// CheckWithinSeconds is how soon to check (or report) again to count
	// as alive: half the stack's heartbeat limit.
	CheckWithinSeconds int `json:"checkWithinSeconds"`
}

// marshal encodes v without HTML escaping (URLs keep their '&').
func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
