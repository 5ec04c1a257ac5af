package sqs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/deepfoundai/jobs-api/internal/sqs"
)

var awsVars = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
}

func TestNewClientFromEnv(t *testing.T) {
	creds := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range creds {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name         string
		env          map[string]string
		wantErr      bool
		wantEndpoint string
	}{
		{name: "no region", env: map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, wantErr: true},
		{name: "no credentials", env: map[string]string{"AWS_REGION": "eu-west-1"}, wantErr: true},
		{name: "AWS endpoint", env: creds},
		{name: "AWS_ENDPOINT_URL_SQS", env: with(map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324"}), wantEndpoint: "http://127.0.0.1:9324"},
		{name: "DynamoDB's override is not SQS's", env: with(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"})},
		{name: "AWS_ENDPOINT_URL fallback", env: with(map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}), wantEndpoint: "http://localhost:4566"},
		{name: "ignored", env: with(map[string]string{"AWS_ENDPOINT_URL_SQS": "http://a", "AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range awsVars {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := sqs.NewClientFromEnv()
			if tt.wantErr {
				if err == nil || c != nil {
					t.Errorf("NewClientFromEnv() = %v, %v; want nil and an error", c, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClientFromEnv() error = %v", err)
			}
			o := c.Options()
			if o.Region != "eu-west-1" {
				t.Errorf("Region = %q, want eu-west-1", o.Region)
			}
			if got := aws.ToString(o.BaseEndpoint); got != tt.wantEndpoint {
				t.Errorf("BaseEndpoint = %q, want %q", got, tt.wantEndpoint)
			}
			if o.Retryer == nil || o.Retryer.MaxAttempts() != 3 {
				t.Errorf("Retryer = %v, want the standard retryer", o.Retryer)
			}
		})
	}
}
