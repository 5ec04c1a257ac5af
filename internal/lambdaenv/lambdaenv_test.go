package lambdaenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/lambdaenv"
)

var vars = []string{"OUTPUT_URL_HOSTS", "JOBS_TABLE", "ALLOWED_ORIGINS", "PIPELINE_QUEUE_URL", "DYNAMODB_TIMEOUT_MS", "JOB_RETENTION_DAYS",
	"JOB_QUEUE_TIMEOUT_SECONDS", "JOB_HEARTBEAT_TIMEOUT_SECONDS", "JOB_RUN_TIMEOUT_SECONDS", "JOB_CANCEL_TIMEOUT_SECONDS", "METRICS_NAMESPACE"}

const defaultOrigins = "https://default.example.com"

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    lambdaenv.Config
		wantErr string // a substring of the error; "" means none
	}{
		{
			name: "table only",
			env:  map[string]string{"JOBS_TABLE": "Jobs"},
			want: lambdaenv.Config{Table: "Jobs", AllowedOrigins: defaultOrigins},
		},
		{
			name: "everything",
			env: map[string]string{
				"JOBS_TABLE": "Jobs-prod", "ALLOWED_ORIGINS": "https://a.example.com,https://b.example.com",
				"PIPELINE_QUEUE_URL":  "https://sqs.eu-west-1.amazonaws.com/123456789012/pipeline",
				"DYNAMODB_TIMEOUT_MS": "1500", "JOB_RETENTION_DAYS": "7",
				"OUTPUT_URL_HOSTS": "cdn.example.com, d1.cloudfront.net,",
			},
			want: lambdaenv.Config{
				Table: "Jobs-prod", AllowedOrigins: "https://a.example.com,https://b.example.com",
				QueueURL:    "https://sqs.eu-west-1.amazonaws.com/123456789012/pipeline",
				CallTimeout: 1500 * time.Millisecond, Retention: 7 * 24 * time.Hour,
				OutputURLHosts: []string{"cdn.example.com", "d1.cloudfront.net"},
			},
		},
		{name: "timeout of 1", env: map[string]string{"JOBS_TABLE": "J", "DYNAMODB_TIMEOUT_MS": "1"}, want: lambdaenv.Config{Table: "J", AllowedOrigins: defaultOrigins, CallTimeout: time.Millisecond}},
		{name: "no table", env: map[string]string{"ALLOWED_ORIGINS": "x"}, wantErr: "JOBS_TABLE"},
		{name: "nothing", env: nil, wantErr: "JOBS_TABLE"},
		{name: "timeout zero", env: map[string]string{"JOBS_TABLE": "J", "DYNAMODB_TIMEOUT_MS": "0"}, wantErr: "DYNAMODB_TIMEOUT_MS"},
		{name: "timeout negative", env: map[string]string{"JOBS_TABLE": "J", "DYNAMODB_TIMEOUT_MS": "-5"}, wantErr: "DYNAMODB_TIMEOUT_MS"},
		{name: "timeout not a number", env: map[string]string{"JOBS_TABLE": "J", "DYNAMODB_TIMEOUT_MS": "3s"}, wantErr: `"3s"`},
		{name: "timeout fractional", env: map[string]string{"JOBS_TABLE": "J", "DYNAMODB_TIMEOUT_MS": "1.5"}, wantErr: "DYNAMODB_TIMEOUT_MS"},
		{name: "timeout with spaces", env: map[string]string{"JOBS_TABLE": "J", "DYNAMODB_TIMEOUT_MS": " 100"}, wantErr: "DYNAMODB_TIMEOUT_MS"},
		{
			name: "limits",
			env: map[string]string{"JOBS_TABLE": "J", "JOB_QUEUE_TIMEOUT_SECONDS": "3600", "JOB_HEARTBEAT_TIMEOUT_SECONDS": "600",
				"JOB_RUN_TIMEOUT_SECONDS": "7200", "JOB_CANCEL_TIMEOUT_SECONDS": "300", "METRICS_NAMESPACE": "JobsApi/prod"},
			want: lambdaenv.Config{Table: "J", AllowedOrigins: defaultOrigins, MetricsNamespace: "JobsApi/prod",
				Limits: jobs.Limits{Queue: time.Hour, Heartbeat: 10 * time.Minute, Run: 2 * time.Hour, Cancel: 5 * time.Minute}},
		},
		{name: "heartbeat limit zero", env: map[string]string{"JOBS_TABLE": "J", "JOB_HEARTBEAT_TIMEOUT_SECONDS": "0"}, wantErr: "JOB_HEARTBEAT_TIMEOUT_SECONDS"},
		{name: "cancel limit not a number", env: map[string]string{"JOBS_TABLE": "J", "JOB_CANCEL_TIMEOUT_SECONDS": "5m"}, wantErr: "JOB_CANCEL_TIMEOUT_SECONDS"},
		{name: "retention zero", env: map[string]string{"JOBS_TABLE": "J", "JOB_RETENTION_DAYS": "0"}, wantErr: "JOB_RETENTION_DAYS"},
		{name: "retention not a number", env: map[string]string{"JOBS_TABLE": "J", "JOB_RETENTION_DAYS": "thirty"}, wantErr: "JOB_RETENTION_DAYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range vars {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := lambdaenv.Load(defaultOrigins)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Load() error = %v, want one containing %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	l := lambdaenv.Logger()
	if l == nil {
		t.Fatal("Logger() = nil")
	}
	if _, ok := l.Handler().(*slog.JSONHandler); !ok {
		t.Errorf("Logger() handler = %T, want *slog.JSONHandler (CloudWatch reads JSON)", l.Handler())
	}
}

func TestNewLoggerLevels(t *testing.T) {
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
		l := lambdaenv.NewLogger(&buf, tt.level)
		if !strings.Contains(buf.String(), tt.notice) {
			t.Errorf("level %q: output %q, want %q", tt.level, buf.String(), tt.notice)
		}
		ctx := context.Background()
		got := []bool{l.Enabled(ctx, slog.LevelDebug), l.Enabled(ctx, slog.LevelInfo), l.Enabled(ctx, slog.LevelWarn)}
		if want := []bool{tt.debug, tt.info, tt.warning}; !slices.Equal(got, want) {
			t.Errorf("level %q: debug/info/warn enabled = %v, want %v", tt.level, got, want)
		}
	}
}

// fatalEnv makes the test binary, when re-run by TestFatal, call Fatal.
const fatalEnv = "LAMBDAENV_TEST_CALL_FATAL"

func TestFatal(t *testing.T) {
	if os.Getenv(fatalEnv) == "1" {
		lambdaenv.Fatal(lambdaenv.Logger(), "configuration", errors.New("JOBS_TABLE is not set"))
		return // not reached
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFatal$")
	cmd.Env = append(os.Environ(), fatalEnv+"=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("Fatal: process ended with %v, want exit status 1", err)
	}
	var line map[string]any
	first, _, _ := strings.Cut(stdout.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("Fatal: stdout %q does not start with a JSON log line: %v", stdout.String(), err)
	}
	if line["level"] != "ERROR" || line["msg"] != "configuration" || line["err"] != "JOBS_TABLE is not set" {
		t.Errorf("Fatal log line = %v, want level ERROR, msg configuration, err JOBS_TABLE is not set", line)
	}
}
