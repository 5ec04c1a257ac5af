package apigw_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

const (
	testIssuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI"
	testClient = "4bcdefghijklmnopqrstuvwxyz"
)

// TestCaller: the caller comes from the verified ID token in Authorization,
// consistent with the authorizer's claims; group names are compared exactly
// and never deny anyone.
func TestCaller(t *testing.T) {
	t.Parallel()
	id := apigw.Identity{Issuer: testIssuer, ClientIDs: []string{testClient, "other-client"}}
	payload := func(edit func(p map[string]any)) map[string]any {
		p := map[string]any{"sub": "alice-sub", "cognito:username": "alice", "token_use": "id", "iss": testIssuer, "aud": testClient}
		if edit != nil {
			edit(p)
		}
		return p
	}
	groups := func(g any) map[string]any { return payload(func(p map[string]any) { p["cognito:groups"] = g }) }
	alice := jobs.Caller{Subject: "alice-sub", Username: "alice"}
	withGroups := func(g ...string) jobs.Caller { c := alice; c.Groups = g; return c }
	admin := func(g ...string) jobs.Caller { c := withGroups(g...); c.Admin = true; return c }
	tests := []struct {
		name    string
		token   map[string]any // nil: no Authorization header
		auth    string         // a raw Authorization value instead
		claims  map[string]any // default: sub alice-sub, iss testIssuer
		id      *apigw.Identity
		want    jobs.Caller
		wantErr bool
	}{
		{name: "user", token: payload(nil), want: alice},
		{name: "admin", token: groups([]string{"video", "admin"}), want: admin("video", "admin")},
		{name: "Bearer prefix", auth: "Bearer " + testenv.IDToken(groups([]string{"admin"})), want: admin("admin")},
		{name: "a group named support,admin is not admin", token: groups([]string{"support,admin"}), want: withGroups("support,admin")},
		{name: "a group named \"admin\" is not admin", token: groups([]string{`"admin"`}), want: withGroups(`"admin"`)},
		{name: "a group named [admin] is not admin", token: groups([]string{"[admin]", "admin video"}), want: withGroups("[admin]", "admin video")},
		{name: "case and spaces matter", token: groups([]string{"Admin", " admin", "admins"}), want: withGroups("Admin", " admin", "admins")},
		{name: "any group name is fine", token: groups([]string{"R&D", "Équipe", "video/editors", "a,b"}), want: withGroups("R&D", "Équipe", "video/editors", "a,b")},
		{name: "groups a string: no groups, not denied", token: groups("admin"), want: alice},
		{name: "groups with a number: no groups, not denied", token: groups([]any{"admin", 1}), want: alice},
		{name: "groups an object: no groups", token: groups(map[string]any{"admin": true}), want: alice},
		{name: "groups null", token: groups(nil), want: alice},
		{name: "configured admin group", token: groups([]string{"admin", "ops"}), id: &apigw.Identity{Issuer: testIssuer, AdminGroup: "ops"}, want: admin("admin", "ops")},
		{name: "admin is not the configured admin group", token: groups([]string{"admin"}), id: &apigw.Identity{Issuer: testIssuer, AdminGroup: "ops"}, want: withGroups("admin")},
		{name: "issuer not pinned", token: payload(func(p map[string]any) { p["iss"] = "https://elsewhere" }), claims: map[string]any{"sub": "alice-sub"}, id: &apigw.Identity{}, want: alice},
		{name: "any client when none configured", token: payload(func(p map[string]any) { p["aud"] = "x" }), id: &apigw.Identity{Issuer: testIssuer}, want: alice},

		{name: "no token", wantErr: true},
		{name: "token not a JWT", auth: "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", wantErr: true},
		{name: "token of two parts", auth: "a.b", wantErr: true},
		{name: "token of another user", token: payload(func(p map[string]any) { p["sub"] = "mallory-sub" }), wantErr: true},
		{name: "token without sub", token: payload(func(p map[string]any) { delete(p, "sub") }), wantErr: true},
		{name: "token with Sub for sub", token: payload(func(p map[string]any) { delete(p, "sub"); p["Sub"] = "alice-sub" }), wantErr: true},
		{name: "access token", token: payload(func(p map[string]any) { p["token_use"] = "access" }), wantErr: true},
		{name: "no token_use", token: payload(func(p map[string]any) { delete(p, "token_use") }), wantErr: true},
		{name: "token of another pool", token: payload(func(p map[string]any) { p["iss"] = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other" }), claims: map[string]any{"sub": "alice-sub"}, wantErr: true},
		{name: "claims of another pool than the token", token: payload(nil), claims: map[string]any{"sub": "alice-sub", "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"}, id: &apigw.Identity{}, wantErr: true},
		{name: "token of another client", token: payload(func(p map[string]any) { p["aud"] = "someone-else" }), wantErr: true},
		{name: "no claims", token: payload(nil), claims: map[string]any{}, wantErr: true},
		{name: "claims sub of 129", token: payload(func(p map[string]any) { p["sub"] = strings.Repeat("s", 129) }), claims: map[string]any{"sub": strings.Repeat("s", 129)}, wantErr: true},
	}
	for _, tt := range tests {
		claims := tt.claims
		if claims == nil {
			claims = map[string]any{"sub": "alice-sub", "iss": testIssuer, "cognito:groups": "admin"}
		}
		auth := tt.auth
		if tt.token != nil {
			auth = testenv.IDToken(tt.token)
		}
		req := events.APIGatewayProxyRequest{RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": claims}}}
		if auth != "" {
			req.Headers = map[string]string{"Authorization": auth}
		}
		ident := id
		if tt.id != nil {
			ident = *tt.id
		}
		got, err := ident.Caller(&req)
		if tt.wantErr {
			if code := jobs.ErrorCode(err); code != jobs.EUNAUTHORIZED || !reflect.DeepEqual(got, jobs.Caller{}) {
				t.Errorf("%s: Caller() = %+v, %v; want no caller and %q", tt.name, got, err, jobs.EUNAUTHORIZED)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Caller() = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestCallerAuthorizerShapes(t *testing.T) {
	t.Parallel()
	for _, a := range []map[string]any{nil, {"principalId": "alice"}, {"claims": "sub=alice"}, {"claims": []any{"alice"}}, {"claims": nil}} {
		req := events.APIGatewayProxyRequest{
			Headers:        map[string]string{"Authorization": testenv.IDToken(map[string]any{"sub": "alice", "token_use": "id"})},
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: a},
		}
		if _, err := (apigw.Identity{}).Caller(&req); jobs.ErrorCode(err) != jobs.EUNAUTHORIZED {
			t.Errorf("authorizer %v: error %v, want %s", a, err, jobs.EUNAUTHORIZED)
		}
	}
}
