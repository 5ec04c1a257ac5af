package apigw

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// groupName is what a group may be called for us to trust it. Cognito allows
// more, but none of our groups need brackets, quotes, commas or spaces, and
// rejecting them keeps the list formats below unambiguous.
var groupName = regexp.MustCompile(`^[A-Za-z0-9_.@+=:-]{1,128}$`)

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
// name outside groupName, is EUNAUTHORIZED.
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
		if !groupName.MatchString(n) {
			return nil, errBadGroups
		}
	}
	return names, nil
}

var errBadGroups = jobs.Errorf(jobs.EUNAUTHORIZED, "Authentication required: unreadable group claim.")
