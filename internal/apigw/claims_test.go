package apigw_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

func TestParseGroups(t *testing.T) {
	t.Parallel()
	name128 := strings.Repeat("g", 128)
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "admin", want: []string{"admin"}},
		{in: "admin,video", want: []string{"admin", "video"}},
		{in: " admin , video ", want: []string{"admin", "video"}},
		{in: "[admin video]", want: []string{"admin", "video"}},
		{in: "[admin]", want: []string{"admin"}},
		{in: "[ admin   video ]", want: []string{"admin", "video"}},
		{in: `["admin","video"]`, want: []string{"admin", "video"}},
		{in: `["admin"]`, want: []string{"admin"}},
		{in: " [admin video] ", want: []string{"admin", "video"}},
		{in: "eu-west-1_AbC_Google", want: []string{"eu-west-1_AbC_Google"}},
		{in: "a.b@c+d=e:f", want: []string{"a.b@c+d=e:f"}},
		{in: name128, want: []string{name128}},
		{in: "[]", want: nil},
		{in: "", want: nil},
		{in: "   ", want: nil},

		// Fail closed.
		{in: `["admin"`, wantErr: true},
		{in: `["admin",1]`, wantErr: true},
		{in: `["admin"] trailing`, wantErr: true},
		{in: `[""]`, wantErr: true},
		{in: `["admin video"]`, wantErr: true},
		{in: `[1,2]`, wantErr: true},
		{in: `[ "admin" ]`, wantErr: true},
		{in: "[admin,video]", wantErr: true},
		{in: "[admin", wantErr: true},
		{in: "admin]", wantErr: true},
		{in: "admin video", wantErr: true},
		{in: "admin,,video", wantErr: true},
		{in: "admin,", wantErr: true},
		{in: ",admin", wantErr: true},
		{in: `adm"in`, wantErr: true},
		{in: `"admin"`, wantErr: true},
		{in: "adm[in", wantErr: true},
		{in: "admin\tvideo", wantErr: true},
		{in: "admin\x00", wantErr: true},
		{in: "admín", wantErr: true},
		{in: name128 + "g", wantErr: true},
		{in: "admin," + name128 + "g", wantErr: true},
	}
	for _, tt := range tests {
		got, err := apigw.ParseGroups(tt.in)
		if tt.wantErr {
			if code := jobs.ErrorCode(err); code != jobs.EUNAUTHORIZED {
				t.Errorf("ParseGroups(%q) = %q, %v; want code %q", tt.in, got, err, jobs.EUNAUTHORIZED)
			}
			if got != nil {
				t.Errorf("ParseGroups(%q) groups = %q on error, want nil", tt.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseGroups(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestCallerFromRequest(t *testing.T) {
	t.Parallel()
	with := func(edit func(c map[string]any)) map[string]any {
		c := cognitoClaims("alice-sub", "alice", "")
		edit(c)
		return c
	}
	tests := []struct {
		name       string
		claims     map[string]any
		authorizer any
		want       jobs.Caller
		wantErr    bool
	}{
		{name: "user", claims: aliceClaims, want: jobs.Caller{Subject: "alice-sub", Username: "alice"}},
		{name: "admin", claims: adminClaims, want: jobs.Caller{Subject: "root-sub", Username: "root", Groups: []string{"admin"}}},
		{name: "groups as Go list", claims: cognitoClaims("s", "u", "[video admin]"), want: jobs.Caller{Subject: "s", Username: "u", Groups: []string{"video", "admin"}}},
		{name: "groups as JSON string", claims: cognitoClaims("s", "u", `["video","admin"]`), want: jobs.Caller{Subject: "s", Username: "u", Groups: []string{"video", "admin"}}},
		{name: "empty groups", claims: with(func(c map[string]any) { c["cognito:groups"] = "" }), want: jobs.Caller{Subject: "alice-sub", Username: "alice"}},
		{name: "no username", claims: map[string]any{"sub": "s"}, want: jobs.Caller{Subject: "s"}},
		{name: "username not a string is ignored", claims: with(func(c map[string]any) { c["cognito:username"] = 7 }), want: jobs.Caller{Subject: "alice-sub"}},
		{name: "sub of 128", claims: map[string]any{"sub": strings.Repeat("s", 128)}, want: jobs.Caller{Subject: strings.Repeat("s", 128)}},

		{name: "no authorizer", wantErr: true},
		{name: "authorizer without claims", authorizer: map[string]any{"principalId": "alice"}, wantErr: true},
		{name: "claims not a map", authorizer: map[string]any{"claims": "sub=alice"}, wantErr: true},
		{name: "claims a list", authorizer: map[string]any{"claims": []any{"alice"}}, wantErr: true},
		{name: "claims null", authorizer: map[string]any{"claims": nil}, wantErr: true},
		{name: "empty claims", claims: map[string]any{}, wantErr: true},
		{name: "missing sub", claims: with(func(c map[string]any) { delete(c, "sub") }), wantErr: true},
		{name: "empty sub", claims: with(func(c map[string]any) { c["sub"] = "" }), wantErr: true},
		{name: "blank sub", claims: with(func(c map[string]any) { c["sub"] = " \t" }), wantErr: true},
		{name: "sub not a string", claims: with(func(c map[string]any) { c["sub"] = 42 }), wantErr: true},
		{name: "sub of 129", claims: with(func(c map[string]any) { c["sub"] = strings.Repeat("s", 129) }), wantErr: true},
		{name: "groups a list", claims: with(func(c map[string]any) { c["cognito:groups"] = []any{"admin"} }), wantErr: true},
		{name: "groups a number", claims: with(func(c map[string]any) { c["cognito:groups"] = 1 }), wantErr: true},
		{name: "groups null", claims: with(func(c map[string]any) { c["cognito:groups"] = nil }), wantErr: true},
		{name: "groups unreadable", claims: with(func(c map[string]any) { c["cognito:groups"] = `["admin"` }), wantErr: true},
		{name: "admin among unreadable groups", claims: with(func(c map[string]any) { c["cognito:groups"] = "admin,<script>" }), wantErr: true},
	}
	for _, tt := range tests {
		req := event(t, request{method: "GET", resource: "/v1/jobs/{id}", path: "/v1/jobs/x", claims: tt.claims, authorizer: tt.authorizer})
		got, err := apigw.CallerFromRequest(&req)
		if tt.wantErr {
			if code := jobs.ErrorCode(err); code != jobs.EUNAUTHORIZED {
				t.Errorf("%s: CallerFromRequest() = %+v, %v; want code %q", tt.name, got, err, jobs.EUNAUTHORIZED)
			}
			if !reflect.DeepEqual(got, jobs.Caller{}) {
				t.Errorf("%s: caller = %+v on error, want zero", tt.name, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: CallerFromRequest() = %+v, %v; want %+v, nil", tt.name, got, err, tt.want)
		}
	}
}

func TestCallerFromRequestZeroValue(t *testing.T) {
	t.Parallel()
	_, err := apigw.CallerFromRequest(&events.APIGatewayProxyRequest{})
	if code := jobs.ErrorCode(err); code != jobs.EUNAUTHORIZED {
		t.Errorf("CallerFromRequest(zero request) code = %q, want %q", code, jobs.EUNAUTHORIZED)
	}
}
