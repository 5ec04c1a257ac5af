// Package preflight checks the live AWS account against what a deploy of
// template.yaml is about to create, before any change set exists: objects
// already on the shared REST API that would make API Gateway refuse the
// stack's methods (ConflictException), the existing preflight the stack
// relies on, the API's gateway responses, an API defined by an OpenAPI body
// or a stage owned by another stack, and fixed-name resources left behind by
// a failed first deploy. Each finding is a refusal or a warning naming the
// fix. It only reads.
package preflight

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// Plan is what a deploy of the template with given parameters will create
// in the account, as far as the pre-flight needs it.
type Plan struct {
	StackName string
	Region    string
	RestAPIID string
	// RestAPIName is the name the API alarms and dashboard expect the API
	// to have ("" - none are created).
	RestAPIName string
	Stage       string
	// Methods are the methods the deploy creates on resources that already
	// exist on the API (a parameter names them).
	Methods []Method
	// Children are the API resources the deploy creates under existing ones.
	Children []Child
	// Preflights are the OPTIONS methods the template defines on existing
	// resources but leaves to the API's owner (their Condition is false):
	// the owner's must allow what the template's would.
	Preflights []Preflight
	// GatewayResponses are those the deploy sets, by response type; empty
	// when the stack leaves them to the API's owner.
	GatewayResponses map[string]GatewayResponse
	// Named are resources with a fixed physical name the deploy creates.
	Named []Named
	// AllowedOrigins are the browser origins the API must answer.
	AllowedOrigins []string
}

// Method is one method on an existing API resource.
type Method struct {
	LogicalID, ResourceID, Verb string
}

// Child is one API resource created under an existing one.
type Child struct {
	LogicalID, ParentID, PathPart string
}

// Preflight is an OPTIONS method the API's owner keeps.
type Preflight struct {
	LogicalID, ResourceID string
	// Headers are the request headers it must allow.
	Headers []string
}

// GatewayResponse is a gateway response as the template sets it.
type GatewayResponse struct {
	LogicalID  string
	StatusCode string
	Parameters map[string]string
	Templates  map[string]string
}

// Named is a resource with a fixed physical name.
type Named struct {
	LogicalID, Type, Name string
}

// NewPlan resolves template t with the deploy's parameter values.
func NewPlan(t *samtemplate.Template, params map[string]string, stackName, region string) (*Plan, error) {
	r, err := samtemplate.NewResolver(t, samtemplate.ResolveOptions{Parameters: params, StackName: stackName, Region: region})
	if err != nil {
		return nil, err
	}
	p := &Plan{StackName: stackName, Region: region, GatewayResponses: map[string]GatewayResponse{}}
	p.RestAPIID, _ = r.Parameter("RestApiId")
	p.Stage, _ = r.Parameter("Stage")
	p.RestAPIName, _ = r.Parameter("RestApiName")
	if origins, ok := r.Parameter("AllowedOrigins"); ok {
		for _, o := range strings.Split(origins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				p.AllowedOrigins = append(p.AllowedOrigins, o)
			}
		}
	}
	// existing returns the value of a property that is a Ref to a
	// parameter: an id of something that exists outside the stack.
	existing := func(v any) (string, bool) {
		name, arg, ok := samtemplate.IntrinsicName(v)
		if !ok || name != "Ref" {
			return "", false
		}
		s, _ := arg.(string)
		if _, isParam := t.Parameters[s]; !isParam {
			return "", false
		}
		return r.Parameter(s)
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		res := t.Resources[id]
		included, err := r.Included(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch res.Type {
		case "AWS::ApiGateway::Method":
			rid, onExisting := existing(res.Properties["ResourceId"])
			if !onExisting {
				continue
			}
			verb, _ := res.Properties["HttpMethod"].(string)
			if included {
				p.Methods = append(p.Methods, Method{LogicalID: id, ResourceID: rid, Verb: verb})
			} else if verb == "OPTIONS" {
				p.Preflights = append(p.Preflights, Preflight{LogicalID: id, ResourceID: rid, Headers: allowedHeaders(res.Properties)})
			}
		case "AWS::ApiGateway::Resource":
			parent, onExisting := existing(res.Properties["ParentId"])
			if included && onExisting {
				part, _ := res.Properties["PathPart"].(string)
				p.Children = append(p.Children, Child{LogicalID: id, ParentID: parent, PathPart: part})
			}
		case "AWS::ApiGateway::GatewayResponse":
			if !included {
				continue
			}
			v, err := r.Value(res.Properties)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", id, err))
				continue
			}
			props, _ := v.(map[string]any)
			gr := GatewayResponse{LogicalID: id, Parameters: stringMap(props["ResponseParameters"]), Templates: stringMap(props["ResponseTemplates"])}
			gr.StatusCode, _ = props["StatusCode"].(string)
			typ, _ := props["ResponseType"].(string)
			p.GatewayResponses[typ] = gr
		case "AWS::DynamoDB::Table", "AWS::Logs::LogGroup":
			if !included {
				continue
			}
			prop := map[string]string{"AWS::DynamoDB::Table": "TableName", "AWS::Logs::LogGroup": "LogGroupName"}[res.Type]
			if res.Properties[prop] == nil {
				continue
			}
			v, err := r.Value(res.Properties[prop])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", id, prop, err))
				continue
			}
			name, _ := v.(string)
			p.Named = append(p.Named, Named{LogicalID: id, Type: res.Type, Name: name})
		}
	}
	return p, errors.Join(errs...)
}

// allowedHeaders reads the Access-Control-Allow-Headers a MOCK preflight's
// 204 integration response sets.
func allowedHeaders(props map[string]any) []string {
	integ, _ := props["Integration"].(map[string]any)
	resps, _ := integ["IntegrationResponses"].([]any)
	for _, r := range resps {
		m, _ := r.(map[string]any)
		params, _ := m["ResponseParameters"].(map[string]any)
		if s, ok := params["method.response.header.Access-Control-Allow-Headers"].(string); ok {
			return splitList(strings.Trim(s, "'"))
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}
