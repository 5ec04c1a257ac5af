package samtemplate_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// refsBase is a small valid template; the cases below add to it.
const refsBase = `
Parameters:
  Stage: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [{Condition: IsProd}]
Globals:
  Function:
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: !GetAtt Table.Arn
  Perm:
    Type: AWS::Lambda::Permission
    Condition: IsProd
    DependsOn: [Fn]
    Properties:
      FunctionName: !Ref Fn
      SourceArn: !Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:x/${Stage}/GET/${!Literal}"
      Role: !GetAtt FnRole.Arn
      Name: !Sub ["${Local}-${Fn.Arn}", {Local: !Ref Stage}]
      Maybe: !If [NotProd, !Ref AWS::NoValue, !Ref Stage]
Outputs:
  TableArn:
    Value: !GetAtt Table.Arn
`

func TestCheckReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		old     string // replaced once in refsBase by new
		new     string
		wantErr []string // substrings of the error; none means valid
	}{
		{name: "valid"},
		{name: "dangling Ref", old: "FunctionName: !Ref Fn", new: "FunctionName: !Ref Fun",
			wantErr: []string{"Resources.Perm.Properties.FunctionName.Ref: Ref Fun: no such parameter or resource"}},
		{name: "dangling Ref in Globals", old: "TABLE: !Ref Table", new: "TABLE: !Ref Tabel",
			wantErr: []string{"Globals.Function.Environment.Variables.TABLE.Ref: Ref Tabel"}},
		{name: "dangling GetAtt resource", old: "Value: !GetAtt Table.Arn", new: "Value: !GetAtt Tables.Arn",
			wantErr: []string{"Outputs.TableArn.Value.Fn::GetAtt: Fn::GetAtt Tables.Arn: no such resource"}},
		{name: "unknown GetAtt attribute", old: "Value: !GetAtt Table.Arn", new: "Value: !GetAtt Table.Arm",
			wantErr: []string{`AWS::DynamoDB::Table has no attribute "Arm"`}},
		{name: "GetAtt of a parameter", old: "Value: !GetAtt Table.Arn", new: "Value: !GetAtt Stage.Arn",
			wantErr: []string{"Fn::GetAtt of a parameter"}},
		{name: "Sub variable", old: "x/${Stage}/GET", new: "x/${Stag}/GET",
			wantErr: []string{"Fn::Sub Stag: no such parameter or resource"}},
		{name: "Sub attribute", old: "${Local}-${Fn.Arn}", new: "${Local}-${Fn.Name}",
			wantErr: []string{`Fn::Sub Fn.Name: AWS::Serverless::Function has no attribute "Name"`}},
		{name: "Sub local name used outside its Sub", old: "!Ref AWS::NoValue", new: "!Sub '${Local}'",
			wantErr: []string{"Fn::Sub Local: no such parameter or resource"}},
		{name: "Sub NoValue", old: "x/${Stage}/GET", new: "x/${AWS::NoValue}/GET",
			wantErr: []string{"AWS::NoValue cannot be substituted"}},
		{name: "Sub unterminated", old: "x/${Stage}/GET/${!Literal}", new: "x/${Stage",
			wantErr: []string{"Fn::Sub : malformed"}},
		{name: "unknown pseudo-parameter", old: "${AWS::Region}", new: "${AWS::Regio}",
			wantErr: []string{"Fn::Sub AWS::Regio: no such parameter or resource"}},
		{name: "If condition", old: "!If [NotProd,", new: "!If [NotProduction,",
			wantErr: []string{"Fn::If[0]: Condition NotProduction: no such condition"}},
		{name: "resource Condition", old: "    Condition: IsProd", new: "    Condition: Prod",
			wantErr: []string{"Resources.Perm.Condition: Condition Prod: no such condition"}},
		{name: "Condition inside Conditions", old: "{Condition: IsProd}", new: "{Condition: Prod}",
			wantErr: []string{"Conditions.NotProd.Fn::Not[0]: Condition Prod: no such condition"}},
		{name: "resource Ref inside Conditions", old: "!Equals [!Ref Stage, prod]", new: "!Equals [!Ref Table, prod]",
			wantErr: []string{"conditions may reference only parameters"}},
		{name: "DependsOn", old: "DependsOn: [Fn]", new: "DependsOn: [Fn, Nope]",
			wantErr: []string{"Resources.Perm.DependsOn[1]: DependsOn Nope: no such resource"}},
		{name: "implicit role needs SAM to create it", old: "      Policies:", new: "      Role: arn:aws:iam::1:role/x\n      Policies:",
			wantErr: []string{"Fn::GetAtt FnRole.Arn: no such resource"}},
		{name: "two errors", old: "FunctionName: !Ref Fn", new: "FunctionName: !Ref A\n      Other: !Ref B",
			wantErr: []string{"Ref A:", "Ref B:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := parseReplaced(t, refsBase, tc.old, tc.new)
			err := samtemplate.CheckReferences(tpl)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("CheckReferences = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckReferences = nil, want errors containing %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckReferences = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestReferencesFindsEveryKind(t *testing.T) {
	t.Parallel()
	tpl := parseReplaced(t, refsBase, "", "")
	got := map[string]bool{}
	for _, r := range samtemplate.References(tpl) {
		got[r.String()] = true
	}
	for _, want := range []string{
		"Conditions.IsProd.Fn::Equals[0].Ref: Ref Stage",
		"Conditions.NotProd.Fn::Not[0]: Condition IsProd",
		"Globals.Function.Environment.Variables.TABLE.Ref: Ref Table",
		"Resources.Fn.Properties.Policies[0].Statement[0].Resource.Fn::GetAtt: Fn::GetAtt Table.Arn",
		"Resources.Perm.Condition: Condition IsProd",
		"Resources.Perm.DependsOn[0]: DependsOn Fn",
		"Resources.Perm.Properties.SourceArn.Fn::Sub: Fn::Sub AWS::Partition",
		"Resources.Perm.Properties.SourceArn.Fn::Sub: Fn::Sub Stage",
		"Resources.Perm.Properties.Name.Fn::Sub[0]: Fn::Sub Fn.Arn",
		"Resources.Perm.Properties.Name.Fn::Sub[1].Local.Ref: Ref Stage",
		"Resources.Perm.Properties.Maybe.Fn::If[0]: Condition NotProd",
		"Resources.Perm.Properties.Maybe.Fn::If[1].Ref: Ref AWS::NoValue",
		"Resources.Perm.Properties.Role.Fn::GetAtt: Fn::GetAtt FnRole.Arn",
		"Outputs.TableArn.Value.Fn::GetAtt: Fn::GetAtt Table.Arn",
	} {
		if !got[want] {
			t.Errorf("References lacks %q; got %v", want, got)
		}
	}
	for r := range got {
		if strings.Contains(r, "Literal") || strings.Contains(r, "Sub Local") {
			t.Errorf("References has %q: ${!Literal} and Sub-local names are not references", r)
		}
	}
}

func TestSubVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "plain", want: nil},
		{in: "${A}-${B.Arn}", want: []string{"A", "B.Arn"}},
		{in: "${!Literal}${ A }", want: []string{"A"}},
		{in: "$A ${AWS::Region}", want: []string{"AWS::Region"}},
		{in: "x${A", wantErr: true},
	}
	for _, tc := range tests {
		got, err := samtemplate.SubVariables(tc.in)
		if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SubVariables(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestImplicitResources(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(`
Globals:
  Function:
    AutoPublishAlias: live
Resources:
  A: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: Api}}}}
  B: {Type: AWS::Serverless::Function, Properties: {Role: r, Events: {E: {Type: HttpApi}}}}
  Api: {Type: AWS::Serverless::Api}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := samtemplate.ImplicitResources(tpl)
	want := map[string]string{
		"ARole": "AWS::IAM::Role", "A.Alias": "AWS::Lambda::Alias", "A.Version": "AWS::Lambda::Version",
		"B.Alias": "AWS::Lambda::Alias", "B.Version": "AWS::Lambda::Version",
		"AAliaslive": "AWS::Lambda::Alias", "BAliaslive": "AWS::Lambda::Alias", // by their generated logical IDs
		"ServerlessRestApi": "AWS::ApiGateway::RestApi", "ServerlessHttpApi": "AWS::ApiGatewayV2::Api",
		"Api.Stage": "AWS::ApiGateway::Stage", "Api.Deployment": "AWS::ApiGateway::Deployment",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ImplicitResources =\n%v\nwant\n%v", got, want)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want string
	}{
		{map[string]any{"Ref": "X"}, "!Ref X"},
		{map[string]any{"Fn::GetAtt": []any{"T", "Arn"}}, "!GetAtt T.Arn"},
		{map[string]any{"Fn::Sub": "a-${B}"}, `!Sub "a-${B}"`},
		{map[string]any{"Fn::If": []any{"C", "a", map[string]any{"Ref": "AWS::NoValue"}}}, "!If [C, a, !Ref AWS::NoValue]"},
		{map[string]any{"b": 1.0, "a": []any{"x", nil}}, "{a: [x, null], b: 1}"},
		{"*", "*"},
	}
	for _, tc := range tests {
		if got := samtemplate.Render(tc.in); got != tc.want {
			t.Errorf("Render(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// parseReplaced parses base with old replaced by new exactly once (no
// replacement when old is empty).
func parseReplaced(t *testing.T, base, old, new string) *samtemplate.Template {
	t.Helper()
	text := base
	if old != "" {
		if n := strings.Count(base, old); n != 1 {
			t.Fatalf("%q occurs %d times in the template, want 1", old, n)
		}
		text = strings.Replace(base, old, new, 1)
	}
	tpl, err := samtemplate.Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}
