package samtemplate_test

// Functions behind a published alias: each function that API Gateway or an
// event source mapping invokes is published as a version behind the live
// alias (SAM AutoPublishAlias), and the callers invoke the alias, so that a
// deploy shifts traffic gradually (DeploymentPreference) and its Errors
// alarm rolls a bad build back without a stack rebuild.

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

func init() {
	repoChecks = append(repoChecks, repoCheck{"live alias", checkLiveAlias})
	mutations = append(mutations,
		mutation{name: "no alias", in: "CancelJobFn", old: "      AutoPublishAlias: live\n", new: "",
			fails: "live alias", why: "CancelJobFn AutoPublishAlias = null, want live"},
		mutation{name: "all at once, always", in: "ListJobsFn", old: "        Type: !Ref DeploymentType\n", new: "        Type: AllAtOnce\n",
			fails: "live alias", why: "ListJobsFn DeploymentPreference.Type = AllAtOnce, want !Ref DeploymentType"},
		mutation{name: "canary without its rollback alarm", in: "SubmitJobFn", old: "        Alarms: [!Ref SubmitJobFnErrorsAlarm]\n", new: "",
			fails: "live alias", why: "SubmitJobFn DeploymentPreference.Alarms = null, want [!Ref SubmitJobFnErrorsAlarm]"},
		mutation{name: "integration calls the unpublished function", old: "functions/${GetJobFnAliaslive}/invocations", new: "functions/${GetJobFn.Arn}/invocations",
			fails: "live alias", why: "GetJobMethod invokes ${GetJobFn.Arn}, want its live alias"},
	)
}

// aliasedFunctions are the functions behind the live alias: those API
// Gateway invokes (wantMethods) and those event source mappings invoke
// (UpdateJobFn, PublishJobsFn).
func aliasedFunctions() []string {
	fns := []string{"UpdateJobFn", "PublishJobsFn"}
	for _, m := range wantMethods {
		if !slices.Contains(fns, m.function) {
			fns = append(fns, m.function)
		}
	}
	slices.Sort(fns)
	return fns
}

func checkLiveAlias(t *samtemplate.Template) error {
	var errs []error
	for _, fn := range aliasedFunctions() {
		props, err := samtemplate.FunctionProperties(t, fn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if props["AutoPublishAlias"] != "live" {
			errs = append(errs, fmt.Errorf("%s AutoPublishAlias = %s, want live", fn, samtemplate.Render(props["AutoPublishAlias"])))
		}
		dp, _ := props["DeploymentPreference"].(map[string]any)
		if got := samtemplate.Render(dp["Type"]); got != "!Ref DeploymentType" {
			errs = append(errs, fmt.Errorf("%s DeploymentPreference.Type = %s, want !Ref DeploymentType", fn, got))
		}
		want := []any{map[string]any{"Ref": fn + "ErrorsAlarm"}}
		if !reflect.DeepEqual(dp["Alarms"], want) {
			errs = append(errs, fmt.Errorf("%s DeploymentPreference.Alarms = %s, want %s", fn, samtemplate.Render(dp["Alarms"]), samtemplate.Render(want)))
		}
	}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Method") {
		integ, _ := t.Resources[id].Properties["Integration"].(map[string]any)
		if integ["Type"] != "AWS_PROXY" {
			continue
		}
		fn, err := samtemplate.IntegrationFunction(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, arg, _ := samtemplate.IntrinsicName(integ["Uri"])
		if s, _ := arg.(string); !strings.Contains(s, "${"+fn+"Aliaslive}") {
			errs = append(errs, fmt.Errorf("%s invokes ${%s.Arn}, want its live alias ${%sAliaslive}", id, fn, fn))
		}
	}
	return errors.Join(errs...)
}
