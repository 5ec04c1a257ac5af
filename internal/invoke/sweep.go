package invoke

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// SweepHandler is SweepJobsFn's handler: on each scheduled invocation it
// ends the jobs past a limit (jobs.Service.Sweep), logs a JOB_TIMED_OUT line
// per job and one summary line in CloudWatch's embedded metric format, from
// which the stack's metrics and alarm come.
type SweepHandler struct {
	Service *jobs.Service
	Log     *slog.Logger
	// Namespace is the metrics' CloudWatch namespace (JobsApi/<stage>).
	Namespace string
	// Options bound each run.
	Options jobs.SweepOptions
	// Reserve is how long before the invocation's deadline the sweep stops
	// (DefaultReserve if 0), so it ends cleanly and logs its metrics.
	Reserve time.Duration
	// Now is injectable for tests.
	Now func() time.Time
}

// DefaultReserve is SweepHandler.Reserve's default.
const DefaultReserve = 5 * time.Second

// Metric names of the summary line; TimedOut is the sum of the three
// timeouts, the alarm's metric.
var reasonMetric = map[jobs.Reason]string{
	jobs.ReasonQueueTimeout:     "QueueTimeouts",
	jobs.ReasonHeartbeatTimeout: "HeartbeatTimeouts",
	jobs.ReasonRunTimeout:       "RunTimeouts",
	jobs.ReasonCancelTimeout:    "CancelTimeouts",
	jobs.ReasonDeadline:         "DeadlinesReached",
}

// Metric names that are not per reason.
const (
	MetricTimedOut = "JobsTimedOut"
	MetricScanned  = "JobsSwept"
	MetricErrors   = "SweepErrors"
)

// SweepSummary is the invocation's result (visible to a manual invoke).
type SweepSummary struct {
	Scanned   int            `json:"scanned"`
	Changed   map[string]int `json:"changed"`
	Truncated bool           `json:"truncated"`
	Errors    int            `json:"errors"`
}

// Handle runs one sweep. It returns an error only when the sweep could not
// list jobs at all; errors on single jobs are counted and logged, and the
// next run retries them.
func (h *SweepHandler) Handle(ctx context.Context, _ json.RawMessage) (SweepSummary, error) {
	ctx, cancel := jobs.WithReserve(ctx, cmp.Or(h.Reserve, DefaultReserve))
	defer cancel()
	opts := h.Options
	opts.OnChange = func(j jobs.Job, r jobs.Reason) {
		attrs := []any{"jobId", j.ID, "reason", r, "status", j.Status, "createdAt", jobs.FormatTime(j.CreatedAt)}
		if !j.StartedAt.IsZero() {
			attrs = append(attrs, "startedAt", jobs.FormatTime(j.StartedAt))
		}
		h.Log.WarnContext(ctx, "JOB_TIMED_OUT: a limit ended the job", attrs...)
	}
	res, err := h.Service.Sweep(ctx, opts)
	sum := SweepSummary{Scanned: res.Scanned, Changed: map[string]int{}, Truncated: res.Truncated}
	for r, n := range res.Changed {
		sum.Changed[string(r)] = n
	}
	if err != nil {
		sum.Errors = 1
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			sum.Errors = len(u.Unwrap())
		}
		h.Log.ErrorContext(ctx, "sweep errors; the next run retries", "errors", sum.Errors, "err", err.Error())
	}
	h.metrics(ctx, sum, res)
	if err != nil && res.Scanned == 0 {
		return sum, publicError(err)
	}
	return sum, nil
}

// metrics logs the summary in CloudWatch's embedded metric format: the
// "_aws" member tells CloudWatch Logs which members are metrics.
func (h *SweepHandler) metrics(ctx context.Context, sum SweepSummary, res jobs.SweepResult) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	values := map[string]int{MetricScanned: sum.Scanned, MetricErrors: sum.Errors}
	timedOut := 0
	for _, r := range jobs.Reasons {
		values[reasonMetric[r]] = res.Changed[r]
		if r == jobs.ReasonQueueTimeout || r == jobs.ReasonHeartbeatTimeout || r == jobs.ReasonRunTimeout {
			timedOut += res.Changed[r]
		}
	}
	values[MetricTimedOut] = timedOut
	defs := make([]map[string]string, 0, len(values))
	attrs := []any{"truncated", sum.Truncated}
	for _, name := range metricNames {
		defs = append(defs, map[string]string{"Name": name, "Unit": "Count"})
		attrs = append(attrs, name, values[name])
	}
	aws := map[string]any{
		"Timestamp": now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace": h.Namespace, "Dimensions": [][]string{{}}, "Metrics": defs,
		}},
	}
	h.Log.InfoContext(ctx, "sweep done", append(attrs, "_aws", aws)...)
}

// metricNames is the summary line's metrics, in a fixed order.
var metricNames = []string{MetricScanned, MetricTimedOut, "QueueTimeouts", "HeartbeatTimeouts", "RunTimeouts", "CancelTimeouts", "DeadlinesReached", MetricErrors}
