package sqs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/strictjson"
	"github.com/deepfoundai/jobs-api/worker"
)

// Advancer applies pipeline events; *jobs.Service is one.
type Advancer interface {
	Advance(ctx context.Context, ev jobs.Event) (jobs.Job, jobs.Outcome, error)
}

// DefaultConcurrency is how many jobs of one batch are updated at once.
const DefaultConcurrency = 4

// maxLoggedBody bounds how much of a malformed message goes to the log.
const maxLoggedBody = 1024

// Consumer is UpdateJobFn's handler: it applies each status event of an SQS
// batch with jobs.Service.Advance and reports per message what SQS should do
// (partial batch responses; the event source mapping must have
// FunctionResponseTypes: [ReportBatchItemFailures]).
//
//   - Applied, duplicate and stale (out-of-order) events succeed: the message
//     is deleted. Duplicates and stale events change nothing and are logged at
//     info, events contradicting a finished job at warn.
//   - Transient failures (throttling, timeouts, contention) are reported as
//     batch item failures: SQS redelivers after the visibility timeout.
//   - Malformed events and events for unknown jobs are logged at error and
//     also reported as failures, so that after the queue's maxReceiveCount
//     they land, unchanged, in the dead-letter queue: there they raise an
//     alarm and can be inspected and redriven once the cause is fixed. The
//     price is a few redeliveries of a message that cannot succeed.
type Consumer struct {
	Service Advancer
	Log     *slog.Logger
	// Concurrency is how many jobs are updated at once (DefaultConcurrency
	// if 0). Events for one job are applied one after another, in batch
	// order.
	Concurrency int
	// Reserve is how long before the invocation's deadline processing
	// stops, so that unprocessed messages are reported as failures instead
	// of the invocation timing out (which would make SQS retry the whole
	// batch). DefaultReserve if 0.
	Reserve time.Duration
}

// DefaultReserve is Consumer.Reserve's default.
const DefaultReserve = time.Second

// NewConsumer returns a Consumer applying events with svc.
func NewConsumer(svc Advancer, log *slog.Logger) *Consumer {
	if log == nil {
		log = slog.Default()
	}
	return &Consumer{Service: svc, Log: log}
}

// Handle processes one batch. It never returns an error: that would make SQS
// retry the whole batch, successes included.
func (c *Consumer) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	ctx, cancel := jobs.WithReserve(ctx, cmp.Or(c.Reserve, DefaultReserve))
	defer cancel()
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
	)
	fail := func(id string) {
		mu.Lock()
		failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: id})
		mu.Unlock()
	}

	// Group by job, keeping batch order within each job.
	type item struct {
		msg events.SQSMessage
		ev  jobs.Event
	}
	var order []string
	groups := map[string][]item{}
	for _, m := range batch.Records {
		ev, err := DecodeStatusEvent([]byte(m.Body))
		if err != nil {
			c.malformed(ctx, m, err)
			fail(m.MessageId)
			continue
		}
		if _, ok := groups[ev.JobID]; !ok {
			order = append(order, ev.JobID)
		}
		groups[ev.JobID] = append(groups[ev.JobID], item{m, ev})
	}

	n := c.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(items []item) {
			defer func() { <-sem; wg.Done() }()
			for _, it := range items {
				if !c.apply(ctx, it.msg, it.ev) {
					fail(it.msg.MessageId)
				}
			}
		}(groups[id])
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// apply applies one event and reports whether its message is done with.
func (c *Consumer) apply(ctx context.Context, m events.SQSMessage, ev jobs.Event) bool {
	attrs := []any{"messageId", m.MessageId, "jobId", ev.JobID, "status", ev.Status, "receiveCount", m.Attributes["ApproximateReceiveCount"]}
	if ctx.Err() != nil { // out of time: leave it for redelivery
		c.Log.WarnContext(ctx, "status event not processed before the deadline; SQS will redeliver it", attrs...)
		return false
	}
	j, outcome, err := c.Service.Advance(ctx, ev)
	switch code := jobs.ErrorCode(err); {
	case err == nil:
		attrs = append(attrs, "outcome", outcome, "version", j.Version, "progress", j.Progress, "cancelRequested", j.CancelRequested)
		switch outcome {
		case jobs.Applied:
			c.Log.InfoContext(ctx, "status event applied", attrs...)
		case jobs.Heartbeat:
			c.Log.InfoContext(ctx, "status event recorded as a heartbeat", attrs...)
		case jobs.Rejected:
			c.Log.WarnContext(ctx, "status event contradicts the finished job; ignored", append(attrs, "jobStatus", j.Status)...)
		default:
			c.Log.InfoContext(ctx, "status event changes nothing; ignored", append(attrs, "jobStatus", j.Status)...)
		}
		return true
	case code == jobs.EINVALID:
		c.malformed(ctx, m, err)
	case code == jobs.ENOTFOUND:
		c.Log.ErrorContext(ctx, "status event for an unknown job; it will go to the dead-letter queue", append(attrs, "err", err.Error())...)
	default:
		c.Log.ErrorContext(ctx, "status event failed; SQS will redeliver it", append(attrs, "code", code, "err", err.Error())...)
	}
	return false
}

func (c *Consumer) malformed(ctx context.Context, m events.SQSMessage, err error) {
	body := m.Body
	if len(body) > maxLoggedBody {
		body = body[:maxLoggedBody] + "…"
	}
	c.Log.ErrorContext(ctx, "MALFORMED_STATUS_EVENT: rejected; it will go to the dead-letter queue",
		"messageId", m.MessageId, "receiveCount", m.Attributes["ApproximateReceiveCount"], "reason", jobs.ErrorMessage(err), "body", body)
}

// statusEventFields are the status event's field names, and errorFields
// those of its error object. Other fields are ignored (the pipeline may add
// an event id or a timestamp), but a known name in another letter case is
// refused: encoding/json alone would accept "Status" for "status", and the
// documentation says names match exactly. A name repeated, in any object, is
// refused too (encoding/json lets the last one win).
var (
	statusEventFields = []string{"jobId", "status", "progress", "outputUrl", "error"}
	errorFields       = []string{"code", "message"}
)

// DecodeStatusEvent reads a message body (worker.StatusEvent, the documented
// status event) into a jobs.Event and validates it (jobs.Event.Validate). A
// fractional progress (40.5) is rounded down. Every error is EINVALID and
// says what is wrong.
func DecodeStatusEvent(body []byte) (jobs.Event, error) {
	fields, err := strictjson.Object(body)
	if err != nil {
		return jobs.Event{}, strictError("", err)
	}
	if err := exactNames("", fields, statusEventFields); err != nil {
		return jobs.Event{}, err
	}
	if raw, ok := fields["error"]; ok && string(raw) != "null" {
		ef, err := strictjson.Object(raw)
		if err != nil {
			return jobs.Event{}, strictError("error", err)
		}
		if err := exactNames("error.", ef, errorFields); err != nil {
			return jobs.Event{}, err
		}
	}
	var se worker.StatusEvent
	if err := json.Unmarshal(body, &se); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return jobs.Event{}, jobs.Errorf(jobs.EINVALID, "%s: wrong type (%s)", typeErr.Field, typeErr.Value)
		}
		return jobs.Event{}, jobs.Errorf(jobs.EINVALID, "body: a single JSON object")
	}
	ev := jobs.Event{JobID: se.JobID, Status: jobs.Status(se.Status), OutputURL: se.OutputURL}
	if se.Progress != nil {
		if *se.Progress < 0 || *se.Progress > 100 {
			return jobs.Event{}, jobs.Errorf(jobs.EINVALID, "progress: a number from 0 to 100")
		}
		p := int(math.Floor(*se.Progress))
		ev.Progress = &p
	}
	if se.Error != nil {
		ev.Error = &jobs.JobError{Code: se.Error.Code, Message: se.Error.Message}
	}
	if err := ev.Validate(); err != nil {
		return jobs.Event{}, jobs.Errorf(jobs.EINVALID, "%s", jobs.ErrorMessage(err))
	}
	return ev, nil
}

// exactNames refuses a field that is a known name in another letter case.
func exactNames(prefix string, fields map[string]json.RawMessage, known []string) error {
	for name := range fields {
		for _, k := range known {
			if name != k && strings.EqualFold(name, k) {
				return jobs.Errorf(jobs.EINVALID, "%s%.64s: unknown field; names are case-sensitive (%s%s)", prefix, name, prefix, k)
			}
		}
	}
	return nil
}

// strictError renders a strictjson error for the object at path ("" for the
// body itself).
func strictError(path string, err error) error {
	var dup *strictjson.DuplicateError
	switch {
	case errors.As(err, &dup) && path == "":
		return jobs.Errorf(jobs.EINVALID, "%.64s: repeated field", dup.Name)
	case errors.As(err, &dup):
		return jobs.Errorf(jobs.EINVALID, "%s.%.64s: repeated field", path, dup.Name)
	case path == "":
		return jobs.Errorf(jobs.EINVALID, "body: a single JSON object")
	}
	return jobs.Errorf(jobs.EINVALID, "%s: must be a JSON object", path)
}
