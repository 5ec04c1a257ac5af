package main

// Bad input through the local server: real HTTP through the API Gateway
// emulation built from template.yaml (authorizer, gateway responses, MOCK
// preflights), dev Cognito tokens, the handlers and the embedded DynamoDB
// engine. Every case gets its documented status and a JSON error body
// {"error":{"code","message"}} — from the function (lower-case codes) or
// from API Gateway's gateway responses (upper-case response types) — the
// CORS rule of whoever answered, never a 5xx, and never anything of another
// user's jobs. The handler-level suite (internal/apigw/badinput_test.go) covers
// the same ground at the handler, with events built by hand.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

const (
	biAdminOrigin = "https://admin.deepfoundai.com"
	biVideoOrigin = "https://video.deepfoundai.com"

	biMalloryPrompt = "MALLORY-SECRET-PROMPT-7f3a"
	biMalloryKey    = "mallory-idempotency-key-1"
	biLegacyJob     = "legacy-20240101-0001" // no ownerId: admins only
	biLegacyPrompt  = "LEGACY-SECRET-PROMPT-91c2"
)

// biInternalDetail are fragments that would reveal implementation detail.
var biInternalDetail = []string{"json:", "strconv", "goroutine", "panic", "runtime error", "reflect", "apigw.", "jobs.",
	"dynamodb", "DynamoDB", "minidyn", "unmarshal", "Go value", "<nil>", "%!", "token is", "crypto/", "jwt"}

// biEnv is a running local server holding jobs of alice (the caller), of
// mallory and an ownerless legacy job.
type biEnv struct {
	s       *localserver.Server
	alice   string // "Bearer <alice's ID token>"
	mallory string
	// aliceJobs, malloryJobs are their job ids; secrets are what no answer
	// to alice (or to nobody) may contain.
	aliceJobs, malloryJobs []string
	secrets                []string
	malloryCursor          string // from mallory's own listing
	aliceCursor            string // from alice's listing of QUEUED jobs, limit 1
	tokens                 map[string]string
}

func biStart(t *testing.T) *biEnv {
	t.Helper()
	o := fastOptions(t)
	o.Worker = false // jobs stay QUEUED: every answer is deterministic
	o.AllowedOrigins = biAdminOrigin + "," + biVideoOrigin
	e := &biEnv{s: startServer(t, o)}
	tok := func(user string, groups ...string) string {
		t.Helper()
		raw, _, err := e.s.Pool.IDToken(devauth.User{Username: user, Groups: groups}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + raw
	}
	e.alice, e.mallory = tok("alice"), tok("mallory")
	e.secrets = []string{biMalloryPrompt, biMalloryKey, biLegacyJob, biLegacyPrompt, devauth.Subject("mallory")}

	submit := func(auth, prompt, key string) string {
		t.Helper()
		hdr := map[string]string{"Authorization": auth, "Content-Type": "application/json"}
		if key != "" {
			hdr["Idempotency-Key"] = key
		}
		r := biDo(t, e.s.APIURL, "POST", "/v1/jobs", hdr, `{"prompt":"`+prompt+`"}`)
		var jr struct{ JobID string }
		if r.status != 202 || json.Unmarshal(r.body, &jr) != nil || jr.JobID == "" {
			t.Fatalf("seed submit: %d %s", r.status, r.body)
		}
		return jr.JobID
	}
	for i := range 3 {
		e.aliceJobs = append(e.aliceJobs, submit(e.alice, fmt.Sprintf("alice's cat %d", i), ""))
	}
	e.malloryJobs = append(e.malloryJobs, submit(e.mallory, biMalloryPrompt, biMalloryKey), submit(e.mallory, biMalloryPrompt+"-2", ""))
	e.secrets = append(e.secrets, e.malloryJobs...)
	now := time.Now().UTC()
	if err := e.s.Service.Store.Create(context.Background(), jobs.Job{ID: biLegacyJob, Status: jobs.Queued,
		Spec: jobs.Spec{Prompt: biLegacyPrompt, DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatal(err)
	}

	cursor := func(auth, query string) string {
		t.Helper()
		r := biDo(t, e.s.APIURL, "GET", "/v1/jobs?"+query, map[string]string{"Authorization": auth}, "")
		var page struct{ NextCursor string }
		if r.status != 200 || json.Unmarshal(r.body, &page) != nil || page.NextCursor == "" {
			t.Fatalf("seed listing %s: %d %s", query, r.status, r.body)
		}
		return page.NextCursor
	}
	e.malloryCursor = cursor(e.mallory, "limit=1")
	e.aliceCursor = cursor(e.alice, "limit=1&status=QUEUED")
	e.secrets = append(e.secrets, e.malloryCursor)
	e.tokens = biTokens(t, e)
	return e
}

// biTokens are Authorization values the authorizer must refuse, with the
// message API Gateway answers each with: the forms a header can take on its
// way to the authorizer, and one token of each kind of refusal. Every other
// flaw of a token (algorithm, key, issuer, audience, claims) is
// devauth.TestVerify's.
func biTokens(t *testing.T, e *biEnv) map[string]string {
	t.Helper()
	pool := e.s.Pool
	alice := devauth.User{Username: "alice"}
	good, _, err := pool.IDToken(alice, 0)
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.MapClaims
	head, _, err := jwt.NewParser().ParseUnverified(good, &claims)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by another key that claims the pool's kid.
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	forged.Header["kid"] = head.Header["kid"]
	wrongKey, err := forged.SignedString(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	expired, _, err := pool.IDToken(alice, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	access, err := pool.AccessToken(alice, "aws.cognito.signin.user.admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	dot := strings.LastIndex(good, ".")
	const unauthorized = devauth.MessageUnauthorized
	return map[string]string{
		"":                                unauthorized,
		"Bearer":                          unauthorized,
		"Bearer ":                         unauthorized,
		"Bearer  ":                        unauthorized,
		"Basic YWxpY2U6cGFzc3dvcmQ=":      unauthorized,
		"garbage":                         unauthorized,
		"Bearer garbage":                  unauthorized,
		"Bearer a.b.c":                    unauthorized,
		"Bearer " + good[:dot]:            unauthorized, // header.payload
		"Bearer " + good[:len(good)-6]:    unauthorized, // signature cut short
		"Bearer " + good[:dot+1] + "AAAA": unauthorized,
		"Bearer " + good + "x":            unauthorized,
		"Bearer Bearer " + good:           unauthorized,
		"Bearer " + wrongKey:              unauthorized, // the pool's kid, another key
		"Bearer " + access:                unauthorized, // the methods have no OAuth scopes
		"Bearer " + expired:               devauth.MessageExpired,
	}
}

type biReply struct {
	status int
	header http.Header
	body   []byte
}

var biClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// biDo sends a request with path sent verbatim (no cleaning, no escaping).
// hdr values "<absent>" are not sent.
func biDo(t *testing.T, base, method, path string, hdr map[string]string, body string) biReply {
	t.Helper()
	req, err := http.NewRequest(method, base, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = path
	for k, v := range hdr {
		if v != "<absent>" {
			req.Header[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	resp, err := biClient.Do(req)
	if err != nil {
		t.Fatalf("%s %.80s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return biReply{resp.StatusCode, resp.Header, b}
}

// biCase is one request. Headers default to alice's token, the admin
// origin and, for POST, Content-Type: application/json; "<absent>" drops one.
type biCase struct {
	name         string
	method, path string
	hdr          map[string]string
	body         string
	status       int
	// code is the error code: lower-case from the function, an upper-case
	// gateway response type from API Gateway; "" for a success.
	code string
	// message, if set, is the exact error message.
	message string
	// check, if set, checks a successful answer further.
	check func(t *testing.T, r biReply)
}

// biAllowed reports whether the function's CORS rule allows origin: an
// exact, case-sensitive match of one of the stage's AllowedOrigins.
func biAllowed(origin string) bool { return origin == biAdminOrigin || origin == biVideoOrigin }

// biViolations lists the rules r breaks.
func (e *biEnv) violations(c biCase, hdr map[string]string, r biReply) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	if r.status != c.status {
		bad("status = %d, want %d (body %.300s)", r.status, c.status, r.body)
	}
	if r.status >= 500 {
		bad("bad input answered %d", r.status)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" && r.status != http.StatusNoContent {
		bad("Content-Type = %q, want application/json", got)
	}
	if !slices.Contains(r.header.Values("Vary"), "Origin") {
		bad("Vary = %q, want Origin", r.header.Values("Vary"))
	}
	if r.header.Get("Access-Control-Allow-Credentials") != "" {
		bad("Access-Control-Allow-Credentials is set")
	}

	// Who answered: API Gateway's gateway responses carry x-amzn-ErrorType
	// and an upper-case response type as the code.
	gateway := c.code != "" && c.code == strings.ToUpper(c.code)
	if got := r.header.Get("x-amzn-ErrorType") != ""; got != gateway {
		bad("x-amzn-ErrorType = %q; want it only on API Gateway's own answers", r.header.Get("x-amzn-ErrorType"))
	}
	origin, acao := hdr["Origin"], r.header.Get("Access-Control-Allow-Origin")
	switch {
	case gateway:
		// The template's DEFAULT_4XX/5XX echo the request's Origin (API
		// Gateway cannot make them conditional); they carry no job data.
		if origin == "<absent>" {
			origin = ""
		}
		if acao != origin {
			bad("gateway response: Access-Control-Allow-Origin = %q, want the request's Origin %q", acao, origin)
		}
	case biAllowed(origin) && acao != origin:
		bad("Access-Control-Allow-Origin = %q, want %q", acao, origin)
	case !biAllowed(origin) && acao != "":
		bad("Access-Control-Allow-Origin = %q for origin %q, want none", acao, origin)
	}

	all := string(r.body)
	for k, vs := range r.header {
		all += "\n" + k + ": " + strings.Join(vs, ", ")
	}
	for _, s := range e.secrets {
		if strings.Contains(all, s) {
			bad("answer to alice contains another user's %q", s)
		}
	}
	if c.method == http.MethodHead {
		if len(r.body) != 0 {
			bad("HEAD answered with a body")
		}
		return v
	}
	if c.code == "" {
		if r.status >= 400 {
			bad("error %d for a valid request: %s", r.status, r.body)
		}
		return v
	}
	var body struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil || body.Error.Code == nil || body.Error.Message == nil {
		bad(`body %.300q is not {"error":{"code","message"}} (%v)`, r.body, err)
		return v
	}
	if *body.Error.Code != c.code {
		bad("code = %q, want %q (message %q)", *body.Error.Code, c.code, *body.Error.Message)
	}
	msg := *body.Error.Message
	switch {
	case c.message != "" && msg != c.message:
		bad("message = %q, want %q", msg, c.message)
	case msg == "" || len(msg) > 256:
		bad("message of %d bytes: %.300q", len(msg), msg)
	}
	for _, frag := range biInternalDetail {
		if strings.Contains(msg, frag) {
			bad("message %q reveals internal detail (%q)", msg, frag)
		}
	}
	return v
}

func (e *biEnv) run(t *testing.T, cases []biCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hdr := map[string]string{"Authorization": e.alice, "Origin": biAdminOrigin}
			if c.method == http.MethodPost {
				hdr["Content-Type"] = "application/json"
			}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			r := biDo(t, e.s.APIURL, c.method, c.path, hdr, c.body)
			for _, v := range e.violations(c, hdr, r) {
				t.Errorf("%s %.120s: %s", c.method, c.path, v)
			}
			if c.check != nil && !t.Failed() {
				c.check(t, r)
			}
		})
	}
}

// biJobIDs returns the job ids of a listing or batch answer.
func biJobIDs(t *testing.T, r biReply) []string {
	t.Helper()
	var page struct{ Jobs []struct{ JobID string } }
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatalf("listing %s: %v", r.body, err)
	}
	var ids []string
	for _, j := range page.Jobs {
		ids = append(ids, j.JobID)
	}
	return ids
}

func TestBadInputThroughLocalServer(t *testing.T) {
	t.Parallel()
	e := biStart(t)
	own := e.aliceJobs[0]
	get := func(id string) string { return "/v1/jobs/" + id }

	var cases []biCase
	add := func(cs ...biCase) { cases = append(cases, cs...) }
	isOwnJob := func(t *testing.T, r biReply) {
		var j struct{ JobID string }
		if err := json.Unmarshal(r.body, &j); err != nil || j.JobID != own {
			t.Errorf("answer %s, want alice's job %s", r.body, own)
		}
	}
	onlyOwnJobs := func(t *testing.T, r biReply) {
		for _, id := range biJobIDs(t, r) {
			// Other cases submit jobs for alice meanwhile: ask the store.
			j, err := e.s.Service.Store.GetLatest(context.Background(), id)
			if err != nil || j.OwnerID != devauth.Subject("alice") {
				t.Errorf("listing has %s, owned by %q (%v), not alice's", id, j.OwnerID, err)
			}
		}
	}

	// Ids (GET /v1/jobs/{id}, path sent verbatim).
	for _, p := range []string{
		strings.Repeat("a", 2049), strings.Repeat("a", 129), "j%C3%B6b", "job_%F0%9F%98%80", "%E2%80%8Bjob", "%00", "job%00",
		"a%2Fb", "%2F", "%2E%2E%2F", "..%2F..%2Fetc%2Fpasswd", "..", "%2E%2E", "%20", "job%0A", "-job", "_job",
		"%27%20OR%201%3D1%20--", "job_x%27%3B%20DROP%20TABLE%20jobs%3B--", "%7B%22%24ne%22%3A1%7D", "%3Cscript%3E",
		"%24%7Bjndi%3Aldap%3A%2F%2Fx%7D", "job_x%23", "job_x%3Fa%3D1", "%25", "%ff", "job%5Cx",
	} {
		add(biCase{name: "id " + p[:min(len(p), 40)], method: "GET", path: get(p), status: 400, code: "invalid_request"})
	}
	for _, id := range append([]string{"job_00000000000000000000000000", biLegacyJob, "JOB_" + strings.ToUpper(own[4:]), own + "x"}, e.malloryJobs...) {
		add(biCase{name: "id not alice's " + id, method: "GET", path: get(id), status: 404, code: "not_found"},
			biCase{name: "cancel not alice's " + id, method: "POST", path: get(id) + "/cancel", status: 404, code: "not_found"})
	}
	for _, id := range e.malloryJobs {
		add(biCase{name: "if-none-match on mallory's " + id, method: "GET", path: get(id), hdr: map[string]string{"If-None-Match": "*"}, status: 404, code: "not_found"})
	}
	add(
		// An empty id is the collection: API Gateway ignores a trailing slash.
		biCase{name: "id empty", method: "GET", path: "/v1/jobs/", status: 200, check: onlyOwnJobs},
		biCase{name: "id empty, double slash", method: "GET", path: "/v1/jobs//", status: 200, check: onlyOwnJobs},
		biCase{name: "id with a slash", method: "GET", path: get("a/b"), status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
		biCase{name: "id ../", method: "GET", path: "/v1/jobs/../jobs/" + e.malloryJobs[0], status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
		biCase{name: "id ./", method: "GET", path: "/v1/jobs/./" + own, status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
		biCase{name: "own job", method: "GET", path: get(own), status: 200, check: isOwnJob},
		biCase{name: "own job, query string ignored", method: "GET", path: get(own) + "?id=" + e.malloryJobs[0], status: 200, check: isOwnJob},
	)

	// Authorization on every route: API Gateway's 401, function never run.
	for auth, msg := range e.tokens {
		name := auth
		if len(name) > 30 {
			name = name[:12] + "…" + name[len(name)-12:]
		}
		for _, rt := range []struct{ method, path, body string }{
			{"GET", get(own), ""}, {"GET", "/v1/jobs?limit=5", ""}, {"POST", "/v1/jobs", `{"prompt":"unauthorized submit"}`},
			{"POST", get(own) + "/cancel", ""},
		} {
			add(biCase{name: "auth " + name + " " + rt.method + " " + rt.path, method: rt.method, path: rt.path, body: rt.body,
				hdr: map[string]string{"Authorization": cmpOr(auth, "<absent>")}, status: 401, code: "UNAUTHORIZED", message: msg})
		}
	}
	for _, groups := range [][]string{{"Admin"}, {"ADMIN"}, {"admins"}, {"administrator"}, {"video"}} {
		tok, _, err := e.s.Pool.IDToken(devauth.User{Username: "alice", Groups: groups}, 0)
		if err != nil {
			t.Fatal(err)
		}
		add(biCase{name: fmt.Sprintf("groups %v on mallory's job", groups), method: "GET", path: get(e.malloryJobs[0]),
			hdr: map[string]string{"Authorization": tok}, status: 404, code: "not_found"},
			biCase{name: fmt.Sprintf("groups %v scope=all", groups), method: "GET", path: "/v1/jobs?scope=all",
				hdr: map[string]string{"Authorization": tok}, status: 400, code: "invalid_request"})
	}
	add(biCase{name: "auth lower-case bearer", method: "GET", path: get(own), hdr: map[string]string{"Authorization": "bearer " + strings.TrimPrefix(e.alice, "Bearer ")}, status: 200, check: isOwnJob},
		biCase{name: "auth raw token", method: "GET", path: get(own), hdr: map[string]string{"Authorization": strings.TrimPrefix(e.alice, "Bearer ")}, status: 200, check: isOwnJob})

	// Origin: the function allows exact matches only; API Gateway's own
	// answers echo it.
	for _, origin := range []string{
		"<absent>", biAdminOrigin, biVideoOrigin, "https://evil.example", "null", "", biAdminOrigin + ".evil.example",
		"https://evil" + strings.TrimPrefix(biAdminOrigin, "https://"), "https://x" + strings.TrimPrefix(biAdminOrigin, "https://"),
		biAdminOrigin + "/", biAdminOrigin + ":443", "https://ADMIN.DEEPFOUNDAI.COM", "HTTPS://admin.deepfoundai.com",
		"http://admin.deepfoundai.com", biAdminOrigin + "," + biVideoOrigin, biAdminOrigin + " " + biVideoOrigin, "*",
	} {
		hdr := map[string]string{"Origin": origin}
		add(biCase{name: "origin " + origin + " own job", method: "GET", path: get(own), hdr: hdr, status: 200, check: isOwnJob},
			biCase{name: "origin " + origin + " 404", method: "GET", path: get(e.malloryJobs[0]), hdr: hdr, status: 404, code: "not_found"},
			biCase{name: "origin " + origin + " 400", method: "GET", path: get("%00"), hdr: hdr, status: 400, code: "invalid_request"},
			biCase{name: "origin " + origin + " 401", method: "GET", path: get(own), hdr: map[string]string{"Origin": origin, "Authorization": "<absent>"}, status: 401, code: "UNAUTHORIZED"},
			biCase{name: "origin " + origin + " 403", method: "DELETE", path: get(own), hdr: hdr, status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
			biCase{name: "origin " + origin + " preflight", method: "OPTIONS", path: get(own),
				hdr: map[string]string{"Origin": origin, "Authorization": "<absent>", "Access-Control-Request-Method": "GET"}, status: 204})
	}

	// Methods API Gateway has no method for: its 403 (HEAD without a body).
	for _, m := range []string{"PUT", "DELETE", "PATCH", "HEAD", "get", "TRACE", "CONNECT-X"} {
		for _, p := range []string{get(own), "/v1/jobs", get(own) + "/cancel"} {
			add(biCase{name: "method " + m + " " + p, method: m, path: p, status: 403, code: "MISSING_AUTHENTICATION_TOKEN"})
		}
	}
	add(biCase{name: "method POST on a job", method: "POST", path: get(own), body: `{"prompt":"x"}`, status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
		biCase{name: "method GET on cancel", method: "GET", path: get(own) + "/cancel", status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
		biCase{name: "unknown route", method: "GET", path: "/v1/jobz", status: 403, code: "MISSING_AUTHENTICATION_TOKEN"},
		biCase{name: "stage prefix", method: "GET", path: "/prod/v1/jobs/" + own, status: 403, code: "MISSING_AUTHENTICATION_TOKEN"})

	// Submit bodies.
	sub := func(name, body string, status int, code string, hdr map[string]string) biCase {
		return biCase{name: "submit " + name, method: "POST", path: "/v1/jobs", body: body, hdr: hdr, status: status, code: code}
	}
	for _, b := range []struct{ name, body string }{
		{"invalid JSON", `{`}, {"invalid JSON 2", `{"prompt":}`}, {"trailing data", `{"prompt":"x"} {}`}, {"array", `[]`},
		{"null", `null`}, {"string", `"x"`}, {"number", `5`}, {"empty object", `{}`}, {"prompt number", `{"prompt":5}`},
		{"prompt null", `{"prompt":null}`}, {"prompt array", `{"prompt":["x"]}`}, {"prompt blank", `{"prompt":"   "}`},
		{"prompt NUL", `{"prompt":"a\u0000b"}`}, {"prompt too long", `{"prompt":"` + strings.Repeat("x", 2001) + `"}`},
		{"duration string", `{"prompt":"x","options":{"durationSeconds":"5"}}`}, {"duration float", `{"prompt":"x","options":{"durationSeconds":5.5}}`},
		{"duration 0", `{"prompt":"x","options":{"durationSeconds":0}}`}, {"duration 61", `{"prompt":"x","options":{"durationSeconds":61}}`},
		{"duration huge", `{"prompt":"x","options":{"durationSeconds":1e400}}`}, {"aspect", `{"prompt":"x","options":{"aspectRatio":"4:3"}}`},
		{"options array", `{"prompt":"x","options":[]}`}, {"options string", `{"prompt":"x","options":"720p"}`},
		{"unknown field", `{"prompt":"x","fps":30}`}, {"unknown option", `{"prompt":"x","options":{"fps":30}}`},
		{"case-folded field", `{"Prompt":"x"}`},
		{"status", `{"prompt":"x","status":"COMPLETED"}`}, {"jobId (mallory's)", `{"prompt":"x","jobId":"` + e.malloryJobs[0] + `"}`},
		{"ownerId", `{"prompt":"x","ownerId":"` + devauth.Subject("mallory") + `"}`}, {"outputUrl", `{"prompt":"x","outputUrl":"https://x"}`},
		{"progress", `{"prompt":"x","progress":100}`}, {"createdAt", `{"prompt":"x","createdAt":"2020-01-01T00:00:00Z"}`},
		{"empty", ``}, {"whitespace", "  \n"}, {"BOM", "\ufeff{\"prompt\":\"x\"}"}, {"duplicate field, last blank", `{"prompt":"x","prompt":" "}`},
	} {
		add(sub(b.name, b.body, 400, "invalid_request", nil))
	}
	ten := strings.Repeat("a", 10<<20)
	add(sub("17 KiB", `{"prompt":"`+strings.Repeat("x", 17<<10)+`"}`, 413, "payload_too_large", nil),
		sub("10 MB exactly", `{"prompt":"`+ten[:10<<20-14]+`"}`, 413, "payload_too_large", nil),
		sub("over 10 MB", ten+"a", 413, "REQUEST_TOO_LARGE", nil),
		sub("text/plain", `{"prompt":"x"}`, 415, "unsupported_media_type", map[string]string{"Content-Type": "text/plain"}),
		sub("form", `prompt=x`, 415, "unsupported_media_type", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}),
		sub("multipart", `--b--`, 415, "unsupported_media_type", map[string]string{"Content-Type": "multipart/form-data; boundary=b"}),
		sub("no content type", `{"prompt":"x"}`, 415, "unsupported_media_type", map[string]string{"Content-Type": "<absent>"}),
		sub("json latin1", `{"prompt":"x"}`, 415, "unsupported_media_type", map[string]string{"Content-Type": "application/json; charset=latin1"}),
		sub("json+suffix", `{"prompt":"x"}`, 415, "unsupported_media_type", map[string]string{"Content-Type": "application/vnd.api+json"}),
		sub("bad content type", `{"prompt":"x"}`, 415, "unsupported_media_type", map[string]string{"Content-Type": ";;;"}),
		sub("idempotency key too long", `{"prompt":"x"}`, 400, "invalid_request", map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}),
		sub("idempotency key tab", `{"prompt":"x"}`, 400, "invalid_request", map[string]string{"Idempotency-Key": "k\tk"}),
		sub("idempotency key space", `{"prompt":"x"}`, 400, "invalid_request", map[string]string{"Idempotency-Key": "k k"}),
		sub("idempotency key non-ASCII", `{"prompt":"x"}`, 400, "invalid_request", map[string]string{"Idempotency-Key": "ключ"}),
		// A repeated name, anywhere, and anything after the object are
		// refused: no two readers of the body may see different documents.
		sub("duplicate field", `{"prompt":"x","prompt":"y"}`, 400, "invalid_request", nil),
		sub("duplicate options", `{"prompt":"x","options":{},"options":{"fps":1}}`, 400, "invalid_request", nil),
		sub("trailing bracket", `{"prompt":"x"}]`, 400, "invalid_request", nil),
		sub("bidi override in prompt", `{"prompt":"a cat \u202eteg"}`, 400, "invalid_request", nil),
		sub("only invisible prompt", `{"prompt":"\u200b\u3164\u2800"}`, 400, "invalid_request", nil),
		// Accepted, and documented here: an empty key is no key; a body that
		// is not UTF-8 reaches the function base64-encoded and JSON reads bad
		// bytes as U+FFFD (in AWS API Gateway replaces them itself).
		sub("idempotency key empty", `{"prompt":"x"}`, 202, "", map[string]string{"Idempotency-Key": ""}),
		sub("invalid UTF-8", "{\"prompt\":\"\xff\xfe\"}", 202, "", nil),
		// Keys are per user: mallory's key makes a new job for alice (were
		// keys shared, her other body would be a 422). Jobs echo their
		// prompt, so hers is her own.
		biCase{name: "submit with mallory's idempotency key", method: "POST", path: "/v1/jobs", body: `{"prompt":"alice's own prompt"}`,
			hdr: map[string]string{"Idempotency-Key": biMalloryKey}, status: 202, check: func(t *testing.T, r biReply) {
				if r.header.Get("Idempotent-Replayed") != "" {
					t.Errorf("alice's submit replayed mallory's: %v", r.header)
				}
			}},
	)

	// List and batch parameters.
	list := func(name, query string, status int, code string) biCase {
		c := biCase{name: "list " + name, method: "GET", path: "/v1/jobs?" + query, status: status, code: code}
		if status == 200 {
			c.check = onlyOwnJobs
		}
		return c
	}
	var tooMany []string
	for i := range 51 {
		tooMany = append(tooMany, fmt.Sprintf("job_%026d", i))
	}
	altered := []byte(e.aliceCursor)
	altered[3] ^= 1
	for _, q := range []string{
		"limit=0", "limit=-1", "limit=101", "limit=abc", "limit=1.5", "limit=", "limit=1e2", "limit=5&limit=6",
		"limit=99999999999999999999", "limit=0x10", "limit=%205", "cursor=", "cursor=abc", "cursor=" + url.QueryEscape(e.malloryCursor),
		"cursor=" + url.QueryEscape(e.aliceCursor), // issued for status=QUEUED: another query
		"status=QUEUED&cursor=" + url.QueryEscape(string(altered)), "status=QUEUED&cursor=" + url.QueryEscape(e.aliceCursor+"\n"),
		"status=QUEUED&order=oldest&cursor=" + url.QueryEscape(e.aliceCursor), "status=QUEUED&cursor=" + url.QueryEscape(e.aliceCursor) + "&cursor=x",
		"status=DONE", "status=", "status=QUEUED,", "scope=all", "scope=ALL", "scope=", "scope=theirs", "order=sideways",
		"foo=1", "Limit=5", "owner=" + devauth.Subject("mallory"), "ownerId=x", "ids=", "ids=" + strings.Join(tooMany, ","),
		"ids=job_x,%00", "ids=..%2F", "ids=" + own + "&status=QUEUED", "ids=" + own + "&limit=5", "ids=a&ids=b", "%00=1",
	} {
		add(list(q[:min(len(q), 60)], q, 400, "invalid_request"))
	}
	add(list("own cursor, same query", "status=QUEUED&cursor="+url.QueryEscape(e.aliceCursor), 200, ""),
		list("status lower-case", "status=queued", 200, ""),
		list("limit 100", "limit=100", 200, ""),
		list("limit +5 (strconv reads a sign)", "limit=%2B5", 200, ""),
		list("ids of mallory's jobs", "ids="+strings.Join(e.malloryJobs, ",")+","+biLegacyJob, 200, ""),
		list("ids mixed", "ids="+e.malloryJobs[0]+","+own, 200, ""))

	t.Run("cases", func(t *testing.T) { e.run(t, cases) })
	t.Logf("%d cases", len(cases))

	// Nothing bad input did changed anyone's jobs: mallory's and the legacy
	// job are as submitted; alice has only her seeds and the one valid
	// submits above.
	ctx := context.Background()
	for _, id := range append([]string{biLegacyJob}, e.malloryJobs...) {
		j, err := e.s.Service.Store.GetLatest(ctx, id)
		if err != nil || j.Status != jobs.Queued || j.Version != 1 {
			t.Errorf("%s after the suite: %+v, %v; want QUEUED, version 1", id, j, err)
		}
	}
	page, err := e.s.Service.List(ctx, jobs.Caller{Subject: devauth.Subject("alice")}, jobs.ListRequest{Limit: jobs.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, c := range cases {
		if c.method == "POST" && c.path == "/v1/jobs" && c.status == 202 {
			accepted++
		}
	}
	if got, want := len(page.Jobs), len(e.aliceJobs)+accepted; got != want {
		t.Errorf("alice has %d jobs after the suite, want %d (a rejected submit wrote one)", got, want)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
