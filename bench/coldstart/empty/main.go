// Command empty is the cold-start baseline: an aws-lambda-go function that
// answers every API Gateway proxy event with an empty 200 and does nothing
// else, built exactly as the Jobs API's functions are.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
}
