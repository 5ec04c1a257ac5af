package samtemplate_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

const resolveFixture = `
Parameters:
  Stage: {Type: String, Default: prod, AllowedPattern: "[a-z]+"}
  Origins: {Type: String, Default: "https://a.example,https://b.example"}
  Mode: {Type: String, Default: "on", AllowedValues: ["on", "off"]}
  Count: {Type: Number, Default: 30, MinValue: 1, MaxValue: 100}
  Existing: {Type: String, Default: ""}
  Required: {Type: String}
  Names: {Type: CommaDelimitedList, Default: "x,y,z"}
Conditions:
  IsOn: !Equals [!Ref Mode, "on"]
  NoExisting: !Equals [!Ref Existing, ""]
  Both: !And [!Condition IsOn, !Condition NoExisting]
  Either: !Or [!Not [!Condition IsOn], !Condition NoExisting]
  Loop: !Not [!Condition Loop]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: !Sub "Jobs-${Stage}"}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {}
  OnlyWhenOn:
    Type: AWS::ApiGateway::Authorizer
    Condition: IsOn
    Properties: {}
  OnlyWhenOff:
    Type: AWS::ApiGateway::Authorizer
    Condition: Loop
    Properties: {}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Policy:
        Statement:
          - Condition: {StringEquals: {"aws:x": "y"}}
`

func newFixtureResolver(t *testing.T, params map[string]string) *samtemplate.Resolver {
	t.Helper()
	tpl, err := samtemplate.Parse([]byte(resolveFixture))
	if err != nil {
		t.Fatal(err)
	}
	if params == nil {
		params = map[string]string{"Required": "r"}
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: params, Region: "eu-west-1", AccountID: "111122223333"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveValues(t *testing.T) {
	t.Parallel()
	r := newFixtureResolver(t, nil)
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"literal", "x", "x"},
		{"ref parameter", map[string]any{"Ref": "Stage"}, "prod"},
		{"ref number parameter default", map[string]any{"Ref": "Count"}, "30"},
		{"ref list parameter", map[string]any{"Ref": "Names"}, []any{"x", "y", "z"}},
		{"ref resource is its logical id", map[string]any{"Ref": "Fn"}, "Fn"},
		{"ref table is its name", map[string]any{"Ref": "Table"}, "Jobs-prod"},
		{"ref pseudo", map[string]any{"Ref": "AWS::Region"}, "eu-west-1"},
		{"sub params and pseudo", map[string]any{"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Stage}"}, "arn:aws:x:eu-west-1:111122223333:prod"},
		{"sub leaves VTL alone", map[string]any{"Fn::Sub": "#set($o = $input.params('Origin'))\n\",${Origins},\""}, "#set($o = $input.params('Origin'))\n\",https://a.example,https://b.example,\""},
		{"sub escape", map[string]any{"Fn::Sub": "${!Literal}-${Stage}"}, "${Literal}-prod"},
		{"sub with variables", map[string]any{"Fn::Sub": []any{"${A}/${Stage}", map[string]any{"A": map[string]any{"Ref": "Mode"}}}}, "on/prod"},
		{"sub getatt function arn", map[string]any{"Fn::Sub": "functions/${Fn.Arn}/invocations"}, "functions/arn:aws:lambda:eu-west-1:111122223333:function:Fn/invocations"},
		{"getatt table arn uses TableName", map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}, "arn:aws:dynamodb:eu-west-1:111122223333:table/Jobs-prod"},
		{"if true", map[string]any{"Fn::If": []any{"IsOn", "yes", "no"}}, "yes"},
		{"if picks a branch with a conditional resource", map[string]any{"Fn::If": []any{"IsOn", map[string]any{"Ref": "OnlyWhenOn"}, map[string]any{"Ref": "Existing"}}}, "OnlyWhenOn"},
		{"novalue drops the key", map[string]any{"A": "1", "B": map[string]any{"Fn::If": []any{"IsOn", map[string]any{"Ref": "AWS::NoValue"}, "2"}}}, map[string]any{"A": "1"}},
		{"novalue drops the item", []any{"a", map[string]any{"Ref": "AWS::NoValue"}}, []any{"a"}},
		{"join split select", map[string]any{"Fn::Join": []any{"|", map[string]any{"Fn::Split": []any{",", map[string]any{"Ref": "Origins"}}}}}, "https://a.example|https://b.example"},
		{"select", map[string]any{"Fn::Select": []any{"1", map[string]any{"Ref": "Names"}}}, "y"},
		{"IAM Condition key is data", map[string]any{"Condition": map[string]any{"StringEquals": "x"}}, map[string]any{"Condition": map[string]any{"StringEquals": "x"}}},
		{"numbers stay", float64(3), float64(3)},
	}
	for _, tt := range tests {
		got, err := r.Value(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func TestResolveConditions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		params map[string]string
		want   map[string]bool
	}{
		{map[string]string{"Required": "r"}, map[string]bool{"IsOn": true, "NoExisting": true, "Both": true, "Either": true}},
		{map[string]string{"Required": "r", "Mode": "off", "Existing": "abc"}, map[string]bool{"IsOn": false, "NoExisting": false, "Both": false, "Either": true}},
		{map[string]string{"Required": "r", "Existing": "abc"}, map[string]bool{"IsOn": true, "NoExisting": false, "Both": false, "Either": false}},
	}
	for _, tt := range tests {
		r := newFixtureResolver(t, tt.params)
		for name, want := range tt.want {
			got, err := r.Condition(name)
			if err != nil || got != want {
				t.Errorf("params %v: condition %s = %v, %v; want %v", tt.params, name, got, err, want)
			}
		}
		inc, err := r.Included("OnlyWhenOn")
		if err != nil || inc != tt.want["IsOn"] {
			t.Errorf("params %v: Included(OnlyWhenOn) = %v, %v; want %v", tt.params, inc, err, tt.want["IsOn"])
		}
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	r := newFixtureResolver(t, map[string]string{"Required": "r", "Mode": "off"})
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"unknown ref", map[string]any{"Ref": "Nope"}, "Ref Nope"},
		{"ref to a resource not created", map[string]any{"Ref": "OnlyWhenOn"}, "not created"},
		{"getatt unknown attribute", map[string]any{"Fn::GetAtt": []any{"Table", "StreamArn"}}, "not known here"},
		{"getatt unknown resource", map[string]any{"Fn::GetAtt": "Nope.Arn"}, "no such resource"},
		{"sub unknown var", map[string]any{"Fn::Sub": "x-${Nope}"}, "${Nope}"},
		{"sub of a list", map[string]any{"Fn::Sub": "x-${Names}"}, "want a string"},
		{"unsupported intrinsic", map[string]any{"Fn::ImportValue": "x"}, "not supported"},
		{"if with unknown condition", map[string]any{"Fn::If": []any{"Nope", "a", "b"}}, "not defined"},
		{"condition loop", map[string]any{"Fn::If": []any{"Loop", "a", "b"}}, "refers to itself"},
		{"select out of range", map[string]any{"Fn::Select": []any{"9", map[string]any{"Ref": "Names"}}}, "out of range"},
	}
	for _, tt := range tests {
		_, err := r.Value(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := r.String(map[string]any{"Ref": "Names"}); err == nil {
		t.Error("String(list) succeeded, want an error")
	}
}

func TestResolveParameterChecks(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(resolveFixture))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"missing required", map[string]string{}, "Required: no value"},
		{"unknown", map[string]string{"Required": "r", "Typo": "x"}, "Typo: not declared"},
		{"pattern is anchored", map[string]string{"Required": "r", "Stage": "prod1"}, "does not match"},
		{"allowed values", map[string]string{"Required": "r", "Mode": "maybe"}, "AllowedValues"},
		{"number bounds", map[string]string{"Required": "r", "Count": "101"}, "outside"},
		{"not a number", map[string]string{"Required": "r", "Count": "ten"}, "not a number"},
	}
	for _, tt := range tests {
		_, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: tt.params})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestResolveRepoTemplate resolves every resource of template.yaml with the
// parameters of a local run, so a template change the resolver cannot follow
// fails here first.
func TestResolveRepoTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: map[string]string{
		"Stage": "local", "RestApiId": "local00api", "RestApiName": "jobs-api-local", "JobsResourceId": "v1jobs0001",
		"CognitoUserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_local",
		"AllowedOrigins":     "http://127.0.0.1:3001", "PipelineQueueName": "local-pipeline",
	}, Attributes: map[string]string{
		// Known only once created: a stream's ARN ends in its creation time,
		// an Events API's id and hosts are generated.
		"JobsTable.StreamArn":                    "arn:aws:dynamodb:us-east-1:123456789012:table/Jobs-local/stream/2025-01-01T00:00:00.000",
		"JobEventsApi.ApiId":                     "local0events",
		"JobEventsApi.Dns.Http":                  "local0events.appsync-api.us-east-1.amazonaws.com",
		"JobEventsNamespace.ChannelNamespaceArn": "arn:aws:appsync:us-east-1:123456789012:apis/local0events/channelNamespace/jobs",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for id, res := range tpl.Resources {
		inc, err := r.Included(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !inc {
			continue
		}
		if _, err := r.Value(res.Properties); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	uri, err := r.String(map[string]any{"Fn::GetAtt": []any{"JobsTable", "Arn"}})
	if want := "arn:aws:dynamodb:us-east-1:123456789012:table/Jobs-local"; err != nil || uri != want {
		t.Errorf("JobsTable.Arn = %q, %v; want %q", uri, err, want)
	}
}
