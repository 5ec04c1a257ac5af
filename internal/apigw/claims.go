package apigw

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/strictjson"
)

// Identity is what a stage trusts about the callers API Gateway lets
// through: the Cognito user pool authorizer has verified the ID token in the
// Authorization header (signature, expiry, issuer of its configured pools)
// before the function runs, and copied its claims, flattened to strings, into
// requestContext.authorizer.claims.
//
// The functions do not verify the signature again: API Gateway did, and the
// functions' resource policies let only API Gateway invoke them. They read
// the identity from that verified token, because its payload keeps
// cognito:groups a JSON array, while the flattened claim cannot tell one
// group named "support,admin" from two groups. They check that token and the
// authorizer's claims describe the same user, and that the token is an ID
// token of the configured pool (and app clients): an event that fails any
// check is EUNAUTHORIZED. Whoever may call lambda:InvokeFunction directly can
// still write any event; that permission is the trust boundary.
type Identity struct {
	// Issuer is the user pool's issuer URL,
	// https://cognito-idp.<region>.amazonaws.com/<pool id>; tokens of any
	// other issuer are refused. "" does not pin it (the Lambda configuration
	// always sets it).
	Issuer string
	// ClientIDs are the app clients whose ID tokens are accepted (the aud
	// claim); empty accepts any client of the pool.
	ClientIDs []string
	// AdminGroup is the exact name of the group whose members see every job
	// ("" means jobs.AdminGroup).
	AdminGroup string
}

var errNoIdentity = jobs.Errorf(jobs.EUNAUTHORIZED, "Authentication required.")

// maxTokenBytes bounds the Authorization header read (API Gateway's own
// header limit is 10 KiB).
const maxTokenBytes = 16 << 10

// Caller reads the identity of a request (see Identity). The subject is the
// authorizer claims' sub, which the token's must equal; username and groups
// come from the token. The caller is an admin when one of its groups is
// exactly AdminGroup. Groups that are not a JSON array of strings make no one
// an admin and deny no one: a user keeps access to their own jobs whatever
// groups the pool gives them.
func (id Identity) Caller(req *events.APIGatewayProxyRequest) (jobs.Caller, error) {
	claims, ok := req.RequestContext.Authorizer["claims"].(map[string]any)
	if !ok {
		return jobs.Caller{}, errNoIdentity
	}
	sub, ok := claims["sub"].(string)
	if !ok || strings.TrimSpace(sub) == "" || len(sub) > 128 {
		return jobs.Caller{}, errNoIdentity
	}
	tok, ok := readIDToken(header(req, "Authorization"))
	if !ok || tok.str("sub") != sub || tok.str("token_use") != "id" {
		return jobs.Caller{}, errNoIdentity
	}
	iss := tok.str("iss")
	if claimIss, present := claims["iss"]; present && claimIss != iss {
		return jobs.Caller{}, errNoIdentity
	}
	if id.Issuer != "" && iss != id.Issuer {
		return jobs.Caller{}, errNoIdentity
	}
	if len(id.ClientIDs) > 0 && !slices.Contains(id.ClientIDs, tok.str("aud")) {
		return jobs.Caller{}, errNoIdentity
	}
	c := jobs.Caller{Subject: sub, Username: tok.str("cognito:username")}
	// Not a JSON array of strings: no groups (Unmarshal leaves nil).
	if json.Unmarshal(tok["cognito:groups"], &c.Groups) != nil {
		c.Groups = nil
	}
	admin := id.AdminGroup
	if admin == "" {
		admin = jobs.AdminGroup
	}
	c.Admin = slices.Contains(c.Groups, admin)
	return c, nil
}

// idToken is a token payload's claims, unparsed.
type idToken map[string]json.RawMessage

// str returns a string claim, "" when absent or not a string.
func (t idToken) str(name string) string {
	var s string
	if json.Unmarshal(t[name], &s) != nil {
		return ""
	}
	return s
}

// readIDToken decodes the payload of the JWT in an Authorization header
// value (raw or "Bearer <token>"), without verifying it: API Gateway has.
// By hand rather than with a JWT library because nothing here verifies
// (a library's parser would also register its signing methods at every cold
// start), and because the claims are read with exact, unrepeated names
// (strictjson): encoding/json would match "Sub" for "sub".
func readIDToken(h string) (idToken, bool) {
	if len(h) > maxTokenBytes {
		return nil, false
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimLeft(h[7:], " ")
	}
	parts := strings.Split(h, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	fields, err := strictjson.Object(payload)
	if err != nil {
		return nil, false
	}
	return idToken(fields), true
}
