package jobs

import (
	"errors"
	"fmt"
)

// Code classifies an error. Each code is also the stable, machine-readable
// value of the "code" field in API error bodies; the API adapter maps each one
// to exactly one HTTP status.
type Code string

// Error codes. Adding a code means adding its HTTP status to the API adapter's
// table, where a test checks every code is mapped.
const (
	EINVALID       Code = "invalid_request"        // the caller sent something malformed
	EUNAUTHORIZED  Code = "unauthorized"           // no usable identity
	ENOTFOUND      Code = "not_found"              // absent, expired, or not visible to the caller
	ECONFLICT      Code = "conflict"               // the job changed underneath, or the change is not allowed in its state
	ETOOLARGE      Code = "payload_too_large"      // request body over the documented limit
	EUNSUPPORTED   Code = "unsupported_media_type" // request body is not JSON
	EUNPROCESSABLE Code = "unprocessable"          // well-formed but contradicts earlier requests (idempotency key reuse)
	EUNAVAILABLE   Code = "service_unavailable"    // a dependency is throttling or unreachable; retry later
	EINTERNAL      Code = "internal_error"         // anything else; details only in logs
)

// Caller-safe messages of the dependencies' failures, one definition each:
// the adapters (and the fakes) report with them, the API shows them.
const (
	MsgStoreUnavailable    = "The job store is not answering; retry shortly."
	MsgStoreBusy           = "The job store is busy; retry shortly."
	MsgPipelineUnavailable = "The video pipeline is not accepting jobs; retry shortly."
	MsgChanged             = "The job was changed by someone else."
)

// Codes lists every code, for exhaustive checks in adapters' tests.
var Codes = []Code{EINVALID, EUNAUTHORIZED, ENOTFOUND, ECONFLICT, ETOOLARGE, EUNSUPPORTED, EUNPROCESSABLE, EUNAVAILABLE, EINTERNAL}

// Error is the domain error. Message is safe to show to API callers; Err, the
// cause, is for logs only and is never put in a response.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error implements error; it includes the cause so that logs carry it.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with a caller-safe message and an internal cause.
func Wrap(code Code, cause error, message string) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain; for any other error, a generic message that reveals nothing.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "Internal error."
}
