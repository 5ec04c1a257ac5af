// Package awsenv reads the AWS settings a Lambda sandbox provides from the
// environment, without config.LoadDefaultConfig: that call reads shared
// config files and probes credential sources, which roughly doubles a Go
// function's cold start for nothing a sandbox has. Programs run elsewhere
// (profiles, SSO) build their own clients.
package awsenv

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Settings are what every client needs.
type Settings struct {
	Region      string
	Credentials aws.CredentialsProvider
	HTTPClient  *awshttp.BuildableClient
	Retryer     func() aws.Retryer
}

// Load reads AWS_REGION (or AWS_DEFAULT_REGION) and the function role's
// credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. Retries use the SDK's standard retryer with a backoff
// cap that keeps them inside one call's deadline.
func Load() (Settings, error) {
	region := first("AWS_REGION", "AWS_DEFAULT_REGION")
	if region == "" {
		return Settings{}, errors.New("awsenv: AWS_REGION is not set")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return Settings{}, errors.New("awsenv: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return Settings{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 16
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 500 * time.Millisecond })
		},
	}, nil
}

// Endpoint returns the SDK's standard endpoint override for a service, as
// named in its AWS_ENDPOINT_URL_<SERVICE> variable (e.g. "DYNAMODB", "SQS"),
// else AWS_ENDPOINT_URL; nil when neither is set or
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
func Endpoint(service string) *string {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return nil
	}
	if ep := first("AWS_ENDPOINT_URL_"+service, "AWS_ENDPOINT_URL"); ep != "" {
		return aws.String(ep)
	}
	return nil
}

func first(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
