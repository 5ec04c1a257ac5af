package jobs_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *jobs.Error
		want string
	}{
		{"no cause", jobs.Errorf(jobs.EINVALID, "prompt: %s", "required"), "invalid_request: prompt: required"},
		{"with cause", jobs.Wrap(jobs.EUNAVAILABLE, io.ErrUnexpectedEOF, "retry"), "service_unavailable: retry: unexpected EOF"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWrapKeepsCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("socket closed")
	err := jobs.Wrap(jobs.EUNAVAILABLE, cause, "retry")
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(Wrap(cause), cause) = false, want true")
	}
	if got := err.Unwrap(); got != cause {
		t.Errorf("Unwrap() = %v, want %v", got, cause)
	}
	if got := jobs.Errorf(jobs.EINVALID, "x").Unwrap(); got != nil {
		t.Errorf("Errorf(...).Unwrap() = %v, want nil", got)
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	const secret = "arn:aws:dynamodb:eu-west-1:123456789012:table/Jobs"
	tests := []struct {
		name     string
		err      error
		wantCode jobs.Code
		wantMsg  string
	}{
		{"nil", nil, "", "Internal error."},
		{"plain error", errors.New("dial tcp " + secret), jobs.EINTERNAL, "Internal error."},
		{"domain error", jobs.Errorf(jobs.ENOTFOUND, "No job with that id."), jobs.ENOTFOUND, "No job with that id."},
		{"domain error with cause", jobs.Wrap(jobs.EUNAVAILABLE, errors.New(secret), "retry shortly"), jobs.EUNAVAILABLE, "retry shortly"},
		{"EINTERNAL message hidden", jobs.Errorf(jobs.EINTERNAL, "DynamoDB GetItem failed on %s", secret), jobs.EINTERNAL, "Internal error."},
		{"EINTERNAL wrap hidden", jobs.Wrap(jobs.EINTERNAL, errors.New(secret), "bad "+secret), jobs.EINTERNAL, "Internal error."},
		{"wrapped with %w", fmt.Errorf("get: %w", jobs.Errorf(jobs.ECONFLICT, "changed")), jobs.ECONFLICT, "changed"},
		{"doubly wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", jobs.Errorf(jobs.ETOOLARGE, "big"))), jobs.ETOOLARGE, "big"},
		{"wrapped with %v loses code", fmt.Errorf("get: %v", jobs.Errorf(jobs.ECONFLICT, "changed")), jobs.EINTERNAL, "Internal error."},
		{"joined takes first", errors.Join(errors.New("x"), jobs.Errorf(jobs.EINVALID, "bad")), jobs.EINVALID, "bad"},
	}
	for _, tt := range tests {
		if got := jobs.ErrorCode(tt.err); got != tt.wantCode {
			t.Errorf("%s: ErrorCode() = %q, want %q", tt.name, got, tt.wantCode)
		}
		got := jobs.ErrorMessage(tt.err)
		if got != tt.wantMsg {
			t.Errorf("%s: ErrorMessage() = %q, want %q", tt.name, got, tt.wantMsg)
		}
		if strings.Contains(got, secret) {
			t.Errorf("%s: ErrorMessage() = %q leaks internal detail", tt.name, got)
		}
	}
}

func TestCodesAreDistinctAndComplete(t *testing.T) {
	t.Parallel()
	want := []jobs.Code{jobs.EINVALID, jobs.EUNAUTHORIZED, jobs.ENOTFOUND, jobs.ECONFLICT, jobs.ETOOLARGE,
		jobs.EUNSUPPORTED, jobs.EUNPROCESSABLE, jobs.EUNAVAILABLE, jobs.EINTERNAL}
	seen := map[jobs.Code]bool{}
	for _, c := range jobs.Codes {
		if c == "" {
			t.Errorf("Codes holds an empty code")
		}
		if seen[c] {
			t.Errorf("Codes holds %q twice", c)
		}
		seen[c] = true
	}
	for _, c := range want {
		if !seen[c] {
			t.Errorf("Codes lacks %q", c)
		}
	}
}
