package sqs_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/deepfoundai/jobs-api/internal/sqs"
)

func TestNewClient(t *testing.T) {
	t.Parallel()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	for _, endpoint := range []string{"", "http://127.0.0.1:9324"} {
		o := sqs.NewClient(cfg, endpoint).Options()
		if creds, err := o.Credentials.Retrieve(context.Background()); err != nil || creds.AccessKeyID != "AKID" {
			t.Errorf("credentials = %+v, %v; want the settings'", creds, err)
		}
		if o.Region != "eu-west-1" || aws.ToString(o.BaseEndpoint) != endpoint {
			t.Errorf("NewClient(cfg, %q): region %q, endpoint %q; want the settings given", endpoint, o.Region, aws.ToString(o.BaseEndpoint))
		}
	}
}
