package samtemplate_test

// Checks of the stack's operations resources: an Errors and a Throttles
// alarm on every function, the status-events age alarm, the API alarms and
// the dashboard. They run with the other checks of template.yaml and are
// proven by mutations in the same table.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

func init() {
	repoChecks = append(repoChecks,
		repoCheck{"function alarms", checkFunctionAlarms},
		repoCheck{"service alarms", checkServiceAlarms},
		repoCheck{"dashboard", checkDashboard},
	)
	mutations = append(mutations,
		mutation{name: "function without an errors alarm", edit: deleteResource("CancelJobFnErrorsAlarm"),
			fails: "function alarms", why: "CancelJobFn: no alarm on AWS/Lambda Errors"},
		mutation{name: "throttles alarm on another function", in: "UpdateJobFnThrottlesAlarm", old: "Value: !Ref UpdateJobFn }", new: "Value: !Ref GetJobFn }",
			fails: "function alarms", why: "UpdateJobFn: no alarm on AWS/Lambda Throttles"},
		mutation{name: "new function without alarms", edit: addFunction("ArchiveJobsFn"),
			fails: "function alarms", why: "ArchiveJobsFn: no alarm on AWS/Lambda Errors"},
		mutation{name: "no queue age alarm", edit: deleteResource("StatusEventsAgeAlarm"),
			fails: "service alarms", why: "no alarm on AWS/SQS ApproximateAgeOfOldestMessage"},
		mutation{name: "age alarm on the dead-letter queue", in: "StatusEventsAgeAlarm", old: "!GetAtt StatusEventsQueue.QueueName", new: "!GetAtt StatusEventsDLQ.QueueName",
			fails: "service alarms", why: "no alarm on AWS/SQS ApproximateAgeOfOldestMessage"},
		mutation{name: "5xx alarm on an API id", in: "Api5XXAlarm", old: "Value: !Ref RestApiName }", new: "Value: !Ref RestApiId }",
			fails: "service alarms", why: "no alarm on AWS/ApiGateway 5XXError"},
		mutation{name: "no latency alarm", edit: deleteResource("ApiLatencyAlarm"),
			fails: "service alarms", why: "no alarm on AWS/ApiGateway Latency"},
		mutation{name: "dashboard misses a function", in: "Dashboard", old: `Invocations: !Sub '["AWS/Lambda", "Invocations", "FunctionName", "${GetJobFn}"], `, new: `Invocations: !Sub '`,
			fails: "dashboard", why: "Dashboard Invocations does not show GetJobFn"},
	)
}

// alarmsOn returns the alarms on namespace/metric, each as its dimensions
// rendered "Name=Value,...".
func alarmsOn(t *samtemplate.Template, namespace, metric string) []string {
	var out []string
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::CloudWatch::Alarm") {
		p := t.Resources[id].Properties
		if p["Namespace"] != namespace || p["MetricName"] != metric {
			continue
		}
		var dims []string
		for _, d := range asList(p["Dimensions"]) {
			m, _ := d.(map[string]any)
			dims = append(dims, fmt.Sprintf("%v=%s", m["Name"], samtemplate.Render(m["Value"])))
		}
		out = append(out, strings.Join(dims, ","))
	}
	return out
}

// checkFunctionAlarms: every function has an alarm on its Errors and one
// on its Throttles.
func checkFunctionAlarms(t *samtemplate.Template) error {
	var errs []error
	for _, fn := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		for _, metric := range []string{"Errors", "Throttles"} {
			if !contains(alarmsOn(t, "AWS/Lambda", metric), "FunctionName=!Ref "+fn) {
				errs = append(errs, fmt.Errorf("%s: no alarm on AWS/Lambda %s with FunctionName !Ref %s (copy another function's %sAlarm)", fn, metric, fn, metric))
			}
		}
	}
	return errors.Join(errs...)
}

// checkServiceAlarms: the status-events queue's oldest message age (a
// stuck event source mapping lets events expire without reaching the
// dead-letter queue), and the API stage's 5xx rate and latency, by the
// API's name (API Gateway's metrics are keyed by name, not id).
func checkServiceAlarms(t *samtemplate.Template) error {
	var errs []error
	want := []struct{ namespace, metric, dims string }{
		{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName=!GetAtt StatusEventsQueue.QueueName"},
		{"AWS/ApiGateway", "5XXError", "ApiName=!Ref RestApiName,Stage=!Ref Stage"},
		{"AWS/ApiGateway", "Latency", "ApiName=!Ref RestApiName,Stage=!Ref Stage"},
	}
	for _, w := range want {
		if !contains(alarmsOn(t, w.namespace, w.metric), w.dims) {
			errs = append(errs, fmt.Errorf("no alarm on %s %s with %s", w.namespace, w.metric, w.dims))
		}
	}
	return errors.Join(errs...)
}

// checkDashboard: the dashboard shows every function's invocations,
// errors, throttles and duration.
func checkDashboard(t *samtemplate.Template) error {
	d, ok := t.Resources["Dashboard"]
	if !ok || d.Type != "AWS::CloudWatch::Dashboard" {
		return errors.New("Dashboard: want an AWS::CloudWatch::Dashboard")
	}
	sub, _ := d.Properties["DashboardBody"].(map[string]any)["Fn::Sub"].([]any)
	if len(sub) != 2 {
		return errors.New("Dashboard DashboardBody: want !Sub [body, variables]")
	}
	vars, _ := sub[1].(map[string]any)
	var errs []error
	for _, v := range []string{"Invocations", "Errors", "Throttles", "Durations"} {
		s := samtemplate.Render(vars[v])
		for _, fn := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
			if !strings.Contains(s, "${"+fn+"}") {
				errs = append(errs, fmt.Errorf("Dashboard %s does not show %s", v, fn))
			}
		}
	}
	return errors.Join(errs...)
}
