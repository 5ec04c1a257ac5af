// Package lambdaenv reads the Jobs API functions' configuration from their
// environment, once, at init.
package lambdaenv

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Config is what the functions read from their environment.
type Config struct {
	// Table is JOBS_TABLE, the jobs table's name. Required.
	Table string
	// AllowedOrigins is ALLOWED_ORIGINS, comma-separated.
	AllowedOrigins string
	// QueueURL is PIPELINE_QUEUE_URL, the video pipeline's SQS queue.
	QueueURL string
	// CallTimeout is DYNAMODB_TIMEOUT_MS: each DynamoDB call's deadline.
	CallTimeout time.Duration
	// Retention is JOB_RETENTION_DAYS: how long terminal jobs are kept.
	Retention time.Duration
	// Limits are JOB_QUEUE_TIMEOUT_SECONDS, JOB_HEARTBEAT_TIMEOUT_SECONDS,
	// JOB_RUN_TIMEOUT_SECONDS and JOB_CANCEL_TIMEOUT_SECONDS: how long a job
	// may stay unfinished (jobs.Limits; zero fields take the defaults).
	Limits jobs.Limits
	// MetricsNamespace is METRICS_NAMESPACE, the CloudWatch namespace of
	// the metrics a function logs (the sweeper).
	MetricsNamespace string
	// OutputURLHosts is OUTPUT_URL_HOSTS, comma-separated: the only hosts a
	// job's outputUrl may name (empty: any public host).
	OutputURLHosts []string
	// EventsPublishURL is EVENTS_PUBLISH_URL, the AppSync Events API's
	// HTTP publish endpoint (PublishJobsFn).
	EventsPublishURL string
}

// Load reads the environment. defaultOrigins applies when ALLOWED_ORIGINS is
// unset.
func Load(defaultOrigins string) (Config, error) {
	c := Config{
		Table:          os.Getenv("JOBS_TABLE"),
		AllowedOrigins: os.Getenv("ALLOWED_ORIGINS"),
		QueueURL:       os.Getenv("PIPELINE_QUEUE_URL"),

		EventsPublishURL: os.Getenv("EVENTS_PUBLISH_URL"),
	}
	if c.Table == "" {
		return c, fmt.Errorf("JOBS_TABLE is not set")
	}
	if c.AllowedOrigins == "" {
		c.AllowedOrigins = defaultOrigins
	}
	ms, err := positiveInt("DYNAMODB_TIMEOUT_MS")
	if err != nil {
		return c, err
	}
	days, err := positiveInt("JOB_RETENTION_DAYS")
	if err != nil {
		return c, err
	}
	c.CallTimeout = time.Duration(ms) * time.Millisecond
	c.Retention = time.Duration(days) * 24 * time.Hour
	c.MetricsNamespace = os.Getenv("METRICS_NAMESPACE")
	for _, h := range strings.Split(os.Getenv("OUTPUT_URL_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.OutputURLHosts = append(c.OutputURLHosts, h)
		}
	}
	for _, l := range []struct {
		name string
		dst  *time.Duration
	}{
		{"JOB_QUEUE_TIMEOUT_SECONDS", &c.Limits.Queue}, {"JOB_HEARTBEAT_TIMEOUT_SECONDS", &c.Limits.Heartbeat},
		{"JOB_RUN_TIMEOUT_SECONDS", &c.Limits.Run}, {"JOB_CANCEL_TIMEOUT_SECONDS", &c.Limits.Cancel},
	} {
		n, err := positiveInt(l.name)
		if err != nil {
			return c, err
		}
		*l.dst = time.Duration(n) * time.Second
	}
	return c, nil
}

// positiveInt reads an optional positive integer; 0 when unset.
func positiveInt(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: a positive integer, got %q", name, v)
	}
	return n, nil
}

// Logger returns the JSON logger every function writes to stdout, which
// Lambda sends to CloudWatch Logs, at the level LOG_LEVEL names.
func Logger() *slog.Logger {
	return NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"))
}

// NewLogger returns a JSON logger to w at level ("debug", "info", "warn",
// "error", any case; "" is info). A level it does not understand logs at
// info with a warning saying so, rather than failing every invocation over
// a log setting.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	err := l.UnmarshalText([]byte(level))
	if level == "" {
		l, err = slog.LevelInfo, nil
	}
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
	if err != nil {
		log.Warn("LOG_LEVEL not understood; logging at info", "value", level)
	}
	return log
}

// Fatal logs an init failure and exits, which Lambda reports as
// Runtime.ExitError and retries on the next invocation.
func Fatal(log *slog.Logger, msg string, err error) {
	log.Error(msg, "err", err.Error())
	os.Exit(1)
}
