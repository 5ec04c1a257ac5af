package coldstart

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"github.com/deepfoundai/jobs-api/test/testenv"
	"time"
)

// The REST API and the Cognito user of the events.
const (
	apiID    = "o0fvahtccd"
	apiHost  = apiID + ".execute-api.us-east-1.amazonaws.com"
	origin   = "https://video.deepfoundai.com"
	userSub  = "0c8e5f1a-1d7e-4f59-9a39-6b1f0c4a0a11"
	userName = "alice"
)

// getEvent renders GET /v1/jobs/{id} by the job's owner as API Gateway sends
// it to a REST API's Lambda proxy integration behind a Cognito user pool
// authorizer: single- and multi-value headers, nulls where API Gateway sends
// null, the claims as strings.
func getEvent(id string) []byte {
	now := time.Now().UTC()
	headers := map[string]string{
		"Accept":            "application/json",
		"Accept-Encoding":   "gzip, deflate, br",
		"Host":              apiHost,
		"Origin":            origin,
		"User-Agent":        "Mozilla/5.0 (X11; Linux x86_64) coldstart",
		"X-Amzn-Trace-Id":   "Root=1-00000000-" + randHex(24),
		"X-Forwarded-For":   "203.0.113.10, 130.176.0.1",
		"X-Forwarded-Port":  "443",
		"X-Forwarded-Proto": "https",
	}
	multi := map[string][]string{}
	for k, v := range headers {
		multi[k] = []string{v}
	}
	claims := map[string]string{
		"sub":              userSub,
		"cognito:username": userName,
		"email":            userName + "@example.com",
		"email_verified":   "true",
		"token_use":        "id",
		"iss":              benchIssuer,
		"aud":              "4b2c9e2ebenchclient0000ab",
		"auth_time":        now.Add(-time.Minute).Format(time.UnixDate),
		"iat":              now.Add(-time.Minute).Format(time.UnixDate),
		"exp":              now.Add(time.Hour).Format(time.UnixDate),
	}
	// The verified ID token those claims came from.
	payload := map[string]any{}
	for k, v := range claims {
		payload[k] = v
	}
	headers["Authorization"] = testenv.IDToken(payload)
	multi["Authorization"] = []string{headers["Authorization"]}
	ev := map[string]any{
		"resource":                        "/v1/jobs/{id}",
		"path":                            "/v1/jobs/" + id,
		"httpMethod":                      "GET",
		"headers":                         headers,
		"multiValueHeaders":               multi,
		"queryStringParameters":           nil,
		"multiValueQueryStringParameters": nil,
		"pathParameters":                  map[string]string{"id": id},
		"stageVariables":                  nil,
		"body":                            nil,
		"isBase64Encoded":                 false,
		"requestContext": map[string]any{
			"resourceId":       "x1y2z3",
			"resourcePath":     "/v1/jobs/{id}",
			"httpMethod":       "GET",
			"requestTime":      now.Format("02/Jan/2006:15:04:05 -0700"),
			"path":             "/prod/v1/jobs/" + id,
			"accountId":        "123456789012",
			"protocol":         "HTTP/1.1",
			"stage":            "prod",
			"domainPrefix":     apiID,
			"requestTimeEpoch": now.UnixMilli(),
			"requestId":        randHex(32),
			"identity":         map[string]any{"sourceIp": "203.0.113.10", "userAgent": headers["User-Agent"]},
			"domainName":       apiHost,
			"apiId":            apiID,
			"authorizer":       map[string]any{"claims": claims},
		},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // only maps of strings: cannot fail
	}
	return b
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
