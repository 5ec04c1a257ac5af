package samtemplate_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// checkTrust: status events may be sent by the pipeline's roles only, and
// the API functions learn the user pool, app clients and admin group from
// the stack's parameters; AdminGroup refuses quotes and backslashes.
func checkTrust(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	found := false
	if r, ok := t.Resources["StatusEventsQueuePolicy"]; ok {
		doc, _ := r.Properties["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, s := range stmts {
			st, _ := s.(map[string]any)
			cond := samtemplate.Render(st["Condition"])
			if st["Effect"] == "Deny" && st["Principal"] == "*" && st["Action"] == "sqs:SendMessage" &&
				samtemplate.Render(st["Resource"]) == samtemplate.Render(map[string]any{"Fn::GetAtt": []any{"StatusEventsQueue", "Arn"}}) &&
				cond == samtemplate.Render(map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": map[string]any{"Ref": "StatusEventSenderRoleArns"}}}) {
				found = true
			}
		}
	}
	if !found {
		bad("StatusEventsQueuePolicy: want a Deny of sqs:SendMessage on StatusEventsQueue to every principal but StatusEventSenderRoleArns")
	}
	env := map[string]string{"COGNITO_APP_CLIENT_IDS": "CognitoAppClientIds", "ADMIN_GROUP": "AdminGroup", "OUTPUT_URL_HOSTS": "OutputUrlHosts"}
	globals, _ := t.Globals["Function"].(map[string]any)
	e, _ := globals["Environment"].(map[string]any)
	vars, _ := e["Variables"].(map[string]any)
	for name, param := range env {
		if got, want := samtemplate.Render(vars[name]), samtemplate.Render(map[string]any{"Ref": param}); got != want {
			bad("Globals %s = %s, want %s", name, got, want)
		}
	}
	if _, ok := vars["COGNITO_ISSUER"]; !ok {
		bad("Globals COGNITO_ISSUER: missing (the API functions refuse to start without it)")
	}
	p, ok := t.Parameters["AdminGroup"]
	if !ok {
		return errors.Join(append(errs, errors.New("AdminGroup: missing"))...)
	}
	re, err := regexp.Compile(p.AllowedPattern)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("AdminGroup pattern: %w", err))...)
	}
	for name, want := range map[string]bool{"admin": true, "R&D": true, "Équipe": true, `a"b`: false, `a\b`: false, "a b": false, "": false} {
		if re.MatchString(name) != want {
			bad("AdminGroup pattern %q on %q: %v, want %v", p.AllowedPattern, name, !want, want)
		}
	}
	return errors.Join(errs...)
}

func TestTrustInTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTrust(tpl); err != nil {
		t.Fatal(err)
	}
	// The check can fail: without the Deny statement it does.
	doc := tpl.Resources["StatusEventsQueuePolicy"].Properties["PolicyDocument"].(map[string]any)
	stmts := doc["Statement"].([]any)
	doc["Statement"] = stmts[:1]
	if err := checkTrust(tpl); err == nil {
		t.Fatal("checkTrust passed a queue policy without the senders' Deny")
	}
}
