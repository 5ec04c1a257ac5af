package testenv

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// IDToken returns a JWT with payload as its claims and a signature that
// verifies nothing: the shape of the ID token API Gateway passes a function
// in Authorization after verifying it (the functions read it, they do not
// verify it again).
func IDToken(payload map[string]any) string {
	b, err := json.Marshal(payload)
	if err != nil {
		panic("testenv.IDToken: " + err.Error())
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"kid":"test","alg":"RS256"}`)) + "." + enc(b) + "." + enc([]byte("not a signature"))
}

// TokenForClaims returns the ID token whose claims a REST API's Cognito
// authorizer flattened into claims: the same values, with cognito:groups,
// a comma-separated string in fixtures, as the JSON array Cognito writes.
func TokenForClaims(claims map[string]any) string {
	p := make(map[string]any, len(claims))
	for k, v := range claims {
		p[k] = v
	}
	if g, ok := claims["cognito:groups"].(string); ok {
		if g == "" {
			delete(p, "cognito:groups")
		} else {
			p["cognito:groups"] = strings.Split(g, ",")
		}
	}
	return IDToken(p)
}
