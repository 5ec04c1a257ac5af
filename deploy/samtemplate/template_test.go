package samtemplate_test

import (
	"reflect"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
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

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"not YAML", "Resources: [\n"},
		{"unknown section", "Resource: {}\n"},
		{"GetAtt without attribute", "Resources:\n  A:\n    Type: X\n    Properties: {V: !GetAtt B}\n"},
		{"resource not a map", "Resources:\n  A: [x]\n"},
		{"two documents", "Resources: {}\n---\nResources: {}\n"},
		{"empty", ""},
	}
	for _, tc := range tests {
		if _, err := samtemplate.Parse([]byte(tc.in)); err == nil {
			t.Errorf("%s: Parse succeeded, want an error", tc.name)
		}
	}
	if _, err := samtemplate.Load("testdata/does-not-exist.yaml"); err == nil {
		t.Error("Load of a missing file: want an error")
	}
}

func TestParseJSON(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(`{"Resources": {"A": {"Type": "X", "Properties": {"R": {"Fn::GetAtt": ["B", "Arn"]}, "N": null}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"R": map[string]any{"Fn::GetAtt": []any{"B", "Arn"}}, "N": nil}
	if got := tpl.Resources["A"].Properties; !reflect.DeepEqual(got, want) {
		t.Errorf("properties = %#v, want %#v", got, want)
	}
}
