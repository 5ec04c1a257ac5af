package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation/apigateway"
	"github.com/awslabs/goformation/v7/cloudformation/apigatewayv2"
	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/secretsmanager"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"
)

// Property names are checked against goformation's generated structs (one
// per CloudFormation and SAM type, fields tagged with the property names
// of the published resource specification), walked by reflection.
// goformation's own parser is not used: it resolves or drops Ref/GetAtt/Sub
// before decoding, rejects SAM properties newer than its SAM spec
// (LoggingConfig), and types some maps wrongly (Method.RequestParameters
// as strings), so it cannot tell a misspelling from a valid template.
//
// Scalars are not type-checked (CloudFormation converts between strings,
// numbers and booleans); shapes are: a property that is an object must be
// a map, a list must be a list. Intrinsic functions stand for any value,
// except that both branches of an Fn::If are checked.

// propertySchemas maps each resource type this repository's templates may
// use to its goformation struct. A type missing here is an error: add it.
var propertySchemas = map[string]reflect.Type{
	"AWS::Serverless::Function":        reflect.TypeFor[serverless.Function](),
	"AWS::Serverless::Api":             reflect.TypeFor[serverless.Api](),
	"AWS::Serverless::HttpApi":         reflect.TypeFor[serverless.HttpApi](),
	"AWS::DynamoDB::Table":             reflect.TypeFor[dynamodb.Table](),
	"AWS::Logs::LogGroup":              reflect.TypeFor[logs.LogGroup](),
	"AWS::Logs::MetricFilter":          reflect.TypeFor[logs.MetricFilter](),
	"AWS::CloudWatch::Alarm":           reflect.TypeFor[cloudwatch.Alarm](),
	"AWS::CloudWatch::Dashboard":       reflect.TypeFor[cloudwatch.Dashboard](),
	"AWS::ApiGateway::RestApi":         reflect.TypeFor[apigateway.RestApi](),
	"AWS::ApiGateway::Resource":        reflect.TypeFor[apigateway.Resource](),
	"AWS::ApiGateway::Method":          reflect.TypeFor[apigateway.Method](),
	"AWS::ApiGateway::Authorizer":      reflect.TypeFor[apigateway.Authorizer](),
	"AWS::ApiGateway::GatewayResponse": reflect.TypeFor[apigateway.GatewayResponse](),
	"AWS::ApiGateway::Deployment":      reflect.TypeFor[apigateway.Deployment](),
	"AWS::ApiGateway::Stage":           reflect.TypeFor[apigateway.Stage](),
	"AWS::ApiGatewayV2::Api":           reflect.TypeFor[apigatewayv2.Api](),
	"AWS::Lambda::Function":            reflect.TypeFor[lambda.Function](),
	"AWS::Lambda::Permission":          reflect.TypeFor[lambda.Permission](),
	"AWS::Lambda::EventSourceMapping":  reflect.TypeFor[lambda.EventSourceMapping](),
	"AWS::IAM::Role":                   reflect.TypeFor[iam.Role](),
	"AWS::IAM::Policy":                 reflect.TypeFor[iam.Policy](),
	"AWS::SQS::Queue":                  reflect.TypeFor[sqs.Queue](),
	"AWS::SQS::QueuePolicy":            reflect.TypeFor[sqs.QueuePolicy](),
	"AWS::SecretsManager::Secret":      reflect.TypeFor[secretsmanager.Secret](),
	"AWS::AppSync::Api":                reflect.TypeFor[appSyncAPI](),
	"AWS::AppSync::ChannelNamespace":   reflect.TypeFor[appSyncChannelNamespace](),
}

// samFunctionExtras are AWS::Serverless::Function properties that SAM
// documents but goformation's SAM spec predates. Each one SAM passes
// directly to the AWS::Lambda::Function property of the same name, so it
// is checked against that property's type.
var samFunctionExtras = map[string]reflect.Type{
	"LoggingConfig":           reflect.TypeFor[lambda.Function_LoggingConfig](),
	"RecursiveLoop":           reflect.TypeFor[string](),
	"SnapStart":               reflect.TypeFor[lambda.Function_SnapStart](),
	"RuntimeManagementConfig": reflect.TypeFor[lambda.Function_RuntimeManagementConfig](),
	"PropagateTags":           reflect.TypeFor[bool](),
}

// globalsNotAllowed are Function properties SAM refuses in Globals.
var globalsNotAllowed = []string{"Role", "Policies", "FunctionName", "Events"}

// CheckProperties returns an error listing every property that is not a
// property of its resource type (a misspelling, or a property of another
// type), every required property that is missing, every value of the wrong
// shape, and every resource type it has no schema for. SAM functions are
// checked with Globals merged in; the Globals.Function section is checked
// on its own too.
func CheckProperties(t *Template) error {
	var errs []error
	if g, ok := t.Globals["Function"]; ok {
		gm, isMap := g.(map[string]any)
		if !isMap {
			errs = append(errs, fmt.Errorf("Globals.Function: not a map"))
		}
		for _, k := range slices.Sorted(maps.Keys(gm)) {
			if contains(globalsNotAllowed, k) {
				errs = append(errs, fmt.Errorf("Globals.Function.%s: SAM does not allow %s in Globals", k, k))
			}
		}
		errs = append(errs, checkStruct("Globals.Function", gm, propertySchemas["AWS::Serverless::Function"], samFunctionExtras, false)...)
	}
	for _, k := range slices.Sorted(maps.Keys(t.Globals)) {
		if k != "Function" {
			if _, ok := propertySchemas["AWS::Serverless::"+k]; !ok {
				errs = append(errs, fmt.Errorf("Globals.%s: unsupported Globals section", k))
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[id]
		path := "Resources." + id + ".Properties"
		schema, ok := propertySchemas[r.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("Resources.%s: no property schema for type %q (add it to propertySchemas)", id, r.Type))
			continue
		}
		props, err := EffectiveProperties(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var extras map[string]reflect.Type
		if r.Type == "AWS::Serverless::Function" {
			extras = samFunctionExtras
		}
		errs = append(errs, checkStruct(path, props, schema, extras, true)...)
	}
	return errors.Join(errs...)
}

// fieldsOf returns the property fields of a goformation struct by JSON
// name, and which of them are required (tagged without omitempty).
func fieldsOf(t reflect.Type) (fields map[string]reflect.Type, required []string) {
	fields = map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("json")
		if !ok || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fields[name] = f.Type
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	return fields, required
}

// isUnion reports whether t is one of goformation's "either X or Y"
// helper structs (e.g. Function_CodeUri): exported fields, none tagged.
func isUnion(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t.NumField() == 0 {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		if _, ok := t.Field(i).Tag.Lookup("json"); ok {
			return false
		}
	}
	return true
}

func checkStruct(path string, v any, t reflect.Type, extras map[string]reflect.Type, checkRequired bool) []error {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			m = map[string]any{}
		} else {
			return []error{fmt.Errorf("%s: want an object, got %s", path, Render(v))}
		}
	}
	fields, required := fieldsOf(t)
	for k, ft := range extras {
		fields[k] = ft
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ft, ok := fields[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.%s: unknown property%s", path, k, suggest(k, fields)))
			continue
		}
		errs = append(errs, checkValue(path+"."+k, m[k], ft)...)
	}
	if checkRequired {
		for _, k := range required {
			if _, ok := m[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: missing required property %s", path, k))
			}
		}
	}
	return errs
}

func checkValue(path string, v any, t reflect.Type) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, arg, ok := IntrinsicName(v); ok {
		if a, isList := arg.([]any); name == "Fn::If" && isList && len(a) == 3 {
			var errs []error
			for i := 1; i <= 2; i++ {
				if !isNoValue(a[i]) {
					errs = append(errs, checkValue(fmt.Sprintf("%s.Fn::If[%d]", path, i), a[i], t)...)
				}
			}
			return errs
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Interface:
		return nil
	case reflect.Struct:
		if isUnion(t) {
			return checkUnion(path, v, t)
		}
		return checkStruct(path, v, t, nil, true)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return []error{fmt.Errorf("%s: want a map, got %s", path, Render(v))}
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(m)) {
			errs = append(errs, checkValue(path+"."+k, m[k], t.Elem())...)
		}
		return errs
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return []error{fmt.Errorf("%s: want a list, got %s", path, Render(v))}
		}
		var errs []error
		for i, e := range l {
			errs = append(errs, checkValue(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return errs
	default: // scalars
		switch v.(type) {
		case string, bool, float64, int64, int:
			return nil
		}
		return []error{fmt.Errorf("%s: want a %s, got %s", path, scalarName(t), Render(v))}
	}
}

// checkUnion accepts v when it fits one of the union's alternatives. A
// list is accepted when each element fits an element type of one of the
// list alternatives (SAM allows mixed lists, e.g. Policies with managed
// policy names and documents).
func checkUnion(path string, v any, t reflect.Type) []error {
	var alts, elems []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		ft := t.Field(i).Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice {
			elems = append(elems, ft.Elem())
		} else {
			alts = append(alts, ft)
		}
	}
	firstFit := func(p string, v any, types []reflect.Type) []error {
		var best []error
		for _, ft := range types {
			errs := checkValue(p, v, ft)
			if len(errs) == 0 {
				return nil
			}
			// Prefer the alternative of the right shape for the message.
			if best == nil || (isObject(ft) && isMap(v)) {
				best = errs
			}
		}
		if best == nil {
			best = []error{fmt.Errorf("%s: %s fits none of %s", p, Render(v), t.Name())}
		}
		return best
	}
	if l, ok := v.([]any); ok && len(elems) > 0 {
		var errs []error
		for i, e := range l {
			errs = append(errs, firstFit(fmt.Sprintf("%s[%d]", path, i), e, elems)...)
		}
		return errs
	}
	return firstFit(path, v, alts)
}

func isObject(t reflect.Type) bool { return t.Kind() == reflect.Struct || t.Kind() == reflect.Map }

func isMap(v any) bool { _, ok := v.(map[string]any); return ok }

func isNoValue(v any) bool {
	name, arg, ok := IntrinsicName(v)
	return ok && name == "Ref" && arg == "AWS::NoValue"
}

func scalarName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	default:
		return "number"
	}
}

// suggest names the closest valid property, for "did you mean" messages:
// the nearest by edit distance, when within a third of the longer name, or
// one the name is a prefix of.
func suggest(name string, fields map[string]reflect.Type) string {
	best, bestD := "", -1
	ln := strings.ToLower(name)
	for f := range fields {
		lf := strings.ToLower(f)
		d := editDistance(ln, lf)
		if d > max(2, max(len(ln), len(lf))/3) && !(len(ln) >= 4 && strings.HasPrefix(lf, ln)) {
			continue
		}
		if bestD < 0 || d < bestD || d == bestD && f < best {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
