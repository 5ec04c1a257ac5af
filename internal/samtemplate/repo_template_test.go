package samtemplate_test

// Tests of the repository's template.yaml. Each check below is a function
// of a parsed template returning what is wrong with it; TestRepoTemplate
// runs them all on template.yaml, and TestRepoTemplateMutations proves each
// one can fail by breaking a copy of the template and expecting that check
// to report it. A new function, method or permission needs its expectation
// added here (wantGrants, wantMethods): the checks refuse unknown ones.

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	jobsddb "github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/samtemplate"
)

const repoTemplatePath = "../../template.yaml"

// apiGatewayLimit is API Gateway's integration timeout (29 s); functions
// must time out before it so the client gets the function's own answer.
const apiGatewayLimitSeconds = 29

// wantGrants is each function's complete IAM grant: action -> resources.
// SAM adds only AWSLambdaBasicExecutionRole (logs) to the role it creates.
var wantGrants = map[string]map[string][]string{
	"GetJobFn": {
		"dynamodb:GetItem": {"!GetAtt JobsTable.Arn"},
	},
	"SubmitJobFn": {
		"dynamodb:GetItem": {"!GetAtt JobsTable.Arn"},
		"dynamodb:PutItem": {"!GetAtt JobsTable.Arn"},
		"sqs:SendMessage":  {`!Sub "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${PipelineQueueName}"`},
	},
}

// methodWant is what one Lambda-backed API method must be.
type methodWant struct {
	verb, path, function string
	optional             bool // may be absent (e.g. behind a condition the operator may drop)
}

// wantMethods are the non-OPTIONS methods this stack may own.
var wantMethods = map[string]methodWant{
	"GetJobMethod":  {verb: "GET", path: "/v1/jobs/{id}", function: "GetJobFn"},
	"PostJobMethod": {verb: "POST", path: "/v1/jobs", function: "SubmitJobFn", optional: true},
}

// externalResources are the API resources of the existing REST API the
// template refers to by parameter, with their paths.
var externalResources = map[string]string{"JobsResourceId": "/v1/jobs"}

type repoCheck struct {
	name  string
	check func(*samtemplate.Template) error
}

var repoChecks = []repoCheck{
	{"references", samtemplate.CheckReferences},
	{"properties", samtemplate.CheckProperties},
	{"no REST API", checkNoRestAPI},
	{"function config", checkFunctionConfig},
	{"function IAM", checkFunctionIAM},
	{"makefile targets", checkMakefileTargets},
	{"API methods", checkAPIMethods},
	{"OPTIONS methods", checkOptionsMethods},
	{"invoke permissions", checkInvokePermissions},
	{"gateway responses", checkGatewayResponses},
	{"jobs table", checkJobsTable},
	{"table definition", checkTableDefinition},
}

func TestRepoTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range repoChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(tpl); err != nil {
				t.Errorf("template.yaml:\n%v", err)
			}
		})
	}
}

// mutation breaks template.yaml: old replaced by new (old must occur
// exactly once), or edit applied to the parsed template.
type mutation struct {
	name     string
	old, new string
	edit     func(*samtemplate.Template)
	fails    string // the check that must now fail
}

var mutations = []mutation{
	// references
	{name: "dangling Ref", old: "LogGroup: !Ref GetJobFnLogs", new: "LogGroup: !Ref GetJobFnLog", fails: "references"},
	{name: "dangling GetAtt", old: "Value: !GetAtt GetJobFn.Arn", new: "Value: !GetAtt GetJobFunction.Arn", fails: "references"},
	{name: "dangling Sub variable", old: "${AWS::AccountId}/${PipelineQueueName}", new: "${AWS::AccountId}/${PipelineQueue}", fails: "references"},
	{name: "dangling condition", old: "Condition: OwnPostMethod", new: "Condition: OwnsPostMethod", fails: "references"},
	// properties
	{name: "misspelled table property", old: "PointInTimeRecoverySpecification:", new: "PointInTimeRecoverySpec:", fails: "properties"},
	{name: "misspelled method property", old: "      OperationName: GetJob\n", new: "      OperationNam: GetJob\n", fails: "properties"},
	// no REST API
	{name: "new REST API", edit: addResource("NewApi", "AWS::ApiGateway::RestApi", map[string]any{"Name": "x"}), fails: "no REST API"},
	{name: "new SAM Api", edit: addResource("NewApi", "AWS::Serverless::Api", map[string]any{"StageName": "prod"}), fails: "no REST API"},
	{name: "new SAM HttpApi", edit: addResource("NewApi", "AWS::Serverless::HttpApi", nil), fails: "no REST API"},
	{name: "Api event makes an implicit API", old: "      CodeUri: .\n      LoggingConfig:\n        LogGroup: !Ref GetJobFnLogs",
		new: "      CodeUri: .\n      Events:\n        Get: {Type: Api, Properties: {Path: /x, Method: get}}\n      LoggingConfig:\n        LogGroup: !Ref GetJobFnLogs", fails: "no REST API"},
	{name: "HttpApi event makes an implicit API", old: "      CodeUri: .\n      LoggingConfig:\n        LogGroup: !Ref SubmitJobFnLogs",
		new: "      CodeUri: .\n      Events:\n        Post: {Type: HttpApi}\n      LoggingConfig:\n        LogGroup: !Ref SubmitJobFnLogs", fails: "no REST API"},
	// function config (Globals merged)
	{name: "runtime", old: "Runtime: provided.al2023", new: "Runtime: provided.al2", fails: "function config"},
	{name: "architecture", old: "Architectures: [arm64]", new: "Architectures: [x86_64]", fails: "function config"},
	{name: "function adds an architecture to Globals'", edit: setProp("GetJobFn", "Architectures", []any{"x86_64"}), fails: "function config"},
	{name: "function overrides memory", edit: setProp("GetJobFn", "MemorySize", 512.0), fails: "function config"},
	{name: "handler", old: "Handler: bootstrap", new: "Handler: main", fails: "function config"},
	{name: "build method", edit: func(t *samtemplate.Template) { t.Resources["SubmitJobFn"].Metadata["BuildMethod"] = "go1.x" }, fails: "function config"},
	{name: "timeout past API Gateway's", old: "Timeout: 10", new: "Timeout: 30", fails: "function config"},
	// function IAM
	{name: "second action on GetJobFn", old: "Action: dynamodb:GetItem\n", new: "Action: [dynamodb:GetItem, dynamodb:Query]\n", fails: "function IAM"},
	{name: "GetJobFn on every resource", edit: editStatement("GetJobFn", 0, "Resource", "*"), fails: "function IAM"},
	{name: "GetJobFn on the table's indexes too", edit: editStatement("GetJobFn", 0, "Resource",
		[]any{map[string]any{"Fn::GetAtt": []any{"JobsTable", "Arn"}}, map[string]any{"Fn::Sub": "${JobsTable.Arn}/index/*"}}), fails: "function IAM"},
	{name: "GetJobFn managed policy", edit: addPolicy("GetJobFn", "AmazonDynamoDBReadOnlyAccess"), fails: "function IAM"},
	{name: "GetJobFn SAM policy template", edit: addPolicy("GetJobFn", map[string]any{"DynamoDBReadPolicy": map[string]any{"TableName": map[string]any{"Ref": "JobsTable"}}}), fails: "function IAM"},
	{name: "GetJobFn own role", edit: setProp("GetJobFn", "Role", "arn:aws:iam::123456789012:role/admin"), fails: "function IAM"},
	{name: "SubmitJobFn may send to any queue", old: ":${AWS::AccountId}:${PipelineQueueName}", new: ":${AWS::AccountId}:*", fails: "function IAM"},
	{name: "SubmitJobFn cannot send", edit: editStatement("SubmitJobFn", 1, "Action", "sqs:GetQueueUrl"), fails: "function IAM"},
	{name: "new function without expectations", edit: addFunction("ListJobsFn"), fails: "function IAM"},
	{name: "new function without a build target", edit: addFunction("ListJobsFn"), fails: "makefile targets"},
	// API methods
	{name: "GET without auth", old: "      OperationName: GetJob\n      AuthorizationType: COGNITO_USER_POOLS",
		new: "      OperationName: GetJob\n      AuthorizationType: NONE", fails: "API methods"},
	{name: "GET without authorizer", edit: deleteProp("GetJobMethod", "AuthorizerId"), fails: "API methods"},
	{name: "GET not a proxy integration", edit: setIntegration("GetJobMethod", "Type", "AWS"), fails: "API methods"},
	{name: "GET invokes the submit function", old: "functions/${GetJobFn.Arn}/invocations", new: "functions/${SubmitJobFn.Arn}/invocations", fails: "API methods"},
	{name: "GET on the collection", edit: setProp("GetJobMethod", "ResourceId", map[string]any{"Ref": "JobsResourceId"}), fails: "API methods"},
	{name: "POST without auth", old: "      OperationName: SubmitJob\n      AuthorizationType: COGNITO_USER_POOLS",
		new: "      OperationName: SubmitJob\n      AuthorizationType: NONE", fails: "API methods"},
	{name: "unexpected method", edit: addResource("DeleteJobMethod", "AWS::ApiGateway::Method", map[string]any{
		"RestApiId": map[string]any{"Ref": "RestApiId"}, "ResourceId": map[string]any{"Ref": "JobIdResource"}, "HttpMethod": "DELETE", "AuthorizationType": "NONE"}), fails: "API methods"},
	{name: "GET missing", edit: deleteResource("GetJobMethod"), fails: "API methods"},
	{name: "POST deleted when the stack lets go of it", edit: setAttr("PostJobMethod", func(r *samtemplate.Resource) { r.DeletionPolicy = "" }), fails: "API methods"},
	// OPTIONS
	{name: "OPTIONS with auth", old: "      HttpMethod: OPTIONS\n      AuthorizationType: NONE", new: "      HttpMethod: OPTIONS\n      AuthorizationType: COGNITO_USER_POOLS", fails: "OPTIONS methods"},
	{name: "OPTIONS not MOCK", edit: setIntegration("OptionsJobIdMethod", "Type", "AWS_PROXY"), fails: "OPTIONS methods"},
	{name: "OPTIONS does not allow GET", old: `"'GET,OPTIONS'"`, new: `"'OPTIONS'"`, fails: "OPTIONS methods"},
	{name: "OPTIONS does not allow Authorization", old: `"'Authorization,Content-Type,If-None-Match'"`, new: `"'Content-Type'"`, fails: "OPTIONS methods"},
	{name: "OPTIONS without Vary", old: "              method.response.header.Vary: \"'Origin'\"\n", new: "", fails: "OPTIONS methods"},
	{name: "OPTIONS allows every origin", old: "              method.response.header.Vary: \"'Origin'\"\n",
		new: "              method.response.header.Vary: \"'Origin'\"\n              method.response.header.Access-Control-Allow-Origin: \"'*'\"\n", fails: "OPTIONS methods"},
	{name: "OPTIONS ignores AllowedOrigins", old: `#set($allowed = ",${AllowedOrigins},")`, new: `#set($allowed = ",https://admin.deepfoundai.com,")`, fails: "OPTIONS methods"},
	{name: "OPTIONS header not declared", old: "            method.response.header.Access-Control-Max-Age: false\n", new: "", fails: "OPTIONS methods"},
	{name: "OPTIONS missing", edit: deleteResource("OptionsJobIdMethod"), fails: "OPTIONS methods"},
	// permissions
	{name: "permission for every method", old: "${RestApiId}/*/GET/v1/jobs/*", new: "${RestApiId}/*/*/*", fails: "invoke permissions"},
	{name: "permission for the wrong function", old: "FunctionName: !Ref GetJobFn", new: "FunctionName: !Ref SubmitJobFn", fails: "invoke permissions"},
	{name: "permission missing", edit: deleteResource("GetJobFnInvokePermission"), fails: "invoke permissions"},
	{name: "permission for any principal", edit: setProp("SubmitJobFnInvokePermission", "Principal", "*"), fails: "invoke permissions"},
	// gateway responses
	{name: "no DEFAULT_5XX", edit: deleteResource("GatewayResponseDefault5XX"), fails: "gateway responses"},
	{name: "DEFAULT_4XX without CORS", edit: func(t *samtemplate.Template) {
		delete(t.Resources["GatewayResponseDefault4XX"].Properties["ResponseParameters"].(map[string]any), "gatewayresponse.header.Access-Control-Allow-Origin")
	}, fails: "gateway responses"},
	// table
	{name: "provisioned billing", old: "BillingMode: PAY_PER_REQUEST", new: "BillingMode: PROVISIONED", fails: "jobs table"},
	{name: "no PITR", old: "PointInTimeRecoveryEnabled: true", new: "PointInTimeRecoveryEnabled: false", fails: "jobs table"},
	{name: "no deletion protection", old: "DeletionProtectionEnabled: true", new: "DeletionProtectionEnabled: false", fails: "jobs table"},
	{name: "table deleted with the stack", edit: setAttr("JobsTable", func(r *samtemplate.Resource) { r.DeletionPolicy = "Delete" }), fails: "jobs table"},
	{name: "table deleted on replacement", edit: setAttr("JobsTable", func(r *samtemplate.Resource) { r.UpdateReplacePolicy = "Delete" }), fails: "jobs table"},
	{name: "TTL on another attribute", old: "AttributeName: expiresAt", new: "AttributeName: ttl", fails: "jobs table"},
	{name: "TTL off", old: "        AttributeName: expiresAt\n        Enabled: true", new: "        AttributeName: expiresAt\n        Enabled: false", fails: "jobs table"},
	{name: "table name", old: "TableName: !Sub Jobs-${Stage}", new: "TableName: !Sub jobs-${Stage}", fails: "jobs table"},
	{name: "byOwner sorted by another key", old: "            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: createdAt, KeyType: RANGE }",
		new: "            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: status, KeyType: RANGE }", fails: "jobs table"},
	{name: "byStatus missing", old: "        - IndexName: byStatus\n", new: "        - IndexName: byState\n", fails: "jobs table"},
	{name: "table key", old: "        - { AttributeName: jobId, KeyType: HASH }", new: "        - { AttributeName: id, KeyType: HASH }", fails: "jobs table"},
	// template vs internal/dynamodb
	{name: "projection differs from the code's", old: "        - IndexName: byOwner\n          KeySchema:\n            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: createdAt, KeyType: RANGE }\n          Projection: { ProjectionType: ALL }",
		new: "        - IndexName: byOwner\n          KeySchema:\n            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: createdAt, KeyType: RANGE }\n          Projection: { ProjectionType: KEYS_ONLY }", fails: "table definition"},
	{name: "attribute the code does not define", old: "        - { AttributeName: createdAt, AttributeType: S }", new: "        - { AttributeName: createdAt, AttributeType: N }", fails: "table definition"},
}

func TestRepoTemplateMutations(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]func(*samtemplate.Template) error{}
	for _, c := range repoChecks {
		checks[c.name] = c.check
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			check, ok := checks[m.fails]
			if !ok {
				t.Fatalf("no check named %q", m.fails)
			}
			tpl := mutate(t, string(text), m)
			if err := check(tpl); err == nil {
				t.Errorf("check %q passed on the mutated template, want it to fail", m.fails)
			} else {
				t.Logf("%s: %v", m.fails, err)
			}
		})
	}
}

// TestEveryRepoCheckCanFail keeps the mutation table honest: each check
// must be broken by at least one mutation.
func TestEveryRepoCheckCanFail(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, m := range mutations {
		covered[m.fails] = true
	}
	for _, c := range repoChecks {
		if !covered[c.name] {
			t.Errorf("check %q has no mutation that makes it fail", c.name)
		}
	}
}

func mutate(t *testing.T, text string, m mutation) *samtemplate.Template {
	t.Helper()
	if m.old != "" {
		if n := strings.Count(text, m.old); n != 1 {
			t.Fatalf("mutation text %q occurs %d times in template.yaml, want 1", m.old, n)
		}
		text = strings.Replace(text, m.old, m.new, 1)
	}
	tpl, err := samtemplate.Parse([]byte(text))
	if err != nil {
		t.Fatalf("mutated template does not parse: %v", err)
	}
	if m.edit != nil {
		m.edit(tpl)
	}
	return tpl
}

// ---------------------------------------------------------------- mutations

func addResource(id, typ string, props map[string]any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		t.Resources[id] = samtemplate.Resource{Type: typ, Properties: props}
	}
}

func deleteResource(id string) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) { delete(t.Resources, id) }
}

func setProp(id, key string, v any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) { t.Resources[id].Properties[key] = v }
}

func deleteProp(id, key string) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) { delete(t.Resources[id].Properties, key) }
}

func setAttr(id string, f func(*samtemplate.Resource)) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		r := t.Resources[id]
		f(&r)
		t.Resources[id] = r
	}
}

func setIntegration(id, key string, v any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		t.Resources[id].Properties["Integration"].(map[string]any)[key] = v
	}
}

func editStatement(fn string, i int, key string, v any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		doc := t.Resources[fn].Properties["Policies"].([]any)[0].(map[string]any)
		doc["Statement"].([]any)[i].(map[string]any)[key] = v
	}
}

func addPolicy(fn string, p any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		props := t.Resources[fn].Properties
		props["Policies"] = append(props["Policies"].([]any), p)
	}
}

func addFunction(id string) func(*samtemplate.Template) {
	return addResourceWithMetadata(id, "AWS::Serverless::Function",
		map[string]any{"CodeUri": ".", "Policies": []any{map[string]any{"Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "dynamodb:Query", "Resource": map[string]any{"Fn::Sub": "${JobsTable.Arn}/index/byOwner"}}}}}},
		map[string]any{"BuildMethod": "makefile"})
}

func addResourceWithMetadata(id, typ string, props, md map[string]any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		t.Resources[id] = samtemplate.Resource{Type: typ, Properties: props, Metadata: md}
	}
}

// ---------------------------------------------------------------- checks

// checkNoRestAPI: this stack extends the existing REST API; it must not
// create an API, explicitly or through a SAM function event.
func checkNoRestAPI(t *samtemplate.Template) error {
	var errs []error
	for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"} {
		for _, id := range samtemplate.ResourcesOfType(t, typ) {
			errs = append(errs, fmt.Errorf("%s is an %s: this stack must not create an API", id, typ))
		}
	}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		props, err := samtemplate.FunctionProperties(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events, _ := props["Events"].(map[string]any)
		for _, name := range sortedKeys(events) {
			e, _ := events[name].(map[string]any)
			if typ := e["Type"]; typ == "Api" || typ == "HttpApi" {
				errs = append(errs, fmt.Errorf("%s event %s is of type %v: SAM would create an implicit API", id, name, typ))
			}
		}
	}
	return errors.Join(errs...)
}

// checkFunctionConfig: every function as SAM will build and run it.
func checkFunctionConfig(t *samtemplate.Template) error {
	var errs []error
	fns := samtemplate.ResourcesOfType(t, "AWS::Serverless::Function")
	if len(fns) == 0 {
		return errors.New("no AWS::Serverless::Function")
	}
	for _, id := range fns {
		props, err := samtemplate.FunctionProperties(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"MemorySize":    float64(256),
			"Handler":       "bootstrap",
		}
		for _, k := range sortedKeys(want) {
			if got := props[k]; !reflect.DeepEqual(got, want[k]) {
				errs = append(errs, fmt.Errorf("%s %s = %s, want %s", id, k, samtemplate.Render(got), samtemplate.Render(want[k])))
			}
		}
		if got := t.Resources[id].Metadata["BuildMethod"]; got != "makefile" {
			errs = append(errs, fmt.Errorf("%s Metadata.BuildMethod = %v, want makefile", id, got))
		}
		if got, ok := props["Timeout"].(float64); !ok || got >= apiGatewayLimitSeconds {
			errs = append(errs, fmt.Errorf("%s Timeout = %v, want a number under API Gateway's %d s", id, props["Timeout"], apiGatewayLimitSeconds))
		}
	}
	return errors.Join(errs...)
}

// checkFunctionIAM: each function's grants are exactly wantGrants[fn]:
// no other action, no other resource, no "*", no managed policy, no role
// of its own.
func checkFunctionIAM(t *samtemplate.Template) error {
	var errs []error
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		want, ok := wantGrants[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no IAM expectation in wantGrants; add its least-privilege grants", id))
			continue
		}
		got, err := samtemplate.FunctionPolicyActions(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for action, resources := range got {
			for _, r := range resources {
				if r == "*" || strings.Contains(action, "*") {
					errs = append(errs, fmt.Errorf("%s: %s on %s: wildcards are not least privilege", id, action, r))
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			errs = append(errs, fmt.Errorf("%s grants\n  %v\nwant exactly\n  %v", id, got, want))
		}
	}
	for id := range wantGrants {
		if r, ok := t.Resources[id]; !ok || r.Type != "AWS::Serverless::Function" {
			errs = append(errs, fmt.Errorf("%s: expected an AWS::Serverless::Function", id))
		}
	}
	return errors.Join(errs...)
}

// checkMakefileTargets: SAM's makefile builder runs `make build-<LogicalId>`.
func checkMakefileTargets(t *samtemplate.Template) error {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		if !regexp.MustCompile(`(?m)^build-` + regexp.QuoteMeta(id) + `:`).Match(mk) {
			errs = append(errs, fmt.Errorf("Makefile has no build-%s target for SAM's makefile builder", id))
		}
	}
	return errors.Join(errs...)
}

// checkAPIMethods: each non-OPTIONS method is a Cognito-authorized Lambda
// proxy method on the expected path and function of wantMethods.
func checkAPIMethods(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Method") {
		p := t.Resources[id].Properties
		if p["HttpMethod"] == "OPTIONS" {
			continue
		}
		want, ok := wantMethods[id]
		if !ok {
			bad("%s (%v): not in wantMethods; add its verb, path and function", id, p["HttpMethod"])
			continue
		}
		if p["HttpMethod"] != want.verb {
			bad("%s HttpMethod = %v, want %s", id, p["HttpMethod"], want.verb)
		}
		if got := samtemplate.Render(p["RestApiId"]); got != "!Ref RestApiId" {
			bad("%s RestApiId = %s, want !Ref RestApiId (the existing API)", id, got)
		}
		if path, err := samtemplate.ResourcePath(t, p["ResourceId"], externalResources); err != nil || path != want.path {
			bad("%s path = %q (%v), want %s", id, path, err, want.path)
		}
		if p["AuthorizationType"] != "COGNITO_USER_POOLS" {
			bad("%s AuthorizationType = %v, want COGNITO_USER_POOLS", id, p["AuthorizationType"])
		}
		if p["AuthorizerId"] == nil {
			bad("%s has no AuthorizerId", id)
		}
		integ, _ := p["Integration"].(map[string]any)
		if integ["Type"] != "AWS_PROXY" || integ["IntegrationHttpMethod"] != "POST" {
			bad("%s Integration Type/IntegrationHttpMethod = %v/%v, want AWS_PROXY/POST", id, integ["Type"], integ["IntegrationHttpMethod"])
		}
		if fn, err := samtemplate.IntegrationFunction(t, id); err != nil || fn != want.function {
			bad("%s invokes %q (%v), want %s", id, fn, err, want.function)
		}
		// A method on a resource of the existing API (POST /v1/jobs) may have
		// existed before this stack and must outlive the stack letting go of
		// it (ManagePostMethod=false): deleting it would break production.
		// Resource import needs a DeletionPolicy as well.
		if name, arg, _ := samtemplate.IntrinsicName(p["ResourceId"]); name == "Ref" && externalResources[fmt.Sprint(arg)] != "" {
			if got := t.Resources[id].DeletionPolicy; got != "Retain" {
				bad("%s is on the existing API's %s but DeletionPolicy = %q, want Retain", id, externalResources[fmt.Sprint(arg)], got)
			}
		}
	}
	for _, id := range sortedKeys(wantMethods) {
		if _, ok := t.Resources[id]; !ok && !wantMethods[id].optional {
			bad("%s is missing", id)
		}
	}
	return errors.Join(errs...)
}

// checkOptionsMethods: every API resource this stack creates answers CORS
// preflight with a MOCK OPTIONS method without authorization (browsers send
// no token on preflight), allowing exactly the resource's methods, and
// echoing only allowed origins.
func checkOptionsMethods(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	// verbs by resource (Render of ResourceId)
	verbs := map[string][]string{}
	options := map[string]string{}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Method") {
		p := t.Resources[id].Properties
		res := samtemplate.Render(p["ResourceId"])
		verb, _ := p["HttpMethod"].(string)
		verbs[res] = append(verbs[res], verb)
		if verb == "OPTIONS" {
			options[res] = id
		}
	}
	for _, rid := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Resource") {
		res := "!Ref " + rid
		if len(verbs[res]) > 0 && options[res] == "" {
			bad("resource %s has methods %v but no OPTIONS method for CORS preflight", rid, verbs[res])
		}
	}
	for _, res := range sortedKeys(options) {
		id := options[res]
		p := t.Resources[id].Properties
		if p["AuthorizationType"] != "NONE" || p["AuthorizerId"] != nil || p["ApiKeyRequired"] == true {
			bad("%s must not require authorization: AuthorizationType=%v AuthorizerId=%v ApiKeyRequired=%v",
				id, p["AuthorizationType"], samtemplate.Render(p["AuthorizerId"]), p["ApiKeyRequired"])
		}
		integ, _ := p["Integration"].(map[string]any)
		if integ["Type"] != "MOCK" {
			bad("%s Integration.Type = %v, want MOCK", id, integ["Type"])
		}
		reqTpl, _ := integ["RequestTemplates"].(map[string]any)
		if s, _ := reqTpl["application/json"].(string); !strings.Contains(s, `"statusCode": 204`) {
			bad("%s RequestTemplates application/json = %q, want it to select status 204", id, s)
		}
		var resp map[string]any
		for _, r := range asList(integ["IntegrationResponses"]) {
			if m, _ := r.(map[string]any); m["StatusCode"] == "204" {
				resp = m
			}
		}
		if resp == nil {
			bad("%s has no 204 integration response", id)
			continue
		}
		params, _ := resp["ResponseParameters"].(map[string]any)
		header := func(h string) string {
			s, _ := params["method.response.header."+h].(string)
			return strings.Trim(s, "'")
		}
		allowed := strings.Split(header("Access-Control-Allow-Methods"), ",")
		sort.Strings(allowed)
		wantVerbs := append([]string(nil), verbs[res]...)
		sort.Strings(wantVerbs)
		if !reflect.DeepEqual(allowed, wantVerbs) {
			bad("%s Access-Control-Allow-Methods = %v, want the resource's methods %v", id, allowed, wantVerbs)
		}
		for _, h := range []string{"Authorization", "Content-Type"} {
			if !contains(strings.Split(header("Access-Control-Allow-Headers"), ","), h) {
				bad("%s Access-Control-Allow-Headers = %q lacks %s", id, header("Access-Control-Allow-Headers"), h)
			}
		}
		if header("Vary") != "Origin" {
			bad("%s Vary = %q, want Origin", id, header("Vary"))
		}
		if _, static := params["method.response.header.Access-Control-Allow-Origin"]; static {
			bad("%s sets a static Access-Control-Allow-Origin; it must echo only allowed origins", id)
		}
		respTpl, _ := resp["ResponseTemplates"].(map[string]any)
		vtl := samtemplate.Render(respTpl["application/json"])
		if !strings.Contains(vtl, "${AllowedOrigins}") || !strings.Contains(vtl, "$context.responseOverride.header.Access-Control-Allow-Origin = $origin") {
			bad("%s response template must set Access-Control-Allow-Origin to the Origin only when it is in AllowedOrigins; got %s", id, vtl)
		}
		declared := map[string]bool{}
		for _, mr := range asList(p["MethodResponses"]) {
			if m, _ := mr.(map[string]any); m["StatusCode"] == "204" {
				rp, _ := m["ResponseParameters"].(map[string]any)
				for k := range rp {
					declared[k] = true
				}
			}
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
			if !declared["method.response.header."+h] {
				bad("%s MethodResponses 204 does not declare %s, so API Gateway would not send it", id, h)
			}
		}
	}
	return errors.Join(errs...)
}

// checkInvokePermissions: each Lambda method's function may be invoked by
// API Gateway for that method and path only (any stage), and no permission
// is broader.
func checkInvokePermissions(t *samtemplate.Template) error {
	var errs []error
	allowed := map[string]string{} // SourceArn -> function
	for id, want := range wantMethods {
		if _, ok := t.Resources[id]; ok || want.optional {
			allowed[samtemplate.MethodSourceArn("RestApiId", want.verb, want.path)] = want.function
		}
	}
	found := map[string]bool{}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Lambda::Permission") {
		p := t.Resources[id].Properties
		name, arg, _ := samtemplate.IntrinsicName(p["SourceArn"])
		arn, _ := arg.(string)
		fn := samtemplate.Render(p["FunctionName"])
		switch {
		case p["Principal"] != "apigateway.amazonaws.com" || p["Action"] != "lambda:InvokeFunction":
			errs = append(errs, fmt.Errorf("%s: Principal/Action = %v/%v, want apigateway.amazonaws.com/lambda:InvokeFunction", id, p["Principal"], p["Action"]))
		case name != "Fn::Sub" || allowed[arn] == "":
			errs = append(errs, fmt.Errorf("%s SourceArn = %s: not one method's ARN (want one of %v)", id, samtemplate.Render(p["SourceArn"]), sortedKeys(allowed)))
		case fn != "!Ref "+allowed[arn]:
			errs = append(errs, fmt.Errorf("%s FunctionName = %s, want !Ref %s for %s", id, fn, allowed[arn], arn))
		default:
			found[arn] = true
		}
	}
	for _, arn := range sortedKeys(allowed) {
		if !found[arn] {
			errs = append(errs, fmt.Errorf("no permission lets API Gateway invoke %s from %s", allowed[arn], arn))
		}
	}
	return errors.Join(errs...)
}

// checkGatewayResponses: errors API Gateway answers itself (authorizer 401,
// 403, 429, 5xx) carry CORS headers so the dashboards can read them.
func checkGatewayResponses(t *samtemplate.Template) error {
	var errs []error
	byType := map[string]map[string]any{}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::GatewayResponse") {
		p := t.Resources[id].Properties
		if samtemplate.Render(p["RestApiId"]) != "!Ref RestApiId" {
			errs = append(errs, fmt.Errorf("%s is not on the existing API", id))
		}
		rt, _ := p["ResponseType"].(string)
		byType[rt] = p
	}
	for _, rt := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
		p, ok := byType[rt]
		if !ok {
			errs = append(errs, fmt.Errorf("no gateway response %s", rt))
			continue
		}
		params, _ := p["ResponseParameters"].(map[string]any)
		if params["gatewayresponse.header.Access-Control-Allow-Origin"] == nil {
			errs = append(errs, fmt.Errorf("gateway response %s has no Access-Control-Allow-Origin", rt))
		}
		if params["gatewayresponse.header.Vary"] != "'Origin'" {
			errs = append(errs, fmt.Errorf("gateway response %s Vary = %v, want 'Origin'", rt, params["gatewayresponse.header.Vary"]))
		}
		tpls, _ := p["ResponseTemplates"].(map[string]any)
		if s, _ := tpls["application/json"].(string); !strings.Contains(s, `{"error":{"code":`) {
			errs = append(errs, fmt.Errorf("gateway response %s body %q is not the API's error shape", rt, s))
		}
	}
	return errors.Join(errs...)
}

// checkJobsTable: the table's keys, indexes and protection.
func checkJobsTable(t *samtemplate.Template) error {
	r, ok := t.Resources["JobsTable"]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		return errors.New("JobsTable: want an AWS::DynamoDB::Table")
	}
	var errs []error
	want := func(what string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			errs = append(errs, fmt.Errorf("JobsTable %s = %s, want %s", what, samtemplate.Render(got), samtemplate.Render(want)))
		}
	}
	p := r.Properties
	want("TableName", p["TableName"], map[string]any{"Fn::Sub": "Jobs-${Stage}"})
	want("BillingMode", p["BillingMode"], "PAY_PER_REQUEST")
	want("PointInTimeRecoverySpecification", p["PointInTimeRecoverySpecification"], map[string]any{"PointInTimeRecoveryEnabled": true})
	want("DeletionProtectionEnabled", p["DeletionProtectionEnabled"], true)
	want("DeletionPolicy", r.DeletionPolicy, "Retain")
	want("UpdateReplacePolicy", r.UpdateReplacePolicy, "Retain")
	want("TimeToLiveSpecification", p["TimeToLiveSpecification"], map[string]any{"AttributeName": jobsddb.AttrExpiresAt, "Enabled": true})
	td := tableShape(p)
	want("key", td.key, []string{"jobId HASH"})
	want("indexes", td.indexes, map[string][]string{
		"byStatus": {"status HASH", "createdAt RANGE"},
		"byOwner":  {"ownerId HASH", "createdAt RANGE"},
	})
	return errors.Join(errs...)
}

// checkTableDefinition: tests and local runs create the table from
// internal/dynamodb.TableDefinition; it must be the template's table.
func checkTableDefinition(t *samtemplate.Template) error {
	r, ok := t.Resources["JobsTable"]
	if !ok {
		return errors.New("no JobsTable")
	}
	got := tableShape(r.Properties)
	def := jobsddb.TableDefinition("Jobs-test")
	want := table{attrs: map[string]string{}, indexes: map[string][]string{}, projections: map[string]string{}, billing: string(def.BillingMode)}
	for _, a := range def.AttributeDefinitions {
		want.attrs[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	for _, k := range def.KeySchema {
		want.key = append(want.key, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	for _, g := range def.GlobalSecondaryIndexes {
		name := aws.ToString(g.IndexName)
		for _, k := range g.KeySchema {
			want.indexes[name] = append(want.indexes[name], aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		want.projections[name] = string(g.Projection.ProjectionType)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("template JobsTable\n  %+v\ndiffers from dynamodb.TableDefinition\n  %+v", got, want)
	}
	return nil
}

// table is the part of a table definition the code depends on.
type table struct {
	attrs       map[string]string   // name -> type
	key         []string            // "name KEYTYPE"
	indexes     map[string][]string // GSI name -> key
	projections map[string]string   // GSI name -> projection type
	billing     string
}

func tableShape(p map[string]any) table {
	tb := table{attrs: map[string]string{}, indexes: map[string][]string{}, projections: map[string]string{}}
	tb.billing, _ = p["BillingMode"].(string)
	for _, a := range asList(p["AttributeDefinitions"]) {
		m, _ := a.(map[string]any)
		name, _ := m["AttributeName"].(string)
		tb.attrs[name], _ = m["AttributeType"].(string)
	}
	keys := func(v any) []string {
		var out []string
		for _, k := range asList(v) {
			m, _ := k.(map[string]any)
			out = append(out, fmt.Sprint(m["AttributeName"], " ", m["KeyType"]))
		}
		return out
	}
	tb.key = keys(p["KeySchema"])
	for _, g := range asList(p["GlobalSecondaryIndexes"]) {
		m, _ := g.(map[string]any)
		name, _ := m["IndexName"].(string)
		tb.indexes[name] = keys(m["KeySchema"])
		proj, _ := m["Projection"].(map[string]any)
		tb.projections[name], _ = proj["ProjectionType"].(string)
	}
	return tb
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if strings.TrimSpace(e) == s {
			return true
		}
	}
	return false
}
