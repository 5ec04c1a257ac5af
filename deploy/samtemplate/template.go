// Package samtemplate reads an AWS SAM / CloudFormation template, keeping
// intrinsic functions as data: the short forms (!Ref X, !GetAtt A.B, !Sub s,
// ...) become their long JSON forms ({"Ref": "X"}, {"Fn::GetAtt": ["A","B"]},
// {"Fn::Sub": "s"}), so tests can check references and the local server can
// resolve them against parameter values.
package samtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed template.
type Template struct {
	AWSTemplateFormatVersion string               `json:"AWSTemplateFormatVersion"`
	Transform                any                  `json:"Transform"`
	Description              string               `json:"Description"`
	Parameters               map[string]Parameter `json:"Parameters"`
	Conditions               map[string]any       `json:"Conditions"`
	Globals                  map[string]any       `json:"Globals"`
	Resources                map[string]Resource  `json:"Resources"`
	Outputs                  map[string]Output    `json:"Outputs"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type           string `json:"Type"`
	Default        any    `json:"Default"`
	AllowedPattern string `json:"AllowedPattern"`
	AllowedValues  []any  `json:"AllowedValues"`
	MinValue       any    `json:"MinValue"`
	MaxValue       any    `json:"MaxValue"`
	Description    string `json:"Description"`
}

// Resource is a template resource.
type Resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties"`
	Condition           string         `json:"Condition"`
	DependsOn           any            `json:"DependsOn"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
	Metadata            map[string]any `json:"Metadata"`
}

// Output is a template output.
type Output struct {
	Description string `json:"Description"`
	Value       any    `json:"Value"`
	Export      any    `json:"Export"`
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a YAML (or JSON) template. Unknown top-level sections, unknown
// resource attributes and unknown YAML tags are errors.
func Parse(b []byte) (*Template, error) {
	var doc, extra yaml.Node
	ydec := yaml.NewDecoder(bytes.NewReader(b))
	if err := ydec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	if err := ydec.Decode(&extra); err != io.EOF || len(doc.Content) != 1 {
		return nil, fmt.Errorf("samtemplate: want exactly one YAML document")
	}
	v, err := toValue(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(j)))
	dec.DisallowUnknownFields()
	var t Template
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	return &t, nil
}

// shortForms maps each short-form tag to its long-form key.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!If": "Fn::If", "!Equals": "Fn::Equals",
	"!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or", "!Join": "Fn::Join",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!ImportValue": "Fn::ImportValue", "!Base64": "Fn::Base64", "!GetAZs": "Fn::GetAZs",
	"!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
}

func toValue(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return toValue(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.ScalarNode:
		v = scalar(n)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			cv, err := toValue(c)
			if err != nil {
				return nil, err
			}
			s = append(s, cv)
		}
		v = s
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			cv, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = cv
		}
		v = m
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	key, ok := shortForms[n.Tag]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	if key == "Fn::GetAtt" && n.Kind == yaml.ScalarNode {
		res, attr, ok := strings.Cut(n.Value, ".")
		if !ok {
			return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, n.Value)
		}
		v = []any{res, attr}
	}
	return map[string]any{key: v}, nil
}

// scalar types a plain YAML scalar as CloudFormation reads it: booleans and
// numbers stay strings in CloudFormation, but keep YAML's typing so tests
// can tell "true" from true.
func scalar(n *yaml.Node) any {
	if n.Style != 0 || strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return n.Value
	}
	switch n.Tag {
	case "!!bool":
		b, _ := strconv.ParseBool(n.Value)
		return b
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!null":
		return nil
	}
	return n.Value
}
