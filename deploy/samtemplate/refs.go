package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// RefKind says how a template names something.
type RefKind string

// Reference kinds.
const (
	KindRef       RefKind = "Ref"        // {"Ref": X}
	KindGetAtt    RefKind = "Fn::GetAtt" // {"Fn::GetAtt": [X, Attr]}
	KindSub       RefKind = "Fn::Sub"    // ${X} or ${X.Attr} inside an Fn::Sub string
	KindCondition RefKind = "Condition"  // Fn::If's condition, a Condition attribute, {"Condition": X}
	KindDependsOn RefKind = "DependsOn"  // a DependsOn attribute
)

// Reference is one use of a name: a parameter, resource, pseudo-parameter
// or condition.
type Reference struct {
	Kind   RefKind
	Target string // logical ID, parameter, pseudo-parameter or condition name
	Attr   string // attribute for Fn::GetAtt and ${X.Attr}; "" otherwise
	Path   string // where it occurs, e.g. Resources.GetJobFn.Properties.Policies[0]
	// inConditions is set for references inside the Conditions section,
	// where only parameters and pseudo-parameters may be referenced.
	inConditions bool
}

func (r Reference) String() string {
	target := r.Target
	if r.Attr != "" {
		target += "." + r.Attr
	}
	return fmt.Sprintf("%s: %s %s", r.Path, r.Kind, target)
}

// PseudoParameters are the names CloudFormation defines for every stack.
var PseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// getAttAttributes lists the attributes Fn::GetAtt may read per resource
// type, for the types this stack uses. A type not listed accepts any
// attribute name.
var getAttAttributes = map[string][]string{
	"AWS::DynamoDB::Table":        {"Arn", "StreamArn"},
	"AWS::Serverless::Function":   lambdaFunctionAttributes, // becomes an AWS::Lambda::Function
	"AWS::Lambda::Function":       lambdaFunctionAttributes,
	"AWS::IAM::Role":              {"Arn", "RoleId"},
	"AWS::Logs::LogGroup":         {"Arn"},
	"AWS::SQS::Queue":             {"Arn", "QueueName", "QueueUrl"},
	"AWS::ApiGateway::Resource":   {"ResourceId"},
	"AWS::ApiGateway::Authorizer": {"AuthorizerId"},
	"AWS::CloudWatch::Alarm":      {"Arn"},
}

var lambdaFunctionAttributes = []string{"Arn", "SnapStartResponse.ApplyOn", "SnapStartResponse.OptimizationStatus"}

// References returns every reference in the template's Conditions,
// Globals, Resources and Outputs, ordered by path.
func References(t *Template) []Reference {
	var refs []Reference
	add := func(r Reference) { refs = append(refs, r) }
	for _, name := range slices.Sorted(maps.Keys(t.Conditions)) {
		walkRefs("Conditions."+name, t.Conditions[name], true, nil, add)
	}
	for _, name := range slices.Sorted(maps.Keys(t.Globals)) {
		walkRefs("Globals."+name, t.Globals[name], false, nil, add)
	}
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[id]
		p := "Resources." + id
		if r.Condition != "" {
			add(Reference{Kind: KindCondition, Target: r.Condition, Path: p + ".Condition"})
		}
		for i, d := range dependsOn(r.DependsOn) {
			add(Reference{Kind: KindDependsOn, Target: d, Path: fmt.Sprintf("%s.DependsOn[%d]", p, i)})
		}
		walkRefs(p+".Properties", r.Properties, false, nil, add)
		walkRefs(p+".Metadata", r.Metadata, false, nil, add)
	}
	for _, name := range slices.Sorted(maps.Keys(t.Outputs)) {
		o := t.Outputs[name]
		walkRefs("Outputs."+name+".Value", o.Value, false, nil, add)
		walkRefs("Outputs."+name+".Export", o.Export, false, nil, add)
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Path < refs[j].Path })
	return refs
}

// CheckReferences returns an error listing every reference whose target does
// not exist: an unknown parameter, resource or condition, an Fn::GetAtt of a
// parameter or of an attribute the resource type lacks, or a malformed
// intrinsic. Resources SAM generates (ImplicitResources) count as existing.
func CheckReferences(t *Template) error {
	implicit := ImplicitResources(t)
	var errs []error
	bad := func(r Reference, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", r, fmt.Sprintf(format, a...)))
	}
	for _, r := range References(t) {
		_, isParam := t.Parameters[r.Target]
		_, isRes := t.Resources[r.Target]
		_, isImpl := implicit[r.Target]
		switch r.Kind {
		case KindCondition:
			if _, ok := t.Conditions[r.Target]; !ok {
				bad(r, "no such condition")
			}
		case KindDependsOn:
			if !isRes {
				bad(r, "no such resource")
			}
		case KindRef, KindSub:
			if r.Kind == KindSub && r.Attr != "" {
				checkGetAtt(r, t, implicit, bad)
				continue
			}
			switch {
			case r.Target == "":
				bad(r, "malformed")
			case PseudoParameters[r.Target]:
				if r.Kind == KindSub && r.Target == "AWS::NoValue" {
					bad(r, "AWS::NoValue cannot be substituted")
				}
			case isParam:
			case r.inConditions:
				bad(r, "conditions may reference only parameters and pseudo-parameters")
			case isRes, isImpl:
			default:
				bad(r, "no such parameter or resource")
			}
		case KindGetAtt:
			checkGetAtt(r, t, implicit, bad)
		}
	}
	return errors.Join(errs...)
}

func checkGetAtt(r Reference, t *Template, implicit map[string]string, bad func(Reference, string, ...any)) {
	if r.inConditions {
		bad(r, "conditions may reference only parameters and pseudo-parameters")
		return
	}
	typ := ""
	if res, ok := t.Resources[r.Target]; ok {
		typ = res.Type
	} else if it, ok := implicit[r.Target]; ok {
		typ = it
	} else if _, ok := t.Parameters[r.Target]; ok {
		bad(r, "Fn::GetAtt of a parameter")
		return
	} else {
		bad(r, "no such resource")
		return
	}
	if r.Attr == "" {
		bad(r, "missing attribute")
		return
	}
	if r.Attr == "*" {
		return // computed attribute name (an intrinsic): cannot be checked
	}
	if attrs, ok := getAttAttributes[typ]; ok && !contains(attrs, r.Attr) {
		bad(r, "%s has no attribute %q (known: %s)", typ, r.Attr, strings.Join(attrs, ", "))
	}
}

// ImplicitResources returns the logical IDs, with their types, of the
// resources the SAM transform generates and a template may reference
// although it does not declare them. Deliberately small:
//   - <Function>Role (AWS::IAM::Role) for a function without a Role property;
//   - <Function>.Alias and <Function>.Version for a function with AutoPublishAlias,
//     and the alias by its generated logical ID, <Function>Alias<alias name>;
//   - <Api>.Stage and <Api>.Deployment for an AWS::Serverless::Api;
//   - ServerlessRestApi / ServerlessHttpApi when a function has an Api / HttpApi event.
func ImplicitResources(t *Template) map[string]string {
	out := map[string]string{}
	for id, r := range t.Resources {
		switch r.Type {
		case "AWS::Serverless::Function":
			props, err := FunctionProperties(t, id)
			if err != nil {
				props = r.Properties
			}
			if _, ok := props["Role"]; !ok {
				out[id+"Role"] = "AWS::IAM::Role"
			}
			if alias, ok := props["AutoPublishAlias"]; ok {
				out[id+".Alias"] = "AWS::Lambda::Alias"
				out[id+".Version"] = "AWS::Lambda::Version"
				if name, ok := alias.(string); ok {
					out[id+"Alias"+name] = "AWS::Lambda::Alias"
				}
			}
			events, _ := props["Events"].(map[string]any)
			for _, e := range events {
				em, _ := e.(map[string]any)
				switch em["Type"] {
				case "Api":
					out["ServerlessRestApi"] = "AWS::ApiGateway::RestApi"
				case "HttpApi":
					out["ServerlessHttpApi"] = "AWS::ApiGatewayV2::Api"
				}
			}
		case "AWS::Serverless::Api":
			out[id+".Stage"] = "AWS::ApiGateway::Stage"
			out[id+".Deployment"] = "AWS::ApiGateway::Deployment"
		}
	}
	return out
}

// IntrinsicName returns the function name of v when v is an intrinsic
// function in long form (a map with exactly one key, "Ref" or "Fn::..."),
// and its argument.
func IntrinsicName(v any) (name string, arg any, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, a, true
		}
	}
	return "", nil, false
}

// walkRefs collects the references in v. locals are the names an
// enclosing Fn::Sub's variable map defines.
func walkRefs(path string, v any, inConditions bool, locals map[string]bool, add func(Reference)) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			walkRefs(fmt.Sprintf("%s[%d]", path, i), e, inConditions, locals, add)
		}
		return
	case map[string]any:
	default:
		return
	}
	m := v.(map[string]any)
	name, arg, ok := IntrinsicName(m)
	if !ok {
		if c, isCond := m["Condition"].(string); isCond && len(m) == 1 && inConditions {
			add(Reference{Kind: KindCondition, Target: c, Path: path, inConditions: true})
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			walkRefs(path+"."+k, m[k], inConditions, locals, add)
		}
		return
	}
	p := path + "." + name
	switch name {
	case "Ref":
		s, _ := arg.(string)
		if !locals[s] {
			add(Reference{Kind: KindRef, Target: s, Path: p, inConditions: inConditions})
		}
		if _, isStr := arg.(string); !isStr {
			walkRefs(p, arg, inConditions, locals, add)
		}
	case "Fn::GetAtt":
		r := Reference{Kind: KindGetAtt, Path: p, inConditions: inConditions}
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 {
				r.Target, _ = a[0].(string)
				if s, isStr := a[1].(string); isStr {
					r.Attr = s
				} else {
					r.Attr = "*"
					walkRefs(p+"[1]", a[1], inConditions, locals, add)
				}
			}
		case string: // "Resource.Attr" in JSON templates
			r.Target, r.Attr, _ = strings.Cut(a, ".")
		}
		add(r)
	case "Fn::Sub":
		subRefs(p, arg, inConditions, locals, add)
	case "Fn::If":
		a, _ := arg.([]any)
		if len(a) != 3 {
			add(Reference{Kind: KindCondition, Path: p})
			walkRefs(p, arg, inConditions, locals, add)
			return
		}
		c, _ := a[0].(string)
		add(Reference{Kind: KindCondition, Target: c, Path: p + "[0]", inConditions: inConditions})
		walkRefs(p+"[1]", a[1], inConditions, locals, add)
		walkRefs(p+"[2]", a[2], inConditions, locals, add)
	default:
		walkRefs(p, arg, inConditions, locals, add)
	}
}

func subRefs(path string, arg any, inConditions bool, locals map[string]bool, add func(Reference)) {
	var s string
	switch a := arg.(type) {
	case string:
		s = a
	case []any:
		if len(a) != 2 {
			add(Reference{Kind: KindSub, Path: path}) // malformed: reported as an empty target
			return
		}
		vars, _ := a[1].(map[string]any)
		if vars == nil {
			add(Reference{Kind: KindSub, Path: path})
			return
		}
		inner := make(map[string]bool, len(locals)+len(vars))
		for k := range locals {
			inner[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			inner[k] = true
			walkRefs(path+"[1]."+k, vars[k], inConditions, locals, add)
		}
		str, isStr := a[0].(string)
		if !isStr {
			walkRefs(path+"[0]", a[0], inConditions, locals, add)
			return
		}
		s, locals = str, inner
		path += "[0]"
	default:
		walkRefs(path, arg, inConditions, locals, add)
		return
	}
	names, err := SubVariables(s)
	if err != nil {
		add(Reference{Kind: KindSub, Path: path})
		return
	}
	for _, n := range names {
		if locals[n] {
			continue
		}
		r := Reference{Kind: KindSub, Target: n, Path: path, inConditions: inConditions}
		if !PseudoParameters[n] {
			if res, attr, dotted := strings.Cut(n, "."); dotted {
				r.Target, r.Attr = res, attr
			}
		}
		add(r)
	}
}

// SubVariables returns the variable names in an Fn::Sub string, in order:
// "X" for ${X}, "X.Attr" for ${X.Attr}. ${!Literal} is not a variable.
// An unterminated ${ is an error.
func SubVariables(s string) ([]string, error) {
	var names []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return names, nil
		}
		s = s[i+2:]
		if strings.HasPrefix(s, "!") {
			continue
		}
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return names, fmt.Errorf("unterminated ${ in Fn::Sub string")
		}
		names = append(names, strings.TrimSpace(s[:j]))
		s = s[j+1:]
	}
}

func dependsOn(v any) []string {
	switch d := v.(type) {
	case string:
		return []string{d}
	case []any:
		out := make([]string, 0, len(d))
		for _, e := range d {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Render writes v as a short, stable string for messages and comparisons:
// intrinsics in their short YAML form (!Ref X, !GetAtt X.Attr, !Sub "s",
// !If [...]), lists in brackets, maps as {k: v} with sorted keys, scalars
// as they are.
func Render(v any) string {
	if name, arg, ok := IntrinsicName(v); ok {
		short := "!" + strings.TrimPrefix(name, "Fn::")
		switch name {
		case "Ref":
			if s, isStr := arg.(string); isStr {
				return "!Ref " + s
			}
		case "Fn::GetAtt":
			if a, isList := arg.([]any); isList && len(a) == 2 {
				if r, ok1 := a[0].(string); ok1 {
					if at, ok2 := a[1].(string); ok2 {
						return "!GetAtt " + r + "." + at
					}
				}
			}
		case "Fn::Sub":
			if s, isStr := arg.(string); isStr {
				return "!Sub " + strconv.Quote(s)
			}
		}
		return short + " " + Render(arg)
	}
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, k+": "+Render(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case nil:
		return "null"
	default:
		return fmt.Sprint(x)
	}
}
