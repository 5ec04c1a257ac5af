// Command emptyfn is the smallest aws-lambda-go function that answers an API
// Gateway proxy event: the baseline GetJobFn's binary size (and, under the
// Runtime Interface Emulator, its cold start) is compared with. Built by
// `make bench` with the Lambda functions' flags; never deployed.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: "{}"}, nil
	})
}
