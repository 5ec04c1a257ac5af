package awsenv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/awsenv"
)

// awsVars are every variable awsenv reads.
var awsVars = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
}

// setEnv clears every AWS variable awsenv reads, then sets vars. Tests using
// it cannot run in parallel (t.Setenv).
func setEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, k := range awsVars {
		t.Setenv(k, "")
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

var lambdaVars = map[string]string{
	"AWS_REGION":            "eu-west-1",
	"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLE",
	"AWS_SECRET_ACCESS_KEY": "secret",
	"AWS_SESSION_TOKEN":     "token",
}

func with(edit map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range lambdaVars {
		m[k] = v
	}
	for k, v := range edit {
		m[k] = v
	}
	return m
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantRegion string
		wantToken  string
		wantErr    string
	}{
		{name: "lambda sandbox", env: lambdaVars, wantRegion: "eu-west-1", wantToken: "token"},
		{name: "default region fallback", env: with(map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-2"}), wantRegion: "us-east-2", wantToken: "token"},
		{name: "AWS_REGION wins", env: with(map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}), wantRegion: "eu-west-1", wantToken: "token"},
		{name: "no session token", env: with(map[string]string{"AWS_SESSION_TOKEN": ""}), wantRegion: "eu-west-1"},
		{name: "no region", env: with(map[string]string{"AWS_REGION": ""}), wantErr: "AWS_REGION"},
		{name: "no access key", env: with(map[string]string{"AWS_ACCESS_KEY_ID": ""}), wantErr: "AWS_ACCESS_KEY_ID"},
		{name: "no secret", env: with(map[string]string{"AWS_SECRET_ACCESS_KEY": ""}), wantErr: "AWS_SECRET_ACCESS_KEY"},
		{name: "nothing", env: nil, wantErr: "AWS_REGION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			got, err := awsenv.Load()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Load() error = %v, want one naming %s", err, tt.wantErr)
				}
				if got.Credentials != nil || got.Region != "" {
					t.Errorf("Load() settings = %+v on error, want zero", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got.Region != tt.wantRegion {
				t.Errorf("Region = %q, want %q", got.Region, tt.wantRegion)
			}
			creds, err := got.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Credentials.Retrieve() error = %v", err)
			}
			if creds.AccessKeyID != tt.env["AWS_ACCESS_KEY_ID"] || creds.SecretAccessKey != tt.env["AWS_SECRET_ACCESS_KEY"] || creds.SessionToken != tt.wantToken {
				t.Errorf("credentials = %q/%q/%q, want %q/%q/%q", creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken,
					tt.env["AWS_ACCESS_KEY_ID"], tt.env["AWS_SECRET_ACCESS_KEY"], tt.wantToken)
			}
		})
	}
}

func TestLoadClientSettings(t *testing.T) {
	setEnv(t, lambdaVars)
	got, err := awsenv.Load()
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.HTTPClient == nil {
		t.Fatal("HTTPClient = nil")
	}
	if n := got.HTTPClient.GetTransport().MaxIdleConnsPerHost; n != 16 {
		t.Errorf("MaxIdleConnsPerHost = %d, want 16", n)
	}
	if got.Retryer == nil {
		t.Fatal("Retryer = nil")
	}
	r1, r2 := got.Retryer(), got.Retryer()
	if r1 == nil || r1 == r2 {
		t.Errorf("Retryer() = %p, %p; want a new retryer per client", r1, r2)
	}
	if n := r1.MaxAttempts(); n != 3 {
		t.Errorf("MaxAttempts() = %d, want the SDK standard 3", n)
	}
	// Backoff is capped at 500ms so retries fit in one call's deadline; the
	// SDK default cap is 20s.
	for attempt := 1; attempt <= 30; attempt++ {
		for range 20 {
			d, err := r1.RetryDelay(attempt, errors.New("throttled"))
			if err != nil {
				t.Fatalf("RetryDelay(%d) error = %v", attempt, err)
			}
			if d < 0 || d > 500*time.Millisecond {
				t.Fatalf("RetryDelay(%d) = %v, want at most 500ms", attempt, d)
			}
		}
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		service string
		want    string // "" means nil
	}{
		{name: "none", env: nil, service: "DYNAMODB"},
		{name: "service-specific", env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, service: "DYNAMODB", want: "http://127.0.0.1:8000"},
		{name: "other service's is ignored", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324"}, service: "DYNAMODB"},
		{name: "global fallback", env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}, service: "SQS", want: "http://localhost:4566"},
		{name: "service-specific wins", env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324"}, service: "SQS", want: "http://127.0.0.1:9324"},
		{name: "ignored", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://a", "AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, service: "SQS"},
		{name: "ignored, upper case", env: map[string]string{"AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"}, service: "SQS"},
		{name: "not ignored when false", env: map[string]string{"AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"}, service: "SQS", want: "http://b"},
		{name: "not ignored when 1", env: map[string]string{"AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "1"}, service: "SQS", want: "http://b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			got := awsenv.Endpoint(tt.service)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("Endpoint(%s) = %q, want nil", tt.service, *got)
			case tt.want != "" && (got == nil || *got != tt.want):
				t.Errorf("Endpoint(%s) = %v, want %q", tt.service, got, tt.want)
			}
		})
	}
}
