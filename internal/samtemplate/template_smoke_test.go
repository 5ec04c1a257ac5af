package samtemplate_test

import (
	"reflect"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/samtemplate"
)

func TestParseShortForms(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  A:
    Type: AWS::X::Y
    Properties:
      Ref: !Ref P
      Att: !GetAtt B.Arn
      Sub: !Sub "x-${P}"
      If: !If [C, !Ref P, "no"]
      N: 3
      Q: "3"
`))
	if err != nil {
		t.Fatal(err)
	}
	got := tpl.Resources["A"].Properties
	want := map[string]any{
		"Ref": map[string]any{"Ref": "P"},
		"Att": map[string]any{"Fn::GetAtt": []any{"B", "Arn"}},
		"Sub": map[string]any{"Fn::Sub": "x-${P}"},
		"If":  map[string]any{"Fn::If": []any{"C", map[string]any{"Ref": "P"}, "no"}},
		"N":   float64(3),
		"Q":   "3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("properties =\n%#v\nwant\n%#v", got, want)
	}
	if _, err := samtemplate.Parse([]byte("Resources:\n  A:\n    Type: X\n    Propertis: {}\n")); err == nil {
		t.Error("misspelled resource attribute parsed without error")
	}
	if _, err := samtemplate.Parse([]byte("Resources:\n  A:\n    Type: X\n    Properties: {V: !Bogus x}\n")); err == nil {
		t.Error("unknown tag parsed without error")
	}
}

func TestLoadRepoTemplate(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Resources["JobsTable"].Type; got != "AWS::DynamoDB::Table" {
		t.Errorf("JobsTable type = %q", got)
	}
}
