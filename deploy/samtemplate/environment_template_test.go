package samtemplate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/internal/config"
)

// TestFunctionEnvironments holds template.yaml's functions to
// internal/config's table (checkEnvironments), and checks that each rule
// fails on a template that breaks it.
func TestFunctionEnvironments(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	tests := []struct {
		name, old, new string
		why            string // "" for the template as it is
	}{
		{name: "template.yaml"},
		{name: "a required variable missing", old: "          CURSOR_KEY: !If", new: "          UNUSED_KEY: !If", why: "ListJobsFn: its Environment does not load: CURSOR_KEY is not set"},
		{name: "a variable the table does not know", old: "        LOG_LEVEL: !Ref LogLevel\n", new: "        LOG_LEVEL: !Ref LogLevel\n        LOG_FORMAT: json\n", why: "sets LOG_FORMAT: not a variable of internal/config's table"},
		{name: "a variable the function does not read", old: "          METRICS_NAMESPACE: !Sub JobsApi/${Stage}\n", new: "          METRICS_NAMESPACE: !Sub JobsApi/${Stage}\n          CURSOR_KEY: x\n", why: "SweepJobsFn sets CURSOR_KEY, which it does not read"},
		{name: "a variable the function reads left to its default", old: "          METRICS_NAMESPACE: !Sub JobsApi/${Stage}\n", new: "", why: "SweepJobsFn reads METRICS_NAMESPACE, which the template does not set"},
		{name: "a runtime variable", old: "        LOG_LEVEL: !Ref LogLevel\n", new: "        LOG_LEVEL: !Ref LogLevel\n        AWS_REGION: eu-west-1\n", why: "sets AWS_REGION: not a variable of internal/config's table, or one the runtime sets"},
		{name: "a bad value", old: `DYNAMODB_TIMEOUT_MS: "3000"`, new: `DYNAMODB_TIMEOUT_MS: "3s"`, why: `DYNAMODB_TIMEOUT_MS: a positive integer, got "3s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := text
			if tt.old != "" {
				if strings.Count(src, tt.old) != 1 {
					t.Fatalf("template.yaml does not hold %q once", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			tpl, err := samtemplate.Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			err = checkEnvironments(tpl)
			switch {
			case tt.why == "" && err != nil:
				t.Errorf("template.yaml:\n%v", err)
			case tt.why != "" && (err == nil || !strings.Contains(err.Error(), tt.why)):
				t.Errorf("error %v, want one saying %q", err, tt.why)
			}
		})
	}
}

// checkEnvironments resolves each function's Environment with the local
// deployment's parameters (dev/params.json): the template deploys exactly
// the functions the table knows; each function's Environment loads (every
// variable it requires set, every value valid); it sets every variable the
// function reads, so no function runs on a code default the stack cannot
// see; it names only variables of the table and never one the Lambda
// runtime sets; a function's own variables are ones it reads, and each of
// Globals' is read by some function.
func checkEnvironments(tpl *samtemplate.Template) error {
	raw, err := os.ReadFile("../../dev/params.json")
	if err != nil {
		return err
	}
	var params struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &params); err != nil {
		return err
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: params.Parameters,
		Attributes: map[string]string{"JobEventsApi.Dns.Http": "abc.appsync-api.us-east-1.amazonaws.com"}})
	if err != nil {
		return err
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	vars := map[string]config.Var{}
	for _, v := range config.Vars {
		vars[v.Name] = v
	}
	fns := samtemplate.ResourcesOfType(tpl, "AWS::Serverless::Function")
	if !slices.Equal(slices.Sorted(slices.Values(fns)), slices.Sorted(slices.Values(config.Functions))) {
		bad("template functions %v, config.Functions %v: want the same", fns, config.Functions)
	}
	globalVars, _ := tpl.Globals["Function"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	for name := range globalVars {
		if v := vars[name]; v.For != nil && !slices.ContainsFunc(fns, v.Reads) {
			bad("Globals sets %s, which no function reads", name)
		}
	}
	sandbox := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}
	for _, fn := range fns {
		env, err := r.Environment(fn)
		if err != nil {
			bad("%s: %v", fn, err)
			continue
		}
		if _, err := config.Load(fn, func(k string) (string, bool) {
			if v, ok := env[k]; ok {
				return v, true
			}
			v, ok := sandbox[k]
			return v, ok
		}); err != nil {
			bad("%s: its Environment does not load: %s", fn, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		for name := range env {
			if v, ok := vars[name]; !ok || v.Runtime {
				bad("%s sets %s: not a variable of internal/config's table, or one the runtime sets", fn, name)
			}
		}
		props, _ := tpl.Resources[fn].Properties["Environment"].(map[string]any)
		own, _ := props["Variables"].(map[string]any)
		for name := range own {
			if v, ok := vars[name]; ok && !v.Reads(fn) {
				bad("%s sets %s, which it does not read", fn, name)
			}
		}
		for _, v := range config.Vars {
			if _, set := env[v.Name]; v.Reads(fn) && !v.Runtime && !set {
				bad("%s reads %s, which the template does not set", fn, v.Name)
			}
		}
	}
	return errors.Join(errs...)
}
