package config_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// sandbox is what a Lambda sandbox provides every function.
var sandbox = map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}

// api is the least an API function needs.
var api = map[string]string{"JOBS_TABLE": "Jobs", "ALLOWED_ORIGINS": "https://a.example.com", "COGNITO_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"}

// env merges maps into a getenv function, later ones winning.
func env(ms ...map[string]string) func(string) (string, bool) {
	all := map[string]string{}
	for _, m := range ms {
		maps.Copy(all, m)
	}
	return func(k string) (string, bool) { v, ok := all[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", jobs.MinCursorKeyLen)
	tests := []struct {
		name     string
		function string
		env      map[string]string
		check    func(c config.Config) bool
		wantErr  []string // substrings of the error; none means success
	}{
		{name: "an API function", function: config.GetJobFn, env: api, check: func(c config.Config) bool {
			return c.Table == "Jobs" && c.AllowedOrigins == "https://a.example.com" && c.CognitoIssuer == api["COGNITO_ISSUER"] && c.CallTimeout == 0
		}},
		{name: "everything an API function reads", function: config.CancelJobFn, env: map[string]string{
			"JOBS_TABLE": "Jobs-prod", "ALLOWED_ORIGINS": "https://a.example.com,https://b.example.com", "COGNITO_ISSUER": "http://127.0.0.1:3000/pool",
			"COGNITO_APP_CLIENT_IDS": " a, b ,", "ADMIN_GROUP": "ops", "DYNAMODB_TIMEOUT_MS": "1500", "JOB_RETENTION_DAYS": "7",
			"RETRY_AFTER_QUEUED_SECONDS": "3", "RETRY_AFTER_PROCESSING_SECONDS": "10",
			"LOG_LEVEL": "debug",
		}, check: func(c config.Config) bool {
			return c.CallTimeout == 1500*time.Millisecond && c.Retention == 7*24*time.Hour && slices.Equal(c.AppClientIDs, []string{"a", "b"}) &&
				c.AdminGroup == "ops" && c.RetryAfterQueued == 3*time.Second && c.RetryAfterProcessing == 10*time.Second && c.LogLevel == "debug"
		}},
		{name: "limits", function: config.SweepJobsFn, env: map[string]string{"JOBS_TABLE": "J", "JOB_QUEUE_TIMEOUT_SECONDS": "3600",
			"JOB_HEARTBEAT_TIMEOUT_SECONDS": "600", "JOB_RUN_TIMEOUT_SECONDS": "7200", "JOB_CANCEL_TIMEOUT_SECONDS": "300", "METRICS_NAMESPACE": "JobsApi/prod"},
			check: func(c config.Config) bool {
				return c.MetricsNamespace == "JobsApi/prod" && c.Limits == jobs.Limits{Queue: time.Hour, Heartbeat: 10 * time.Minute, Run: 2 * time.Hour, Cancel: 5 * time.Minute}
			}},
		{name: "a worker-facing function needs no origins or issuer", function: config.UpdateJobFn,
			env: map[string]string{"JOBS_TABLE": "J", "OUTPUT_URL_HOSTS": "cdn.example.com, d1.cloudfront.net,"},
			check: func(c config.Config) bool {
				return slices.Equal(c.OutputURLHosts, []string{"cdn.example.com", "d1.cloudfront.net"})
			}},
		{name: "the publisher needs no table", function: config.PublishJobsFn, env: map[string]string{"EVENTS_PUBLISH_URL": "https://x.example.com/event"},
			check: func(c config.Config) bool {
				return c.EventsPublishURL == "https://x.example.com/event" && c.Table == ""
			}},
		{name: "a function ignores what it does not read", function: config.UpdateJobFn, env: map[string]string{"JOBS_TABLE": "J", "CURSOR_KEY": "short", "COGNITO_ISSUER": "x"},
			check: func(c config.Config) bool { return c.CursorKey == nil && c.CognitoIssuer == "" }},
		{name: "submit", function: config.SubmitJobFn, env: map[string]string{"PIPELINE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/p"},
			check: func(c config.Config) bool { return c.QueueURL == "https://sqs.eu-west-1.amazonaws.com/1/p" }},
		{name: "list", function: config.ListJobsFn, env: map[string]string{"CURSOR_KEY": key}, check: func(c config.Config) bool { return string(c.CursorKey) == key }},

		{name: "no ALLOWED_ORIGINS: no built-in fallback", function: config.GetJobFn, env: map[string]string{"ALLOWED_ORIGINS": ""}, wantErr: []string{"ALLOWED_ORIGINS is not set"}},
		{name: "nothing: every missing variable at once", function: config.GetJobFn, env: map[string]string{"JOBS_TABLE": "", "ALLOWED_ORIGINS": "", "COGNITO_ISSUER": ""},
			wantErr: []string{"JOBS_TABLE is not set", "ALLOWED_ORIGINS is not set", "COGNITO_ISSUER is not set"}},
		{name: "issuer not a URL", function: config.GetJobFn, env: map[string]string{"COGNITO_ISSUER": "us-east-1_AbC"}, wantErr: []string{"COGNITO_ISSUER: the user pool's issuer URL"}},
		{name: "no queue", function: config.SubmitJobFn, wantErr: []string{"PIPELINE_QUEUE_URL is not set"}},
		{name: "no cursor key", function: config.ListJobsFn, wantErr: []string{"CURSOR_KEY is not set"}},
		{name: "short cursor key", function: config.ListJobsFn, env: map[string]string{"CURSOR_KEY": key[1:]}, wantErr: []string{"CURSOR_KEY: at least 32 bytes required, got 31"}},
		{name: "no publish URL", function: config.PublishJobsFn, wantErr: []string{"EVENTS_PUBLISH_URL is not set"}},
		{name: "timeout zero", function: config.GetJobFn, env: map[string]string{"DYNAMODB_TIMEOUT_MS": "0"}, wantErr: []string{"DYNAMODB_TIMEOUT_MS: a positive integer"}},
		{name: "timeout negative", function: config.GetJobFn, env: map[string]string{"DYNAMODB_TIMEOUT_MS": "-5"}, wantErr: []string{"DYNAMODB_TIMEOUT_MS"}},
		{name: "timeout not a number", function: config.GetJobFn, env: map[string]string{"DYNAMODB_TIMEOUT_MS": "3s"}, wantErr: []string{`"3s"`}},
		{name: "timeout fractional", function: config.GetJobFn, env: map[string]string{"DYNAMODB_TIMEOUT_MS": "1.5"}, wantErr: []string{"DYNAMODB_TIMEOUT_MS"}},
		{name: "timeout with spaces", function: config.GetJobFn, env: map[string]string{"DYNAMODB_TIMEOUT_MS": " 100"}, wantErr: []string{"DYNAMODB_TIMEOUT_MS"}},
		{name: "retry-after zero", function: config.GetJobFn, env: map[string]string{"RETRY_AFTER_QUEUED_SECONDS": "0"}, wantErr: []string{"RETRY_AFTER_QUEUED_SECONDS"}},
		{name: "retry-after not a number", function: config.GetJobFn, env: map[string]string{"RETRY_AFTER_PROCESSING_SECONDS": "soon"}, wantErr: []string{"RETRY_AFTER_PROCESSING_SECONDS"}},
		{name: "heartbeat limit zero", function: config.UpdateJobFn, env: map[string]string{"JOB_HEARTBEAT_TIMEOUT_SECONDS": "0"}, wantErr: []string{"JOB_HEARTBEAT_TIMEOUT_SECONDS"}},
		{name: "cancel limit not a number", function: config.SweepJobsFn, env: map[string]string{"JOB_CANCEL_TIMEOUT_SECONDS": "5m"}, wantErr: []string{"JOB_CANCEL_TIMEOUT_SECONDS"}},
		{name: "retention zero", function: config.UpdateJobFn, env: map[string]string{"JOB_RETENTION_DAYS": "0"}, wantErr: []string{"JOB_RETENTION_DAYS"}},
		{name: "no region", function: config.UpdateJobFn, env: map[string]string{"AWS_REGION": ""}, wantErr: []string{"AWS_REGION is not set"}},
		{name: "no access key", function: config.UpdateJobFn, env: map[string]string{"AWS_ACCESS_KEY_ID": ""}, wantErr: []string{"AWS_ACCESS_KEY_ID is not set"}},
		{name: "no secret", function: config.UpdateJobFn, env: map[string]string{"AWS_SECRET_ACCESS_KEY": ""}, wantErr: []string{"AWS_SECRET_ACCESS_KEY is not set"}},
		{name: "unknown function", function: "OtherFn", wantErr: []string{`unknown function "OtherFn"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := map[string]string{"JOBS_TABLE": "Jobs"}
			if slices.Contains(config.APIFunctions, tt.function) {
				base = api
			}
			got, err := config.Load(tt.function, env(sandbox, base, tt.env))
			if len(tt.wantErr) > 0 {
				for _, w := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("Load() error = %v, want one containing %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got.Function != tt.function || (tt.check != nil && !tt.check(got)) {
				t.Errorf("Load() = %+v", got)
			}
		})
	}
}

func TestLoadAWS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		env                   map[string]string
		wantRegion            string
		wantToken             string
		wantDynamoDB, wantSQS string
	}{
		{name: "lambda sandbox", wantRegion: "eu-west-1", wantToken: "token"},
		{name: "default region fallback", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-2"}, wantRegion: "us-east-2", wantToken: "token"},
		{name: "AWS_REGION wins", env: map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}, wantRegion: "eu-west-1", wantToken: "token"},
		{name: "no session token", env: map[string]string{"AWS_SESSION_TOKEN": ""}, wantRegion: "eu-west-1"},
		{name: "service-specific", env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, wantRegion: "eu-west-1", wantToken: "token", wantDynamoDB: "http://127.0.0.1:8000"},
		{name: "global fallback", env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}, wantRegion: "eu-west-1", wantToken: "token",
			wantDynamoDB: "http://localhost:4566", wantSQS: "http://localhost:4566"},
		{name: "service-specific wins", env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324"},
			wantRegion: "eu-west-1", wantToken: "token", wantDynamoDB: "http://localhost:4566", wantSQS: "http://127.0.0.1:9324"},
		{name: "ignored", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://a", "AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"},
			wantRegion: "eu-west-1", wantToken: "token"},
		{name: "not ignored when 1", env: map[string]string{"AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "1"},
			wantRegion: "eu-west-1", wantToken: "token", wantDynamoDB: "http://b", wantSQS: "http://b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.SubmitJobFn, env(sandbox, api, map[string]string{"PIPELINE_QUEUE_URL": "https://q"}, tt.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if c.AWS.Region != tt.wantRegion || c.DynamoDBEndpoint != tt.wantDynamoDB || c.SQSEndpoint != tt.wantSQS {
				t.Errorf("region, endpoints = %q, %q, %q; want %q, %q, %q", c.AWS.Region, c.DynamoDBEndpoint, c.SQSEndpoint, tt.wantRegion, tt.wantDynamoDB, tt.wantSQS)
			}
			creds, err := c.AWS.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != tt.wantToken {
				t.Errorf("credentials = %+v, %v; want the sandbox's", creds, err)
			}
		})
	}
}

func TestLoadClientSettings(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.UpdateJobFn, env(sandbox, map[string]string{"JOBS_TABLE": "J"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AWS.HTTPClient == nil || c.AWS.Retryer == nil {
		t.Fatalf("HTTPClient = %v, Retryer nil: %v", c.AWS.HTTPClient, c.AWS.Retryer == nil)
	}
	r1, r2 := c.AWS.Retryer(), c.AWS.Retryer()
	if r1 == r2 || r1.MaxAttempts() != 3 {
		t.Errorf("Retryer() = %p, %p, %d attempts; want a new standard retryer per client", r1, r2, r1.MaxAttempts())
	}
	// Backoff is capped at 500ms so retries fit in one call's deadline; the
	// SDK default cap is 20s.
	for attempt := 1; attempt <= 30; attempt++ {
		if d, err := r1.RetryDelay(attempt, errors.New("throttled")); err != nil || d > 500*time.Millisecond {
			t.Fatalf("RetryDelay(%d) = %v, %v; want at most 500ms", attempt, d, err)
		}
	}
}

// TestVars checks the table itself: every row documented, read by known
// functions, and the functions' own variables kept out of the runtime's.
func TestVars(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, v := range config.Vars {
		if seen[v.Name] || v.Doc == "" {
			t.Errorf("%s: listed twice or undocumented", v.Name)
		}
		seen[v.Name] = true
		for _, f := range v.For {
			if !slices.Contains(config.Functions, f) {
				t.Errorf("%s: read by unknown function %q", v.Name, f)
			}
		}
		if strings.HasPrefix(v.Name, "AWS_") != v.Runtime {
			t.Errorf("%s: Runtime = %v; the AWS_ variables, and only they, come from the runtime", v.Name, v.Runtime)
		}
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level                string
		debug, info, warning bool
		notice               string // a line the logger writes by itself
	}{
		{"", false, true, true, ""},
		{"debug", true, true, true, ""},
		{"INFO", false, true, true, ""},
		{"warn", false, false, true, ""},
		{"error", false, false, false, ""},
		{"verbose", false, true, true, `"msg":"LOG_LEVEL not understood; logging at info","value":"verbose"`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l := config.NewLogger(&buf, tt.level)
		if !strings.Contains(buf.String(), tt.notice) {
			t.Errorf("level %q: output %q, want %q", tt.level, buf.String(), tt.notice)
		}
		if _, ok := l.Handler().(*slog.JSONHandler); !ok {
			t.Errorf("handler = %T, want *slog.JSONHandler (CloudWatch reads JSON)", l.Handler())
		}
		ctx := context.Background()
		got := []bool{l.Enabled(ctx, slog.LevelDebug), l.Enabled(ctx, slog.LevelInfo), l.Enabled(ctx, slog.LevelWarn)}
		if want := []bool{tt.debug, tt.info, tt.warning}; !slices.Equal(got, want) {
			t.Errorf("level %q: debug/info/warn enabled = %v, want %v", tt.level, got, want)
		}
	}
}

// TestREADMETable holds README's configuration table to Vars: every
// variable the template may set has a row, marked required when it is.
func TestREADMETable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "### Configuration and operations\n")
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		rows = append(rows, line)
	}
	for _, v := range config.Vars {
		if v.Runtime {
			continue
		}
		i := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, "`"+v.Name+"`") })
		switch {
		case i < 0:
			t.Errorf("README's configuration table has no row for %s", v.Name)
		case v.Required != strings.Contains(rows[i], "required"):
			t.Errorf("README's row for %s says required: %v, want %v", v.Name, !v.Required, v.Required)
		}
	}
}
