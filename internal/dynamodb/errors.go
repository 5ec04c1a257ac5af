package dynamodb

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// transientCodes are DynamoDB error codes that mean "not now": throttling
// and server-side trouble that the SDK's retries did not outlast.
var transientCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"TransactionInProgressException":         true,
	"ReplicatedWriteConflictException":       true,
}

// mapError turns an SDK error into a jobs.Error: a failed condition is
// ECONFLICT; throttling, timeouts, an exhausted retry quota and unreachable
// endpoints are EUNAVAILABLE; anything else (a missing table, denied access)
// is EINTERNAL, since no retry by the caller will help. The SDK error stays
// as the cause, for logs.
func mapError(err error, op string) error {
	var (
		ccf   *types.ConditionalCheckFailedException
		quota ratelimit.QuotaExceededError
		send  *smithyhttp.RequestSendError
		api   smithy.APIError
	)
	switch {
	case errors.As(err, &ccf):
		return jobs.Wrap(jobs.ECONFLICT, err, jobs.MsgChanged)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &quota), errors.As(err, &send):
		return jobs.Wrap(jobs.EUNAVAILABLE, err, jobs.MsgStoreUnavailable)
	case errors.As(err, &api) && transientCodes[api.ErrorCode()]:
		return jobs.Wrap(jobs.EUNAVAILABLE, err, jobs.MsgStoreBusy)
	}
	return jobs.Wrap(jobs.EINTERNAL, err, "DynamoDB "+op+" failed")
}
