package localapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"
)

// Limits of API Gateway REST APIs this emulation enforces.
const (
	// MaxRequestBody is API Gateway's payload limit.
	MaxRequestBody = 10 << 20
	// IntegrationTimeout is API Gateway's default integration timeout.
	IntegrationTimeout = 29 * time.Second
)

// Gateway serves a REST API from its template. Safe for concurrent use.
type Gateway struct {
	a     *api
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	newID func() string
}

// New builds a Gateway from cfg, failing on anything in the templates the
// emulation does not support or cannot wire (an unregistered function, a
// resource id with no known path, an unsupported mapping expression).
func New(cfg Config) (*Gateway, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a, err := build(cfg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{a: a, cfg: cfg, log: cfg.Log, now: cfg.Now, newID: cfg.NewRequestID}
	if g.now == nil {
		g.now = time.Now
	}
	if g.newID == nil {
		g.newID = uuid.NewString
	}
	for _, m := range a.methods {
		if m.proxy != nil && !m.permittedFor(a.methodARN("*", m.verb, m.resource.path)) && !m.permittedFor(a.methodARN(a.stage, m.verb, samplePath(m.resource.path))) {
			g.log.Warn("no Lambda permission lets this method invoke its function; API Gateway answers 500 until the template grants one",
				"method", m.verb+" "+m.resource.path, "function", m.proxy.function)
		}
	}
	return g, nil
}

// Routes lists the served methods, e.g.
// "GET /v1/jobs/{id} -> GetJobFn (COGNITO_USER_POOLS)".
func (g *Gateway) Routes() []string { return g.a.routes() }

// Stage returns the stage name the API is served as.
func (g *Gateway) Stage() string { return g.a.stage }

// methodARN is the execute-api ARN of a request, as Lambda permissions'
// SourceArn matches it.
func (a *api) methodARN(stage, verb, p string) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s/%s", a.region, a.account, a.id, stage, verb, strings.TrimPrefix(p, "/"))
}

// samplePath fills a resource path's parameters with a sample value.
func samplePath(p string) string {
	parts := splitPath(p)
	for i, s := range parts {
		if strings.HasPrefix(s, "{") {
			parts[i] = "x"
		}
	}
	return "/" + strings.Join(parts, "/")
}

// request is what the gateway knows about a request in flight.
type request struct {
	r          *http.Request
	id         string
	apiID      string // x-amz-apigw-id
	start      time.Time
	sourceIP   string
	m          *method
	pathParams map[string]string
	body       []byte
	claims     map[string]any
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{r: r, id: g.newID(), start: g.now(), sourceIP: remoteIP(r)}
	req.apiID = base64.RawStdEncoding.EncodeToString([]byte(req.id[:8]))
	status, note := g.serve(w, req)
	// The access line's arguments cost allocations; build them only when
	// the line is written (the benchmark and most dev runs log at warn).
	if !g.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	resource := ""
	if req.m != nil {
		resource = req.m.resource.path
	}
	g.log.Info("request", "requestId", req.id, "method", r.Method, "path", r.URL.EscapedPath(), "resource", resource,
		"status", status, "ms", g.now().Sub(req.start).Milliseconds(), "note", note)
}

// serve answers the request and returns its status and a note for the log.
func (g *Gateway) serve(w http.ResponseWriter, req *request) (int, string) {
	r := req.r
	res, params := g.a.match(r.URL.EscapedPath())
	if res != nil {
		req.m = res.methods[r.Method]
	}
	if req.m == nil {
		return g.gatewayResponse(w, req, "MISSING_AUTHENTICATION_TOKEN", 0, "Missing Authentication Token"), "no such route"
	}
	req.pathParams = params
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBody+1))
	if err != nil {
		return g.gatewayResponse(w, req, "BAD_REQUEST_BODY", 0, "Invalid request body"), err.Error()
	}
	if len(body) > MaxRequestBody {
		return g.gatewayResponse(w, req, "REQUEST_TOO_LARGE", 0, "Request Too Long"), "body over 10 MB"
	}
	req.body = body
	if a := req.m.auth; a != nil {
		claims, err := g.cfg.Verifier.Verify(r.Header.Get(a.header), a.rules)
		if err != nil {
			msg := "Unauthorized"
			var gm interface{ GatewayMessage() string }
			if errors.As(err, &gm) {
				msg = gm.GatewayMessage()
			}
			return g.gatewayResponse(w, req, "UNAUTHORIZED", 0, msg), err.Error()
		}
		req.claims = renderClaims(claims)
	}
	if req.m.mock != nil {
		return g.serveMock(w, req)
	}
	return g.serveProxy(w, req)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// context is $context for mapping templates.
func (g *Gateway) context(req *request) map[string]any {
	resourcePath, resourceID, verb := "", "", req.r.Method
	if req.m != nil {
		resourcePath, resourceID = req.m.resource.path, req.m.resource.id
	}
	return map[string]any{
		"requestId": req.id, "extendedRequestId": req.apiID, "apiId": g.a.id, "accountId": g.a.account,
		"stage": g.a.stage, "httpMethod": verb, "resourcePath": resourcePath, "resourceId": resourceID,
		"path": "/" + g.a.stage + req.r.URL.EscapedPath(), "protocol": req.r.Proto, "domainName": req.r.Host,
		"requestTime":      req.start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		"requestTimeEpoch": strconv.FormatInt(req.start.UnixMilli(), 10),
	}
}

// sampleContext is a $context for dry runs of templates at start.
func sampleContext() map[string]any {
	return map[string]any{
		"requestId": "sample", "extendedRequestId": "sample", "apiId": "sample", "accountId": "123456789012",
		"stage": "local", "httpMethod": "GET", "resourcePath": "/", "resourceId": "sample", "path": "/",
		"protocol": "HTTP/1.1", "domainName": "localhost", "requestTime": "", "requestTimeEpoch": "0",
		"error": map[string]any{"message": "m", "messageString": `"m"`, "responseType": "DEFAULT_4XX"},
	}
}

// gatewayResponse answers with a gateway response of the given type (status
// 0: the type's default), as customised by the template's
// AWS::ApiGateway::GatewayResponse resources, falling back to DEFAULT_4XX or
// DEFAULT_5XX, then to API Gateway's own default ({"message": ...}).
func (g *Gateway) gatewayResponse(w http.ResponseWriter, req *request, typ string, status int, message string) int {
	rt := responseTypes[typ]
	status = cmp.Or(status, rt.status)
	errorType := cmp.Or(rt.errorType, "InternalServerErrorException")
	gr := g.a.gatewayResponses[typ]
	if gr == nil {
		fallback := "DEFAULT_4XX"
		if status >= 500 {
			fallback = "DEFAULT_5XX"
		}
		gr = g.a.gatewayResponses[fallback]
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", req.id)
	h.Set("x-amz-apigw-id", req.apiID)
	h.Set("x-amzn-ErrorType", errorType)
	tmpl := defaultGatewayTemplate
	if gr != nil {
		if gr.status != 0 {
			status = gr.status
		}
		for name, expr := range gr.params {
			if v := g.requestParam(req, expr); v != "" {
				h.Set(name, v)
			}
		}
		if t := pickTemplate(gr.templates, "application/json"); t != nil {
			tmpl = t
		}
	}
	quotedMsg, _ := json.Marshal(message)
	ctx := g.context(req)
	ctx["error"] = map[string]any{"message": message, "messageString": string(quotedMsg), "responseType": typ}
	body, err := tmpl.render(&vtlEnv{context: ctx, input: g.input(req)})
	if err != nil {
		g.log.Error("gateway response template failed", "requestId", req.id, "type", typ, "err", err)
		body = `{"message": "Internal server error"}`
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
	return status
}

var defaultGatewayTemplate = func() *vtlTemplate {
	t, err := parseVTL(`{"message":$context.error.messageString}`)
	if err != nil {
		panic(err)
	}
	return t
}()

// requestParam evaluates a gateway response parameter mapping expression.
func (g *Gateway) requestParam(req *request, expr string) string {
	if lit, ok := quoted(expr); ok {
		return lit
	}
	switch {
	case strings.HasPrefix(expr, "method.request.header."):
		return req.r.Header.Get(strings.TrimPrefix(expr, "method.request.header."))
	case strings.HasPrefix(expr, "method.request.querystring."):
		return req.r.URL.Query().Get(strings.TrimPrefix(expr, "method.request.querystring."))
	case strings.HasPrefix(expr, "method.request.path."):
		return req.pathParams[strings.TrimPrefix(expr, "method.request.path.")]
	}
	return ""
}

func (g *Gateway) input(req *request) vtlInput {
	in := vtlInput{path: req.pathParams, query: map[string]string{}, header: map[string]string{}}
	for k, vs := range req.r.URL.Query() {
		in.query[k] = vs[len(vs)-1]
	}
	// Header names as on the wire: HTTP/2 sends them in lower case (Go's
	// server canonicalizes them; the mapping templates must not rely on it).
	h2 := req.r.ProtoMajor >= 2
	for k, vs := range req.r.Header {
		if h2 {
			k = strings.ToLower(k)
		}
		in.header[k] = vs[len(vs)-1]
	}
	return in
}

// pickTemplate returns the template for a media type, else application/json,
// else the only one.
func pickTemplate(ts map[string]*vtlTemplate, mediaType string) *vtlTemplate {
	if t, ok := ts[mediaType]; ok {
		return t
	}
	if t, ok := ts["application/json"]; ok {
		return t
	}
	if len(ts) == 1 {
		for _, t := range ts {
			return t
		}
	}
	return nil
}

// serveMock runs a MOCK integration: its integration response's static
// header mappings and response template (with $context.responseOverride)
// make the answer.
func (g *Gateway) serveMock(w http.ResponseWriter, req *request) (int, string) {
	mi := req.m.mock
	mt, _, _ := mime.ParseMediaType(req.r.Header.Get("Content-Type"))
	mt = cmp.Or(mt, "application/json")
	// The request template's status would select an integration response;
	// with only the default one, it only has to render.
	if t := pickTemplate(mi.requestTemplates, mt); t != nil {
		if _, err := t.render(&vtlEnv{context: g.context(req), input: g.input(req)}); err != nil {
			g.log.Error("MOCK request template failed", "requestId", req.id, "err", err)
			return g.gatewayResponse(w, req, "API_CONFIGURATION_ERROR", 0, "Internal server error"), err.Error()
		}
	}
	body := ""
	env := &vtlEnv{context: g.context(req), input: g.input(req)}
	if t := pickTemplate(mi.templates, "application/json"); t != nil {
		out, err := t.render(env)
		if err != nil {
			g.log.Error("MOCK response template failed", "requestId", req.id, "err", err)
			return g.gatewayResponse(w, req, "API_CONFIGURATION_ERROR", 0, "Internal server error"), err.Error()
		}
		body = out
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", req.id)
	h.Set("x-amz-apigw-id", req.apiID)
	for k, v := range mi.headers {
		h.Set(k, v)
	}
	for k, v := range env.overrideHeaders {
		h.Set(k, v)
	}
	w.WriteHeader(mi.status)
	_, _ = io.WriteString(w, body)
	return mi.status, "MOCK"
}

// serveProxy invokes the method's function with a proxy event and relays
// its response.
func (g *Gateway) serveProxy(w http.ResponseWriter, req *request) (int, string) {
	pi := req.m.proxy
	// The ARN names the path as routed: "/v1/jobs/" is the /v1/jobs
	// resource, so its permission applies (not a 500 for a trailing slash).
	if !req.m.permittedFor(g.a.methodARN(g.a.stage, req.r.Method, "/"+strings.Join(splitPath(req.r.URL.EscapedPath()), "/"))) {
		g.log.Error("Execution failed due to configuration error: Invalid permissions on Lambda function", "requestId", req.id, "function", pi.function)
		return g.gatewayResponse(w, req, "API_CONFIGURATION_ERROR", 0, "Internal server error"), "no Lambda permission"
	}
	// Through JSON, as the Lambda runtime decodes its payload, so the
	// function sees exactly the types it would in AWS.
	in, err := viaJSON(g.event(req))
	if err != nil {
		return g.gatewayResponse(w, req, "API_CONFIGURATION_ERROR", 0, "Internal server error"), err.Error()
	}
	wait := min(pi.timeout, IntegrationTimeout)
	ctx, cancel := context.WithTimeout(lambdacontext.NewContext(context.WithoutCancel(req.r.Context()), &lambdacontext.LambdaContext{
		AwsRequestID: uuid.NewString(), InvokedFunctionArn: pi.arn,
	}), pi.timeout)
	type result struct {
		resp events.APIGatewayProxyResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		resp, err := pi.fn(ctx, in)
		done <- result{resp, err}
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-timer.C:
		if pi.timeout < IntegrationTimeout {
			return g.gatewayResponse(w, req, "DEFAULT_5XX", http.StatusBadGateway, "Internal server error"), fmt.Sprintf("%s timed out after %s", pi.function, pi.timeout)
		}
		return g.gatewayResponse(w, req, "INTEGRATION_TIMEOUT", 0, "Endpoint request timed out"), "integration timeout"
	}
	if res.err != nil {
		g.log.Error("Lambda function failed", "requestId", req.id, "function", pi.function, "err", res.err)
		return g.gatewayResponse(w, req, "DEFAULT_5XX", http.StatusBadGateway, "Internal server error"), res.err.Error()
	}
	resp, err := viaJSON(res.resp)
	var body []byte
	if err == nil && resp.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(resp.Body)
	} else {
		body = []byte(resp.Body)
	}
	if err == nil && (resp.StatusCode < 100 || resp.StatusCode > 599) {
		err = fmt.Errorf("statusCode %d", resp.StatusCode)
	}
	if err != nil {
		g.log.Error("Execution failed due to configuration error: Malformed Lambda proxy response", "requestId", req.id, "function", pi.function, "err", err)
		return g.gatewayResponse(w, req, "DEFAULT_5XX", http.StatusBadGateway, "Internal server error"), "malformed Lambda proxy response"
	}
	h := w.Header()
	// headers and multiValueHeaders are merged; for a name in both, the
	// multi-value list wins.
	for k, v := range resp.Headers {
		if _, ok := resp.MultiValueHeaders[k]; !ok {
			h.Set(k, v)
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("x-amzn-RequestId", req.id)
	h.Set("x-amz-apigw-id", req.apiID)
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, pi.function
}

// event builds the Lambda proxy event API Gateway REST APIs send: headers
// and query strings single- (last value) and multi-valued, null when absent;
// path and path parameters as received (still percent-encoded), query
// values decoded; requestContext with the authorizer's claims.
func (g *Gateway) event(req *request) events.APIGatewayProxyRequest {
	r := req.r
	hdr := r.Header.Clone()
	port := "80"
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	if prior := hdr.Get("X-Forwarded-For"); prior != "" {
		hdr.Set("X-Forwarded-For", prior+", "+req.sourceIP)
	} else {
		hdr.Set("X-Forwarded-For", req.sourceIP)
	}
	hdr.Set("X-Forwarded-Port", port)
	hdr.Set("X-Forwarded-Proto", "http")
	hdr.Set("X-Amzn-Trace-Id", "Root=1-"+strconv.FormatInt(req.start.Unix(), 16)+"-"+strings.ReplaceAll(req.id, "-", "")[:24])
	ev := events.APIGatewayProxyRequest{
		Resource:          req.m.resource.path,
		Path:              r.URL.EscapedPath(),
		HTTPMethod:        r.Method,
		Headers:           make(map[string]string, len(hdr)),
		MultiValueHeaders: make(map[string][]string, len(hdr)),
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         g.a.account,
			ResourceID:        req.m.resource.id,
			OperationName:     req.m.operation,
			Stage:             g.a.stage,
			DomainName:        r.Host,
			DomainPrefix:      g.a.id,
			RequestID:         req.id,
			ExtendedRequestID: req.apiID,
			Protocol:          r.Proto,
			Identity:          events.APIGatewayRequestIdentity{SourceIP: req.sourceIP, UserAgent: r.UserAgent()},
			ResourcePath:      req.m.resource.path,
			Path:              "/" + g.a.stage + r.URL.EscapedPath(),
			HTTPMethod:        r.Method,
			RequestTime:       req.start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch:  req.start.UnixMilli(),
			APIID:             g.a.id,
		},
	}
	for k, vs := range hdr {
		ev.Headers[k] = vs[len(vs)-1]
		ev.MultiValueHeaders[k] = vs // hdr is the event's own copy
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	if len(req.pathParams) > 0 {
		ev.PathParameters = req.pathParams
	}
	if req.claims != nil {
		ev.RequestContext.Authorizer = map[string]any{"claims": req.claims}
	}
	if len(req.body) > 0 {
		if g.binary(r.Header.Get("Content-Type")) || !utf8.Valid(req.body) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(req.body), true
		} else {
			ev.Body = string(req.body)
		}
	}
	return ev
}

// binary reports whether a Content-Type is one of the API's binary media
// types ("*/*" and "type/*" wildcards included). API Gateway passes other
// bodies as text; one that is not valid UTF-8 would be mangled there, so
// the emulation base64-encodes it instead.
func (g *Gateway) binary(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	for _, t := range g.a.binaryTypes {
		if t == "*/*" || t == mt || strings.HasSuffix(t, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(t, "*")) {
			return true
		}
	}
	return false
}

// renderClaims writes claims as a REST API Cognito authorizer passes them:
// every value a string; exp and iat as Java's Date.toString
// ("Sun Apr 19 08:06:14 UTC 2020"), other numbers as integers, booleans as
// "true"/"false", arrays bracketed and space-separated ("[admin video]"),
// the form public captures of REST API events show.
func renderClaims(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool:
			out[k] = strconv.FormatBool(v)
		case float64:
			if k == "exp" || k == "iat" {
				out[k] = time.Unix(int64(v), 0).UTC().Format("Mon Jan 02 15:04:05 UTC 2006")
			} else {
				out[k] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		case json.Number:
			out[k] = v.String()
		case []any:
			items := make([]string, len(v))
			for i, it := range v {
				items[i] = fmt.Sprint(it)
			}
			out[k] = "[" + strings.Join(items, " ") + "]"
		default:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out
}

// viaJSON returns what a function (or API Gateway) sees of v: the Lambda
// runtime hands a function its event, and API Gateway its response, as
// JSON, so v is encoded and decoded (invalid UTF-8 replaced, fields JSON
// leaves out dropped).
func viaJSON[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}
