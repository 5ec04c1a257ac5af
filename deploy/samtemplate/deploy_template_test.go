package samtemplate_test

// Checks that keep a deploy into the shared, existing API recoverable: a
// failed first deploy can be retried, what the stack lets go of stays, the
// API's gateway responses are the stack's only when the operator says so,
// and the preflights work for browsers on HTTP/2. They run with the other
// checks of template.yaml and are proven by mutations in the same table.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

func init() {
	repoChecks = append(repoChecks,
		repoCheck{"retry after a failed create", checkRetryAfterFailedCreate},
		repoCheck{"gateway responses ownership", checkGatewayResponseOwnership},
		repoCheck{"preflight origin lookup", checkPreflightOriginLookup},
	)
	mutations = append(mutations,
		mutation{name: "table retained on a failed create", edit: setAttr("JobsTable", func(r *samtemplate.Resource) { r.DeletionPolicy = "Retain" }),
			fails: "retry after a failed create", why: "JobsTable DeletionPolicy = Retain"},
		mutation{name: "log group retained on a failed create", in: "GetJobFnLogs", old: "DeletionPolicy: RetainExceptOnCreate", new: "DeletionPolicy: Retain",
			fails: "retry after a failed create", why: "GetJobFnLogs DeletionPolicy = Retain"},
		mutation{name: "retained method without UpdateReplacePolicy", in: "PostJobMethod", old: "    UpdateReplacePolicy: Retain\n", new: "",
			fails: "retry after a failed create", why: `PostJobMethod: DeletionPolicy RetainExceptOnCreate but UpdateReplacePolicy ""`},
		mutation{name: "named log group deleted with the stack", in: "CancelJobFnLogs", old: "    DeletionPolicy: RetainExceptOnCreate\n", new: "",
			fails: "retry after a failed create", why: "CancelJobFnLogs has a fixed name (LogGroupName) but no DeletionPolicy"},
		mutation{name: "gateway responses always managed", in: "GatewayResponseDefault4XX", old: "    Condition: OwnGatewayResponses\n", new: "",
			fails: "gateway responses ownership", why: `GatewayResponseDefault4XX Condition = "", want OwnGatewayResponses`},
		mutation{name: "gateway response reset when let go", in: "GatewayResponseDefault5XX", old: "    DeletionPolicy: RetainExceptOnCreate\n", new: "",
			fails: "gateway responses ownership", why: `GatewayResponseDefault5XX DeletionPolicy = ""`},
		mutation{name: "gateway responses managed by default", old: "    Default: \"false\"\n    AllowedValues: [\"true\", \"false\"]\n    Description: >-\n      \"true\" - this stack sets the API's",
			new:   "    Default: \"true\"\n    AllowedValues: [\"true\", \"false\"]\n    Description: >-\n      \"true\" - this stack sets the API's",
			fails: "gateway responses ownership", why: `ManageGatewayResponses Default = "true", want "false"`},
		mutation{name: "preflight reads $input.params", in: "OptionsJobIdMethod", old: `#set($origin = $input.params().header.get("Origin"))`, new: `#set($origin = $input.params('Origin'))`,
			fails: "preflight origin lookup", why: "OptionsJobIdMethod: the Origin must be read from the header map"},
		mutation{name: "preflight without the HTTP/2 fallback", in: "OptionsJobCancelMethod", old: `#set($origin = $input.params().header.get("origin"))`, new: `#set($origin = $input.params().header.get("Origin"))`,
			fails: "preflight origin lookup", why: "OptionsJobCancelMethod: no fallback to the lower-case origin header"},
	)
}

// fixedNameProperty is the property that gives a resource type a physical
// name of the template's choosing: a second resource of that name cannot be
// created while one exists.
var fixedNameProperty = map[string]string{
	"AWS::DynamoDB::Table":        "TableName",
	"AWS::Logs::LogGroup":         "LogGroupName",
	"AWS::SecretsManager::Secret": "Name",
}

// checkRetryAfterFailedCreate: no resource survives the rollback of the
// deploy that created it (plain Retain keeps it, DELETE_SKIPPED, and the
// retry fails with AlreadyExists or API Gateway's ConflictException);
// RetainExceptOnCreate keeps it on every other removal. Whatever is kept on
// removal is kept on replacement too (cfn-lint W3011). A resource with a
// fixed name that holds data (table, log group) must be retained at all.
func checkRetryAfterFailedCreate(t *samtemplate.Template) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[id]
		switch r.DeletionPolicy {
		case "Retain":
			errs = append(errs, fmt.Errorf("%s DeletionPolicy = Retain: a rolled-back first deploy would leave it behind and the retry would fail; use RetainExceptOnCreate", id))
		case "RetainExceptOnCreate", "Snapshot":
			if r.UpdateReplacePolicy != "Retain" && r.UpdateReplacePolicy != "Snapshot" {
				errs = append(errs, fmt.Errorf("%s: DeletionPolicy %s but UpdateReplacePolicy %q: a replacement would delete what a removal keeps", id, r.DeletionPolicy, r.UpdateReplacePolicy))
			}
		}
		if prop, ok := fixedNameProperty[r.Type]; ok && r.Properties[prop] != nil && r.Type != "AWS::SecretsManager::Secret" && r.DeletionPolicy == "" {
			errs = append(errs, fmt.Errorf("%s has a fixed name (%s) but no DeletionPolicy: removing it from the stack would delete its data; use RetainExceptOnCreate", id, prop))
		}
	}
	return errors.Join(errs...)
}

// checkGatewayResponseOwnership: gateway responses belong to the whole API;
// the stack sets them only under OwnGatewayResponses (off by default) and
// keeps them when it lets go of them (deleting one resets it to API
// Gateway's default for every method of the API).
func checkGatewayResponseOwnership(t *samtemplate.Template) error {
	var errs []error
	if p, ok := t.Parameters["ManageGatewayResponses"]; !ok || fmt.Sprint(p.Default) != "false" {
		errs = append(errs, fmt.Errorf("ManageGatewayResponses Default = %q, want \"false\" (the API's owner's responses stay unless the operator says otherwise)", fmt.Sprint(p.Default)))
	}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::GatewayResponse") {
		r := t.Resources[id]
		if r.Condition != "OwnGatewayResponses" {
			errs = append(errs, fmt.Errorf("%s Condition = %q, want OwnGatewayResponses", id, r.Condition))
		}
		if r.DeletionPolicy != "RetainExceptOnCreate" || r.UpdateReplacePolicy != "Retain" {
			errs = append(errs, fmt.Errorf("%s DeletionPolicy = %q, UpdateReplacePolicy = %q, want RetainExceptOnCreate and Retain", id, r.DeletionPolicy, r.UpdateReplacePolicy))
		}
	}
	return errors.Join(errs...)
}

// checkPreflightOriginLookup: each preflight's response template reads the
// Origin from the header map (never $input.params('Origin'), which looks in
// the query string first) and falls back to the lower-case name HTTP/2
// clients send, as AWS CDK's CORS template does.
func checkPreflightOriginLookup(t *samtemplate.Template) error {
	var errs []error
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Method") {
		p := t.Resources[id].Properties
		if p["HttpMethod"] != "OPTIONS" {
			continue
		}
		integ, _ := p["Integration"].(map[string]any)
		var vtl string
		for _, r := range asList(integ["IntegrationResponses"]) {
			m, _ := r.(map[string]any)
			tpls, _ := m["ResponseTemplates"].(map[string]any)
			switch v := tpls["application/json"].(type) {
			case string:
				vtl += v
			case map[string]any:
				s, _ := v["Fn::Sub"].(string)
				vtl += s
			}
		}
		if strings.Contains(vtl, "$input.params('") || strings.Contains(vtl, `$input.params("`) || !strings.Contains(vtl, `$input.params().header.get("Origin")`) {
			errs = append(errs, fmt.Errorf("%s: the Origin must be read from the header map ($input.params().header.get(\"Origin\")), not $input.params('Origin')", id))
		}
		if !strings.Contains(vtl, `$input.params().header.get("origin")`) {
			errs = append(errs, fmt.Errorf("%s: no fallback to the lower-case origin header that HTTP/2 clients send", id))
		}
	}
	return errors.Join(errs...)
}
