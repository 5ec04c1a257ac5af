package devauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/deepfoundai/jobs-api/dev/devauth"
)

const (
	issuer  = "http://127.0.0.1:3000/us-east-1_local"
	poolARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_local"
	client  = "localclient"
)

var (
	keysOnce sync.Once
	keys     [2]*rsa.PrivateKey
)

// testKeys generates two keys once per test binary (RSA generation is slow
// under the race detector).
func testKeys(t *testing.T) [2]*rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for i := range keys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[i] = k
		}
	})
	return keys
}

var t0 = time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)

func newPool(t *testing.T, iss string, key *rsa.PrivateKey) *devauth.Pool {
	t.Helper()
	p, err := devauth.NewPool(devauth.PoolConfig{Issuer: iss, ClientID: client, Key: key, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k := testKeys(t)
	pool := newPool(t, issuer, k[0])
	impostor := newPool(t, issuer, k[1])                                           // same issuer, another key
	other := newPool(t, "https://cognito-idp.us-east-1.amazonaws.com/other", k[0]) // another issuer, same key
	v := devauth.NewVerifier(func() time.Time { return t0.Add(time.Minute) })
	if err := v.TrustPool(poolARN, pool); err != nil {
		t.Fatal(err)
	}
	alice := devauth.User{Username: "alice", Groups: []string{"admin", "video"}}
	must := func(s string, _ time.Time, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sign := func(p *devauth.Pool, c jwt.MapClaims) string {
		t.Helper()
		s, err := p.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := must(pool.IDToken(alice, 0))
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": devauth.Subject("alice"), "iss": issuer, "aud": client, "token_use": "id",
			"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims { c := base(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := base(); delete(c, k); return c }
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, base()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// alg confusion: HS256 keyed with the public modulus.
	hsTok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, base()).SignedString(k[0].PublicKey.N.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	access, err := pool.AccessToken(alice, "aws.cognito.signin.user.admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	noKid := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, base())
		s, err := tk.SignedString(k[0])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	expiredBadSig := sign(impostor, with("exp", t0.Add(-time.Hour).Unix()))

	rules := devauth.Rules{ProviderARNs: []string{poolARN}}
	tests := []struct {
		name   string
		header string
		rules  devauth.Rules
		want   string // "" accepted, else the 401 message
	}{
		{"raw id token", good, rules, ""},
		{"Bearer id token", "Bearer " + good, rules, ""},
		{"bearer, any case", "bEaReR  " + good, rules, ""},
		{"identity validation expression matches", good, devauth.Rules{ProviderARNs: []string{poolARN}, IdentityValidationExpression: "^localclient$"}, ""},
		{"missing", "", rules, devauth.MessageUnauthorized},
		{"Bearer alone", "Bearer", rules, devauth.MessageUnauthorized},
		{"garbage", "not-a-jwt", rules, devauth.MessageUnauthorized},
		{"truncated", good[:len(good)-10], rules, devauth.MessageUnauthorized},
		{"alg none", noneTok, rules, devauth.MessageUnauthorized},
		{"alg HS256 with the public key", hsTok, rules, devauth.MessageUnauthorized},
		{"wrong key", must(impostor.IDToken(alice, 0)), rules, devauth.MessageUnauthorized},
		{"no kid", noKid, rules, devauth.MessageUnauthorized},
		{"expired", must(pool.IDToken(alice, -time.Second)), rules, devauth.MessageExpired},
		{"expired and wrong key", expiredBadSig, rules, devauth.MessageUnauthorized},
		{"no exp", sign(pool, without("exp")), rules, devauth.MessageUnauthorized},
		{"issued in the future", sign(pool, with("iat", t0.Add(time.Hour).Unix())), rules, devauth.MessageUnauthorized},
		{"access token", access, rules, devauth.MessageUnauthorized},
		{"no token_use", sign(pool, without("token_use")), rules, devauth.MessageUnauthorized},
		{"another issuer", must(other.IDToken(alice, 0)), rules, devauth.MessageUnauthorized},
		{"issuer trailing slash", sign(pool, with("iss", issuer+"/")), rules, devauth.MessageUnauthorized},
		{"another audience", sign(pool, with("aud", "someoneelse")), rules, devauth.MessageUnauthorized},
		{"no audience", sign(pool, without("aud")), rules, devauth.MessageUnauthorized},
		{"exp not a number", sign(pool, with("exp", "tomorrow")), rules, devauth.MessageUnauthorized},
		{"issuer in upper case", sign(pool, with("iss", strings.ToUpper(issuer))), rules, devauth.MessageUnauthorized},
		{"pool not in the authorizer", good, devauth.Rules{ProviderARNs: []string{"arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_other"}}, devauth.MessageUnauthorized},
		{"identity validation expression fails", good, devauth.Rules{ProviderARNs: []string{poolARN}, IdentityValidationExpression: "^other$"}, devauth.MessageUnauthorized},
		{"scoped method takes access tokens", access, devauth.Rules{ProviderARNs: []string{poolARN}, Scopes: []string{"aws.cognito.signin.user.admin"}}, ""},
		{"scoped method refuses id tokens", good, devauth.Rules{ProviderARNs: []string{poolARN}, Scopes: []string{"aws.cognito.signin.user.admin"}}, devauth.MessageUnauthorized},
		{"scoped method, scope missing", access, devauth.Rules{ProviderARNs: []string{poolARN}, Scopes: []string{"jobs/read"}}, devauth.MessageUnauthorized},
	}
	for _, tt := range tests {
		claims, err := v.Verify(tt.header, tt.rules)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Verify error = %v, want accepted", tt.name, err)
			}
			continue
		}
		var rej *devauth.Rejection
		if err == nil || !errorsAs(err, &rej) {
			t.Errorf("%s: Verify = %v, %v; want a Rejection", tt.name, claims, err)
			continue
		}
		if got := rej.GatewayMessage(); got != tt.want {
			t.Errorf("%s: message = %q, want %q (reason: %s)", tt.name, got, tt.want, rej.Reason)
		}
	}
}

func errorsAs(err error, target **devauth.Rejection) bool {
	r, ok := err.(*devauth.Rejection)
	*target = r
	return ok
}

func TestIDTokenClaims(t *testing.T) {
	t.Parallel()
	pool := newPool(t, issuer, testKeys(t)[0])
	v := devauth.NewVerifier(func() time.Time { return t0 })
	if err := v.TrustPool(poolARN, pool); err != nil {
		t.Fatal(err)
	}
	tok, exp, err := pool.IDToken(devauth.User{Username: "alice", Groups: []string{"admin"}}, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(2 * time.Hour); !exp.Equal(want) {
		t.Errorf("expiry = %v, want %v", exp, want)
	}
	c, err := v.Verify(tok, devauth.Rules{ProviderARNs: []string{poolARN}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": issuer, "aud": client, "token_use": "id", "sub": devauth.Subject("alice"),
		"cognito:username": "alice", "email": "alice@example.com", "email_verified": true,
		"exp": float64(exp.Unix()), "iat": float64(t0.Unix()), "cognito:groups": []any{"admin"},
	}
	for k, w := range want {
		if got := c[k]; !equalJSON(got, w) {
			t.Errorf("claim %s = %#v, want %#v", k, got, w)
		}
	}
	tok2, _, err := pool.IDToken(devauth.User{Username: "bob"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Verify(tok2, devauth.Rules{ProviderARNs: []string{poolARN}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c2["cognito:groups"]; ok {
		t.Error("a user without groups got a cognito:groups claim; Cognito omits it")
	}
	for _, u := range []devauth.User{{Username: ""}, {Username: "a b"}, {Username: "alice", Groups: []string{"[admin]"}}, {Username: strings.Repeat("a", 65)}} {
		if _, _, err := pool.IDToken(u, 0); err == nil {
			t.Errorf("IDToken(%+v) succeeded, want an error", u)
		}
	}
	if _, _, err := pool.IDToken(devauth.User{Username: "alice"}, 25*time.Hour); err == nil {
		t.Error("IDToken with a 25 h lifetime succeeded, want an error")
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestSubject(t *testing.T) {
	t.Parallel()
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := devauth.Subject("alice"), devauth.Subject("bob")
	if !uuid.MatchString(a) || !uuid.MatchString(b) {
		t.Errorf("subjects %q, %q are not version-5 UUIDs", a, b)
	}
	if a == b || a != devauth.Subject("alice") {
		t.Errorf("Subject is not stable per user and distinct across users: %q %q", a, b)
	}
}

func TestTrustRejectsBadKeySets(t *testing.T) {
	t.Parallel()
	v := devauth.NewVerifier(nil)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := newPool(t, issuer, small)
	tests := []struct {
		name string
		jwks devauth.JWKS
	}{
		{"empty", devauth.JWKS{}},
		{"only an encryption key", devauth.JWKS{Keys: []devauth.JWK{{Kty: "RSA", Kid: "x", Use: "enc", N: "AQAB", E: "AQAB"}}}},
		{"bad base64", devauth.JWKS{Keys: []devauth.JWK{{Kty: "RSA", Kid: "x", N: "!!", E: "AQAB"}}}},
		{"1024-bit key", weak.JWKS()},
	}
	for _, tt := range tests {
		if err := v.Trust(poolARN, issuer, []string{client}, tt.jwks); err == nil {
			t.Errorf("%s: Trust succeeded, want an error", tt.name)
		}
	}
	for _, cfg := range []devauth.PoolConfig{{Issuer: "127.0.0.1:3000/x", ClientID: "c"}, {Issuer: issuer + "/", ClientID: "c"}, {Issuer: issuer, ClientID: "bad client"}} {
		cfg.Key = testKeys(t)[0]
		if _, err := devauth.NewPool(cfg); err == nil {
			t.Errorf("NewPool(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	pool := newPool(t, issuer, testKeys(t)[0])
	allowed := "http://127.0.0.1:3001"
	mux := http.NewServeMux()
	mux.Handle(devauth.TokenPath, pool.TokenHandler(func(o string) bool { return o == allowed }))
	mux.Handle("/us-east-1_local/.well-known/jwks.json", pool.JWKSHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// JWKS: what the verifier trusts is exactly what is served.
	resp, err := http.Get(srv.URL + "/us-east-1_local/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var served devauth.JWKS
	err = json.NewDecoder(resp.Body).Decode(&served)
	resp.Body.Close()
	if err != nil || len(served.Keys) != 1 || served.Keys[0].Alg != "RS256" {
		t.Fatalf("JWKS = %+v, %v", served, err)
	}
	v := devauth.NewVerifier(func() time.Time { return t0 })
	if err := v.Trust(poolARN, issuer, []string{client}, served); err != nil {
		t.Fatal(err)
	}

	tr, err := devauth.FetchToken(context.Background(), srv.Client(), srv.URL, devauth.TokenRequest{User: devauth.User{Username: "alice", Groups: []string{"admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Sub != devauth.Subject("alice") || tr.Username != "alice" {
		t.Errorf("token response = %+v", tr)
	}
	if _, err := v.Verify(tr.IDToken, devauth.Rules{ProviderARNs: []string{poolARN}}); err != nil {
		t.Errorf("issued token does not verify: %v", err)
	}
	if _, err := devauth.FetchToken(context.Background(), srv.Client(), srv.URL, devauth.TokenRequest{User: devauth.User{Username: "a b"}}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("FetchToken(bad user) error = %v, want a 400", err)
	}

	tests := []struct {
		name, method, path, origin, body string
		status                           int
		allowOrigin                      string
	}{
		{"token from allowed origin", "POST", devauth.TokenPath, allowed, `{"user":"bob"}`, 200, allowed},
		{"token from other origin gets no CORS", "POST", devauth.TokenPath, "http://127.0.0.1:9999", `{"user":"bob"}`, 200, ""},
		{"preflight allowed", "OPTIONS", devauth.TokenPath, allowed, "", 204, allowed},
		{"preflight other origin", "OPTIONS", devauth.TokenPath, "http://evil.example", "", 204, ""},
		{"unknown field", "POST", devauth.TokenPath, allowed, `{"user":"bob","admin":true}`, 400, allowed},
		{"expired on request", "POST", devauth.TokenPath, allowed, `{"user":"bob","expiresInSeconds":-60}`, 200, allowed},
		{"GET token", "GET", devauth.TokenPath, "", "", 405, ""},
		{"POST jwks", "POST", "/us-east-1_local/.well-known/jwks.json", "", "", 405, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status = %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", tt.name, got, tt.allowOrigin)
		}
	}
}
