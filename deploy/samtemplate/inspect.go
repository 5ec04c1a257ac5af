package samtemplate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// This file reads facts out of a template the way SAM and CloudFormation
// will see them, for tests and deploy checks: properties with Globals
// merged in, a function's IAM grants, an API method's path and target.

// ResourcesOfType returns the logical IDs of the resources of type typ,
// sorted.
func ResourcesOfType(t *Template, typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// EffectiveProperties returns the properties of resource id as the SAM
// transform sees them: for an AWS::Serverless::<Kind> resource, the
// Globals.<Kind> section merged under its own properties. SAM's rules: a
// map merges key by key, a list is the global list followed by the
// resource's, anything else (an intrinsic included) is the resource's own.
// The result shares no maps or slices with the template.
func EffectiveProperties(t *Template, id string) (map[string]any, error) {
	r, ok := t.Resources[id]
	if !ok {
		return nil, fmt.Errorf("samtemplate: no resource %s", id)
	}
	local := map[string]any{}
	if r.Properties != nil {
		local = r.Properties
	}
	kind, isSAM := strings.CutPrefix(r.Type, "AWS::Serverless::")
	global, hasGlobal := t.Globals[kind]
	if !isSAM || !hasGlobal {
		m, _ := copyValue(local).(map[string]any)
		return m, nil
	}
	g, ok := global.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("samtemplate: Globals.%s is not a map", kind)
	}
	m, _ := mergeGlobal(g, local).(map[string]any)
	return m, nil
}

// FunctionProperties is EffectiveProperties for an AWS::Serverless::Function.
func FunctionProperties(t *Template, id string) (map[string]any, error) {
	if r, ok := t.Resources[id]; !ok || r.Type != "AWS::Serverless::Function" {
		return nil, fmt.Errorf("samtemplate: %s is not an AWS::Serverless::Function", id)
	}
	return EffectiveProperties(t, id)
}

func mergeGlobal(global, local any) any {
	gm, gIsMap := global.(map[string]any)
	lm, lIsMap := local.(map[string]any)
	if _, _, ok := IntrinsicName(global); ok {
		gIsMap = false
	}
	if _, _, ok := IntrinsicName(local); ok {
		lIsMap = false
	}
	if gIsMap && lIsMap {
		out := make(map[string]any, len(gm)+len(lm))
		for k, v := range gm {
			out[k] = copyValue(v)
		}
		for k, v := range lm {
			if g, ok := gm[k]; ok {
				out[k] = mergeGlobal(g, v)
			} else {
				out[k] = copyValue(v)
			}
		}
		return out
	}
	gl, gIsList := global.([]any)
	ll, lIsList := local.([]any)
	if gIsList && lIsList {
		return append(copyValue(gl).([]any), copyValue(ll).([]any)...)
	}
	return copyValue(local)
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = copyValue(e)
		}
		return s
	}
	return v
}

// PolicyStatement is one IAM statement of a function's inline policies.
type PolicyStatement struct {
	Sid       string
	Effect    string
	Actions   []string // "Action", a string or a list; intrinsics rendered
	Resources []string // "Resource", each Render()ed: "!GetAtt JobsTable.Arn", "*"
	// Other lists the keys a least-privilege check must look at besides
	// Action and Resource (NotAction, NotResource, Condition, Principal).
	Other []string
}

// FunctionPolicies is what a SAM function's Policies property grants.
type FunctionPolicies struct {
	// Managed are managed policy names or ARNs (the string form), rendered.
	Managed []string
	// Templates are SAM policy templates, e.g. "DynamoDBReadPolicy".
	Templates []string
	// Statements are the statements of inline policy documents.
	Statements []PolicyStatement
	// Role is the function's Role property, rendered, when it has one:
	// then SAM creates no role and Policies are ignored.
	Role string
}

// FunctionPolicyGrants reads the Policies (and Role) of function id, Globals
// merged. SAM always adds the AWSLambdaBasicExecutionRole managed policy to
// the role it creates; that one is not listed.
func FunctionPolicyGrants(t *Template, id string) (FunctionPolicies, error) {
	props, err := FunctionProperties(t, id)
	if err != nil {
		return FunctionPolicies{}, err
	}
	var out FunctionPolicies
	if role, ok := props["Role"]; ok {
		out.Role = Render(role)
	}
	var items []any
	switch p := props["Policies"].(type) {
	case nil:
	case []any:
		items = p
	default:
		items = []any{p}
	}
	for i, item := range items {
		if _, _, ok := IntrinsicName(item); ok {
			out.Managed = append(out.Managed, Render(item))
			continue
		}
		switch x := item.(type) {
		case string:
			out.Managed = append(out.Managed, x)
		case map[string]any:
			stmts, isDoc := x["Statement"]
			if !isDoc {
				for _, k := range slices.Sorted(maps.Keys(x)) {
					out.Templates = append(out.Templates, k)
				}
				continue
			}
			list, ok := stmts.([]any)
			if !ok {
				list = []any{stmts}
			}
			for j, s := range list {
				st, err := policyStatement(s)
				if err != nil {
					return out, fmt.Errorf("samtemplate: %s Policies[%d].Statement[%d]: %w", id, i, j, err)
				}
				out.Statements = append(out.Statements, st)
			}
		default:
			return out, fmt.Errorf("samtemplate: %s Policies[%d]: unexpected %T", id, i, item)
		}
	}
	return out, nil
}

func policyStatement(v any) (PolicyStatement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return PolicyStatement{}, fmt.Errorf("statement is %s, not a map", Render(v))
	}
	var st PolicyStatement
	st.Sid, _ = m["Sid"].(string)
	st.Effect, _ = m["Effect"].(string)
	st.Actions = renderList(m["Action"])
	st.Resources = renderList(m["Resource"])
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "Sid", "Effect", "Action", "Resource":
		default:
			st.Other = append(st.Other, k)
		}
	}
	return st, nil
}

func renderList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = Render(e)
		}
		return out
	default:
		return []string{Render(v)}
	}
}

// FunctionPolicyActions maps each action that function id's inline
// statements allow to the sorted, de-duplicated resources it is allowed
// on. It is an error if the function has a Role, managed policies, policy
// templates, or a statement that is not a plain Allow of Action on
// Resource — all of which this view would misstate.
func FunctionPolicyActions(t *Template, id string) (map[string][]string, error) {
	p, err := FunctionPolicyGrants(t, id)
	if err != nil {
		return nil, err
	}
	var problems []string
	if p.Role != "" {
		problems = append(problems, "has its own Role "+p.Role)
	}
	if len(p.Managed) > 0 {
		problems = append(problems, "has managed policies "+strings.Join(p.Managed, ", "))
	}
	if len(p.Templates) > 0 {
		problems = append(problems, "has SAM policy templates "+strings.Join(p.Templates, ", "))
	}
	grants := map[string][]string{}
	for i, st := range p.Statements {
		if st.Effect != "Allow" || len(st.Other) > 0 || len(st.Actions) == 0 || len(st.Resources) == 0 {
			problems = append(problems, fmt.Sprintf("statement %d (%s) is not a plain Allow of Action on Resource: Effect=%q, other keys %v",
				i, st.Sid, st.Effect, st.Other))
			continue
		}
		for _, a := range st.Actions {
			for _, r := range st.Resources {
				if !contains(grants[a], r) {
					grants[a] = append(grants[a], r)
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("samtemplate: %s: %s", id, strings.Join(problems, "; "))
	}
	for a := range grants {
		sort.Strings(grants[a])
	}
	return grants, nil
}

// ResourcePath returns the URL path of an API Gateway resource given as
// the value of a ResourceId or ParentId property: a Ref to an
// AWS::ApiGateway::Resource of this template (followed up through its
// ParentId), or a Ref to a parameter whose path the caller knows
// (external, e.g. {"JobsResourceId": "/v1/jobs"}).
func ResourcePath(t *Template, v any, external map[string]string) (string, error) {
	for depth := 0; depth < 32; depth++ {
		name, arg, ok := IntrinsicName(v)
		target, isStr := arg.(string)
		if !ok || name != "Ref" || !isStr {
			return "", fmt.Errorf("samtemplate: resource id %s is not a Ref", Render(v))
		}
		if p, ok := external[target]; ok {
			return p, nil
		}
		r, ok := t.Resources[target]
		if !ok || r.Type != "AWS::ApiGateway::Resource" {
			return "", fmt.Errorf("samtemplate: %s is neither an AWS::ApiGateway::Resource nor a known external resource", target)
		}
		part, _ := r.Properties["PathPart"].(string)
		parent, err := ResourcePath(t, r.Properties["ParentId"], external)
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(parent, "/") + "/" + part, nil
	}
	return "", fmt.Errorf("samtemplate: resource path too deep")
}

// invocationsURI matches the Uri of a Lambda proxy integration, invoking
// the function (${Fn.Arn}) or an alias SAM publishes (${FnAlias<name>}).
var invocationsURI = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/2015-03-31/functions/\$\{([A-Za-z0-9]+?)(?:\.Arn|Alias[A-Za-z0-9]+)\}/invocations$`)

// IntegrationFunction returns the logical ID of the function an
// AWS::ApiGateway::Method's integration invokes, from an Integration.Uri
// of the form !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
// or .../functions/${FnAlias<name>}/invocations (its alias).
func IntegrationFunction(t *Template, methodID string) (string, error) {
	r, ok := t.Resources[methodID]
	if !ok || r.Type != "AWS::ApiGateway::Method" {
		return "", fmt.Errorf("samtemplate: %s is not an AWS::ApiGateway::Method", methodID)
	}
	integ, _ := r.Properties["Integration"].(map[string]any)
	name, arg, ok := IntrinsicName(integ["Uri"])
	s, isStr := arg.(string)
	if !ok || name != "Fn::Sub" || !isStr {
		return "", fmt.Errorf("samtemplate: %s Integration.Uri %s is not an Fn::Sub string", methodID, Render(integ["Uri"]))
	}
	m := invocationsURI.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("samtemplate: %s Integration.Uri %q is not a Lambda invocations URI", methodID, s)
	}
	return m[1], nil
}

// MethodSourceArn returns the Fn::Sub string of the execute-api ARN that
// lets exactly one method invoke a function, from any stage:
// arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApiId}/*/VERB/path,
// with each {param} path segment as *. restAPIParam names the parameter
// holding the REST API id.
func MethodSourceArn(restAPIParam, verb, path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "*"
		}
	}
	return fmt.Sprintf("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${%s}/*/%s/%s",
		restAPIParam, verb, strings.Join(segs, "/"))
}
