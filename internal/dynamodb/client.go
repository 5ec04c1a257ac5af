package dynamodb

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// NewClient is the one way this repository builds a DynamoDB client: from
// the process's AWS settings (config.Config.AWS in the functions), on
// endpoint when it is not "" (the SDK's AWS_ENDPOINT_URL_DYNAMODB override:
// any DynamoDB-compatible server works without code changes).
func NewClient(cfg aws.Config, endpoint string) *ddb.Client {
	return ddb.NewFromConfig(cfg, func(o *ddb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
