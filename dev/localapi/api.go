// Package localapi emulates an API Gateway REST API on a laptop, driven by
// the SAM/CloudFormation template that deploys it: resources, methods,
// COGNITO_USER_POOLS authorizers, AWS_PROXY integrations (to in-process Go
// handlers), MOCK integrations with their mapping templates, Lambda invoke
// permissions and gateway responses all come from the template, evaluated
// with the stack's parameters. Requests become
// events.APIGatewayProxyRequest as API Gateway builds them; what it answers
// itself (403 Missing Authentication Token, 401 from the authorizer, 5xx)
// goes through the template's gateway responses.
//
// What the template uses and the emulation does not implement is an error
// at start, not a silent difference.
package localapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/devauth"
)

// Function is an in-process Lambda handler behind an AWS_PROXY integration.
type Function func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Verifier checks the token a COGNITO_USER_POOLS authorizer receives. A
// refused token is an error; if it has a GatewayMessage() string method,
// that is the message of the 401 (e.g. "The incoming token has expired").
type Verifier interface {
	Verify(authorizationHeader string, rules devauth.Rules) (map[string]any, error)
}

// Params is the local deployment: what `sam deploy --parameter-overrides`
// and the existing REST API would provide in AWS. It is read from a JSON
// file (dev/params.json).
type Params struct {
	// Parameters are the template's parameter values.
	Parameters map[string]string `json:"Parameters"`
	// ExistingResources maps ids of resources the REST API already has
	// (outside the stack, like JobsResourceId) to their paths.
	ExistingResources map[string]string `json:"ExistingResources"`
	// ExistingAuthorizers maps ids of authorizers the REST API already has
	// (like CognitoAuthorizerId) to their user pool ARNs.
	ExistingAuthorizers map[string][]string `json:"ExistingAuthorizers"`
	// BinaryMediaTypes are the REST API's binary media types: request bodies
	// of these types reach functions base64-encoded.
	BinaryMediaTypes []string `json:"BinaryMediaTypes"`
	Region           string   `json:"Region"`
	AccountID        string   `json:"AccountId"`
}

// LoadParams reads a Params file. Unknown fields are errors.
func LoadParams(file string) (Params, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Params{}, err
	}
	var p Params
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Params{}, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// ResolveOptions returns the resolver options of these params.
func (p Params) ResolveOptions() samtemplate.ResolveOptions {
	return samtemplate.ResolveOptions{Parameters: p.Parameters, Region: p.Region, AccountID: p.AccountID}
}

// Config configures a Gateway.
type Config struct {
	// Template is the stack's template (template.yaml).
	Template *samtemplate.Template
	// Existing, optional, stands in for methods the REST API has outside
	// the stack (resources of type AWS::ApiGateway::Method, same format,
	// same parameters). Where the stack defines the same method, the stack
	// wins.
	Existing *samtemplate.Template
	Params   Params
	// Functions maps function logical IDs to their handlers. Every function
	// an AWS_PROXY integration names must be here.
	Functions map[string]Function
	// Verifier checks tokens for COGNITO_USER_POOLS authorizers.
	Verifier Verifier
	Log      *slog.Logger
	// Now and NewRequestID are injectable for tests.
	Now          func() time.Time
	NewRequestID func() string
}

type api struct {
	id, stage, region, account string
	root                       *node
	methods                    []*method
	gatewayResponses           map[string]*gatewayResponse
	permissions                []permission
	binaryTypes                []string
}

type node struct {
	literal   map[string]*node
	param     *node
	paramName string
	res       *resource
}

type resource struct {
	id      string
	path    string
	methods map[string]*method // by HTTP method
}

type method struct {
	logicalID    string
	existing     bool
	verb         string
	resource     *resource
	operation    string
	auth         *authorizer
	scopes       []string
	proxy        *proxyIntegration
	mock         *mockIntegration
	permittedFor func(methodARN string) bool
}

type authorizer struct {
	id     string
	header string // from IdentitySource method.request.header.<name>
	rules  devauth.Rules
}

type proxyIntegration struct {
	function string
	arn      string
	fn       Function
	timeout  time.Duration
}

// mockIntegration has one integration response, the default: it answers
// whatever status the request template selects.
type mockIntegration struct {
	requestTemplates map[string]*vtlTemplate
	status           int
	headers          map[string]string
	templates        map[string]*vtlTemplate
}

type gatewayResponse struct {
	status    int
	params    map[string]string // header name -> mapping expression
	templates map[string]*vtlTemplate
}

type permission struct {
	function  string
	sourceARN string
}

// build reads cfg's templates into an api.
func build(cfg Config) (*api, error) {
	merged, existing, err := merge(cfg.Template, cfg.Existing)
	if err != nil {
		return nil, err
	}
	r, err := samtemplate.NewResolver(merged, cfg.Params.ResolveOptions())
	if err != nil {
		return nil, err
	}
	opt := cfg.Params.ResolveOptions()
	a := &api{
		region: cmp.Or(opt.Region, "us-east-1"), account: cmp.Or(opt.AccountID, "123456789012"),
		root: &node{}, gatewayResponses: map[string]*gatewayResponse{}, binaryTypes: cfg.Params.BinaryMediaTypes,
	}
	if a.id, _ = r.Parameter("RestApiId"); a.id == "" {
		return nil, fmt.Errorf("localapi: the template needs a RestApiId parameter: the id of the REST API it extends")
	}
	stage, _ := r.Parameter("Stage")
	a.stage = cmp.Or(stage, "local")
	b := &builder{cfg: cfg, tpl: merged, r: r, a: a, existing: existing, paths: map[string]string{}, byPath: map[string]*resource{}}
	for _, step := range []func() error{b.resources, b.permissions, b.methods, b.gatewayResponses} {
		if err := step(); err != nil {
			return nil, fmt.Errorf("localapi: %w", err)
		}
	}
	return a, nil
}

// merge adds the stand-ins' resources to a copy of the stack's template.
func merge(stack, standIns *samtemplate.Template) (*samtemplate.Template, map[string]bool, error) {
	if stack == nil {
		return nil, nil, fmt.Errorf("localapi: no template")
	}
	merged := *stack
	merged.Resources = map[string]samtemplate.Resource{}
	for id, res := range stack.Resources {
		merged.Resources[id] = res
	}
	existing := map[string]bool{}
	if standIns == nil {
		return &merged, existing, nil
	}
	if len(standIns.Parameters) > 0 || len(standIns.Conditions) > 0 {
		return nil, nil, fmt.Errorf("localapi: the existing-API file uses the stack's parameters and conditions; it declares none of its own")
	}
	for id, res := range standIns.Resources {
		if _, dup := merged.Resources[id]; dup {
			return nil, nil, fmt.Errorf("localapi: existing-API resource %s has the name of a stack resource", id)
		}
		if res.Type != "AWS::ApiGateway::Method" {
			return nil, nil, fmt.Errorf("localapi: existing-API resource %s: only AWS::ApiGateway::Method stand-ins are supported, got %s", id, res.Type)
		}
		merged.Resources[id] = res
		existing[id] = true
	}
	return &merged, existing, nil
}

type builder struct {
	cfg      Config
	tpl      *samtemplate.Template
	r        *samtemplate.Resolver
	a        *api
	existing map[string]bool
	paths    map[string]string // resource id -> path
	byPath   map[string]*resource
}

// included returns the logical IDs of created resources of a type, sorted.
func (b *builder) included(typ string) ([]string, error) {
	var ids []string
	for id, res := range b.tpl.Resources {
		if res.Type != typ {
			continue
		}
		ok, err := b.r.Included(id)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// props resolves a resource's properties and checks it targets our API.
func (b *builder) props(id string) (map[string]any, error) {
	v, err := b.r.Value(b.tpl.Resources[id].Properties)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	p, _ := v.(map[string]any)
	if p == nil {
		p = map[string]any{}
	}
	if api, ok := p["RestApiId"]; ok && api != b.a.id {
		return nil, fmt.Errorf("%s: RestApiId %v is not the API being emulated (%s)", id, api, b.a.id)
	}
	return p, nil
}

func str(p map[string]any, key string) string {
	s, _ := p[key].(string)
	return s
}

// pathPart is a literal or a {param}; greedy {proxy+} parts are not
// emulated.
var pathPart = regexp.MustCompile(`^(\{[A-Za-z0-9_.-]+\}|[A-Za-z0-9._~:@!$&'()*,;=-]+)$`)

func (b *builder) resources() error {
	for id, p := range b.cfg.Params.ExistingResources {
		if !strings.HasPrefix(p, "/") || p != "/" && strings.HasSuffix(p, "/") {
			return fmt.Errorf("existing resource %s: path %q must start with / and not end with one", id, p)
		}
		b.paths[id] = p
	}
	ids, err := b.included("AWS::ApiGateway::Resource")
	if err != nil {
		return err
	}
	parents := map[string][2]string{} // id -> parent id, path part
	for _, id := range ids {
		p, err := b.props(id)
		if err != nil {
			return err
		}
		part := str(p, "PathPart")
		if !pathPart.MatchString(part) {
			return fmt.Errorf("%s: PathPart %q is not a valid path part", id, part)
		}
		parents[id] = [2]string{str(p, "ParentId"), part}
	}
	var resolve func(id string, depth int) (string, error)
	resolve = func(id string, depth int) (string, error) {
		if p, ok := b.paths[id]; ok {
			return p, nil
		}
		pp, ok := parents[id]
		if !ok {
			return "", fmt.Errorf("resource id %q is neither an AWS::ApiGateway::Resource of the template nor in ExistingResources of the params file", id)
		}
		if depth > 32 {
			return "", fmt.Errorf("resource %s: ParentId chain loops", id)
		}
		parent, err := resolve(pp[0], depth+1)
		if err != nil {
			return "", fmt.Errorf("%s: %w", id, err)
		}
		p := strings.TrimSuffix(parent, "/") + "/" + pp[1]
		b.paths[id] = p
		return p, nil
	}
	for _, id := range ids {
		if _, err := resolve(id, 0); err != nil {
			return err
		}
	}
	for id, p := range b.paths {
		if prev, dup := b.byPath[p]; dup {
			return fmt.Errorf("resources %s and %s both have path %s", prev.id, id, p)
		}
		res := &resource{id: id, path: p, methods: map[string]*method{}}
		b.byPath[p] = res
		if err := b.a.insert(res); err != nil {
			return err
		}
	}
	return nil
}

// insert adds a resource to the routing tree.
func (a *api) insert(res *resource) error {
	n := a.root
	for _, part := range splitPath(res.path) {
		switch {
		case strings.HasPrefix(part, "{"):
			name := part[1 : len(part)-1]
			if n.param == nil {
				n.param, n.paramName = &node{}, name
			} else if n.paramName != name {
				return fmt.Errorf("%s: {%s} conflicts with {%s} at the same level", res.path, name, n.paramName)
			}
			n = n.param
		default:
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			if n.literal[part] == nil {
				n.literal[part] = &node{}
			}
			n = n.literal[part]
		}
	}
	n.res = res
	return nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match finds the resource for a raw (still percent-encoded) path: literal
// parts first, then {param}, as API Gateway prefers.
func (a *api) match(rawPath string) (*resource, map[string]string) {
	parts := splitPath(rawPath)
	for _, p := range parts {
		if p == "" {
			return nil, nil // "//" matches no resource
		}
	}
	params := map[string]string{}
	var walk func(n *node, i int) *resource
	walk = func(n *node, i int) *resource {
		if i == len(parts) {
			return n.res
		}
		if c := n.literal[parts[i]]; c != nil {
			if r := walk(c, i+1); r != nil {
				return r
			}
		}
		if n.param != nil {
			if r := walk(n.param, i+1); r != nil {
				params[n.paramName] = parts[i]
				return r
			}
		}
		return nil
	}
	res := walk(a.root, 0)
	if res == nil {
		return nil, nil
	}
	return res, params
}

// validVerbs are the methods the emulation serves; ANY is not emulated.
var validVerbs = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

func (b *builder) methods() error {
	ids, err := b.included("AWS::ApiGateway::Method")
	if err != nil {
		return err
	}
	// Stack methods first, so that a stand-in for the same method yields.
	sort.SliceStable(ids, func(i, j int) bool { return !b.existing[ids[i]] && b.existing[ids[j]] })
	for _, id := range ids {
		p, err := b.props(id)
		if err != nil {
			return err
		}
		m, err := b.method(id, p)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if prev, dup := m.resource.methods[m.verb]; dup {
			if m.existing {
				if b.cfg.Log != nil {
					b.cfg.Log.Info("the stack now defines this method; ignoring its stand-in", "method", m.verb+" "+m.resource.path, "stack", prev.logicalID, "standIn", id)
				}
				continue
			}
			return fmt.Errorf("%s and %s are both %s %s", prev.logicalID, id, m.verb, m.resource.path)
		}
		m.resource.methods[m.verb] = m
		b.a.methods = append(b.a.methods, m)
	}
	return nil
}

func (b *builder) method(id string, p map[string]any) (*method, error) {
	m := &method{logicalID: id, existing: b.existing[id], verb: str(p, "HttpMethod"), operation: str(p, "OperationName")}
	if !validVerbs[m.verb] {
		return nil, fmt.Errorf("HttpMethod %q", m.verb)
	}
	rid := str(p, "ResourceId")
	rp, ok := b.paths[rid]
	if !ok {
		return nil, fmt.Errorf("ResourceId %q is not a known resource", rid)
	}
	m.resource = b.byPath[rp]
	if v, ok := p["ApiKeyRequired"]; ok && fmt.Sprint(v) == "true" {
		return nil, fmt.Errorf("ApiKeyRequired is not supported locally")
	}
	if sc, ok := p["AuthorizationScopes"].([]any); ok {
		for _, s := range sc {
			m.scopes = append(m.scopes, fmt.Sprint(s))
		}
	}
	switch at := str(p, "AuthorizationType"); at {
	case "", "NONE":
	case "COGNITO_USER_POOLS":
		a, err := b.authorizer(str(p, "AuthorizerId"))
		if err != nil {
			return nil, err
		}
		a.rules.Scopes = m.scopes
		m.auth = a
	default:
		return nil, fmt.Errorf("AuthorizationType %s is not supported locally", at)
	}
	integ, _ := p["Integration"].(map[string]any)
	switch typ := str(integ, "Type"); typ {
	case "AWS_PROXY":
		pi, err := b.proxy(integ)
		if err != nil {
			return nil, err
		}
		m.proxy = pi
		m.permittedFor = b.permitted(pi.function)
	case "MOCK":
		mi, err := b.mock(integ, p["MethodResponses"])
		if err != nil {
			return nil, err
		}
		m.mock = mi
	default:
		return nil, fmt.Errorf("integration type %q is not supported locally (AWS_PROXY and MOCK are)", typ)
	}
	return m, nil
}

func (b *builder) authorizer(id string) (*authorizer, error) {
	if arns, ok := b.cfg.Params.ExistingAuthorizers[id]; ok {
		return &authorizer{id: id, header: "Authorization", rules: devauth.Rules{ProviderARNs: arns}}, nil
	}
	res, ok := b.tpl.Resources[id]
	if !ok || res.Type != "AWS::ApiGateway::Authorizer" {
		return nil, fmt.Errorf("AuthorizerId %q is neither an AWS::ApiGateway::Authorizer of the template nor in ExistingAuthorizers of the params file", id)
	}
	p, err := b.props(id)
	if err != nil {
		return nil, err
	}
	if t := str(p, "Type"); t != "COGNITO_USER_POOLS" {
		return nil, fmt.Errorf("authorizer %s: type %s is not supported locally", id, t)
	}
	src := str(p, "IdentitySource")
	header, ok := strings.CutPrefix(src, "method.request.header.")
	if !ok || header == "" {
		return nil, fmt.Errorf("authorizer %s: IdentitySource %q: only method.request.header.<name> is supported", id, src)
	}
	a := &authorizer{id: id, header: header, rules: devauth.Rules{IdentityValidationExpression: str(p, "IdentityValidationExpression")}}
	arns, _ := p["ProviderARNs"].([]any)
	for _, arn := range arns {
		a.rules.ProviderARNs = append(a.rules.ProviderARNs, fmt.Sprint(arn))
	}
	if len(a.rules.ProviderARNs) == 0 {
		return nil, fmt.Errorf("authorizer %s: no ProviderARNs", id)
	}
	if b.cfg.Verifier == nil {
		return nil, fmt.Errorf("authorizer %s: no token verifier configured", id)
	}
	return a, nil
}

var lambdaURI = regexp.MustCompile(`^arn:[a-z-]+:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:([A-Za-z0-9_-]+))(:[A-Za-z0-9_$-]+)?/invocations$`)

func (b *builder) proxy(integ map[string]any) (*proxyIntegration, error) {
	if m := str(integ, "IntegrationHttpMethod"); m != "POST" {
		return nil, fmt.Errorf("AWS_PROXY integration: IntegrationHttpMethod must be POST (Lambda is invoked with POST), got %q", m)
	}
	uri := str(integ, "Uri")
	sm := lambdaURI.FindStringSubmatch(uri)
	if sm == nil {
		return nil, fmt.Errorf("AWS_PROXY integration: Uri %q is not a Lambda function invocation URI", uri)
	}
	name := sm[2]
	fn, ok := b.cfg.Functions[name]
	if !ok {
		return nil, fmt.Errorf("AWS_PROXY integration invokes %s, which the local server does not register (add it to its function registry)", name)
	}
	return &proxyIntegration{function: name, arn: sm[1], fn: fn, timeout: b.functionTimeout(name)}, nil
}

// functionTimeout is the function's Timeout (or Globals.Function.Timeout,
// or Lambda's default of 3 s).
func (b *builder) functionTimeout(name string) time.Duration {
	props, _ := samtemplate.FunctionProperties(b.tpl, name)
	s, _ := b.r.String(props["Timeout"])
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	return 3 * time.Second
}

func (b *builder) permissions() error {
	ids, err := b.included("AWS::Lambda::Permission")
	if err != nil {
		return err
	}
	for _, id := range ids {
		p, err := b.props(id)
		if err != nil {
			return err
		}
		if str(p, "Principal") != "apigateway.amazonaws.com" || str(p, "Action") != "lambda:InvokeFunction" {
			continue
		}
		fn := str(p, "FunctionName")
		if i := strings.LastIndex(fn, ":function:"); i >= 0 {
			fn = strings.SplitN(fn[i+len(":function:"):], ":", 2)[0]
		}
		b.a.permissions = append(b.a.permissions, permission{function: fn, sourceARN: str(p, "SourceArn")})
	}
	return nil
}

// permitted returns whether a method ARN may invoke the function under the
// template's Lambda permissions (SourceArn globs, as IAM's ArnLike).
func (b *builder) permitted(function string) func(string) bool {
	var globs []string
	for _, p := range b.a.permissions {
		if p.function == function {
			globs = append(globs, p.sourceARN)
		}
	}
	return func(methodARN string) bool {
		for _, g := range globs {
			if g == "" || arnLike(g, methodARN) {
				return true
			}
		}
		return false
	}
}

// arnLike matches s against an IAM glob: * any run of characters, ? one.
func arnLike(glob, s string) bool {
	if glob == "" {
		return s == ""
	}
	switch glob[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if arnLike(glob[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && arnLike(glob[1:], s[1:])
	}
	return s != "" && s[0] == glob[0] && arnLike(glob[1:], s[1:])
}

func (b *builder) templates(v any) (map[string]*vtlTemplate, error) {
	m, _ := v.(map[string]any)
	out := map[string]*vtlTemplate{}
	for ct, src := range m {
		s, ok := src.(string)
		if !ok {
			return nil, fmt.Errorf("template for %s is not a string", ct)
		}
		t, err := parseVTL(s)
		if err != nil {
			return nil, fmt.Errorf("template for %s: %w", ct, err)
		}
		out[ct] = t
	}
	return out, nil
}

func (b *builder) mock(integ map[string]any, methodResponses any) (*mockIntegration, error) {
	reqT, err := b.templates(integ["RequestTemplates"])
	if err != nil {
		return nil, fmt.Errorf("MOCK integration: %w", err)
	}
	declared := map[int]map[string]bool{}
	mrs, _ := methodResponses.([]any)
	for _, mr := range mrs {
		m, _ := mr.(map[string]any)
		st, err := strconv.Atoi(fmt.Sprint(m["StatusCode"]))
		if err != nil {
			return nil, fmt.Errorf("MethodResponses: bad StatusCode %v", m["StatusCode"])
		}
		declared[st] = map[string]bool{}
		params, _ := m["ResponseParameters"].(map[string]any)
		for k := range params {
			declared[st][k] = true
		}
	}
	irs, _ := integ["IntegrationResponses"].([]any)
	if len(irs) != 1 {
		return nil, fmt.Errorf("MOCK integration: one integration response is supported locally, got %d", len(irs))
	}
	m, _ := irs[0].(map[string]any)
	if _, ok := m["SelectionPattern"]; ok {
		return nil, fmt.Errorf("MOCK integration: SelectionPattern is not supported locally")
	}
	st, err := strconv.Atoi(fmt.Sprint(m["StatusCode"]))
	if err != nil {
		return nil, fmt.Errorf("IntegrationResponses: bad StatusCode %v", m["StatusCode"])
	}
	if _, ok := declared[st]; !ok {
		return nil, fmt.Errorf("IntegrationResponses: status %d has no MethodResponse (API Gateway rejects this at deploy)", st)
	}
	mi := &mockIntegration{requestTemplates: reqT, status: st, headers: map[string]string{}}
	params, _ := m["ResponseParameters"].(map[string]any)
	for k, v := range params {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		if !ok {
			return nil, fmt.Errorf("IntegrationResponses: %s: only method.response.header.* is supported", k)
		}
		if !declared[st][k] {
			return nil, fmt.Errorf("IntegrationResponses: %s is not declared in the %d MethodResponse (API Gateway rejects this at deploy)", k, st)
		}
		lit, ok := quoted(fmt.Sprint(v))
		if !ok {
			return nil, fmt.Errorf("IntegrationResponses: %s: only 'quoted' static values are supported locally, got %v", k, v)
		}
		mi.headers[name] = lit
	}
	if mi.templates, err = b.templates(m["ResponseTemplates"]); err != nil {
		return nil, fmt.Errorf("IntegrationResponses: %w", err)
	}
	return mi, nil
}

// quoted returns the literal of a 'quoted' static mapping value.
func quoted(v string) (string, bool) {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1], true
	}
	return "", false
}

var gatewayParam = regexp.MustCompile(`^('[^']*'|method\.request\.(header|querystring|path)\.[A-Za-z0-9_.-]+)$`)

func (b *builder) gatewayResponses() error {
	ids, err := b.included("AWS::ApiGateway::GatewayResponse")
	if err != nil {
		return err
	}
	for _, id := range ids {
		p, err := b.props(id)
		if err != nil {
			return err
		}
		typ := str(p, "ResponseType")
		if _, ok := responseTypes[typ]; !ok {
			return fmt.Errorf("%s: unknown ResponseType %q", id, typ)
		}
		if _, dup := b.a.gatewayResponses[typ]; dup {
			return fmt.Errorf("%s: a second gateway response for %s", id, typ)
		}
		gr := &gatewayResponse{params: map[string]string{}}
		if sc := str(p, "StatusCode"); sc != "" {
			if gr.status, err = strconv.Atoi(sc); err != nil || gr.status < 400 || gr.status > 599 {
				return fmt.Errorf("%s: StatusCode %q", id, sc)
			}
		}
		params, _ := p["ResponseParameters"].(map[string]any)
		for k, v := range params {
			name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
			if !ok {
				return fmt.Errorf("%s: %s: only gatewayresponse.header.* is supported", id, k)
			}
			expr := fmt.Sprint(v)
			if !gatewayParam.MatchString(expr) {
				return fmt.Errorf("%s: %s: %q: only 'literals' and method.request.{header,querystring,path}.* are supported locally", id, k, expr)
			}
			gr.params[name] = expr
		}
		if gr.templates, err = b.templates(p["ResponseTemplates"]); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		// Render once now, so that an unsupported reference fails at start.
		for ct, t := range gr.templates {
			if _, err := t.render(&vtlEnv{context: sampleContext(), input: vtlInput{}}); err != nil {
				return fmt.Errorf("%s: template for %s: %w", id, ct, err)
			}
		}
		b.a.gatewayResponses[typ] = gr
	}
	return nil
}

// responseType is one of API Gateway's gateway response types.
type responseType struct {
	status    int
	errorType string // x-amzn-ErrorType
}

// responseTypes lists API Gateway's gateway response types with their
// default status codes (supported-gateway-response-types in the API Gateway
// developer guide).
var responseTypes = map[string]responseType{
	"ACCESS_DENIED":                  {403, "AccessDeniedException"},
	"API_CONFIGURATION_ERROR":        {500, "InternalServerErrorException"},
	"AUTHORIZER_CONFIGURATION_ERROR": {500, "InternalServerErrorException"},
	"AUTHORIZER_FAILURE":             {500, "InternalServerErrorException"},
	"BAD_REQUEST_PARAMETERS":         {400, "BadRequestException"},
	"BAD_REQUEST_BODY":               {400, "BadRequestException"},
	"DEFAULT_4XX":                    {0, ""},
	"DEFAULT_5XX":                    {0, ""},
	"EXPIRED_TOKEN":                  {403, "ExpiredTokenException"},
	"INTEGRATION_FAILURE":            {504, "InternalServerErrorException"},
	"INTEGRATION_TIMEOUT":            {504, "InternalServerErrorException"},
	"INVALID_API_KEY":                {403, "ForbiddenException"},
	"INVALID_SIGNATURE":              {403, "InvalidSignatureException"},
	"MISSING_AUTHENTICATION_TOKEN":   {403, "MissingAuthenticationTokenException"},
	"QUOTA_EXCEEDED":                 {429, "LimitExceededException"},
	"REQUEST_TOO_LARGE":              {413, "RequestTooLargeException"},
	"RESOURCE_NOT_FOUND":             {404, "NotFoundException"},
	"THROTTLED":                      {429, "TooManyRequestsException"},
	"UNAUTHORIZED":                   {401, "UnauthorizedException"},
	"UNSUPPORTED_MEDIA_TYPE":         {415, "UnsupportedMediaTypeException"},
	"WAF_FILTERED":                   {403, "ForbiddenException"},
}

// Routes describes the served methods, for the start banner and tests:
// "GET /v1/jobs/{id} -> GetJobFn (COGNITO_USER_POOLS)".
func (a *api) routes() []string {
	var out []string
	for _, m := range a.methods {
		target := "MOCK"
		if m.proxy != nil {
			target = m.proxy.function
		}
		auth := "NONE"
		if m.auth != nil {
			auth = "COGNITO_USER_POOLS"
		}
		s := fmt.Sprintf("%s %s -> %s (%s)", m.verb, m.resource.path, target, auth)
		if m.existing {
			s += " [stand-in for the existing API]"
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		pi, pj := strings.Fields(out[i])[1], strings.Fields(out[j])[1]
		if pi != pj {
			return path.Clean(pi) < path.Clean(pj)
		}
		return out[i] < out[j]
	})
	return out
}
