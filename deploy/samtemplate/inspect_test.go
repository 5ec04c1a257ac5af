package samtemplate_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

func TestEffectivePropertiesMergesGlobalsLikeSAM(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(`
Globals:
  Function:
    Runtime: provided.al2023
    MemorySize: 256
    Layers: [g]
    Environment: {Variables: {A: g, B: g}}
    Tags: !Ref T
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 512
      Layers: [l]
      Environment: {Variables: {B: l, C: l}}
      Tags: {k: v}
  Plain:
    Type: AWS::Lambda::Function
    Properties: {MemorySize: 128}
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := samtemplate.FunctionProperties(tpl, "Fn")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Runtime":     "provided.al2023",
		"MemorySize":  float64(512),
		"Layers":      []any{"g", "l"},
		"Environment": map[string]any{"Variables": map[string]any{"A": "g", "B": "l", "C": "l"}},
		"Tags":        map[string]any{"k": "v"}, // an intrinsic global is a scalar: local wins
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FunctionProperties =\n%#v\nwant\n%#v", got, want)
	}
	got["Layers"].([]any)[0] = "changed"
	if g := tpl.Globals["Function"].(map[string]any)["Layers"].([]any)[0]; g != "g" {
		t.Errorf("modifying the result changed the template's Globals: %v", g)
	}
	plain, err := samtemplate.EffectiveProperties(tpl, "Plain")
	if err != nil || !reflect.DeepEqual(plain, map[string]any{"MemorySize": float64(128)}) {
		t.Errorf("EffectiveProperties(Plain) = %v, %v; want its own properties only", plain, err)
	}
	if _, err := samtemplate.FunctionProperties(tpl, "Plain"); err == nil {
		t.Error("FunctionProperties of a non-SAM function: want an error")
	}
	if _, err := samtemplate.EffectiveProperties(tpl, "Nope"); err == nil {
		t.Error("EffectiveProperties of a missing resource: want an error")
	}
}

func TestFunctionPolicyActions(t *testing.T) {
	t.Parallel()
	const base = `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:PutItem]
              Resource: !GetAtt T.Arn
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: [!GetAtt T.Arn, !Sub "${T.Arn}/index/*"]
`
	tests := []struct {
		name, old, new string
		want           map[string][]string
		wantErr        string
	}{
		{name: "inline statements", want: map[string][]string{
			"dynamodb:GetItem": {`!GetAtt T.Arn`, `!Sub "${T.Arn}/index/*"`},
			"dynamodb:PutItem": {`!GetAtt T.Arn`},
		}},
		{name: "managed policy", old: "      Policies:\n", new: "      Policies:\n        - AmazonDynamoDBFullAccess\n",
			wantErr: "has managed policies AmazonDynamoDBFullAccess"},
		{name: "policy template", old: "      Policies:\n", new: "      Policies:\n        - DynamoDBReadPolicy: {TableName: t}\n",
			wantErr: "has SAM policy templates DynamoDBReadPolicy"},
		{name: "own role", old: "      Policies:\n", new: "      Role: !GetAtt R.Arn\n      Policies:\n",
			wantErr: "has its own Role !GetAtt R.Arn"},
		{name: "deny", old: "- Effect: Allow\n              Action: dynamodb:GetItem", new: "- Effect: Deny\n              Action: dynamodb:GetItem",
			wantErr: `Effect="Deny"`},
		{name: "NotResource", old: "Resource: !GetAtt T.Arn", new: "NotResource: !GetAtt T.Arn",
			wantErr: "other keys [NotResource]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := parseReplaced(t, base, tc.old, tc.new)
			got, err := samtemplate.FunctionPolicyActions(tpl, "Fn")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FunctionPolicyActions = %v, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FunctionPolicyActions = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestMethodHelpers(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  Id:
    Type: AWS::ApiGateway::Resource
    Properties: {ParentId: !Ref JobsResourceId, PathPart: "{id}"}
  Cancel:
    Type: AWS::ApiGateway::Resource
    Properties: {ParentId: !Ref Id, PathPart: cancel}
  M:
    Type: AWS::ApiGateway::Method
    Properties:
      ResourceId: !Ref Cancel
      Integration:
        Uri: !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${CancelFn.Arn}/invocations
  Bad:
    Type: AWS::ApiGateway::Method
    Properties:
      ResourceId: !Ref Orphan
      Integration: {Uri: !Sub "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${X.Arn}/invocations"}
`))
	if err != nil {
		t.Fatal(err)
	}
	ext := map[string]string{"JobsResourceId": "/v1/jobs"}
	path, err := samtemplate.ResourcePath(tpl, tpl.Resources["M"].Properties["ResourceId"], ext)
	if want := "/v1/jobs/{id}/cancel"; err != nil || path != want {
		t.Errorf("ResourcePath = %q, %v; want %q", path, err, want)
	}
	if _, err := samtemplate.ResourcePath(tpl, tpl.Resources["Bad"].Properties["ResourceId"], ext); err == nil {
		t.Error("ResourcePath of an unknown resource: want an error")
	}
	if _, err := samtemplate.ResourcePath(tpl, "abc123", ext); err == nil {
		t.Error("ResourcePath of a literal id: want an error")
	}
	fn, err := samtemplate.IntegrationFunction(tpl, "M")
	if err != nil || fn != "CancelFn" {
		t.Errorf("IntegrationFunction(M) = %q, %v; want CancelFn", fn, err)
	}
	if fn, err := samtemplate.IntegrationFunction(tpl, "Bad"); err == nil {
		t.Errorf("IntegrationFunction(Bad) = %q; want an error for a hard-coded partition/region", fn)
	}
	if _, err := samtemplate.IntegrationFunction(tpl, "Id"); err == nil {
		t.Error("IntegrationFunction of a non-method: want an error")
	}
	got := samtemplate.MethodSourceArn("RestApiId", "POST", "/v1/jobs/{id}/cancel")
	want := "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApiId}/*/POST/v1/jobs/*/cancel"
	if got != want {
		t.Errorf("MethodSourceArn = %q, want %q", got, want)
	}
	if got := samtemplate.ResourcesOfType(tpl, "AWS::ApiGateway::Method"); !reflect.DeepEqual(got, []string{"Bad", "M"}) {
		t.Errorf("ResourcesOfType = %v, want [Bad M]", got)
	}
}
