package devauth_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/dev/devauth"
)

// TestVerifierRemembersOnlyWhatStillHolds: a token that passed is
// remembered, but a remembered token is still refused once expired (with
// the expired message), before its iat, under other rules, and after its
// pool's keys change; and callers cannot alter what is remembered.
func TestVerifierRemembersOnlyWhatStillHolds(t *testing.T) {
	t.Parallel()
	k := testKeys(t)
	pool := newPool(t, issuer, k[0])
	var now atomic.Int64
	now.Store(t0.Add(time.Minute).UnixNano())
	v := devauth.NewVerifier(func() time.Time { return time.Unix(0, now.Load()) })
	if err := v.TrustPool(poolARN, pool); err != nil {
		t.Fatal(err)
	}
	tok, exp, err := pool.IDToken(devauth.User{Username: "alice", Groups: []string{"admin"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rules := devauth.Rules{ProviderARNs: []string{poolARN}}
	message := func(err error) string {
		if err == nil {
			return ""
		}
		var rej *devauth.Rejection
		if !errorsAs(err, &rej) {
			return "not a Rejection: " + err.Error()
		}
		return rej.GatewayMessage()
	}
	check := func(step string, header string, rules devauth.Rules, want string) {
		t.Helper()
		claims, err := v.Verify(header, rules)
		if got := message(err); got != want {
			t.Fatalf("%s: Verify message %q, want %q", step, got, want)
		}
		if want == "" && claims["sub"] != devauth.Subject("alice") {
			t.Fatalf("%s: claims %v, want alice's", step, claims)
		}
	}

	check("first use", tok, rules, "")
	claims, _ := v.Verify("Bearer "+tok, rules)
	delete(claims, "sub") // the caller's copy
	check("remembered", tok, rules, "")
	check("same token, scoped method", tok, devauth.Rules{ProviderARNs: []string{poolARN}, Scopes: []string{"s"}}, devauth.MessageUnauthorized)
	check("same token, identity validation fails", tok, devauth.Rules{ProviderARNs: []string{poolARN}, IdentityValidationExpression: "^x$"}, devauth.MessageUnauthorized)
	check("same token, another authorizer's pool", tok, devauth.Rules{ProviderARNs: []string{poolARN + "x"}}, devauth.MessageUnauthorized)
	check("remembered again", tok, rules, "")

	now.Store(t0.Add(-time.Second).UnixNano())
	check("clock before iat", tok, rules, devauth.MessageUnauthorized)
	now.Store(exp.Add(-time.Second).UnixNano())
	check("a second before exp", tok, rules, "")
	now.Store(exp.UnixNano())
	check("at exp", tok, rules, devauth.MessageExpired)
	now.Store(exp.Add(-time.Minute).UnixNano())
	check("before exp again", tok, rules, "")

	// Keys rotated: the pool's ARN now trusts another key only.
	if err := v.TrustPool(poolARN, newPool(t, issuer, k[1])); err != nil {
		t.Fatal(err)
	}
	check("after the keys changed", tok, rules, devauth.MessageUnauthorized)
}
