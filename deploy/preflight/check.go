package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Severity says whether a finding stops the deploy.
type Severity string

// Severities.
const (
	Refuse Severity = "REFUSED"
	Warn   Severity = "WARNING"
)

// Finding is one thing about the live account that breaks or endangers
// the deploy, with the fix.
type Finding struct {
	Severity Severity
	Subject  string
	Problem  string
	Fix      string
	// Detail is extra text shown under the finding (a diff).
	Detail string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s: %s\n    fix: %s", f.Severity, f.Subject, f.Problem, f.Fix)
	if f.Detail != "" {
		s += "\n" + indent(f.Detail, "    | ")
	}
	return s
}

// Clients are the AWS APIs the pre-flight reads.
type Clients struct {
	APIGateway     *apigateway.Client
	DynamoDB       *dynamodb.Client
	Logs           *cloudwatchlogs.Client
	CloudFormation *cloudformation.Client
}

// Refused reports whether any finding stops the deploy.
func Refused(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Refuse })
}

// Run reads the account and returns every finding for plan p. An error
// means the pre-flight could not read what it needs (credentials, the API
// id): the deploy must not go on either.
func Run(ctx context.Context, c Clients, p *Plan) ([]Finding, error) {
	ours, status, err := stackResources(ctx, c.CloudFormation, p.StackName)
	if err != nil {
		return nil, err
	}
	var out []Finding
	add := func(f Finding) { out = append(out, f) }
	if f, ok := stackStatusFinding(p.StackName, status); ok {
		add(f)
	}
	api, err := c.APIGateway.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: &p.RestAPIID})
	if err != nil {
		return nil, fmt.Errorf("preflight: REST API %s: %w", p.RestAPIID, err)
	}
	// API Gateway's metrics are keyed by the API's name: a wrong one makes
	// the API alarms watch nothing, silently.
	switch name := aws.ToString(api.Name); {
	case p.RestAPIName == "":
		add(Finding{Warn, "RestApiName", "is empty: no API 5xx or latency alarm is created", fmt.Sprintf("set RestApiName=%q in samconfig.toml", name), ""})
	case p.RestAPIName != name:
		add(Finding{Refuse, "RestApiName", fmt.Sprintf("is %q but API %s is named %q: the API alarms and dashboard would watch a metric that never arrives", p.RestAPIName, p.RestAPIID, name),
			fmt.Sprintf("set RestApiName=%q in samconfig.toml", name), ""})
	}
	resources, err := apiResources(ctx, c.APIGateway, p.RestAPIID)
	if err != nil {
		return nil, err
	}
	byID := map[string]agtypes.Resource{}
	for _, r := range resources {
		byID[aws.ToString(r.Id)] = r
	}
	for _, m := range p.Methods {
		res, ok := byID[m.ResourceID]
		if !ok {
			add(Finding{Refuse, m.LogicalID, fmt.Sprintf("resource %s does not exist on API %s", m.ResourceID, p.RestAPIID),
				"check JobsResourceId in samconfig.toml: aws apigateway get-resources --rest-api-id " + p.RestAPIID + " --query \"items[].[id,path]\"", ""})
			continue
		}
		if _, exists := res.ResourceMethods[m.Verb]; exists && !owns(ours, m.LogicalID) {
			add(Finding{Refuse, m.LogicalID, fmt.Sprintf("%s %s already exists on API %s and is not this stack's: creating it fails with ConflictException", m.Verb, aws.ToString(res.Path), p.RestAPIID),
				methodConflictFix(m, res, p), ""})
		}
	}
	for _, ch := range p.Children {
		parent, ok := byID[ch.ParentID]
		if !ok {
			add(Finding{Refuse, ch.LogicalID, fmt.Sprintf("parent resource %s does not exist on API %s", ch.ParentID, p.RestAPIID), "check JobsResourceId in samconfig.toml", ""})
			continue
		}
		for _, r := range resources {
			if aws.ToString(r.ParentId) != ch.ParentID || owns(ours, ch.LogicalID) && aws.ToString(r.Id) == ours[ch.LogicalID] {
				continue
			}
			part := aws.ToString(r.PathPart)
			switch {
			case part == ch.PathPart:
				add(Finding{Refuse, ch.LogicalID, fmt.Sprintf("%s/%s already exists (resource %s, methods %v) and is not this stack's: creating it fails with ConflictException",
					aws.ToString(parent.Path), part, aws.ToString(r.Id), slices.Sorted(maps.Keys(r.ResourceMethods))),
					"if it is a leftover of an earlier deploy with no methods in use, delete it: aws apigateway delete-resource --rest-api-id " + p.RestAPIID + " --resource-id " + aws.ToString(r.Id) + "; otherwise agree with the API's owner who serves " + aws.ToString(parent.Path) + "/" + part, ""})
			case isVariable(part) && isVariable(ch.PathPart):
				add(Finding{Refuse, ch.LogicalID, fmt.Sprintf("%s already has the variable child %s (resource %s, methods %v): API Gateway allows one variable path part per resource, so %s/%s fails with ConflictException",
					aws.ToString(parent.Path), part, aws.ToString(r.Id), slices.Sorted(maps.Keys(r.ResourceMethods)), aws.ToString(parent.Path), ch.PathPart),
					"agree with the API's owner: move their methods under " + ch.PathPart + " or remove " + aws.ToString(parent.Path) + "/" + part + " (aws apigateway delete-resource --rest-api-id " + p.RestAPIID + " --resource-id " + aws.ToString(r.Id) + ")", ""})
			}
		}
	}
	for _, pf := range p.Preflights {
		fs, err := checkPreflight(ctx, c.APIGateway, p, pf, byID[pf.ResourceID])
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	fs, err := checkGatewayResponses(ctx, c.APIGateway, p)
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	fs, err = checkAPIOwner(ctx, c.CloudFormation, p)
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	fs, err = checkNamed(ctx, c, p, ours)
	if err != nil {
		return nil, err
	}
	return append(out, fs...), nil
}

func owns(ours map[string]string, logicalID string) bool { _, ok := ours[logicalID]; return ok }

func isVariable(part string) bool {
	return strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}")
}

func methodConflictFix(m Method, res agtypes.Resource, p *Plan) string {
	switch m.Verb {
	case "POST", "OPTIONS":
		return "keep ManagePostMethod=false (the owner keeps POST/OPTIONS; point POST at SubmitJobFnArn), or import both methods into the stack (docs/deploy.md, Import)"
	default:
		return fmt.Sprintf("the stack serves %s %s itself: agree with the API's owner and remove theirs after saving it "+
			"(aws apigateway get-method --rest-api-id %s --resource-id %s --http-method %s > saved-method.json; "+
			"aws apigateway delete-method --rest-api-id %s --resource-id %s --http-method %s), or import it (docs/deploy.md, Import)",
			m.Verb, aws.ToString(res.Path), p.RestAPIID, m.ResourceID, m.Verb, p.RestAPIID, m.ResourceID, m.Verb)
	}
}

// stackResources returns the stack's resources (logical -> physical id) and
// its status; an absent stack has none and status "".
func stackResources(ctx context.Context, cf *cloudformation.Client, stack string) (map[string]string, string, error) {
	d, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack})
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return map[string]string{}, "", nil
		}
		return nil, "", fmt.Errorf("preflight: describe stack %s: %w", stack, err)
	}
	status := ""
	if len(d.Stacks) > 0 {
		status = string(d.Stacks[0].StackStatus)
	}
	out := map[string]string{}
	pg := cloudformation.NewListStackResourcesPaginator(cf, &cloudformation.ListStackResourcesInput{StackName: &stack})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("preflight: list resources of stack %s: %w", stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			if r.ResourceStatus == cftypes.ResourceStatusDeleteComplete || r.ResourceStatus == cftypes.ResourceStatusDeleteSkipped {
				continue
			}
			out[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
		}
	}
	return out, status, nil
}

func stackStatusFinding(stack, status string) (Finding, bool) {
	switch {
	case status == "ROLLBACK_COMPLETE" || status == "ROLLBACK_FAILED":
		return Finding{Refuse, "stack " + stack, "is " + status + ": its first deploy failed and a stack in this state cannot be updated",
			"aws cloudformation delete-stack --stack-name " + stack + " && aws cloudformation wait stack-delete-complete --stack-name " + stack + ", then deploy again (docs/deploy.md, If the first deploy fails)", ""}, true
	case strings.HasSuffix(status, "_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS":
		return Finding{Refuse, "stack " + stack, "is " + status + ": another operation is running", "wait for it: aws cloudformation describe-stacks --stack-name " + stack, ""}, true
	case status == "UPDATE_ROLLBACK_FAILED":
		return Finding{Refuse, "stack " + stack, "is UPDATE_ROLLBACK_FAILED", "fix the cause, then aws cloudformation continue-update-rollback --stack-name " + stack, ""}, true
	}
	return Finding{}, false
}

func apiResources(ctx context.Context, ag *apigateway.Client, api string) ([]agtypes.Resource, error) {
	var out []agtypes.Resource
	pg := apigateway.NewGetResourcesPaginator(ag, &apigateway.GetResourcesInput{RestApiId: &api, Embed: []string{"methods"}})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("preflight: resources of API %s: %w", api, err)
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// checkPreflight: the owner's OPTIONS method on a resource the stack adds
// methods to must exist, allow the headers the template's would, and let
// every allowed origin through.
func checkPreflight(ctx context.Context, ag *apigateway.Client, p *Plan, pf Preflight, res agtypes.Resource) ([]Finding, error) {
	path := aws.ToString(res.Path)
	if _, ok := res.ResourceMethods["OPTIONS"]; !ok {
		return []Finding{{Refuse, "OPTIONS " + path, "does not exist and the stack leaves it to the API's owner (" + pf.LogicalID + "'s condition is false): browsers cannot call " + path,
			"set ManagePostMethod=true (the stack creates it), or have the owner add a preflight allowing " + strings.Join(pf.Headers, ", "), ""}}, nil
	}
	m, err := ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: &p.RestAPIID, ResourceId: &pf.ResourceID, HttpMethod: aws.String("OPTIONS")})
	if err != nil {
		return nil, fmt.Errorf("preflight: OPTIONS %s: %w", path, err)
	}
	var allowHeaders, allowOrigin, templates string
	collect := func(params map[string]string, tpls map[string]string) {
		if v, ok := params["method.response.header.Access-Control-Allow-Headers"]; ok {
			allowHeaders = v
		}
		if v, ok := params["method.response.header.Access-Control-Allow-Origin"]; ok {
			allowOrigin = v
		}
		for _, t := range tpls {
			templates += t
		}
	}
	if m.MethodIntegration != nil {
		for _, ir := range m.MethodIntegration.IntegrationResponses {
			collect(ir.ResponseParameters, ir.ResponseTemplates)
		}
	}
	var out []Finding
	allowed := map[string]bool{}
	for _, h := range splitList(strings.Trim(allowHeaders, "'")) {
		allowed[strings.ToLower(h)] = true
	}
	var missing []string
	for _, h := range pf.Headers {
		if !allowed[strings.ToLower(h)] && !allowed["*"] {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		out = append(out, Finding{Refuse, "OPTIONS " + path, fmt.Sprintf("allows headers %s but browsers will send %s: they refuse the request", allowHeaders, strings.Join(missing, ", ")),
			fmt.Sprintf("have the API's owner allow %s on its Access-Control-Allow-Headers, or set ManagePostMethod=true and import the method (docs/deploy.md)", strings.Join(pf.Headers, ",")), ""})
	}
	origin := strings.Trim(allowOrigin, "'")
	var unserved []string
	for _, o := range p.AllowedOrigins {
		switch {
		case origin == "*" || origin == o:
		case strings.Contains(templates, o):
		default:
			unserved = append(unserved, o)
		}
	}
	if len(unserved) > 0 {
		out = append(out, Finding{Refuse, "OPTIONS " + path, fmt.Sprintf("does not answer origin(s) %s (Access-Control-Allow-Origin %q, no response template naming them)", strings.Join(unserved, ", "), allowOrigin),
			"have the API's owner answer every origin in AllowedOrigins, or set ManagePostMethod=true and import the method (docs/deploy.md)", ""})
	}
	if origin == "*" {
		out = append(out, Finding{Warn, "OPTIONS " + path, "answers every origin (Access-Control-Allow-Origin '*')", "fine for bearer tokens; narrow it to AllowedOrigins with the API's owner", ""})
	}
	return out, nil
}

// checkGatewayResponses shows what the deploy changes on the API's
// gateway responses, or, when it leaves them, whether the owner's carry
// CORS headers (else a dashboard cannot read an authorizer 401).
func checkGatewayResponses(ctx context.Context, ag *apigateway.Client, p *Plan) ([]Finding, error) {
	got, err := ag.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: &p.RestAPIID, Limit: aws.Int32(500)})
	if err != nil {
		return nil, fmt.Errorf("preflight: gateway responses of API %s: %w", p.RestAPIID, err)
	}
	current := map[string]agtypes.GatewayResponse{}
	for _, r := range got.Items {
		current[string(r.ResponseType)] = r
	}
	var out []Finding
	if len(p.GatewayResponses) == 0 {
		r, ok := current["DEFAULT_4XX"]
		if !ok || r.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "" {
			out = append(out, Finding{Warn, "gateway response DEFAULT_4XX", "carries no Access-Control-Allow-Origin: browsers cannot read the API's own 401/403/429 answers",
				"with the API's owner's agreement set ManageGatewayResponses=true (the stack then sets DEFAULT_4XX and DEFAULT_5XX), or have the owner add the header", ""})
		}
		return out, nil
	}
	for _, typ := range slices.Sorted(maps.Keys(p.GatewayResponses)) {
		want := p.GatewayResponses[typ]
		cur, ok := current[typ]
		if !ok || cur.DefaultResponse {
			continue // API Gateway's default: nothing of the owner's is lost
		}
		diff := gatewayResponseDiff(cur, want)
		if diff == "" {
			continue
		}
		out = append(out, Finding{Warn, "gateway response " + typ, "the API's owner customised it; ManageGatewayResponses=true replaces it for every method of the API",
			"agree the change with the API's owner, or set ManageGatewayResponses=false", diff})
	}
	return out, nil
}

func gatewayResponseDiff(cur agtypes.GatewayResponse, want GatewayResponse) string {
	var b strings.Builder
	line := func(what, from, to string) {
		if from != to {
			fmt.Fprintf(&b, "%s\n  - %s\n  + %s\n", what, orNone(from), orNone(to))
		}
	}
	line("statusCode", aws.ToString(cur.StatusCode), want.StatusCode)
	for _, k := range union(cur.ResponseParameters, want.Parameters) {
		line(k, cur.ResponseParameters[k], want.Parameters[k])
	}
	for _, k := range union(cur.ResponseTemplates, want.Templates) {
		line("template "+k, cur.ResponseTemplates[k], want.Templates[k])
	}
	return strings.TrimRight(b.String(), "\n")
}

func union(a, b map[string]string) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return slices.Sorted(maps.Keys(keys))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// checkAPIOwner finds the CloudFormation stack that owns the REST API, if
// any: an API defined from an OpenAPI body in overwrite mode loses this
// stack's methods on every owner deploy, and a stage the owner's stack
// manages can be pointed at a deployment without them.
func checkAPIOwner(ctx context.Context, cf *cloudformation.Client, p *Plan) ([]Finding, error) {
	owner, logical, err := findOwner(ctx, cf, p.RestAPIID)
	if err != nil || owner == "" {
		return nil, err
	}
	if owner == p.StackName {
		return []Finding{{Refuse, "REST API " + p.RestAPIID, "belongs to stack " + owner + " itself: this template does not declare it, so the deploy would delete the API",
			"deploy these resources as a separate stack (samconfig.toml stack_name), docs/deploy.md", ""}}, nil
	}
	tpl, err := cf.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: &owner, TemplateStage: cftypes.TemplateStageProcessed})
	if err != nil {
		return nil, fmt.Errorf("preflight: template of stack %s (owner of API %s): %w", owner, p.RestAPIID, err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(tpl.TemplateBody)), &doc); err != nil {
		// YAML bodies: only the JSON form is read; say so.
		return []Finding{{Warn, "REST API " + p.RestAPIID, "is owned by stack " + owner + ", whose template this pre-flight cannot read (not JSON)",
			"check by hand that it has no OpenAPI Body in overwrite mode and does not manage stage " + p.Stage, ""}}, nil
	}
	var out []Finding
	api := doc.Resources[logical]
	_, body := api.Properties["Body"]
	_, bodyS3 := api.Properties["BodyS3Location"]
	mode, _ := api.Properties["Mode"].(string)
	if body || bodyS3 {
		sev := Refuse
		problem := "is defined by an OpenAPI body in stack " + owner + " (Mode " + orNone(mode) + "): each deploy of that stack replaces the API's definition and deletes this stack's methods"
		if mode == "merge" {
			sev, problem = Warn, "is defined by an OpenAPI body in stack "+owner+" in merge mode: this stack's methods survive its deploys, but a path it also defines is taken from its body"
		}
		out = append(out, Finding{sev, "REST API " + p.RestAPIID, problem,
			"have the owner set Mode: merge on " + logical + " (or move /v1/jobs out of its body), then deploy", ""})
	}
	for id, r := range doc.Resources {
		if r.Type != "AWS::ApiGateway::Stage" && r.Type != "AWS::ApiGateway::Deployment" {
			continue
		}
		if name, _ := r.Properties["StageName"].(string); name == p.Stage {
			out = append(out, Finding{Warn, "stage " + p.Stage, "is managed by stack " + owner + " (" + id + "): its updates can point the stage at a deployment made without this stack's methods",
				"after every deploy of " + owner + ", run make redeploy-stage (a new deployment includes every method on the API)", ""})
		}
	}
	return out, nil
}

// findOwner returns the stack and logical id of the REST API, or "" when no
// stack owns it. DescribeStackResources finds it by physical id; where that
// is not supported (emulators), the account's active stacks are searched.
func findOwner(ctx context.Context, cf *cloudformation.Client, api string) (string, string, error) {
	if d, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{PhysicalResourceId: &api}); err == nil {
		for _, r := range d.StackResources {
			if aws.ToString(r.PhysicalResourceId) == api {
				return aws.ToString(r.StackName), aws.ToString(r.LogicalResourceId), nil
			}
		}
		return "", "", nil
	}
	pg := cloudformation.NewListStacksPaginator(cf, &cloudformation.ListStacksInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return "", "", fmt.Errorf("preflight: list stacks: %w", err)
		}
		for _, s := range page.StackSummaries {
			if s.StackStatus == cftypes.StackStatusDeleteComplete {
				continue
			}
			res, _, err := stackResources(ctx, cf, aws.ToString(s.StackName))
			if err != nil {
				return "", "", err
			}
			for logical, physical := range res {
				if physical == api {
					return aws.ToString(s.StackName), logical, nil
				}
			}
		}
	}
	return "", "", nil
}

// checkNamed: a table or log group with the name the deploy creates that
// is not the stack's was left behind (by a failed first deploy under an
// older template, or by hand); creating it fails with AlreadyExists.
func checkNamed(ctx context.Context, c Clients, p *Plan, ours map[string]string) ([]Finding, error) {
	var out []Finding
	for _, n := range p.Named {
		if ours[n.LogicalID] == n.Name {
			continue
		}
		switch n.Type {
		case "AWS::DynamoDB::Table":
			d, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &n.Name})
			var nf *ddbtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("preflight: table %s: %w", n.Name, err)
			}
			items := aws.ToInt64(d.Table.ItemCount)
			out = append(out, Finding{Refuse, n.LogicalID, fmt.Sprintf("table %s already exists outside the stack (%d items, status %s): creating it fails with AlreadyExists", n.Name, items, d.Table.TableStatus),
				fmt.Sprintf("empty and unwanted: aws dynamodb update-table --table-name %s --no-deletion-protection-enabled && aws dynamodb delete-table --table-name %s; "+
					"holding jobs: import it as %s (docs/deploy.md, If the first deploy fails)", n.Name, n.Name, n.LogicalID), ""})
		case "AWS::Logs::LogGroup":
			d, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: &n.Name})
			if err != nil {
				return nil, fmt.Errorf("preflight: log group %s: %w", n.Name, err)
			}
			for _, g := range d.LogGroups {
				if aws.ToString(g.LogGroupName) == n.Name {
					out = append(out, Finding{Refuse, n.LogicalID, "log group " + n.Name + " already exists outside the stack: creating it fails with AlreadyExists",
						"keep its logs elsewhere if needed, then aws logs delete-log-group --log-group-name " + n.Name + " (or import it as " + n.LogicalID + ")", ""})
				}
			}
		}
	}
	return out, nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
