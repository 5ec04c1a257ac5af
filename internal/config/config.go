// Package config is every environment variable the Jobs API functions
// read, defined once (Vars), and the one loader of them (Load). The Lambda
// mains pass it os.LookupEnv; the local server passes each function's
// Environment as template.yaml resolves it, so both read the same settings
// through the same rules.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// The functions of template.yaml, by logical ID.
const (
	GetJobFn      = "GetJobFn"
	SubmitJobFn   = "SubmitJobFn"
	ListJobsFn    = "ListJobsFn"
	CancelJobFn   = "CancelJobFn"
	UpdateJobFn   = "UpdateJobFn"
	SweepJobsFn   = "SweepJobsFn"
	WorkerCheckFn = "WorkerCheckFn"
	PublishJobsFn = "PublishJobsFn"
)

var (
	// APIFunctions serve the REST API's routes.
	APIFunctions = []string{GetJobFn, SubmitJobFn, ListJobsFn, CancelJobFn}
	// StoreFunctions use the jobs table through jobs.Service.
	StoreFunctions = append(slices.Clone(APIFunctions), UpdateJobFn, SweepJobsFn, WorkerCheckFn)
	// Functions are all of them.
	Functions = append(slices.Clone(StoreFunctions), PublishJobsFn)
)

// Config is one function's configuration.
type Config struct {
	Function string

	Table          string
	CallTimeout    time.Duration // 0: the store's default
	AllowedOrigins string
	CognitoIssuer  string
	AppClientIDs   []string
	AdminGroup     string
	// RetryAfterQueued and RetryAfterProcessing are the polling advice on
	// unfinished jobs (0: the API's defaults).
	RetryAfterQueued, RetryAfterProcessing time.Duration
	Retention                              time.Duration // 0: jobs.DefaultRetention
	Limits                                 jobs.Limits   // zero fields: the defaults
	OutputURLHosts                         []string
	QueueURL                               string
	CursorKey                              []byte
	MetricsNamespace                       string
	EventsPublishURL                       string
	LogLevel                               string

	// AWS is what every SDK client of the function is built from: region,
	// the role's credentials, one HTTP client, the retry policy.
	AWS aws.Config
	// DynamoDBEndpoint and SQSEndpoint are the SDK's standard endpoint
	// overrides ("" for AWS's own).
	DynamoDBEndpoint, SQSEndpoint string

	endpoint        string
	ignoreEndpoints bool
	accessKey       string
	secretKey       string
	sessionToken    string
}

// Var is one environment variable: who reads it and how.
type Var struct {
	Name string
	// For are the functions that read it (nil: every function).
	For []string
	// Required: Load fails for those functions when it is unset or empty.
	Required bool
	// Runtime: set by the Lambda runtime (or by tests and the local
	// server), never by template.yaml.
	Runtime bool
	Doc     string
	set     func(c *Config, v string) error
}

// Reads reports whether function reads v.
func (v Var) Reads(function string) bool { return v.For == nil || slices.Contains(v.For, function) }

// Vars is the table of every variable, in the order Load applies them.
var Vars = []Var{
	{Name: "LOG_LEVEL", Doc: "debug, info (default), warn or error", set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{Name: "JOBS_TABLE", For: StoreFunctions, Required: true, Doc: "the jobs table's name",
		set: func(c *Config, v string) error { c.Table = v; return nil }},
	{Name: "DYNAMODB_TIMEOUT_MS", For: StoreFunctions, Doc: fmt.Sprintf("each DynamoDB call's deadline, retries included (default %d)", jobs.DefaultCallTimeout.Milliseconds()),
		set: duration(func(c *Config) *time.Duration { return &c.CallTimeout }, time.Millisecond)},
	{Name: "ALLOWED_ORIGINS", For: APIFunctions, Required: true, Doc: "comma-separated origins whose browsers may read the answers (CORS)",
		set: func(c *Config, v string) error { c.AllowedOrigins = v; return nil }},
	{Name: "COGNITO_ISSUER", For: APIFunctions, Required: true, Doc: "the user pool's issuer URL: only its ID tokens are accepted",
		set: func(c *Config, v string) error {
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("the user pool's issuer URL, got %q", v)
			}
			c.CognitoIssuer = v
			return nil
		}},
	{Name: "COGNITO_APP_CLIENT_IDS", For: APIFunctions, Doc: "comma-separated app clients whose tokens are accepted (empty: any client of the pool)",
		set: func(c *Config, v string) error { c.AppClientIDs = list(v); return nil }},
	{Name: "ADMIN_GROUP", For: APIFunctions, Doc: "the exact name of the admin group (default admin)",
		set: func(c *Config, v string) error { c.AdminGroup = v; return nil }},
	{Name: "RETRY_AFTER_QUEUED_SECONDS", For: APIFunctions, Doc: "Retry-After on QUEUED jobs (default 2)",
		set: duration(func(c *Config) *time.Duration { return &c.RetryAfterQueued }, time.Second)},
	{Name: "RETRY_AFTER_PROCESSING_SECONDS", For: APIFunctions, Doc: "Retry-After on PROCESSING jobs (default 5)",
		set: duration(func(c *Config) *time.Duration { return &c.RetryAfterProcessing }, time.Second)},
	{Name: "JOB_RETENTION_DAYS", For: []string{SubmitJobFn, CancelJobFn, UpdateJobFn, SweepJobsFn, WorkerCheckFn}, Doc: "how long finished jobs are kept (default 30)",
		set: duration(func(c *Config) *time.Duration { return &c.Retention }, 24*time.Hour)},
	{Name: "JOB_QUEUE_TIMEOUT_SECONDS", For: StoreFunctions, Doc: "longest wait in QUEUED (QUEUE_TIMEOUT)",
		set: duration(func(c *Config) *time.Duration { return &c.Limits.Queue }, time.Second)},
	{Name: "JOB_HEARTBEAT_TIMEOUT_SECONDS", For: StoreFunctions, Doc: "longest silence in PROCESSING (HEARTBEAT_TIMEOUT)",
		set: duration(func(c *Config) *time.Duration { return &c.Limits.Heartbeat }, time.Second)},
	{Name: "JOB_RUN_TIMEOUT_SECONDS", For: StoreFunctions, Doc: "longest run from submit (RUN_TIMEOUT)",
		set: duration(func(c *Config) *time.Duration { return &c.Limits.Run }, time.Second)},
	{Name: "JOB_CANCEL_TIMEOUT_SECONDS", For: StoreFunctions, Doc: "how long a requested cancel may go unanswered",
		set: duration(func(c *Config) *time.Duration { return &c.Limits.Cancel }, time.Second)},
	{Name: "OUTPUT_URL_HOSTS", For: []string{UpdateJobFn}, Doc: "comma-separated hosts a job's outputUrl may name (empty: any public host)",
		set: func(c *Config, v string) error { c.OutputURLHosts = list(v); return nil }},
	{Name: "PIPELINE_QUEUE_URL", For: []string{SubmitJobFn}, Required: true, Doc: "the video pipeline's SQS queue",
		set: func(c *Config, v string) error { c.QueueURL = v; return nil }},
	{Name: "CURSOR_KEY", For: []string{ListJobsFn}, Required: true, Doc: fmt.Sprintf("the secret that signs list cursors, at least %d bytes, shared by every instance", jobs.MinCursorKeyLen),
		set: func(c *Config, v string) error {
			if len(v) < jobs.MinCursorKeyLen {
				return fmt.Errorf("at least %d bytes required, got %d", jobs.MinCursorKeyLen, len(v))
			}
			c.CursorKey = []byte(v)
			return nil
		}},
	{Name: "METRICS_NAMESPACE", For: []string{SweepJobsFn}, Doc: "the CloudWatch namespace of the sweeper's metrics",
		set: func(c *Config, v string) error { c.MetricsNamespace = v; return nil }},
	{Name: "EVENTS_PUBLISH_URL", For: []string{PublishJobsFn}, Required: true, Doc: "the AppSync Events API's HTTP publish endpoint",
		set: func(c *Config, v string) error { c.EventsPublishURL = v; return nil }},

	{Name: "AWS_REGION", Runtime: true, Doc: "the region (else AWS_DEFAULT_REGION)", set: func(c *Config, v string) error { c.AWS.Region = v; return nil }},
	{Name: "AWS_DEFAULT_REGION", Runtime: true, Doc: "the region when AWS_REGION is unset", set: func(c *Config, v string) error {
		if c.AWS.Region == "" {
			c.AWS.Region = v
		}
		return nil
	}},
	{Name: "AWS_ACCESS_KEY_ID", Runtime: true, Required: true, Doc: "the function role's credentials", set: func(c *Config, v string) error { c.accessKey = v; return nil }},
	{Name: "AWS_SECRET_ACCESS_KEY", Runtime: true, Required: true, Doc: "the function role's credentials", set: func(c *Config, v string) error { c.secretKey = v; return nil }},
	{Name: "AWS_SESSION_TOKEN", Runtime: true, Doc: "the function role's credentials", set: func(c *Config, v string) error { c.sessionToken = v; return nil }},
	{Name: "AWS_ENDPOINT_URL", Runtime: true, Doc: "the SDK's endpoint override for every service", set: func(c *Config, v string) error { c.endpoint = v; return nil }},
	{Name: "AWS_ENDPOINT_URL_DYNAMODB", For: StoreFunctions, Runtime: true, Doc: "the SDK's DynamoDB endpoint override", set: func(c *Config, v string) error { c.DynamoDBEndpoint = v; return nil }},
	{Name: "AWS_ENDPOINT_URL_SQS", For: []string{SubmitJobFn}, Runtime: true, Doc: "the SDK's SQS endpoint override", set: func(c *Config, v string) error { c.SQSEndpoint = v; return nil }},
	{Name: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", Runtime: true, Doc: "true: ignore the endpoint overrides", set: func(c *Config, v string) error {
		c.ignoreEndpoints = strings.EqualFold(v, "true")
		return nil
	}},
}

// Load reads function's variables (those of Vars that it reads) with
// getenv, which returns a variable's value and whether it is set (os.LookupEnv);
// an empty value is unset. It reports every variable in error at once. The
// AWS settings are built here, without config.LoadDefaultConfig: that call
// reads shared config files and probes credential sources, which roughly
// doubles a Go function's cold start for nothing a Lambda sandbox has.
func Load(function string, getenv func(string) (string, bool)) (Config, error) {
	c := Config{Function: function}
	if !slices.Contains(Functions, function) {
		return c, fmt.Errorf("config: unknown function %q", function)
	}
	var errs []error
	for _, v := range Vars {
		if !v.Reads(function) {
			continue
		}
		val, _ := getenv(v.Name)
		if val == "" {
			if v.Required {
				errs = append(errs, fmt.Errorf("%s is not set", v.Name))
			}
			continue
		}
		if err := v.set(&c, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
		}
	}
	if c.AWS.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set"))
	}
	if c.ignoreEndpoints {
		c.DynamoDBEndpoint, c.SQSEndpoint = "", ""
	} else {
		c.DynamoDBEndpoint, c.SQSEndpoint = cmp.Or(c.DynamoDBEndpoint, c.endpoint), cmp.Or(c.SQSEndpoint, c.endpoint)
	}
	c.AWS.Credentials = credentials.NewStaticCredentialsProvider(c.accessKey, c.secretKey, c.sessionToken)
	c.AWS.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = 16 })
	// The standard retryer, its backoff capped to stay inside one call's deadline.
	c.AWS.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 500 * time.Millisecond })
	}
	return c, errors.Join(errs...)
}

// duration parses a positive integer count of unit into the field at.
func duration(at func(*Config) *time.Duration, unit time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("a positive integer, got %q", v)
		}
		*at(c) = time.Duration(n) * unit
		return nil
	}
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// NewLogger returns a JSON logger to w at level ("debug", "info", "warn",
// "error", any case; "" is info): Lambda sends stdout to CloudWatch Logs. A
// level it does not understand logs at info with a warning saying so,
// rather than failing every invocation over a log setting.
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
