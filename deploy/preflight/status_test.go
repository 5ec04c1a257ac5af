package preflight

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// The stack states moto cannot produce: a first deploy rolled back, an
// operation running, an update whose rollback failed.
func TestStackStatusFinding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, fix string // fix "" - no finding
	}{
		{"", ""},
		{"CREATE_COMPLETE", ""},
		{"UPDATE_ROLLBACK_COMPLETE", ""},
		{"REVIEW_IN_PROGRESS", ""},
		{"ROLLBACK_COMPLETE", "aws cloudformation delete-stack --stack-name jobs-api"},
		{"UPDATE_IN_PROGRESS", "wait for it"},
		{"UPDATE_ROLLBACK_FAILED", "continue-update-rollback"},
	}
	for _, tt := range tests {
		f, ok := stackStatusFinding("jobs-api", tt.status)
		if ok != (tt.fix != "") || ok && (f.Severity != Refuse || !strings.Contains(f.Fix, tt.fix)) {
			t.Errorf("%q: finding %v (%v), want fix containing %q", tt.status, f, ok, tt.fix)
		}
	}
}

func TestGatewayResponseDiff(t *testing.T) {
	t.Parallel()
	cur := agtypes.GatewayResponse{StatusCode: aws.String("400"), ResponseParameters: map[string]string{"gatewayresponse.header.X": "'1'"}}
	want := GatewayResponse{Parameters: map[string]string{"gatewayresponse.header.X": "'1'", "gatewayresponse.header.Vary": "'Origin'"}}
	got := gatewayResponseDiff(cur, want)
	for _, s := range []string{"statusCode\n  - 400\n  + (none)", "gatewayresponse.header.Vary\n  - (none)\n  + 'Origin'"} {
		if !strings.Contains(got, s) {
			t.Errorf("diff:\n%s\nwant it to contain\n%s", got, s)
		}
	}
	if strings.Contains(got, "header.X") {
		t.Errorf("diff shows an unchanged parameter:\n%s", got)
	}
}
