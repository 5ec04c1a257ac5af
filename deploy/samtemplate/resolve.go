package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ResolveOptions are the deploy-time inputs of a Resolver: what
// CloudFormation would know when it creates the stack.
type ResolveOptions struct {
	// Parameters are the stack's parameter values. Parameters left out take
	// their Default; a parameter without one must be given.
	Parameters map[string]string
	// Region, AccountID, Partition and StackName answer the pseudo parameters
	// (defaults: us-east-1, 123456789012, aws, "local").
	Region, AccountID, Partition, StackName string
	// Attributes overrides Fn::GetAtt results, keyed "LogicalId.Attribute".
	Attributes map[string]string
	// PhysicalIDs overrides what Ref returns for a resource (default: a
	// table's TableName, else its logical ID, which stands in for the id
	// CloudFormation would assign).
	PhysicalIDs map[string]string
}

// Resolver evaluates a template's intrinsic functions against parameter
// values, the way CloudFormation does when it deploys the stack: Ref (to
// parameters, resources and pseudo parameters), Fn::Sub, Fn::GetAtt, Fn::If
// with the template's Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or,
// Condition), Fn::Join, Fn::Select and Fn::Split, and AWS::NoValue. Any other
// intrinsic is an error rather than a guess. It memoizes conditions, so it is
// not safe for concurrent use.
type Resolver struct {
	tpl        *Template
	opt        ResolveOptions
	params     map[string]string
	conds      map[string]bool
	evaluating map[string]bool
}

// NewResolver checks opt.Parameters against the template's declarations
// (unknown names, missing values, AllowedPattern, AllowedValues, Number
// bounds), as CloudFormation does before it deploys, and returns a Resolver.
func NewResolver(t *Template, opt ResolveOptions) (*Resolver, error) {
	if opt.Region == "" {
		opt.Region = "us-east-1"
	}
	if opt.AccountID == "" {
		opt.AccountID = "123456789012"
	}
	if opt.Partition == "" {
		opt.Partition = "aws"
	}
	if opt.StackName == "" {
		opt.StackName = "local"
	}
	r := &Resolver{tpl: t, opt: opt, params: map[string]string{}, conds: map[string]bool{}, evaluating: map[string]bool{}}
	var errs []error
	for name := range opt.Parameters {
		if _, ok := t.Parameters[name]; !ok {
			errs = append(errs, fmt.Errorf("parameter %s: not declared by the template", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Parameters)) {
		p := t.Parameters[name]
		v, given := opt.Parameters[name]
		if !given {
			if p.Default == nil {
				errs = append(errs, fmt.Errorf("parameter %s: no value and no default", name))
				continue
			}
			v = resolveScalarString(p.Default)
		}
		if err := resolveCheckParameter(name, p, v); err != nil {
			errs = append(errs, err)
			continue
		}
		r.params[name] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	return r, nil
}

// Check reports whether v is a value CloudFormation accepts for parameter
// name declared as p: AllowedPattern (whole value), AllowedValues, and a
// Number's bounds.
func (p Parameter) Check(name, v string) error { return resolveCheckParameter(name, p, v) }

func resolveCheckParameter(name string, p Parameter, v string) error {
	if p.AllowedPattern != "" {
		re, err := regexp.Compile(`^(?:` + p.AllowedPattern + `)$`)
		if err != nil {
			return fmt.Errorf("parameter %s: AllowedPattern: %w", name, err)
		}
		if !re.MatchString(v) {
			return fmt.Errorf("parameter %s: %q does not match %s", name, v, p.AllowedPattern)
		}
	}
	if len(p.AllowedValues) > 0 {
		ok := false
		for _, a := range p.AllowedValues {
			ok = ok || resolveScalarString(a) == v
		}
		if !ok {
			return fmt.Errorf("parameter %s: %q is not one of its AllowedValues", name, v)
		}
	}
	if p.Type == "Number" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("parameter %s: %q is not a number", name, v)
		}
		if p.MinValue != nil && n < resolveToFloat(p.MinValue) || p.MaxValue != nil && n > resolveToFloat(p.MaxValue) {
			return fmt.Errorf("parameter %s: %v is outside [%v, %v]", name, v, p.MinValue, p.MaxValue)
		}
	}
	return nil
}

// Parameter returns a parameter's value (given or default).
func (r *Resolver) Parameter(name string) (string, bool) {
	v, ok := r.params[name]
	return v, ok
}

// Condition evaluates one of the template's Conditions.
func (r *Resolver) Condition(name string) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	expr, ok := r.tpl.Conditions[name]
	if !ok {
		return false, fmt.Errorf("samtemplate: condition %s is not defined", name)
	}
	if r.evaluating[name] {
		return false, fmt.Errorf("samtemplate: condition %s refers to itself", name)
	}
	r.evaluating[name] = true
	defer delete(r.evaluating, name)
	v, err := r.boolean(expr)
	if err != nil {
		return false, fmt.Errorf("samtemplate: condition %s: %w", name, err)
	}
	r.conds[name] = v
	return v, nil
}

// Included reports whether a resource is created: it exists and its
// Condition, if any, is true.
func (r *Resolver) Included(logicalID string) (bool, error) {
	res, ok := r.tpl.Resources[logicalID]
	if !ok {
		return false, fmt.Errorf("samtemplate: no resource %s", logicalID)
	}
	if res.Condition == "" {
		return true, nil
	}
	return r.Condition(res.Condition)
}

// Value resolves every intrinsic in v, recursively. Map entries and list
// items that resolve to AWS::NoValue are dropped, as CloudFormation does.
func (r *Resolver) Value(v any) (any, error) {
	out, err := r.value(v)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	if out == resolveNoValue {
		return nil, nil
	}
	return out, nil
}

// String resolves v and requires a scalar, returned as CloudFormation would
// pass it to a resource (numbers and booleans as their text).
func (r *Resolver) String(v any) (string, error) {
	out, err := r.Value(v)
	if err != nil {
		return "", err
	}
	switch out.(type) {
	case string, bool, float64, int, int64:
		return resolveScalarString(out), nil
	}
	return "", fmt.Errorf("samtemplate: want a string, got %T", out)
}

// resolveNoValueT marks AWS::NoValue while resolving.
type resolveNoValueT struct{}

var resolveNoValue = resolveNoValueT{}

func (r *Resolver) value(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if fn, arg, ok := resolveIntrinsic(v); ok {
			return r.call(fn, arg)
		}
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			rv, err := r.value(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if rv != resolveNoValue {
				out[k] = rv
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for i, item := range v {
			rv, err := r.value(item)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if rv != resolveNoValue {
				out = append(out, rv)
			}
		}
		return out, nil
	}
	return v, nil
}

// resolveIntrinsic reports whether m is a single-key intrinsic function call.
// {"Condition": ...} is only an intrinsic inside conditions (IAM policy
// statements have Condition keys), so it is handled by boolean.
func resolveIntrinsic(m map[string]any) (fn string, arg any, ok bool) {
	if len(m) != 1 {
		return "", nil, false
	}
	for k, v := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, v, true
		}
	}
	return "", nil, false
}

func (r *Resolver) call(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Ref: want a name, got %T", arg)
		}
		return r.ref(name)
	case "Fn::GetAtt":
		parts, err := resolveGetAttArgs(arg)
		if err != nil {
			return nil, err
		}
		return r.getAtt(parts[0], parts[1])
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::If":
		args, ok := arg.([]any)
		if !ok || len(args) != 3 {
			return nil, errors.New("Fn::If: want [condition, value if true, value if false]")
		}
		name, ok := args[0].(string)
		if !ok {
			return nil, errors.New("Fn::If: the condition must be a name")
		}
		c, err := r.Condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return r.value(args[1])
		}
		return r.value(args[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.boolean(map[string]any{fn: arg})
	case "Fn::Join":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, errors.New("Fn::Join: want [delimiter, list]")
		}
		delim, err := r.scalar(args[0])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		items, err := r.list(args[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		return strings.Join(items, delim), nil
	case "Fn::Split":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, errors.New("Fn::Split: want [delimiter, string]")
		}
		delim, err := r.scalar(args[0])
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		s, err := r.scalar(args[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		return resolveStringsToAny(strings.Split(s, delim)), nil
	case "Fn::Select":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, errors.New("Fn::Select: want [index, list]")
		}
		is, err := r.scalar(args[0])
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: %w", err)
		}
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: index %q is not an integer", is)
		}
		items, err := r.list(args[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: %w", err)
		}
		if i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select: index %d out of range (%d items)", i, len(items))
		}
		return items[i], nil
	}
	return nil, fmt.Errorf("%s: not supported by this resolver", fn)
}

func resolveGetAttArgs(arg any) ([2]string, error) {
	switch a := arg.(type) {
	case []any:
		if len(a) == 2 {
			res, ok1 := a[0].(string)
			attr, ok2 := a[1].(string)
			if ok1 && ok2 {
				return [2]string{res, attr}, nil
			}
		}
	case string:
		if res, attr, ok := strings.Cut(a, "."); ok {
			return [2]string{res, attr}, nil
		}
	}
	return [2]string{}, fmt.Errorf("Fn::GetAtt: want [resource, attribute], got %v", arg)
}

func (r *Resolver) ref(name string) (any, error) {
	switch name {
	case "AWS::NoValue":
		return resolveNoValue, nil
	case "AWS::Region":
		return r.opt.Region, nil
	case "AWS::AccountId":
		return r.opt.AccountID, nil
	case "AWS::Partition":
		return r.opt.Partition, nil
	case "AWS::URLSuffix":
		if strings.HasPrefix(r.opt.Region, "cn-") {
			return "amazonaws.com.cn", nil
		}
		return "amazonaws.com", nil
	case "AWS::StackName":
		return r.opt.StackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000", r.opt.Partition, r.opt.Region, r.opt.AccountID, r.opt.StackName), nil
	}
	if v, ok := r.params[name]; ok {
		if p := r.tpl.Parameters[name]; p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<") {
			return resolveStringsToAny(strings.Split(v, ",")), nil
		}
		return v, nil
	}
	if _, ok := r.tpl.Resources[name]; ok {
		if err := r.mustExist(name); err != nil {
			return nil, err
		}
		if id, ok := r.opt.PhysicalIDs[name]; ok {
			return id, nil
		}
		// A table's Ref is its name, which templates usually set.
		if res := r.tpl.Resources[name]; res.Type == "AWS::DynamoDB::Table" && res.Properties["TableName"] != nil {
			return r.scalar(res.Properties["TableName"])
		}
		return name, nil
	}
	if arn, ok, err := r.aliasRef(name); ok || err != nil {
		return arn, err
	}
	return nil, fmt.Errorf("Ref %s: no such parameter, resource or pseudo parameter", name)
}

// aliasRef resolves a Ref to the alias SAM generates for a function with
// AutoPublishAlias (logical ID <Function>Alias<name>): the alias ARN, the
// function's ARN qualified with the alias name.
func (r *Resolver) aliasRef(name string) (any, bool, error) {
	for id, res := range r.tpl.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		props, err := FunctionProperties(r.tpl, id)
		if err != nil {
			continue
		}
		alias, _ := props["AutoPublishAlias"].(string)
		if alias == "" || name != id+"Alias"+alias {
			continue
		}
		fn, err := r.getAtt(id, "Arn")
		if err != nil {
			return nil, true, err
		}
		return fmt.Sprintf("%v:%s", fn, alias), true, nil
	}
	return nil, false, nil
}

func (r *Resolver) mustExist(logicalID string) error {
	ok, err := r.Included(logicalID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not created (its condition %s is false)", logicalID, r.tpl.Resources[logicalID].Condition)
	}
	return nil
}

// getAtt answers the attributes local tools need: the Arn of the resource
// types the Jobs API template declares. Anything else must be given in
// ResolveOptions.Attributes.
func (r *Resolver) getAtt(logicalID, attr string) (any, error) {
	if v, ok := r.opt.Attributes[logicalID+"."+attr]; ok {
		return v, nil
	}
	res, ok := r.tpl.Resources[logicalID]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", logicalID, attr)
	}
	if err := r.mustExist(logicalID); err != nil {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: %w", logicalID, attr, err)
	}
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", r.opt.Partition, service, r.opt.Region, r.opt.AccountID, resource)
	}
	name := func(prop string) (string, error) {
		if v, ok := res.Properties[prop]; ok {
			return r.scalar(v)
		}
		return logicalID, nil
	}
	if attr == "Arn" {
		switch res.Type {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			n, err := name("FunctionName")
			return arn("lambda", "function:"+n), err
		case "AWS::DynamoDB::Table":
			n, err := name("TableName")
			return arn("dynamodb", "table/"+n), err
		case "AWS::SQS::Queue":
			n, err := name("QueueName")
			return arn("sqs", n), err
		case "AWS::Logs::LogGroup":
			n, err := name("LogGroupName")
			return arn("logs", "log-group:"+n+":*"), err
		}
	}
	if attr == "QueueName" && res.Type == "AWS::SQS::Queue" {
		return name("QueueName")
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute of %s not known here; give it in ResolveOptions.Attributes", logicalID, attr, res.Type)
}

var resolveSubVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *Resolver) sub(arg any) (any, error) {
	var (
		tmpl string
		vars map[string]any
	)
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, errors.New("Fn::Sub: want a string or [string, variables]")
		}
		s, ok1 := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok1 || !ok2 {
			return nil, errors.New("Fn::Sub: want [string, {name: value}]")
		}
		tmpl, vars = s, m
	default:
		return nil, fmt.Errorf("Fn::Sub: want a string, got %T", arg)
	}
	var firstErr error
	out := resolveSubVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		inner := m[2 : len(m)-1]
		if strings.HasPrefix(inner, "!") { // ${!Literal} writes ${Literal}
			return "${" + inner[1:] + "}"
		}
		var (
			v   any
			err error
		)
		if val, ok := vars[inner]; ok {
			v, err = r.value(val)
		} else if res, attr, ok := strings.Cut(inner, "."); ok {
			v, err = r.getAtt(res, attr)
		} else {
			v, err = r.ref(inner)
		}
		if err == nil && v == resolveNoValue {
			err = fmt.Errorf("${%s} is AWS::NoValue", inner)
		}
		var s string
		if err == nil {
			s, err = r.scalar(v)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("Fn::Sub ${%s}: %w", inner, err)
		}
		return s
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// boolean evaluates a condition expression.
func (r *Resolver) boolean(expr any) (bool, error) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("want a condition function, got %v", expr)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, ok := arg.(string)
			if !ok {
				return false, errors.New("Condition: want a name")
			}
			return r.Condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, errors.New("Fn::Equals: want two values")
			}
			a, err := r.scalar(args[0])
			if err != nil {
				return false, fmt.Errorf("Fn::Equals: %w", err)
			}
			b, err := r.scalar(args[1])
			if err != nil {
				return false, fmt.Errorf("Fn::Equals: %w", err)
			}
			return a == b, nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, errors.New("Fn::Not: want one condition")
			}
			v, err := r.boolean(args[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			if len(args) < 2 || len(args) > 10 {
				return false, fmt.Errorf("%s: want 2 to 10 conditions", fn)
			}
			all := fn == "Fn::And"
			for _, a := range args {
				v, err := r.boolean(a)
				if err != nil {
					return false, err
				}
				if v != all {
					return !all, nil
				}
			}
			return all, nil
		}
		return false, fmt.Errorf("%s: not a condition function", fn)
	}
	panic("unreachable")
}

// scalar resolves v and requires a string-like result.
func (r *Resolver) scalar(v any) (string, error) {
	out, err := r.value(v)
	if err != nil {
		return "", err
	}
	switch out.(type) {
	case string, bool, float64, int, int64:
		return resolveScalarString(out), nil
	}
	return "", fmt.Errorf("want a string, got %T", out)
}

// list resolves v and requires a list of scalars.
func (r *Resolver) list(v any) ([]string, error) {
	out, err := r.value(v)
	if err != nil {
		return nil, err
	}
	items, ok := out.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list, got %T", out)
	}
	s := make([]string, 0, len(items))
	for _, it := range items {
		str, err := r.scalar(it)
		if err != nil {
			return nil, err
		}
		s = append(s, str)
	}
	return s, nil
}

func resolveScalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func resolveToFloat(v any) float64 {
	f, _ := strconv.ParseFloat(resolveScalarString(v), 64)
	return f
}

func resolveStringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Environment returns function id's Environment.Variables (Globals merged
// under its own) resolved as CloudFormation would set them in the Lambda
// sandbox; variables that resolve to AWS::NoValue are left out.
func (r *Resolver) Environment(id string) (map[string]string, error) {
	props, err := FunctionProperties(r.tpl, id)
	if err != nil {
		return nil, err
	}
	envProp, _ := props["Environment"].(map[string]any)
	vars, err := r.Value(envProp["Variables"])
	if err != nil {
		return nil, fmt.Errorf("%s Environment: %w", id, err)
	}
	m, _ := vars.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		if out[k], err = r.String(v); err != nil {
			return nil, fmt.Errorf("%s Environment %s: %w", id, k, err)
		}
	}
	return out, nil
}
