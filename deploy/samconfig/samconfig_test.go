package samconfig_test

import (
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samconfig"
	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// Cases from SAM CLI's own tests of CfnParameterOverridesType
// (tests/unit/cli/test_types.py), plus the empty-value forms.
func TestParseOverridesLikeSAMCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"ParameterKey=KeyPairName,ParameterValue=MyKey ParameterKey=InstanceType,ParameterValue=t1.micro", map[string]string{"KeyPairName": "MyKey", "InstanceType": "t1.micro"}},
		{"KeyPairName=MyKey InstanceType=t1.micro", map[string]string{"KeyPairName": "MyKey", "InstanceType": "t1.micro"}},
		{"KeyPairName=MyKey, InstanceType=t1.micro,", map[string]string{"KeyPairName": "MyKey,", "InstanceType": "t1.micro,"}},
		{`ParameterKey="Ke y",ParameterValue=Value`, map[string]string{"ParameterKey": "Ke y"}},
		{"ParameterKey=Key,ParameterValue=", map[string]string{"ParameterKey": "Key,ParameterValue="}},
		{`ParameterKey="Key",ParameterValue=Val\ ue`, map[string]string{"Key": "Val ue"}},
		{`ParameterKey="Key",ParameterValue="Val\"ue"`, map[string]string{"Key": `Val"ue`}},
		{`ParameterKey=Key,ParameterValue=""`, map[string]string{"Key": ""}},
		{"  ParameterKey=Key,ParameterValue=Value   ParameterKey=Key2,ParameterValue=Value2     ", map[string]string{"Key": "Value", "Key2": "Value2"}},
		{"ParameterKey=Key,ParameterValue=Value'", map[string]string{"Key": "Value'"}},
		{"ParameterKey=Key,ParameterValue==-_)(*&^%$#@!`~:;,.    ParameterKey=Key2,ParameterValue=Value2", map[string]string{"Key": "=-_)(*&^%$#@!`~:;,.", "Key2": "Value2"}},
		{`Key=Key1230 Value="{\"a\":\"b\"}"`, map[string]string{"Key": "Key1230", "Value": `{"a":"b"}`}},
		{`Key=Key1230 Value='{"a":"b"}'`, map[string]string{"Key": "Key1230", "Value": `{"a":"b"}`}},
		// SAM CLI's "unsupported format": unescaped quotes cut the value.
		{`DeployStackName=new-stack DeployParameterOverrides="{"bucketName":"production"}"`, map[string]string{"DeployStackName": "new-stack", "DeployParameterOverrides": "{"}},
		{`CognitoAuthorizerId=""`, map[string]string{"CognitoAuthorizerId": ""}},
		{`CognitoAuthorizerId=''`, map[string]string{"CognitoAuthorizerId": ""}},
		{"AllowedOrigins=https://a.example,https://b.example", map[string]string{"AllowedOrigins": "https://a.example,https://b.example"}},
	}
	for _, tt := range tests {
		got, err := samconfig.ParseOverrides(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOverrides(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"some string", ",,", "ParameterKey:Key,ParameterValue:Value", "CognitoAuthorizerId=", "Name= "} {
		if got, err := samconfig.ParseOverrides(bad); err == nil || !strings.Contains(err.Error(), "is not a valid format") {
			t.Errorf("ParseOverrides(%q) = %v, %v; want SAM CLI's 'is not a valid format'", bad, got, err)
		}
	}
	if _, err := samconfig.ParseOverrides("file://params.yaml"); err == nil {
		t.Error("file:// accepted")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	const good = `
[prod.deploy.parameters]
stack_name = "s"
region = "eu-west-1"
parameter_overrides = ["A=1", ["B=\"\""]]
[str.deploy.parameters]
stack_name = "s"
region = "r"
parameter_overrides = "A=1 B=2"
`
	d, err := samconfig.Parse([]byte(good), "prod")
	if err != nil || d.StackName != "s" || d.Region != "eu-west-1" || !reflect.DeepEqual(d.Overrides, map[string]string{"A": "1", "B": ""}) {
		t.Fatalf("Parse = %+v, %v", d, err)
	}
	if d, err := samconfig.Parse([]byte(good), "str"); err != nil || len(d.Overrides) != 2 {
		t.Fatalf("string overrides: %+v, %v", d, err)
	}
	for name, tt := range map[string]struct{ doc, env, why string }{
		"no section":   {good, "staging", "no [staging.deploy.parameters]"},
		"no region":    {"[p.deploy.parameters]\nstack_name = \"s\"\n", "p", "needs stack_name and region"},
		"bad TOML":     {"[p.deploy.parameters\n", "p", "samconfig:"},
		"empty value":  {"[p.deploy.parameters]\nstack_name = \"s\"\nregion = \"r\"\nparameter_overrides = [\"A=\"]\n", "p", "A= is not a valid format"},
		"not a string": {"[p.deploy.parameters]\nstack_name = \"s\"\nregion = \"r\"\nparameter_overrides = [1]\n", "p", "want strings"},
	} {
		if _, err := samconfig.Parse([]byte(tt.doc), tt.env); err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: err = %v, want %q", name, err, tt.why)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(`
Parameters:
  Id: {Type: String, AllowedPattern: "^[a-z0-9]{6,10}$"}
  Arn: {Type: String}
  Opt: {Type: String, Default: ""}
  Days: {Type: Number, Default: 30, MinValue: 1, MaxValue: 90}
  Mode: {Type: String, Default: "a", AllowedValues: [a, b]}
Resources:
  Q: {Type: AWS::SQS::Queue}
`))
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"Id": "abc123", "Arn": "arn:aws:sns:us-east-1:210987654321:t", "Opt": "", "Days": "30", "Mode": "b"}
	if p := samconfig.Check(tpl, good); len(p) != 0 {
		t.Fatalf("Check(good) = %v", p)
	}
	edit := func(k, v string) map[string]string {
		m := maps.Clone(good)
		if v == "<delete>" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name        string
		overrides   map[string]string
		param, why  string
		placeholder bool
	}{
		{"missing", edit("Opt", "<delete>"), "Opt", `not in parameter_overrides: SAM CLI would reuse the stack's previous value (or the Default on a new stack); list it, e.g. Opt=""`, false},
		{"pattern", edit("Id", "ABC"), "Id", `"ABC" does not match`, false},
		{"placeholder", edit("Id", "PLACEHOLDER_ID"), "Id", "is a placeholder", true},
		{"zero account", edit("Arn", "arn:aws:sns:us-east-1:000000000000:t"), "Arn", "is a placeholder", true},
		{"example account", edit("Arn", "arn:aws:sns:us-east-1:123456789012:t"), "Arn", "is a placeholder", true},
		{"empty required", edit("Arn", ""), "Arn", "empty, and the template has no default", false},
		{"out of range", edit("Days", "91"), "Days", "outside", false},
		{"not a number", edit("Days", "x"), "Days", "not a number", false},
		{"not allowed", edit("Mode", "c"), "Mode", "AllowedValues", false},
		{"unknown", edit("Extra", "1"), "Extra", "not a parameter of the template", false},
	}
	for _, tt := range tests {
		ps := samconfig.Check(tpl, tt.overrides)
		found := false
		for _, p := range ps {
			if p.Param == tt.param && strings.Contains(p.Msg, tt.why) && p.Placeholder == tt.placeholder {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: Check = %v, want %s: %q (placeholder %v)", tt.name, ps, tt.param, tt.why, tt.placeholder)
		}
		if samconfig.Err(ps) == nil {
			t.Errorf("%s: Err = nil", tt.name)
		}
	}
}

// TestRepoSamconfig is the offline gate on samconfig.toml: SAM CLI can parse
// every environment's parameter_overrides, every template parameter is
// listed, and every value that is not a placeholder meets its parameter's
// constraints. Placeholders are for ids this repository cannot know; the
// deploy refuses them (deploycheck config).
func TestRepoSamconfig(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"prod", "staging"} {
		d, err := samconfig.Parse(b, env)
		if err != nil {
			t.Fatalf("samconfig.toml [%s]: %v", env, err)
		}
		var placeholders []string
		for _, p := range samconfig.Check(tpl, d.Overrides) {
			if p.Placeholder {
				placeholders = append(placeholders, p.Param)
				continue
			}
			t.Errorf("samconfig.toml [%s] %s", env, p)
		}
		t.Logf("[%s] placeholders left for the operator: %v", env, slices.Compact(placeholders))
	}
}
