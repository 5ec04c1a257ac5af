// Package devauth is a development stand-in for an Amazon Cognito user pool
// and for API Gateway's COGNITO_USER_POOLS authorizer: a pool that signs
// RS256 ID tokens shaped like Cognito's and publishes its key as a JWKS at
// the issuer's /.well-known/jwks.json, and a Verifier that accepts or
// rejects tokens by Cognito's rules. Signing and verification are done by
// github.com/golang-jwt/jwt/v5.
//
// It is for local runs and tests only: anyone who can reach the token
// endpoint can sign in as anyone, in any group.
package devauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is how long issued tokens live: Cognito's default for ID
// tokens.
const DefaultTokenTTL = time.Hour

// MaxTokenTTL bounds a requested lifetime (either way: negative lifetimes
// make already-expired tokens, for testing refresh paths).
const MaxTokenTTL = 24 * time.Hour

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Issuer is the pool's issuer URL, e.g. http://127.0.0.1:3000/us-east-1_local
	// (Cognito's is https://cognito-idp.<region>.amazonaws.com/<pool id>).
	Issuer string
	// ClientID is the app client tokens are issued to (their aud).
	ClientID string
	// Key signs tokens; nil generates a 2048-bit key.
	Key *rsa.PrivateKey
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Pool is a dev user pool. Safe for concurrent use.
type Pool struct {
	issuer   string
	clientID string
	key      *rsa.PrivateKey
	kid      string
	now      func() time.Time
}

// NewPool returns a pool with cfg's issuer, client and key.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if !strings.HasPrefix(cfg.Issuer, "http://") && !strings.HasPrefix(cfg.Issuer, "https://") || strings.HasSuffix(cfg.Issuer, "/") {
		return nil, fmt.Errorf("devauth: issuer %q: want an http(s) URL without a trailing slash", cfg.Issuer)
	}
	if !clientIDPattern.MatchString(cfg.ClientID) {
		return nil, fmt.Errorf("devauth: client id %q: want 1-128 letters, digits, '_' or '-'", cfg.ClientID)
	}
	key := cfg.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("devauth: %w", err)
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	// The key id is a thumbprint of the public key, so it changes with it.
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	return &Pool{issuer: cfg.Issuer, clientID: cfg.ClientID, key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:16]), now: now}, nil
}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// Issuer returns the pool's issuer URL.
func (p *Pool) Issuer() string { return p.issuer }

// ClientID returns the pool's app client id.
func (p *Pool) ClientID() string { return p.clientID }

// JWKSURL returns where the pool's keys are published, as Cognito does.
func (p *Pool) JWKSURL() string { return p.issuer + "/.well-known/jwks.json" }

// JWK is one public key of a JWKS (RFC 7517), RSA only.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the pool's public keys.
func (p *Pool) JWKS() JWKS {
	pub := p.key.PublicKey
	return JWKS{Keys: []JWK{{
		Kty: "RSA", Kid: p.kid, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// User is who a token is for.
type User struct {
	// Username is the cognito:username; it also derives the sub.
	Username string `json:"user"`
	// Groups become the cognito:groups claim (omitted when empty, as
	// Cognito does).
	Groups []string `json:"groups,omitempty"`
	// Email defaults to <username>@example.com.
	Email string `json:"email,omitempty"`
}

var (
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.@+-]{1,64}$`)
	groupPattern    = regexp.MustCompile(`^[A-Za-z0-9_.@+=:-]{1,128}$`)
)

// Validate rejects names a dev token should not carry.
func (u User) Validate() error {
	if !usernamePattern.MatchString(u.Username) {
		return fmt.Errorf("user: 1-64 characters of A-Z, a-z, 0-9 and _.@+-")
	}
	for _, g := range u.Groups {
		if !groupPattern.MatchString(g) {
			return fmt.Errorf("groups: %q: 1-128 characters of A-Z, a-z, 0-9 and _.@+=:-", g)
		}
	}
	if len(u.Groups) > 25 {
		return fmt.Errorf("groups: at most 25")
	}
	if len(u.Email) > 254 || strings.ContainsAny(u.Email, " \t\r\n") {
		return fmt.Errorf("email: at most 254 characters, no spaces")
	}
	return nil
}

// Subject returns the stable sub of a username: a UUID (version 5 layout)
// derived from the name, so alice is the same owner across restarts.
func Subject(username string) string {
	h := sha1.Sum([]byte("jobs-api/devauth/" + username))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// IDToken signs an ID token for u that lives ttl (DefaultTokenTTL if 0;
// negative makes a token that has already expired).
func (p *Pool) IDToken(u User, ttl time.Duration) (string, time.Time, error) {
	if err := u.Validate(); err != nil {
		return "", time.Time{}, err
	}
	now, exp, err := p.times(ttl)
	if err != nil {
		return "", time.Time{}, err
	}
	email := u.Email
	if email == "" {
		email = strings.ToLower(u.Username) + "@example.com"
	}
	c := jwt.MapClaims{
		"sub":              Subject(u.Username),
		"iss":              p.issuer,
		"aud":              p.clientID,
		"token_use":        "id",
		"cognito:username": u.Username,
		"email":            email,
		"email_verified":   true,
		"auth_time":        now.Unix(),
		"iat":              now.Unix(),
		"exp":              exp.Unix(),
		"jti":              randomID(),
		"origin_jti":       randomID(),
		"event_id":         randomID(),
	}
	if len(u.Groups) > 0 {
		c["cognito:groups"] = append([]string(nil), u.Groups...)
	}
	tok, err := p.Sign(c)
	return tok, exp, err
}

// AccessToken signs an access token for u, shaped like Cognito's (no aud;
// client_id and scope instead). API Gateway refuses these on methods without
// OAuth scopes; tests use them to check that.
func (p *Pool) AccessToken(u User, scope string, ttl time.Duration) (string, error) {
	if err := u.Validate(); err != nil {
		return "", err
	}
	now, exp, err := p.times(ttl)
	if err != nil {
		return "", err
	}
	c := jwt.MapClaims{
		"sub": Subject(u.Username), "iss": p.issuer, "client_id": p.clientID, "token_use": "access",
		"scope": scope, "username": u.Username, "auth_time": now.Unix(), "iat": now.Unix(),
		"exp": exp.Unix(), "jti": randomID(), "origin_jti": randomID(), "event_id": randomID(),
	}
	if len(u.Groups) > 0 {
		c["cognito:groups"] = append([]string(nil), u.Groups...)
	}
	return p.Sign(c)
}

// Sign signs arbitrary claims with the pool's key (RS256, with its kid):
// tests build tokens Cognito would never issue with it.
func (p *Pool) Sign(c jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = p.kid
	return t.SignedString(p.key)
}

func (p *Pool) times(ttl time.Duration) (now, exp time.Time, err error) {
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl > MaxTokenTTL || ttl < -MaxTokenTTL {
		return now, exp, fmt.Errorf("lifetime: at most %s either way", MaxTokenTTL)
	}
	now = p.now().UTC().Truncate(time.Second)
	return now, now.Add(ttl), nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// MarshalJSON renders the set as served at the JWKS URL.
func (s JWKS) MarshalJSON() ([]byte, error) {
	type plain JWKS
	if s.Keys == nil {
		s.Keys = []JWK{}
	}
	return json.Marshal(plain(s))
}
