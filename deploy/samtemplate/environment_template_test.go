package samtemplate_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/internal/config"
)

// TestFunctionEnvironments holds template.yaml's functions to
// internal/config's table, with the local deployment's parameters
// (dev/params.json): the template deploys exactly the functions the table
// knows; each function's Environment, resolved, loads (every variable it
// requires set, every value valid); it sets every variable the function
// reads, so no function runs on a code default the stack cannot see; it
// names only variables of the table and never one the Lambda runtime sets;
// a function's own variables are ones it reads, and each of Globals' is
// read by some function.
func TestFunctionEnvironments(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../dev/params.json")
	if err != nil {
		t.Fatal(err)
	}
	var params struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &params); err != nil {
		t.Fatal(err)
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: params.Parameters,
		Attributes: map[string]string{"JobEventsApi.Dns.Http": "abc.appsync-api.us-east-1.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]config.Var{}
	for _, v := range config.Vars {
		vars[v.Name] = v
	}
	fns := samtemplate.ResourcesOfType(tpl, "AWS::Serverless::Function")
	if !slices.Equal(slices.Sorted(slices.Values(fns)), slices.Sorted(slices.Values(config.Functions))) {
		t.Errorf("template functions %v, config.Functions %v: want the same", fns, config.Functions)
	}
	globalVars, _ := tpl.Globals["Function"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	for name := range globalVars {
		if v := vars[name]; v.For != nil && !slices.ContainsFunc(fns, v.Reads) {
			t.Errorf("Globals sets %s, which no function reads", name)
		}
	}
	for _, fn := range fns {
		env, err := r.Environment(fn)
		if err != nil {
			t.Errorf("%s: %v", fn, err)
			continue
		}
		sandbox := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}
		if _, err := config.Load(fn, func(k string) (string, bool) {
			if v, ok := env[k]; ok {
				return v, true
			}
			v, ok := sandbox[k]
			return v, ok
		}); err != nil {
			t.Errorf("%s: its Environment does not load: %v", fn, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		for name := range env {
			if v, ok := vars[name]; !ok || v.Runtime {
				t.Errorf("%s sets %s: not a variable of internal/config's table, or one the runtime sets", fn, name)
			}
		}
		props, _ := tpl.Resources[fn].Properties["Environment"].(map[string]any)
		own, _ := props["Variables"].(map[string]any)
		for name := range own {
			if v, ok := vars[name]; ok && !v.Reads(fn) {
				t.Errorf("%s sets %s, which it does not read", fn, name)
			}
		}
		for _, v := range config.Vars {
			if _, set := env[v.Name]; v.Reads(fn) && !v.Runtime && !set {
				t.Errorf("%s reads %s, which the template does not set", fn, v.Name)
			}
		}
	}
}
