package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// asSDK wraps err the way the SDK returns a service error from an
// operation: an OperationError around an HTTP response error.
func asSDK(err error) error {
	return &smithy.OperationError{
		ServiceID:     "DynamoDB",
		OperationName: "PutItem",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
				Err:      err,
			},
			RequestID: "REQ123",
		},
	}
}

// afterRetries wraps err the way the standard retryer does once attempts run
// out.
func afterRetries(err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem", Err: &retry.MaxAttemptsError{Attempt: 3, Err: err}}
}

func TestMapError(t *testing.T) {
	t.Parallel()
	generic := func(code string) error {
		return &smithy.GenericAPIError{Code: code, Message: "m", Fault: smithy.FaultServer}
	}
	msg := aws.String("m")
	tests := []struct {
		name string
		err  error
		want jobs.Code
	}{
		{"conditional check failed", &types.ConditionalCheckFailedException{Message: msg}, jobs.ECONFLICT},
		{"conditional check failed, from the SDK", asSDK(&types.ConditionalCheckFailedException{Message: msg}), jobs.ECONFLICT},

		{"provisioned throughput", asSDK(&types.ProvisionedThroughputExceededException{Message: msg}), jobs.EUNAVAILABLE},
		{"request limit", asSDK(&types.RequestLimitExceeded{Message: msg}), jobs.EUNAVAILABLE},
		{"internal server error", asSDK(&types.InternalServerError{Message: msg}), jobs.EUNAVAILABLE},
		{"provisioned throughput after retries", afterRetries(&types.ProvisionedThroughputExceededException{Message: msg}), jobs.EUNAVAILABLE},
		{"generic ProvisionedThroughputExceededException", asSDK(generic("ProvisionedThroughputExceededException")), jobs.EUNAVAILABLE},
		{"generic ThrottlingException", asSDK(generic("ThrottlingException")), jobs.EUNAVAILABLE},
		{"generic RequestLimitExceeded", asSDK(generic("RequestLimitExceeded")), jobs.EUNAVAILABLE},
		{"generic InternalServerError", asSDK(generic("InternalServerError")), jobs.EUNAVAILABLE},
		{"generic ServiceUnavailable", asSDK(generic("ServiceUnavailable")), jobs.EUNAVAILABLE},
		{"generic TransactionInProgressException", generic("TransactionInProgressException"), jobs.EUNAVAILABLE},
		{"generic ReplicatedWriteConflictException", generic("ReplicatedWriteConflictException"), jobs.EUNAVAILABLE},
		{"deadline exceeded", context.DeadlineExceeded, jobs.EUNAVAILABLE},
		{"canceled", context.Canceled, jobs.EUNAVAILABLE},
		{"deadline inside the SDK", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem",
			Err: &smithyhttp.RequestSendError{Err: fmt.Errorf("Post: %w", context.DeadlineExceeded)}}, jobs.EUNAVAILABLE},
		{"request canceled", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem",
			Err: &aws.RequestCanceledError{Err: context.Canceled}}, jobs.EUNAVAILABLE},
		{"retry quota exceeded", ratelimit.QuotaExceededError{Available: 0, Requested: 5}, jobs.EUNAVAILABLE},
		{"retry quota exceeded, from the SDK", afterRetries(fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Requested: 5})), jobs.EUNAVAILABLE},
		{"request send error", &smithyhttp.RequestSendError{Err: errors.New("dial tcp 127.0.0.1:8000: connect: connection refused")}, jobs.EUNAVAILABLE},
		{"request send error, from the SDK", afterRetries(&smithyhttp.RequestSendError{Err: errors.New("EOF")}), jobs.EUNAVAILABLE},

		{"resource not found", asSDK(&types.ResourceNotFoundException{Message: msg}), jobs.EINTERNAL},
		{"access denied", asSDK(generic("AccessDeniedException")), jobs.EINTERNAL},
		{"unrecognized client", asSDK(generic("UnrecognizedClientException")), jobs.EINTERNAL},
		{"validation", asSDK(generic("ValidationException")), jobs.EINTERNAL},
		{"item too large", asSDK(&types.ItemCollectionSizeLimitExceededException{Message: msg}), jobs.EINTERNAL},
		{"plain error", errors.New("something else"), jobs.EINTERNAL},
	}
	for _, tt := range tests {
		got := mapError(tt.err, "PutItem")
		if code := jobs.ErrorCode(got); code != tt.want {
			t.Errorf("%s: mapError() code = %q, want %q (err %v)", tt.name, code, tt.want, got)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: mapError() = %v, want the SDK error kept as cause", tt.name, got)
		}
		var je *jobs.Error
		if !errors.As(got, &je) || je.Err != tt.err {
			t.Errorf("%s: mapError() cause = %v, want %v", tt.name, je, tt.err)
		}
		if m := jobs.ErrorMessage(got); strings.Contains(m, "REQ123") || strings.Contains(m, "Exception") {
			t.Errorf("%s: caller message %q reveals the SDK error", tt.name, m)
		}
	}
}

func TestMapErrorKeepsTypedCause(t *testing.T) {
	t.Parallel()
	in := asSDK(&types.ResourceNotFoundException{Message: aws.String("Requested resource not found")})
	got := mapError(in, "GetItem")
	var rnf *types.ResourceNotFoundException
	if !errors.As(got, &rnf) {
		t.Errorf("errors.As(mapError(), *ResourceNotFoundException) = false, want true")
	}
	var op *smithy.OperationError
	if !errors.As(got, &op) || op.OperationName != "PutItem" {
		t.Errorf("errors.As(mapError(), *OperationError) = %v, want the SDK's", op)
	}
	if s := got.Error(); !strings.Contains(s, "GetItem") || !strings.Contains(s, "Requested resource not found") {
		t.Errorf("Error() = %q, want the operation and the cause for logs", s)
	}
	if m := jobs.ErrorMessage(got); m != "Internal error." {
		t.Errorf("ErrorMessage() = %q, want %q", m, "Internal error.")
	}
}
