package samtemplate_test

// Checks of the resources that make every job finish and let workers hear
// of cancels: SweepJobsFn on a schedule with its alarm, and WorkerCheckFn
// invokable by the pipeline's role alone. Their IAM is in wantGrants.

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

const workerCheckPermission = "WorkerCheckFnPipelinePermission"

// limitVars are the limits every function reads (jobs.Limits), each from
// its stack parameter.
var limitVars = map[string]string{
	"JOB_QUEUE_TIMEOUT_SECONDS":     "QueueTimeoutSeconds",
	"JOB_HEARTBEAT_TIMEOUT_SECONDS": "HeartbeatTimeoutSeconds",
	"JOB_RUN_TIMEOUT_SECONDS":       "RunTimeoutSeconds",
	"JOB_CANCEL_TIMEOUT_SECONDS":    "CancelTimeoutSeconds",
}

// checkSweeper: SweepJobsFn runs on the SweepSchedule parameter (one SAM
// Schedule event, nothing that adds to its role), reads the limits from the
// stack's parameters, logs its metrics to the stage's namespace, and
// JobsTimedOutAlarm watches them.
func checkSweeper(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	props, err := samtemplate.FunctionProperties(t, "SweepJobsFn")
	if err != nil {
		return err
	}
	events, _ := props["Events"].(map[string]any)
	if len(events) != 1 {
		bad("SweepJobsFn events %v, want exactly one Schedule", slices.Sorted(maps.Keys(events)))
	}
	for name, e := range events {
		ev, _ := e.(map[string]any)
		p, _ := ev["Properties"].(map[string]any)
		if ev["Type"] != "Schedule" || samtemplate.Render(p["Schedule"]) != "!Ref SweepSchedule" || p["Enabled"] == false || p["State"] == "DISABLED" {
			bad("SweepJobsFn event %s = %s, want an enabled Schedule on !Ref SweepSchedule", name, samtemplate.Render(ev))
		}
	}
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	for name, param := range limitVars {
		if got := samtemplate.Render(vars[name]); got != "!Ref "+param {
			bad("SweepJobsFn %s = %s, want !Ref %s", name, got, param)
		}
		if _, ok := t.Parameters[param]; !ok {
			bad("no parameter %s", param)
		}
	}
	const ns = `!Sub "JobsApi/${Stage}"`
	if got := samtemplate.Render(vars["METRICS_NAMESPACE"]); got != ns {
		bad("SweepJobsFn METRICS_NAMESPACE = %s, want %s", got, ns)
	}
	a, ok := t.Resources["JobsTimedOutAlarm"]
	if !ok || a.Type != "AWS::CloudWatch::Alarm" {
		return errors.Join(append(errs, errors.New("JobsTimedOutAlarm: want an AWS::CloudWatch::Alarm"))...)
	}
	want := map[string]string{"Namespace": ns, "MetricName": "JobsTimedOut", "Statistic": "Sum", "Threshold": "!Ref TimedOutJobsAlarmThreshold", "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got := samtemplate.Render(a.Properties[k]); got != want[k] {
			bad("JobsTimedOutAlarm %s = %s, want %s", k, got, want[k])
		}
	}
	if _, ok := a.Properties["Dimensions"]; ok {
		bad("JobsTimedOutAlarm has Dimensions; the sweeper's metrics have none")
	}
	return errors.Join(errs...)
}

// checkWorkerCheck: WorkerCheckFn may be invoked by the PipelineRoleArn
// parameter's role only (one permission, under HasPipelineRole, no other
// principal, no source condition needed), and by no API method.
func checkWorkerCheck(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, err := samtemplate.FunctionProperties(t, "WorkerCheckFn"); err != nil {
		return err
	}
	var perms []string
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Lambda::Permission") {
		if samtemplate.Render(t.Resources[id].Properties["FunctionName"]) == "!Ref WorkerCheckFn" {
			perms = append(perms, id)
		}
	}
	if !reflect.DeepEqual(perms, []string{workerCheckPermission}) {
		bad("permissions on WorkerCheckFn: %v, want exactly [%s]", perms, workerCheckPermission)
	}
	r, ok := t.Resources[workerCheckPermission]
	if !ok {
		return errors.Join(append(errs, fmt.Errorf("%s: missing", workerCheckPermission))...)
	}
	want := map[string]any{
		"Action": "lambda:InvokeFunction", "FunctionName": map[string]any{"Ref": "WorkerCheckFn"},
		"Principal": map[string]any{"Ref": "PipelineRoleArn"},
	}
	if !reflect.DeepEqual(r.Properties, want) {
		bad("%s properties %s, want exactly %s", workerCheckPermission, samtemplate.Render(r.Properties), samtemplate.Render(want))
	}
	if r.Condition != "HasPipelineRole" {
		bad("%s Condition = %q, want HasPipelineRole (no role, no grant)", workerCheckPermission, r.Condition)
	}
	if p, ok := t.Parameters["PipelineRoleArn"]; !ok || p.Default != "" {
		bad("PipelineRoleArn: want a parameter defaulting to \"\" (nobody)")
	}
	for id := range wantMethods {
		if fn, _ := samtemplate.IntegrationFunction(t, id); fn == "WorkerCheckFn" {
			bad("%s integrates WorkerCheckFn; it is for workers' IAM-signed invokes only", id)
		}
	}
	return errors.Join(errs...)
}

func init() {
	mutations = append(mutations,
		mutation{name: "sweeper without schedule", in: "SweepJobsFn", old: "            Schedule: !Ref SweepSchedule\n", new: "            Schedule: rate(1 day)\n", fails: "sweeper", why: "want an enabled Schedule on !Ref SweepSchedule"},
		mutation{name: "sweeper disabled", in: "SweepJobsFn", old: "            Schedule: !Ref SweepSchedule\n", new: "            Schedule: !Ref SweepSchedule\n            Enabled: false\n", fails: "sweeper", why: "want an enabled Schedule"},
		mutation{name: "sweeper limit hard-coded", old: "        JOB_HEARTBEAT_TIMEOUT_SECONDS: !Ref HeartbeatTimeoutSeconds\n", new: "        JOB_HEARTBEAT_TIMEOUT_SECONDS: \"600\"\n", fails: "sweeper", why: "JOB_HEARTBEAT_TIMEOUT_SECONDS = 600, want !Ref HeartbeatTimeoutSeconds"},
		mutation{name: "sweeper metrics elsewhere", in: "SweepJobsFn", old: "          METRICS_NAMESPACE: !Sub JobsApi/${Stage}\n", new: "          METRICS_NAMESPACE: JobsApi\n", fails: "sweeper", why: "METRICS_NAMESPACE = JobsApi"},
		mutation{name: "alarm on another metric", in: "JobsTimedOutAlarm", old: "      MetricName: JobsTimedOut\n", new: "      MetricName: JobsSwept\n", fails: "sweeper", why: "MetricName = JobsSwept"},
		mutation{name: "sweeper scans the table", in: "SweepJobsFn", old: "              Action: dynamodb:Query\n", new: "              Action: [dynamodb:Query, dynamodb:Scan]\n", fails: "function IAM", why: "SweepJobsFn grants"},
		mutation{name: "sweeper queries every index", in: "SweepJobsFn", old: "              Resource: !Sub ${JobsTable.Arn}/index/byStatus\n", new: "              Resource: !Sub ${JobsTable.Arn}/index/*\n", fails: "function IAM", why: "wildcards"},
		mutation{name: "worker check deletes", in: "WorkerCheckFn", old: "              Action: [dynamodb:GetItem, dynamodb:PutItem]\n", new: "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem]\n", fails: "function IAM", why: "WorkerCheckFn grants"},
		mutation{name: "worker check for everyone", in: workerCheckPermission, old: "      Principal: !Ref PipelineRoleArn\n", new: "      Principal: \"*\"\n", fails: "worker check", why: "properties"},
		mutation{name: "worker check for the account", in: workerCheckPermission, old: "      Principal: !Ref PipelineRoleArn\n", new: "      Principal: !Ref AWS::AccountId\n", fails: "worker check", why: "want exactly"},
		mutation{name: "worker check granted without a role", in: workerCheckPermission, old: "    Condition: HasPipelineRole\n", new: "", fails: "worker check", why: "want HasPipelineRole"},
		mutation{name: "worker check second permission", edit: addResource("WorkerCheckFnAnyone", "AWS::Lambda::Permission", map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": map[string]any{"Ref": "WorkerCheckFn"}, "Principal": "lambda.amazonaws.com"}),
			fails: "worker check", why: "WorkerCheckFnAnyone"},
	)
}
