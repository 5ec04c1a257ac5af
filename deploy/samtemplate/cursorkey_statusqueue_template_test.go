package samtemplate_test

// Checks of the list cursor key and of the status-events queue that feeds
// UpdateJobFn. They run with the other checks of template.yaml (repoChecks)
// and are proven by mutations in the same table. The functions, methods,
// preflights and permissions around them are checked by the general checks
// (wantGrants, wantMethods).

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// checkCursorKey: ListJobsFn's cursor key is a generated secret resolved at
// deploy time by a dynamic reference, never a literal in the template.
func checkCursorKey(t *samtemplate.Template) error {
	var errs []error
	props, err := samtemplate.FunctionProperties(t, "ListJobsFn")
	if err != nil {
		return err
	}
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	// The pinned form names the secret version, so that deploying a new
	// CursorKeyVersionId changes the reference: CloudFormation re-resolves
	// a dynamic reference only when its text changes.
	want := map[string]any{"Fn::If": []any{"PinCursorKeyVersion",
		map[string]any{"Fn::Sub": "{{resolve:secretsmanager:${CursorKeySecret}:SecretString:::${CursorKeyVersionId}}}"},
		map[string]any{"Fn::Sub": "{{resolve:secretsmanager:${CursorKeySecret}:SecretString}}"}}}
	if !reflect.DeepEqual(vars["CURSOR_KEY"], want) {
		errs = append(errs, fmt.Errorf("ListJobsFn CURSOR_KEY = %s, want %s (a dynamic reference to CursorKeySecret)",
			samtemplate.Render(vars["CURSOR_KEY"]), samtemplate.Render(want)))
	}
	sec, ok := t.Resources["CursorKeySecret"]
	if !ok || sec.Type != "AWS::SecretsManager::Secret" {
		return errors.Join(append(errs, errors.New("CursorKeySecret: want an AWS::SecretsManager::Secret"))...)
	}
	gen, _ := sec.Properties["GenerateSecretString"].(map[string]any)
	if n, _ := gen["PasswordLength"].(float64); n < jobs.MinCursorKeyLen {
		errs = append(errs, fmt.Errorf("CursorKeySecret GenerateSecretString.PasswordLength = %v, want a generated secret of at least %d characters",
			samtemplate.Render(gen["PasswordLength"]), jobs.MinCursorKeyLen))
	}
	if _, ok := sec.Properties["Name"]; ok {
		errs = append(errs, errors.New("CursorKeySecret has a fixed Name; a retry after a rolled-back first deploy could collide with the deleted secret's name"))
	}
	if _, ok := sec.Properties["SecretString"]; ok {
		errs = append(errs, errors.New("CursorKeySecret has a literal SecretString; the key must be generated"))
	}
	return errors.Join(errs...)
}

// checkStatusEvents: the pipeline's status events reach UpdateJobFn through
// an encrypted, TLS-only queue with a dead-letter queue (bounded
// maxReceiveCount, alarmed), a visibility timeout of at least six function
// timeouts (Lambda's advice for SQS sources), and an event source mapping
// with partial batch responses and a bounded batch.
func checkStatusEvents(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	getAtt := func(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
	ref := func(id string) map[string]any { return map[string]any{"Ref": id} }

	q, dlq := t.Resources["StatusEventsQueue"], t.Resources["StatusEventsDLQ"]
	for _, id := range []string{"StatusEventsQueue", "StatusEventsDLQ"} {
		if r := t.Resources[id]; r.Type != "AWS::SQS::Queue" || r.Properties["SqsManagedSseEnabled"] != true {
			bad("%s: want an AWS::SQS::Queue with SqsManagedSseEnabled true", id)
		}
	}
	if _, ok := dlq.Properties["RedrivePolicy"]; ok {
		bad("StatusEventsDLQ has a RedrivePolicy; dead letters must stay where operators look for them")
	}
	rp, _ := q.Properties["RedrivePolicy"].(map[string]any)
	if n, _ := rp["maxReceiveCount"].(float64); n < 2 || n > 10 || !reflect.DeepEqual(rp["deadLetterTargetArn"], getAtt("StatusEventsDLQ", "Arn")) {
		bad("StatusEventsQueue RedrivePolicy = %s, want StatusEventsDLQ with maxReceiveCount 2-10", samtemplate.Render(rp))
	}

	props, err := samtemplate.FunctionProperties(t, "UpdateJobFn")
	if err != nil {
		return err
	}
	timeout, _ := props["Timeout"].(float64)
	if vt, _ := q.Properties["VisibilityTimeout"].(float64); timeout == 0 || vt < 6*timeout {
		bad("StatusEventsQueue VisibilityTimeout = %v, want at least 6 × UpdateJobFn's Timeout %v", q.Properties["VisibilityTimeout"], props["Timeout"])
	}

	var mappings []string
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Lambda::EventSourceMapping") {
		p := t.Resources[id].Properties
		if reflect.DeepEqual(p["EventSourceArn"], getAtt("JobsTable", "StreamArn")) {
			continue // the table's stream: checkJobEvents
		}
		mappings = append(mappings, id)
		if !reflect.DeepEqual(p["EventSourceArn"], getAtt("StatusEventsQueue", "Arn")) || !reflect.DeepEqual(p["FunctionName"], ref("UpdateJobFnAliaslive")) {
			bad("%s maps %s to %s, want StatusEventsQueue to UpdateJobFn's live alias", id, samtemplate.Render(p["EventSourceArn"]), samtemplate.Render(p["FunctionName"]))
		}
		if !reflect.DeepEqual(p["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
			bad("%s FunctionResponseTypes = %s, want [ReportBatchItemFailures] (else one bad event retries the whole batch)", id, samtemplate.Render(p["FunctionResponseTypes"]))
		}
		if n, _ := p["BatchSize"].(float64); n < 1 || n > 10 {
			bad("%s BatchSize = %v, want 1-10", id, p["BatchSize"])
		}
	}
	if len(mappings) != 1 {
		bad("event source mappings of queues %v, want exactly one (StatusEventsQueue to UpdateJobFn)", mappings)
	}

	// TLS only: one queue policy denying insecure transport on both queues.
	wantStatement := map[string]any{
		"Effect": "Deny", "Principal": "*", "Action": "sqs:*",
		"Resource":  []any{getAtt("StatusEventsQueue", "Arn"), getAtt("StatusEventsDLQ", "Arn")},
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}
	tlsOnly := false
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::SQS::QueuePolicy") {
		p := t.Resources[id].Properties
		if !reflect.DeepEqual(p["Queues"], []any{ref("StatusEventsQueue"), ref("StatusEventsDLQ")}) {
			continue
		}
		doc, _ := p["PolicyDocument"].(map[string]any)
		for _, st := range asList(doc["Statement"]) {
			m, _ := st.(map[string]any)
			got := map[string]any{}
			for k, v := range m {
				if k != "Sid" {
					got[k] = v
				}
			}
			if reflect.DeepEqual(got, wantStatement) {
				tlsOnly = true
			}
		}
	}
	if !tlsOnly {
		bad("no AWS::SQS::QueuePolicy on StatusEventsQueue and StatusEventsDLQ denies sqs:* without aws:SecureTransport")
	}

	alarm := t.Resources["StatusEventsDLQAlarm"]
	dims := asList(alarm.Properties["Dimensions"])
	if alarm.Type != "AWS::CloudWatch::Alarm" || alarm.Properties["Namespace"] != "AWS/SQS" ||
		alarm.Properties["MetricName"] != "ApproximateNumberOfMessagesVisible" || len(dims) != 1 ||
		!reflect.DeepEqual(dims[0], map[string]any{"Name": "QueueName", "Value": getAtt("StatusEventsDLQ", "QueueName")}) {
		bad("StatusEventsDLQAlarm: want an alarm on the messages visible in StatusEventsDLQ")
	}
	return errors.Join(errs...)
}
