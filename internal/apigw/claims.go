package apigw

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// validGroupName reports whether a group is named as we trust it: 1 to 128
// of A-Z, a-z, 0-9 and _.@+=:- (the regexp ^[A-Za-z0-9_.@+=:-]{1,128}$).
// Cognito allows more, but none of our groups need brackets, quotes, commas
// or spaces, and rejecting them keeps the list formats below unambiguous.
// A loop rather than a regexp: compiling that one at package init (the
// {1,128} unrolls into 128 copies) was most of this module's init time on
// every cold start (bench/coldstart/RESULTS.md).
func validGroupName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_.@+=:-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

var errNoIdentity = jobs.Errorf(jobs.EUNAUTHORIZED, "Authentication required.")

// CallerFromRequest reads the identity the Cognito user pool authorizer put in
// requestContext.authorizer.claims. Every claim value is a string there.
// A request without claims or without a "sub" is EUNAUTHORIZED, and so is one
// whose groups cannot be read with certainty: it fails closed.
func CallerFromRequest(req *events.APIGatewayProxyRequest) (jobs.Caller, error) {
	claims, ok := req.RequestContext.Authorizer["claims"].(map[string]any)
	if !ok {
		return jobs.Caller{}, errNoIdentity
	}
	sub, ok := claims["sub"].(string)
	if !ok || strings.TrimSpace(sub) == "" || len(sub) > 128 {
		return jobs.Caller{}, errNoIdentity
	}
	c := jobs.Caller{Subject: sub}
	if u, ok := claims["cognito:username"].(string); ok {
		c.Username = u
	}
	if raw, present := claims["cognito:groups"]; present {
		s, ok := raw.(string)
		if !ok {
			return jobs.Caller{}, errNoIdentity
		}
		groups, err := ParseGroups(s)
		if err != nil {
			return jobs.Caller{}, err
		}
		c.Groups = groups
	}
	return c, nil
}

// ParseGroups reads the cognito:groups claim in each shape API Gateway has
// been seen to pass it: "admin", "admin,video", "[admin video]" (a Go-style
// rendering of a list) and a JSON array string. Anything else, or any group
// name validGroupName rejects, is EUNAUTHORIZED.
func ParseGroups(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var names []string
	switch {
	case s == "" || s == "[]":
		return nil, nil
	case strings.HasPrefix(s, `["`):
		if err := json.Unmarshal([]byte(s), &names); err != nil {
			return nil, errBadGroups
		}
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		names = strings.Fields(s[1 : len(s)-1])
	default:
		for _, n := range strings.Split(s, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	for _, n := range names {
		if !validGroupName(n) {
			return nil, errBadGroups
		}
	}
	return names, nil
}

var errBadGroups = jobs.Errorf(jobs.EUNAUTHORIZED, "Authentication required: unreadable group claim.")
