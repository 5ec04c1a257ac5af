package devauth

import (
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Messages API Gateway answers a refused Cognito token with (401, gateway
// response type UNAUTHORIZED).
const (
	MessageUnauthorized = "Unauthorized"
	MessageExpired      = "The incoming token has expired"
)

// Rejection is why a token was refused. Message is what API Gateway tells
// the client; Reason is for logs only.
type Rejection struct {
	Message string
	Reason  string
}

func (r *Rejection) Error() string { return "token rejected: " + r.Reason }

// GatewayMessage is the message of the 401 response.
func (r *Rejection) GatewayMessage() string { return r.Message }

func reject(format string, args ...any) *Rejection {
	return &Rejection{Message: MessageUnauthorized, Reason: fmt.Sprintf(format, args...)}
}

// Rules are what a COGNITO_USER_POOLS authorizer and the method using it
// require of a token.
type Rules struct {
	// ProviderARNs are the user pools whose tokens are accepted.
	ProviderARNs []string
	// IdentityValidationExpression, if set, must match an ID token's aud.
	IdentityValidationExpression string
	// Scopes are the method's AuthorizationScopes. Without scopes only ID
	// tokens are accepted; with them, only access tokens carrying one.
	Scopes []string
}

// Verifier checks tokens as API Gateway's Cognito user pool authorizer
// does: an RS256 signature by a key of the token issuer's JWKS, an issuer
// that is one of the authorizer's pools, an unexpired token, token_use id
// (or access with a required scope), and an audience that is one of the
// pool's app clients. Safe for concurrent use.
type Verifier struct {
	mu    sync.RWMutex
	pools map[string]trustedPool // by pool ARN
	now   func() time.Time
}

type trustedPool struct {
	issuer  string
	clients []string
	keys    map[string]*rsa.PublicKey // by kid
}

// NewVerifier returns a Verifier that trusts no pool yet. now is the clock
// (time.Now if nil).
func NewVerifier(now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{pools: map[string]trustedPool{}, now: now}
}

// Trust registers the user pool with the given ARN: its issuer URL, its app
// client ids and its published keys (as read from its JWKS URL).
func (v *Verifier) Trust(poolARN, issuer string, clientIDs []string, keys JWKS) error {
	tp := trustedPool{issuer: issuer, clients: slices.Clone(clientIDs), keys: map[string]*rsa.PublicKey{}}
	for _, k := range keys.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Alg != "" && k.Alg != "RS256") || (k.Use != "" && k.Use != "sig") {
			continue // not a key Cognito signs tokens with
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return fmt.Errorf("devauth: key %s: bad modulus or exponent", k.Kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return fmt.Errorf("devauth: key %s: %d-bit modulus, want at least 2048", k.Kid, pub.N.BitLen())
		}
		tp.keys[k.Kid] = pub
	}
	if len(tp.keys) == 0 {
		return fmt.Errorf("devauth: pool %s publishes no RS256 signing key", poolARN)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pools[poolARN] = tp
	return nil
}

// TrustPool is Trust for a Pool of this package.
func (v *Verifier) TrustPool(poolARN string, p *Pool) error {
	return v.Trust(poolARN, p.Issuer(), []string{p.ClientID()}, p.JWKS())
}

// TokenFromHeader returns the token in an Authorization header value. The
// REST API Cognito authorizer takes the raw token (what Amplify sends) and
// also "Bearer <token>".
func TokenFromHeader(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}

// Verify checks the token in an Authorization header value against rules
// and returns its claims. A refused token is a *Rejection whose Message is
// "The incoming token has expired" for an expired but otherwise good token
// and "Unauthorized" for everything else, as API Gateway answers.
func (v *Verifier) Verify(header string, rules Rules) (map[string]any, error) {
	raw := TokenFromHeader(header)
	if raw == "" {
		return nil, reject("no token")
	}
	claims, err := v.verify(raw, rules)
	if err != nil {
		return nil, err
	}
	return claims, nil
}

func (v *Verifier) verify(raw string, rules Rules) (jwt.MapClaims, error) {
	var peek jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil {
		return nil, reject("malformed token: %v", err)
	}
	iss, _ := peek["iss"].(string)
	pool, ok := v.poolFor(iss, rules.ProviderARNs)
	if !ok {
		return nil, reject("issuer %q is not one of the authorizer's user pools", iss)
	}
	var claims jwt.MapClaims
	_, err := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(pool.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
	).ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := pool.keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("no key %q in the pool's JWKS", kid)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, &Rejection{Message: MessageExpired, Reason: "expired"}
	case err != nil:
		return nil, reject("%v", err)
	}
	use, _ := claims["token_use"].(string)
	if len(rules.Scopes) == 0 {
		if use != "id" {
			return nil, reject("token_use %q: the method has no OAuth scopes, so only ID tokens are accepted", use)
		}
		aud, _ := claims["aud"].(string)
		if !slices.Contains(pool.clients, aud) {
			return nil, reject("aud %q is not an app client of the pool", aud)
		}
		if rules.IdentityValidationExpression != "" {
			re, err := regexp.Compile(rules.IdentityValidationExpression)
			if err != nil || !re.MatchString(aud) {
				return nil, reject("aud %q does not match the identity validation expression", aud)
			}
		}
		return map[string]any(claims), nil
	}
	client, _ := claims["client_id"].(string)
	scope, _ := claims["scope"].(string)
	if use != "access" || !slices.Contains(pool.clients, client) {
		return nil, reject("the method has OAuth scopes: an access token of a pool client is required")
	}
	for _, s := range strings.Fields(scope) {
		if slices.Contains(rules.Scopes, s) {
			return map[string]any(claims), nil
		}
	}
	return nil, reject("none of the method's scopes in %q", scope)
}

func (v *Verifier) poolFor(iss string, arns []string) (trustedPool, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, arn := range arns {
		if p, ok := v.pools[arn]; ok && p.issuer == iss && iss != "" {
			return p, true
		}
	}
	return trustedPool{}, false
}
