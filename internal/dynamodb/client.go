package dynamodb

import (
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/internal/awsenv"
)

// ClientOptions tunes NewClientFromEnv.
type ClientOptions struct {
	// DisableResponseChecksum turns off validation of the X-Amz-Crc32 header,
	// for DynamoDB-compatible servers that do not send it. Never for AWS.
	DisableResponseChecksum bool
}

// NewClientFromEnv builds a DynamoDB client from the Lambda environment (see
// awsenv.Load), honouring the standard AWS_ENDPOINT_URL_DYNAMODB override so
// any DynamoDB-compatible endpoint works without code changes.
func NewClientFromEnv(opt ClientOptions) (*ddb.Client, error) {
	env, err := awsenv.Load()
	if err != nil {
		return nil, err
	}
	return ddb.New(ddb.Options{
		Region:                          env.Region,
		Credentials:                     env.Credentials,
		HTTPClient:                      env.HTTPClient,
		Retryer:                         env.Retryer(),
		BaseEndpoint:                    awsenv.Endpoint("DYNAMODB"),
		DisableValidateResponseChecksum: opt.DisableResponseChecksum,
	}), nil
}
