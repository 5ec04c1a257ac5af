package samtemplate_test

import (
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

const propsBase = `
Globals:
  Function:
    Runtime: provided.al2023
    MemorySize: 256
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      Tags: !If [HasTags, [{Key: a, Value: b}], !Ref AWS::NoValue]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: bootstrap
      LoggingConfig: {LogGroup: !Ref Logs}
      Environment: {Variables: {N: !Ref Num}}
      Policies:
        - AWSLambdaBasicExecutionRole
        - Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]
  Method:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: abc
      ResourceId: def
      HttpMethod: GET
      AuthorizationType: NONE
      RequestParameters: {method.request.path.id: true}
      Integration: {Type: MOCK, RequestTemplates: {application/json: "{}"}}
`

func TestCheckProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		old     string
		new     string
		wantErr []string
	}{
		{name: "valid"},
		{name: "misspelled top-level property", old: "PointInTimeRecoverySpecification:", new: "PointInTimeRecoverySpec:",
			wantErr: []string{`Resources.Table.Properties.PointInTimeRecoverySpec: unknown property (did you mean "PointInTimeRecoverySpecification"?)`}},
		{name: "misspelled nested property", old: "{AttributeName: id, KeyType: HASH}", new: "{AttributeName: id, KeyTyp: HASH}",
			wantErr: []string{"Resources.Table.Properties.KeySchema[0].KeyTyp: unknown property", "KeySchema[0]: missing required property KeyType"}},
		{name: "property of another type", old: "      Handler: bootstrap", new: "      Handler: bootstrap\n      BillingMode: x",
			wantErr: []string{"Resources.Fn.Properties.BillingMode: unknown property"}},
		{name: "misspelled SAM extra", old: "LoggingConfig: {LogGroup:", new: "LoggingConfig: {LogGrup:",
			wantErr: []string{"Resources.Fn.Properties.LoggingConfig.LogGrup: unknown property"}},
		{name: "misspelled in Globals", old: "    MemorySize: 256", new: "    MemorySze: 256",
			wantErr: []string{"Globals.Function.MemorySze: unknown property"}},
		{name: "not allowed in Globals", old: "    MemorySize: 256", new: "    MemorySize: 256\n    Policies: [x]",
			wantErr: []string{"Globals.Function.Policies: SAM does not allow Policies in Globals"}},
		{name: "misspelled in policy document", old: "- Statement: [", new: "- Statements: [",
			wantErr: []string{"Resources.Fn.Properties.Policies[1]"}},
		{name: "misspelled in Fn::If branch", old: "[{Key: a, Value: b}]", new: "[{Key: a, Valu: b}]",
			wantErr: []string{"Resources.Table.Properties.Tags.Fn::If[1][0].Valu: unknown property"}},
		{name: "missing required property", old: "      HttpMethod: GET\n", new: "",
			wantErr: []string{"Resources.Method.Properties: missing required property HttpMethod"}},
		{name: "object where a list belongs", old: "KeySchema: [{AttributeName: id, KeyType: HASH}]", new: "KeySchema: {AttributeName: id, KeyType: HASH}",
			wantErr: []string{"Resources.Table.Properties.KeySchema: want a list"}},
		{name: "scalar where an object belongs", old: "PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}", new: "PointInTimeRecoverySpecification: true",
			wantErr: []string{"PointInTimeRecoverySpecification: want an object, got true"}},
		{name: "list where a scalar belongs", old: "Handler: bootstrap", new: "Handler: [bootstrap]",
			wantErr: []string{"Resources.Fn.Properties.Handler: want a string"}},
		{name: "unknown type", old: "Type: AWS::DynamoDB::Table", new: "Type: AWS::DynamoDB::Tabel",
			wantErr: []string{`Resources.Table: no property schema for type "AWS::DynamoDB::Tabel"`}},
		{name: "unknown Globals section", old: "Globals:\n", new: "Globals:\n  Tabel: {}\n",
			wantErr: []string{"Globals.Tabel: unsupported Globals section"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := parseReplaced(t, propsBase, tc.old, tc.new)
			err := samtemplate.CheckProperties(tpl)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("CheckProperties = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckProperties = nil, want errors containing %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckProperties = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
