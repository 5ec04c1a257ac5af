// Package deploycheck decides whether a CloudFormation change set for the
// jobs-api stack is safe to execute. The stack already exists and owns
// resources this repository's template may not declare: executing a change
// set that removes them, replaces a resource holding state (the jobs table,
// log groups, Cognito, the REST API and its stages), or touches a REST API
// would break production. The guard reads the JSON that
// `aws cloudformation describe-change-set` prints and lists every such
// change; the deploy script executes the change set only when there is none.
package changeset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// ChangeSet is the part of describe-change-set's output the guard reads.
type ChangeSet struct {
	ChangeSetName   string   `json:"ChangeSetName"`
	ChangeSetID     string   `json:"ChangeSetId"`
	StackName       string   `json:"StackName"`
	Status          string   `json:"Status"`
	StatusReason    *string  `json:"StatusReason"`
	ExecutionStatus string   `json:"ExecutionStatus"`
	NextToken       *string  `json:"NextToken"`
	Changes         []Change `json:"Changes"`
}

// Change is one entry of Changes.
type Change struct {
	Type           string         `json:"Type"`
	ResourceChange ResourceChange `json:"ResourceChange"`
}

// ResourceChange is what CloudFormation will do to one resource.
type ResourceChange struct {
	Action             string   `json:"Action"` // Add | Modify | Remove | Import | Dynamic
	LogicalResourceID  string   `json:"LogicalResourceId"`
	PhysicalResourceID string   `json:"PhysicalResourceId"`
	ResourceType       string   `json:"ResourceType"`
	Replacement        string   `json:"Replacement"`  // True | False | Conditional (Modify only)
	PolicyAction       string   `json:"PolicyAction"` // Delete | Retain | Snapshot | ReplaceAndDelete | ...
	Scope              []string `json:"Scope"`
	Details            []Detail `json:"Details"`
}

// Detail is one ResourceChangeDetail: which attribute changes, and whether
// that forces a new resource.
type Detail struct {
	Target struct {
		Attribute          string `json:"Attribute"`
		Name               string `json:"Name"`
		RequiresRecreation string `json:"RequiresRecreation"` // Never | Conditionally | Always
	} `json:"Target"`
	Evaluation    string `json:"Evaluation"`
	ChangeSource  string `json:"ChangeSource"`
	CausingEntity string `json:"CausingEntity"`
}

// Policy says which changes are blocked.
type Policy struct {
	// Stack, when set, is the stack the change set must belong to.
	Stack string
	// Stateful are resource types whose replacement loses data or identity
	// that clients depend on. A type ending in "::*" covers a service.
	Stateful []string
	// Forbidden are resource types this stack must never create, change,
	// import or remove.
	Forbidden []string
	// Superseded are resource types a deploy routinely replaces and whose
	// old copies it removes while keeping them (SAM publishes a new
	// AWS::Lambda::Version behind the alias on each code change and retains
	// the previous one): never findings.
	Superseded []string
	// Allow lists logical IDs whose removal or replacement the operator has
	// reviewed and accepts for this deploy. It never allows a Forbidden type.
	Allow map[string]bool
	// Template, when set, is the template deployed: a removal of a
	// resource it declares under a Condition is explained as that
	// condition being false, not as the resource missing.
	Template *samtemplate.Template
}

// DefaultPolicy is the jobs-api policy.
func DefaultPolicy() Policy {
	return Policy{
		Stack: "jobs-api",
		Stateful: []string{
			"AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", // the jobs
			"AWS::Logs::LogGroup",                                // history, metric filters, retention
			"AWS::Cognito::*",                                    // users, pool and client ids the dashboards use
			"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", // the API id and its invoke URL
			"AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage",
			"AWS::SQS::Queue", "AWS::S3::Bucket", // messages and objects in flight
			"AWS::KMS::Key", "AWS::SecretsManager::Secret",
		},
		Forbidden:  []string{"AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"},
		Superseded: []string{"AWS::Lambda::Version"},
	}
}

// Finding is one reason not to execute the change set.
type Finding struct {
	LogicalID    string
	ResourceType string
	Action       string
	Reason       string
}

func (f Finding) String() string {
	if f.LogicalID == "" {
		return f.Reason
	}
	return fmt.Sprintf("%s %s (%s): %s", f.Action, f.LogicalID, f.ResourceType, f.Reason)
}

// Decode reads describe-change-set output: one JSON document, or several
// pages one after another (each page's Changes are appended). It is an
// error if the last page still has a NextToken: changes would be missing.
func Decode(r io.Reader) (*ChangeSet, error) {
	dec := json.NewDecoder(r)
	var cs *ChangeSet
	for {
		var page ChangeSet
		err := dec.Decode(&page)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("deploycheck: reading describe-change-set JSON: %w", err)
		}
		if cs == nil {
			p := page
			cs = &p
			continue
		}
		if page.ChangeSetID != cs.ChangeSetID {
			return nil, fmt.Errorf("deploycheck: pages of different change sets: %s and %s", cs.ChangeSetID, page.ChangeSetID)
		}
		cs.Changes = append(cs.Changes, page.Changes...)
		cs.NextToken = page.NextToken
	}
	if cs == nil {
		return nil, errors.New("deploycheck: no describe-change-set JSON in the input")
	}
	if cs.ChangeSetID == "" {
		return nil, errors.New("deploycheck: input has no ChangeSetId: not describe-change-set output")
	}
	if cs.NextToken != nil && *cs.NextToken != "" {
		return nil, errors.New("deploycheck: output has a NextToken: changes are missing (let the AWS CLI paginate, or pass every page)")
	}
	return cs, nil
}

// Check returns every reason not to execute cs under p, in change order.
func Check(cs *ChangeSet, p Policy) []Finding {
	var out []Finding
	if p.Stack != "" && cs.StackName != p.Stack {
		out = append(out, Finding{Reason: fmt.Sprintf("change set is for stack %q, want %q", cs.StackName, p.Stack)})
	}
	if cs.Status != "CREATE_COMPLETE" || cs.ExecutionStatus != "AVAILABLE" {
		reason := ""
		if cs.StatusReason != nil {
			reason = ": " + *cs.StatusReason
		}
		out = append(out, Finding{Reason: fmt.Sprintf("change set is not executable: Status %s, ExecutionStatus %s%s", cs.Status, cs.ExecutionStatus, reason)})
	}
	for _, c := range cs.Changes {
		rc := c.ResourceChange
		f := Finding{LogicalID: rc.LogicalResourceID, ResourceType: rc.ResourceType, Action: rc.Action}
		if matchType(p.Forbidden, rc.ResourceType) {
			f.Reason = "this stack must not own a REST API (the API exists outside this template)"
			out = append(out, f)
			continue
		}
		if p.Allow[rc.LogicalResourceID] || matchType(p.Superseded, rc.ResourceType) {
			continue
		}
		stateful := matchType(p.Stateful, rc.ResourceType)
		switch {
		case rc.Action == "Remove":
			f.Reason = "would be removed from the stack" + policyNote(rc.PolicyAction) + "; " + removalCause(p.Template, rc.LogicalResourceID)
		case rc.Action == "Modify" && stateful && (rc.Replacement == "True" || rc.Replacement == "Conditional"):
			f.Reason = fmt.Sprintf("Replacement %s of a stateful resource%s (caused by %s)", rc.Replacement, policyNote(rc.PolicyAction), recreationCauses(rc))
		case rc.Action == "Dynamic" && stateful:
			f.Reason = "CloudFormation cannot tell yet what it will do to this stateful resource"
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// removalCause says why a resource leaves the stack, and what to do.
func removalCause(t *samtemplate.Template, id string) string {
	allow := "pass -allow " + id + " once reviewed"
	if t == nil {
		return "it is in the deployed stack but not in the template — add it to the template, or " + allow
	}
	if r, ok := t.Resources[id]; ok {
		if r.Condition != "" {
			return fmt.Sprintf("template.yaml declares it under Condition %s, which is false with this deploy's parameters — if that is intended, %s", r.Condition, allow)
		}
		return "template.yaml declares it, yet CloudFormation removes it — check the template's transform, or " + allow
	}
	if owner, ok := samtemplate.ImplicitResources(t)[id]; ok {
		return fmt.Sprintf("SAM generates it for %s, which no longer needs it with this deploy's parameters — if that is intended, %s", owner, allow)
	}
	return "it is in the deployed stack but not in template.yaml — add it to the template, or " + allow
}

// Allowed returns the removals and replacements cs makes that Check let
// through because p.Allow names them, each with what it deletes, so that
// the operator sees them again right before executing.
func Allowed(cs *ChangeSet, p Policy) []Finding {
	var out []Finding
	for _, c := range cs.Changes {
		rc := c.ResourceChange
		if !p.Allow[rc.LogicalResourceID] || matchType(p.Forbidden, rc.ResourceType) {
			continue
		}
		f := Finding{LogicalID: rc.LogicalResourceID, ResourceType: rc.ResourceType, Action: rc.Action}
		what := rc.PhysicalResourceID
		if what == "" {
			what = "the resource"
		}
		kept := rc.PolicyAction == "Retain" || rc.PolicyAction == "ReplaceAndRetain" || rc.PolicyAction == "Snapshot" || rc.PolicyAction == "ReplaceAndSnapshot"
		switch {
		case rc.Action == "Remove" && kept:
			f.Reason = fmt.Sprintf("leaves the stack; %s is kept in the account (PolicyAction %s)", what, rc.PolicyAction)
		case rc.Action == "Remove":
			f.Reason = fmt.Sprintf("DELETES %s%s", what, policyNote(rc.PolicyAction))
		case rc.Action == "Modify" && (rc.Replacement == "True" || rc.Replacement == "Conditional") && kept:
			f.Reason = fmt.Sprintf("replaced (Replacement %s); the old %s is kept outside the stack (PolicyAction %s)", rc.Replacement, what, rc.PolicyAction)
		case rc.Action == "Modify" && (rc.Replacement == "True" || rc.Replacement == "Conditional"):
			f.Reason = fmt.Sprintf("replaced (Replacement %s): a new one is created and %s is DELETED, with what it holds", rc.Replacement, what)
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

func matchType(patterns []string, typ string) bool {
	for _, p := range patterns {
		if p == typ || strings.HasSuffix(p, "::*") && strings.HasPrefix(typ, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

func policyNote(action string) string {
	switch action {
	case "":
		return ""
	case "Retain", "ReplaceAndRetain":
		return " (PolicyAction " + action + ": the old resource is kept but leaves the stack)"
	default:
		return " (PolicyAction " + action + ")"
	}
}

// recreationCauses names the properties whose change forces recreation.
func recreationCauses(rc ResourceChange) string {
	var names []string
	for _, d := range rc.Details {
		if d.Target.RequiresRecreation == "Always" || d.Target.RequiresRecreation == "Conditionally" {
			n := d.Target.Name
			if n == "" {
				n = d.Target.Attribute
			}
			names = append(names, n+" ("+d.Target.RequiresRecreation+")")
		}
	}
	if len(names) == 0 {
		return "unknown properties"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Summary writes one line per change, like sam deploy's change table.
func Summary(w io.Writer, cs *ChangeSet) {
	fmt.Fprintf(w, "change set %s (stack %s): %d change(s)\n", cs.ChangeSetName, cs.StackName, len(cs.Changes))
	for _, c := range cs.Changes {
		rc := c.ResourceChange
		repl := ""
		if rc.Action == "Modify" && rc.Replacement != "" && rc.Replacement != "False" {
			repl = "  Replacement=" + rc.Replacement
		}
		fmt.Fprintf(w, "  %-8s %-40s %s%s\n", rc.Action, rc.LogicalResourceID, rc.ResourceType, repl)
	}
}
