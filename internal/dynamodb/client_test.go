package dynamodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

var awsVars = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
}

func TestNewClientFromEnv(t *testing.T) {
	creds := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"}
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
		opt          dynamodb.ClientOptions
		wantErr      bool
		wantEndpoint string
	}{
		{name: "no region", env: map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, wantErr: true},
		{name: "no access key", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_SECRET_ACCESS_KEY": "b"}, wantErr: true},
		{name: "no secret", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "a"}, wantErr: true},
		{name: "AWS endpoint", env: creds},
		{name: "AWS_ENDPOINT_URL_DYNAMODB", env: with(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}), wantEndpoint: "http://127.0.0.1:8000"},
		{name: "SQS's override is not DynamoDB's", env: with(map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324"})},
		{name: "AWS_ENDPOINT_URL fallback", env: with(map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}), wantEndpoint: "http://localhost:4566"},
		{name: "service-specific wins", env: with(map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}), wantEndpoint: "http://127.0.0.1:8000"},
		{name: "ignored", env: with(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://a", "AWS_ENDPOINT_URL": "http://b", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})},
		{name: "checksum validation off", env: creds, opt: dynamodb.ClientOptions{DisableResponseChecksum: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range awsVars {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := dynamodb.NewClientFromEnv(tt.opt)
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
			if o.DisableValidateResponseChecksum != tt.opt.DisableResponseChecksum {
				t.Errorf("DisableValidateResponseChecksum = %v, want %v", o.DisableValidateResponseChecksum, tt.opt.DisableResponseChecksum)
			}
			if o.Retryer == nil || o.Retryer.MaxAttempts() != 3 {
				t.Errorf("Retryer = %v, want the standard retryer", o.Retryer)
			}
			if o.HTTPClient == nil {
				t.Errorf("HTTPClient = nil, want the tuned client")
			}
			got, err := o.Credentials.Retrieve(context.Background())
			if err != nil || got.AccessKeyID != "AKID" || got.SessionToken != "tok" {
				t.Errorf("credentials = %+v, %v; want the environment's", got, err)
			}
		})
	}
}

func TestNewClientFromEnvReachesTheOverriddenEndpoint(t *testing.T) {
	_, table := testenv.NewTable(t)
	for _, k := range awsVars {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", testenv.Endpoint(t))
	c, err := dynamodb.NewClientFromEnv(dynamodb.ClientOptions{})
	if err != nil {
		t.Fatalf("NewClientFromEnv() error = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable on the test endpoint: %v", err)
	}
	if got := aws.ToString(out.Table.TableName); got != table {
		t.Errorf("table = %q, want %q", got, table)
	}
}
