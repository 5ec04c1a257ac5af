package samtemplate_test

// Checks of the push resources: the table's stream, the AppSync Events API
// and its jobs namespace (who may connect, subscribe and publish), the
// publisher's event source mapping (retries, bisection, partial batch
// responses, an alarmed on-failure destination). PublishJobsFn's IAM is in
// wantGrants. Proven by mutations in the same table.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/internal/appsync"
)

func init() {
	repoChecks = append(repoChecks, repoCheck{"job events", checkJobEvents})
	mutations = append(mutations,
		mutation{name: "keys-only stream", in: "JobsTable", old: "StreamViewType: NEW_IMAGE", new: "StreamViewType: KEYS_ONLY",
			fails: "job events", why: "JobsTable StreamViewType = KEYS_ONLY"},
		mutation{name: "API keys may subscribe", in: "JobEventsApi", old: "DefaultSubscribeAuthModes: [{ AuthType: AMAZON_COGNITO_USER_POOLS }]", new: "DefaultSubscribeAuthModes: [{ AuthType: API_KEY }]",
			fails: "job events", why: "JobEventsApi DefaultSubscribeAuthModes"},
		mutation{name: "users may publish", in: "JobEventsNamespace", old: "PublishAuthModes: [{ AuthType: AWS_IAM }]", new: "PublishAuthModes: [{ AuthType: AWS_IAM }, { AuthType: AMAZON_COGNITO_USER_POOLS }]",
			fails: "job events", why: "JobEventsNamespace PublishAuthModes"},
		mutation{name: "another user pool", in: "JobEventsApi", old: `UserPoolId: !Select [1, !Split ["/", !Ref CognitoUserPoolArn]]`, new: `UserPoolId: us-east-1_other`,
			fails: "job events", why: "JobEventsApi Cognito provider"},
		mutation{name: "every app client", in: "JobEventsApi", old: "              AppIdClientRegex:", new: "              XAppIdClientRegex:",
			fails: "job events", why: "JobEventsApi Cognito provider"},
		mutation{name: "admin group hard-coded", in: "JobEventsNamespace", old: `const ADMIN_GROUP = "${AdminGroup}";`, new: `const ADMIN_GROUP = "admin";`,
			fails: "job events", why: "take the admin group from AdminGroup"},
		mutation{name: "no subscribe rule", in: "JobEventsNamespace", old: "export function onSubscribe(ctx)", new: "export function onSubscribeX(ctx)",
			fails: "job events", why: "no onSubscribe handler"},
		mutation{name: "namespace renamed", in: "JobEventsNamespace", old: "      Name: jobs\n", new: "      Name: job-events\n",
			fails: "job events", why: "JobEventsNamespace Name = job-events"},
		mutation{name: "no bisection", in: "PublishJobsFnJobChanges", old: "      BisectBatchOnFunctionError: true\n", new: "",
			fails: "job events", why: "BisectBatchOnFunctionError"},
		mutation{name: "whole-batch publish retries", in: "PublishJobsFnJobChanges", old: "      FunctionResponseTypes: [ReportBatchItemFailures]\n", new: "",
			fails: "job events", why: "FunctionResponseTypes"},
		mutation{name: "endless retries", in: "PublishJobsFnJobChanges", old: "MaximumRetryAttempts: 10", new: "MaximumRetryAttempts: -1",
			fails: "job events", why: "MaximumRetryAttempts"},
		mutation{name: "no failure destination", in: "PublishJobsFnJobChanges", old: "          Destination: !GetAtt JobEventsFailuresQueue.Arn\n", new: "          Destination: !GetAtt StatusEventsDLQ.Arn\n",
			fails: "job events", why: "DestinationConfig"},
		mutation{name: "failures unalarmed", edit: deleteResource("JobEventsFailuresAlarm"),
			fails: "job events", why: "no alarm on JobEventsFailuresQueue"},
		mutation{name: "batching delay", in: "PublishJobsFnJobChanges", old: "MaximumBatchingWindowInSeconds: 0", new: "MaximumBatchingWindowInSeconds: 5",
			fails: "job events", why: "MaximumBatchingWindowInSeconds"},
		mutation{name: "stream to the unaliased function", in: "PublishJobsFnJobChanges", old: "FunctionName: !Ref PublishJobsFnAliaslive", new: "FunctionName: !Ref PublishJobsFn",
			fails: "job events", why: "want the table's stream to PublishJobsFn's live alias"},
		mutation{name: "publisher reads the table", in: "PublishJobsFn", old: "              Resource: !GetAtt JobsTable.StreamArn\n", new: "              Resource: [!GetAtt JobsTable.StreamArn, !GetAtt JobsTable.Arn]\n",
			fails: "function IAM", why: "PublishJobsFn grants"},
		mutation{name: "publisher publishes anywhere", in: "PublishJobsFn", old: "              Resource: !GetAtt JobEventsNamespace.ChannelNamespaceArn\n", new: "              Resource: !Sub \"${JobEventsApi.ApiArn}/*\"\n",
			fails: "function IAM", why: "wildcards"},
	)
}

func checkJobEvents(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	getAtt := func(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
	modes := func(types ...string) []any {
		var out []any
		for _, ty := range types {
			out = append(out, map[string]any{"AuthType": ty})
		}
		return out
	}
	const cognito, iam = "AMAZON_COGNITO_USER_POOLS", "AWS_IAM"

	ss, _ := t.Resources["JobsTable"].Properties["StreamSpecification"].(map[string]any)
	if ss["StreamViewType"] != "NEW_IMAGE" {
		bad("JobsTable StreamViewType = %s, want NEW_IMAGE (the publisher needs the item each write left)", samtemplate.Render(ss["StreamViewType"]))
	}

	api := t.Resources["JobEventsApi"]
	if api.Type != "AWS::AppSync::Api" {
		return errors.Join(append(errs, errors.New("JobEventsApi: want an AWS::AppSync::Api"))...)
	}
	ec, _ := api.Properties["EventConfig"].(map[string]any)
	wantCognito := `{"AppIdClientRegex":{"Fn::If":["HasAppClientIds",{"Fn::Sub":["^(${Ids})$",{"Ids":{"Fn::Join":["|",{"Fn::Split":[",",{"Ref":"CognitoAppClientIds"}]}]}}]},{"Ref":"AWS::NoValue"}]},` +
		`"AwsRegion":{"Fn::Select":[3,{"Fn::Split":[":",{"Ref":"CognitoUserPoolArn"}]}]},"UserPoolId":{"Fn::Select":[1,{"Fn::Split":["/",{"Ref":"CognitoUserPoolArn"}]}]}}`
	providers, _ := ec["AuthProviders"].([]any)
	var types []string
	cognitoOK := false
	for _, p := range providers {
		pm, _ := p.(map[string]any)
		ty, _ := pm["AuthType"].(string)
		types = append(types, ty)
		if ty == cognito {
			b, _ := json.Marshal(pm["CognitoConfig"])
			cognitoOK = string(b) == wantCognito
		}
	}
	if !reflect.DeepEqual(types, []string{cognito, iam}) || !cognitoOK {
		bad("JobEventsApi Cognito provider: AuthProviders = %s, want the stack's user pool (CognitoUserPoolArn) and app clients (CognitoAppClientIds), and IAM, nothing else", samtemplate.Render(ec["AuthProviders"]))
	}
	for prop, want := range map[string][]any{"ConnectionAuthModes": modes(cognito), "DefaultSubscribeAuthModes": modes(cognito), "DefaultPublishAuthModes": modes(iam)} {
		if !reflect.DeepEqual(ec[prop], want) {
			bad("JobEventsApi %s = %s, want %s", prop, samtemplate.Render(ec[prop]), samtemplate.Render(want))
		}
	}

	ns := t.Resources["JobEventsNamespace"]
	np := ns.Properties
	if ns.Type != "AWS::AppSync::ChannelNamespace" || !reflect.DeepEqual(np["ApiId"], getAtt("JobEventsApi", "ApiId")) {
		bad("JobEventsNamespace: want an AWS::AppSync::ChannelNamespace of JobEventsApi")
	}
	if np["Name"] != appsync.Namespace {
		bad("JobEventsNamespace Name = %v, want %q (internal/appsync.Namespace: the channels the publisher writes)", np["Name"], appsync.Namespace)
	}
	if !reflect.DeepEqual(np["PublishAuthModes"], modes(iam)) {
		bad("JobEventsNamespace PublishAuthModes = %s, want IAM only (PublishJobsFn's role)", samtemplate.Render(np["PublishAuthModes"]))
	}
	if !reflect.DeepEqual(np["SubscribeAuthModes"], modes(cognito)) {
		bad("JobEventsNamespace SubscribeAuthModes = %s, want Cognito user pools only", samtemplate.Render(np["SubscribeAuthModes"]))
	}
	code, _ := np["CodeHandlers"].(string)
	if sub, ok := np["CodeHandlers"].(map[string]any); ok {
		code, _ = sub["Fn::Sub"].(string)
	}
	if !strings.Contains(code, `const ADMIN_GROUP = "${AdminGroup}";`) || !strings.Contains(code, "claims.token_use !== 'id'") {
		bad("JobEventsNamespace: the onSubscribe handler must take the admin group from AdminGroup and refuse all but ID tokens, as the functions do")
	}
	if !strings.Contains(code, "export function onSubscribe(ctx)") {
		bad("JobEventsNamespace: no onSubscribe handler: any signed-in user could subscribe to any channel")
	}
	if strings.Contains(code, "onPublish") {
		bad("JobEventsNamespace: an onPublish handler would change or drop the publisher's events")
	}

	var found []string
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Lambda::EventSourceMapping") {
		p := t.Resources[id].Properties
		if !reflect.DeepEqual(p["EventSourceArn"], getAtt("JobsTable", "StreamArn")) {
			continue
		}
		found = append(found, id)
		if !reflect.DeepEqual(p["FunctionName"], map[string]any{"Ref": "PublishJobsFnAliaslive"}) {
			bad("%s maps to %s, want the table's stream to PublishJobsFn's live alias", id, samtemplate.Render(p["FunctionName"]))
		}
		if p["StartingPosition"] != "TRIM_HORIZON" {
			bad("%s StartingPosition = %v, want TRIM_HORIZON (nothing committed before the mapping is skipped)", id, p["StartingPosition"])
		}
		if !reflect.DeepEqual(p["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
			bad("%s FunctionResponseTypes = %s, want [ReportBatchItemFailures]", id, samtemplate.Render(p["FunctionResponseTypes"]))
		}
		if p["BisectBatchOnFunctionError"] != true {
			bad("%s BisectBatchOnFunctionError = %v, want true", id, p["BisectBatchOnFunctionError"])
		}
		if n, _ := p["MaximumRetryAttempts"].(float64); n < 1 || n > 100 {
			bad("%s MaximumRetryAttempts = %v, want 1-100 (-1 retries a poisoned record until it expires, blocking its shard)", id, p["MaximumRetryAttempts"])
		}
		if n, _ := p["MaximumRecordAgeInSeconds"].(float64); n < 60 || n > 86400 {
			bad("%s MaximumRecordAgeInSeconds = %v, want 60-86400", id, p["MaximumRecordAgeInSeconds"])
		}
		if n, _ := p["MaximumBatchingWindowInSeconds"].(float64); n > 0 {
			bad("%s MaximumBatchingWindowInSeconds = %v, want 0: every second of batching is a second of latency", id, n)
		}
		dc, _ := p["DestinationConfig"].(map[string]any)
		of, _ := dc["OnFailure"].(map[string]any)
		if !reflect.DeepEqual(of["Destination"], getAtt("JobEventsFailuresQueue", "Arn")) {
			bad("%s DestinationConfig = %s, want OnFailure to JobEventsFailuresQueue", id, samtemplate.Render(dc))
		}
		if f := samtemplate.Render(p["FilterCriteria"]); strings.Contains(f, "REMOVE") || !strings.Contains(f, "MODIFY") || !strings.Contains(f, "INSERT") {
			bad("%s FilterCriteria = %s, want INSERT and MODIFY only", id, f)
		}
	}
	if len(found) != 1 {
		bad("mappings of the table's stream: %v, want exactly one (to PublishJobsFn)", found)
	}

	alarmed := false
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::CloudWatch::Alarm") {
		p := t.Resources[id].Properties
		if p["MetricName"] == "ApproximateNumberOfMessagesVisible" && strings.Contains(samtemplate.Render(p["Dimensions"]), "JobEventsFailuresQueue") && p["AlarmActions"] != nil {
			alarmed = true
		}
	}
	if !alarmed {
		bad("no alarm on JobEventsFailuresQueue: changes never published would go unnoticed")
	}

	fn, err := samtemplate.FunctionProperties(t, "PublishJobsFn")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	env, _ := fn["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if got := samtemplate.Render(vars["EVENTS_PUBLISH_URL"]); got != `!Sub "https://${JobEventsApi.Dns.Http}/event"` {
		bad("PublishJobsFn EVENTS_PUBLISH_URL = %s, want the Events API's HTTP publish endpoint", got)
	}
	return errors.Join(errs...)
}
