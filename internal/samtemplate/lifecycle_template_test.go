package samtemplate_test

// Template assertions for the job lifecycle resources (issue 5): ListJobsFn,
// CancelJobFn, UpdateJobFn, the status-events queues, their routes and
// permissions. Each check is also run against a broken copy of the template
// to prove it can fail.

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/samtemplate"
)

type lcCheck func(tpl *samtemplate.Template) []string

// lcStatements returns a function's IAM statements (from Policies:
// - Statement: [...]), and any other kind of policy entry as an error.
func lcStatements(tpl *samtemplate.Template, fn string) ([]map[string]any, []string) {
	res, ok := tpl.Resources[fn]
	if !ok {
		return nil, []string{fn + " is missing"}
	}
	var out []map[string]any
	var errs []string
	pols, _ := res.Properties["Policies"].([]any)
	for _, p := range pols {
		m, ok := p.(map[string]any)
		st, ok2 := m["Statement"].([]any)
		if !ok || !ok2 || len(m) != 1 {
			errs = append(errs, fmt.Sprintf("%s: policy entry %v is not an inline statement list", fn, p))
			continue
		}
		for _, s := range st {
			out = append(out, s.(map[string]any))
		}
	}
	return out, errs
}

// lcGrant is one allowed action on one resource, intrinsics rendered as JSON.
func lcGrants(tpl *samtemplate.Template, fn string) ([]string, []string) {
	sts, errs := lcStatements(tpl, fn)
	var grants []string
	for _, s := range sts {
		if s["Effect"] != "Allow" {
			errs = append(errs, fmt.Sprintf("%s: statement %v is not an Allow", fn, s))
		}
		if _, ok := s["Condition"]; ok {
			errs = append(errs, fmt.Sprintf("%s: unexpected Condition", fn))
		}
		for _, a := range lcList(s["Action"]) {
			for _, r := range lcList(s["Resource"]) {
				b, _ := json.Marshal(r)
				grants = append(grants, fmt.Sprintf("%v on %s", a, b))
			}
		}
	}
	slices.Sort(grants)
	return grants, errs
}

func lcList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

const (
	lcTable   = `{"Fn::GetAtt":["JobsTable","Arn"]}`
	lcQueue   = `{"Fn::GetAtt":["StatusEventsQueue","Arn"]}`
	lcByOwner = `{"Fn::Sub":"${JobsTable.Arn}/index/byOwner"}`
	lcByState = `{"Fn::Sub":"${JobsTable.Arn}/index/byStatus"}`
)

var lcWantGrants = map[string][]string{
	"ListJobsFn": {
		"dynamodb:BatchGetItem on " + lcTable,
		"dynamodb:Query on " + lcByOwner,
		"dynamodb:Query on " + lcByState,
	},
	"CancelJobFn": {
		"dynamodb:GetItem on " + lcTable,
		"dynamodb:PutItem on " + lcTable,
	},
	"UpdateJobFn": {
		"dynamodb:GetItem on " + lcTable,
		"dynamodb:PutItem on " + lcTable,
		"sqs:DeleteMessage on " + lcQueue,
		"sqs:GetQueueAttributes on " + lcQueue,
		"sqs:ReceiveMessage on " + lcQueue,
	},
}

// checkLifecycleIAM: each new function may do exactly what it needs, has no
// managed policies or SAM events (an SQS event would attach
// AWSLambdaSQSQueueExecutionRole, on every queue), is built by the Makefile
// and logs to its own group with retention.
func checkLifecycleIAM(tpl *samtemplate.Template) []string {
	var bad []string
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		return []string{err.Error()}
	}
	for fn, want := range lcWantGrants {
		got, errs := lcGrants(tpl, fn)
		bad = append(bad, errs...)
		if !slices.Equal(got, want) {
			bad = append(bad, fmt.Sprintf("%s grants\n  %v\nwant\n  %v", fn, got, want))
		}
		p := tpl.Resources[fn].Properties
		for _, forbidden := range []string{"Events", "Role", "ManagedPolicyArns"} {
			if _, ok := p[forbidden]; ok {
				bad = append(bad, fmt.Sprintf("%s has %s", fn, forbidden))
			}
		}
		if tpl.Resources[fn].Metadata["BuildMethod"] != "makefile" || !strings.Contains(string(mk), "\nbuild-"+fn+":") {
			bad = append(bad, fn+" is not built by a Makefile build-"+fn+" target")
		}
		lg, _ := p["LoggingConfig"].(map[string]any)
		group := tpl.Resources[fn+"Logs"]
		if !reflect.DeepEqual(lg["LogGroup"], map[string]any{"Ref": fn + "Logs"}) || group.Type != "AWS::Logs::LogGroup" ||
			!reflect.DeepEqual(group.Properties["RetentionInDays"], map[string]any{"Ref": "LogRetentionDays"}) {
			bad = append(bad, fn+" does not log to its own log group with retention")
		}
	}
	return bad
}

// checkCursorKey: the list cursor key is a generated secret resolved at
// deploy time, never a literal.
func checkCursorKey(tpl *samtemplate.Template) []string {
	var bad []string
	env, _ := tpl.Resources["ListJobsFn"].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if !reflect.DeepEqual(vars["CURSOR_KEY"], map[string]any{"Fn::Sub": "{{resolve:secretsmanager:${CursorKeySecret}:SecretString}}"}) {
		bad = append(bad, fmt.Sprintf("ListJobsFn CURSOR_KEY = %v, want a dynamic reference to CursorKeySecret", vars["CURSOR_KEY"]))
	}
	sec := tpl.Resources["CursorKeySecret"]
	gen, _ := sec.Properties["GenerateSecretString"].(map[string]any)
	if n, _ := gen["PasswordLength"].(float64); sec.Type != "AWS::SecretsManager::Secret" || n < 32 {
		bad = append(bad, "CursorKeySecret is not a generated secret of at least 32 characters")
	}
	if _, ok := sec.Properties["SecretString"]; ok {
		bad = append(bad, "CursorKeySecret has a literal SecretString")
	}
	return bad
}

// checkStatusQueue: encrypted queues, a DLQ with a bounded maxReceiveCount,
// a visibility timeout of at least six function timeouts, partial batch
// responses, and an alarm on the DLQ.
func checkStatusQueue(tpl *samtemplate.Template) []string {
	var bad []string
	q, dlq := tpl.Resources["StatusEventsQueue"], tpl.Resources["StatusEventsDLQ"]
	for id, r := range map[string]samtemplate.Resource{"StatusEventsQueue": q, "StatusEventsDLQ": dlq} {
		if r.Type != "AWS::SQS::Queue" || r.Properties["SqsManagedSseEnabled"] != true {
			bad = append(bad, id+" is not an SQS queue with managed SSE")
		}
	}
	rp, _ := q.Properties["RedrivePolicy"].(map[string]any)
	if n, _ := rp["maxReceiveCount"].(float64); n < 2 || n > 10 ||
		!reflect.DeepEqual(rp["deadLetterTargetArn"], map[string]any{"Fn::GetAtt": []any{"StatusEventsDLQ", "Arn"}}) {
		bad = append(bad, fmt.Sprintf("StatusEventsQueue RedrivePolicy = %v, want the DLQ with maxReceiveCount 2-10", rp))
	}
	timeout := 3.0 // Lambda's default
	if g, ok := tpl.Globals["Function"].(map[string]any); ok {
		if v, ok := g["Timeout"].(float64); ok {
			timeout = v
		}
	}
	if v, ok := tpl.Resources["UpdateJobFn"].Properties["Timeout"].(float64); ok {
		timeout = v
	}
	if vt, _ := q.Properties["VisibilityTimeout"].(float64); vt < 6*timeout {
		bad = append(bad, fmt.Sprintf("VisibilityTimeout %v < 6 × UpdateJobFn's timeout %v", vt, timeout))
	}
	esm := tpl.Resources["UpdateJobFnStatusEvents"]
	p := esm.Properties
	if esm.Type != "AWS::Lambda::EventSourceMapping" ||
		!reflect.DeepEqual(p["EventSourceArn"], map[string]any{"Fn::GetAtt": []any{"StatusEventsQueue", "Arn"}}) ||
		!reflect.DeepEqual(p["FunctionName"], map[string]any{"Ref": "UpdateJobFn"}) ||
		!reflect.DeepEqual(p["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
		bad = append(bad, fmt.Sprintf("UpdateJobFnStatusEvents = %v, want StatusEventsQueue → UpdateJobFn with ReportBatchItemFailures", p))
	}
	if n, _ := p["BatchSize"].(float64); n < 1 || n > 10 {
		bad = append(bad, fmt.Sprintf("BatchSize %v, want 1-10", p["BatchSize"]))
	}
	alarm := tpl.Resources["StatusEventsDLQAlarm"]
	dims, _ := alarm.Properties["Dimensions"].([]any)
	if alarm.Type != "AWS::CloudWatch::Alarm" || len(dims) != 1 ||
		!reflect.DeepEqual(dims[0], map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{"StatusEventsDLQ", "QueueName"}}}) {
		bad = append(bad, "no alarm on the status-events DLQ")
	}
	return bad
}

type lcRoute struct {
	id, resource, verb, fn, permissionPath string
	condition                              string
}

var lcRoutes = []lcRoute{
	{id: "ListJobsMethod", resource: `{"Ref":"JobsResourceId"}`, verb: "GET", fn: "ListJobsFn", permissionPath: "GET/v1/jobs"},
	{id: "CancelJobMethod", resource: `{"Ref":"JobCancelResource"}`, verb: "POST", fn: "CancelJobFn", permissionPath: "POST/v1/jobs/*/cancel"},
}

// checkLifecycleRoutes: Cognito-authorized proxy methods on the right
// resources, each function invocable only by its own method, the cancel
// resource under {id}, and preflight (MOCK, no auth) for the new resources;
// the collection's preflight only when this stack owns the collection's POST.
func checkLifecycleRoutes(tpl *samtemplate.Template) []string {
	var bad []string
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, r := range lcRoutes {
		m := tpl.Resources[r.id]
		p := m.Properties
		integ, _ := p["Integration"].(map[string]any)
		uri := js(integ["Uri"])
		if m.Type != "AWS::ApiGateway::Method" || p["HttpMethod"] != r.verb || js(p["ResourceId"]) != r.resource ||
			p["AuthorizationType"] != "COGNITO_USER_POOLS" || integ["Type"] != "AWS_PROXY" || integ["IntegrationHttpMethod"] != "POST" ||
			!strings.Contains(uri, "${"+r.fn+".Arn}/invocations") || m.Condition != r.condition {
			bad = append(bad, fmt.Sprintf("%s: want %s on %s with Cognito, proxying to %s", r.id, r.verb, r.resource, r.fn))
		}
		var perms []string
		for id, res := range tpl.Resources {
			if res.Type == "AWS::Lambda::Permission" && reflect.DeepEqual(res.Properties["FunctionName"], map[string]any{"Ref": r.fn}) {
				perms = append(perms, id)
				want := "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApiId}/*/" + r.permissionPath
				if !reflect.DeepEqual(res.Properties["SourceArn"], map[string]any{"Fn::Sub": want}) || res.Properties["Principal"] != "apigateway.amazonaws.com" {
					bad = append(bad, fmt.Sprintf("%s SourceArn = %v, want %s", id, res.Properties["SourceArn"], want))
				}
			}
		}
		if len(perms) != 1 {
			bad = append(bad, fmt.Sprintf("%s has %d invoke permissions, want 1", r.fn, len(perms)))
		}
	}
	cancel := tpl.Resources["JobCancelResource"].Properties
	if !reflect.DeepEqual(cancel["ParentId"], map[string]any{"Ref": "JobIdResource"}) || cancel["PathPart"] != "cancel" {
		bad = append(bad, "JobCancelResource is not /v1/jobs/{id}/cancel")
	}
	for _, o := range []struct{ id, resource, methods, headers, condition string }{
		{"OptionsJobCancelMethod", `{"Ref":"JobCancelResource"}`, "'POST,OPTIONS'", "'Authorization,Content-Type'", ""},
		{"OptionsJobsMethod", `{"Ref":"JobsResourceId"}`, "'GET,POST,OPTIONS'", "'Authorization,Content-Type,Idempotency-Key'", "OwnPostMethod"},
	} {
		m := tpl.Resources[o.id]
		integ, _ := m.Properties["Integration"].(map[string]any)
		irs, _ := integ["IntegrationResponses"].([]any)
		var params map[string]any
		if len(irs) == 1 {
			params, _ = irs[0].(map[string]any)["ResponseParameters"].(map[string]any)
		}
		tmpl := js(irs)
		if m.Properties["HttpMethod"] != "OPTIONS" || m.Properties["AuthorizationType"] != "NONE" || integ["Type"] != "MOCK" ||
			js(m.Properties["ResourceId"]) != o.resource || m.Condition != o.condition ||
			params["method.response.header.Access-Control-Allow-Methods"] != o.methods ||
			params["method.response.header.Access-Control-Allow-Headers"] != o.headers ||
			params["method.response.header.Vary"] != "'Origin'" || !strings.Contains(tmpl, `${AllowedOrigins}`) {
			bad = append(bad, fmt.Sprintf("%s: want an unauthorized MOCK preflight on %s allowing %s and %s, echoing only AllowedOrigins (condition %q)", o.id, o.resource, o.methods, o.headers, o.condition))
		}
	}
	return bad
}

var lcChecks = map[string]lcCheck{
	"IAM":        checkLifecycleIAM,
	"cursor key": checkCursorKey,
	"queue":      checkStatusQueue,
	"routes":     checkLifecycleRoutes,
}

func TestLifecycleTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, check := range lcChecks {
		for _, msg := range check(tpl) {
			t.Errorf("%s: %s", name, msg)
		}
	}
}

// TestLifecycleTemplateChecksCanFail breaks the template in one way at a
// time and expects the named check to notice.
func TestLifecycleTemplateChecksCanFail(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mutations := []struct {
		name, old, new, check string
	}{
		{"Scan on the table", "              Action: dynamodb:Query\n", "              Action: [dynamodb:Query, dynamodb:Scan]\n", "IAM"},
		{"Query on the whole table", "                - !Sub ${JobsTable.Arn}/index/byStatus\n", "                - !GetAtt JobsTable.Arn\n", "IAM"},
		{"cancel may delete", "              Action: [dynamodb:GetItem, dynamodb:PutItem]\n              Resource: !GetAtt JobsTable.Arn\n\n  CancelJobFnLogs",
			"              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem]\n              Resource: !GetAtt JobsTable.Arn\n\n  CancelJobFnLogs", "IAM"},
		{"consumer on every queue", "              Resource: !GetAtt StatusEventsQueue.Arn\n\n  UpdateJobFnLogs", "              Resource: \"*\"\n\n  UpdateJobFnLogs", "IAM"},
		{"SAM SQS event", "      LoggingConfig:\n        LogGroup: !Ref UpdateJobFnLogs\n",
			"      LoggingConfig:\n        LogGroup: !Ref UpdateJobFnLogs\n      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt StatusEventsQueue.Arn\n", "IAM"},
		{"no log retention", "      LogGroupName: !Sub /aws/lambda/jobs-api-${Stage}-UpdateJobFn\n      RetentionInDays: !Ref LogRetentionDays\n",
			"      LogGroupName: !Sub /aws/lambda/jobs-api-${Stage}-UpdateJobFn\n", "IAM"},
		{"literal cursor key", `CURSOR_KEY: !Sub "{{resolve:secretsmanager:${CursorKeySecret}:SecretString}}"`, `CURSOR_KEY: "0123456789abcdef0123456789abcdef"`, "cursor key"},
		{"short cursor key", "        PasswordLength: 64\n", "        PasswordLength: 8\n", "cursor key"},
		{"unencrypted queue", "      QueueName: !Sub jobs-api-${Stage}-status-events\n      SqsManagedSseEnabled: true\n", "      QueueName: !Sub jobs-api-${Stage}-status-events\n", "queue"},
		{"no DLQ", "        maxReceiveCount: 5\n", "        maxReceiveCount: 1000\n", "queue"},
		{"short visibility", "      VisibilityTimeout: 60\n", "      VisibilityTimeout: 30\n", "queue"},
		{"whole-batch retries", "      FunctionResponseTypes: [ReportBatchItemFailures]\n", "", "queue"},
		{"list without auth", "      OperationName: ListJobs\n      AuthorizationType: COGNITO_USER_POOLS\n", "      OperationName: ListJobs\n      AuthorizationType: NONE\n", "routes"},
		{"permission for any method", "${RestApiId}/*/POST/v1/jobs/*/cancel", "${RestApiId}/*/*/*", "routes"},
		{"cancel on the collection", "      ParentId: !Ref JobIdResource\n      PathPart: cancel\n", "      ParentId: !Ref JobsResourceId\n      PathPart: cancel\n", "routes"},
		{"collection preflight always owned", "    Condition: OwnPostMethod\n    Properties:\n      RestApiId: !Ref RestApiId\n      ResourceId: !Ref JobsResourceId\n      HttpMethod: OPTIONS\n",
			"    Properties:\n      RestApiId: !Ref RestApiId\n      ResourceId: !Ref JobsResourceId\n      HttpMethod: OPTIONS\n", "routes"},
		{"preflight without Idempotency-Key", "\"'Authorization,Content-Type,Idempotency-Key'\"", "\"'Authorization,Content-Type'\"", "routes"},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			if strings.Count(string(raw), m.old) != 1 {
				t.Fatalf("mutation anchor found %d times, want 1: %q", strings.Count(string(raw), m.old), m.old)
			}
			tpl, err := samtemplate.Parse([]byte(strings.Replace(string(raw), m.old, m.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if msgs := lcChecks[m.check](tpl); len(msgs) == 0 {
				t.Errorf("check %q passed a template with %s", m.check, m.name)
			}
		})
	}
}
