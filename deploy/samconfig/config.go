package samconfig

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// Deploy is one environment's [ENV.deploy.parameters] of samconfig.toml.
type Deploy struct {
	Env       string
	StackName string
	Region    string
	// Overrides are parameter_overrides parsed by SAM CLI's rules.
	Overrides map[string]string
	// Values are the section's other settings as TOML decoded them.
	Values map[string]any
}

// Load reads path and returns environment env's deploy parameters. A
// missing section, a parameter_overrides SAM CLI cannot parse, or a
// stack_name or region that is not set is an error.
func Load(path, env string) (*Deploy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samconfig: %w", err)
	}
	return Parse(b, env)
}

// Parse is Load on the file's contents.
func Parse(b []byte, env string) (*Deploy, error) {
	var doc map[string]any
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("samconfig: %w", err)
	}
	section, _ := dig(doc, env, "deploy", "parameters").(map[string]any)
	if section == nil {
		return nil, fmt.Errorf("samconfig: no [%s.deploy.parameters] section", env)
	}
	d := &Deploy{Env: env, Values: section}
	d.StackName, _ = section["stack_name"].(string)
	d.Region, _ = section["region"].(string)
	if d.StackName == "" || d.Region == "" {
		return nil, fmt.Errorf("samconfig: [%s.deploy.parameters] needs stack_name and region", env)
	}
	var raw []string
	if err := flatten(section["parameter_overrides"], &raw); err != nil {
		return nil, fmt.Errorf("samconfig: [%s.deploy.parameters] parameter_overrides: %w", env, err)
	}
	var err error
	if d.Overrides, err = ParseOverrides(raw...); err != nil {
		return nil, fmt.Errorf("[%s.deploy.parameters] parameter_overrides: %w", env, err)
	}
	return d, nil
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// flatten collects the strings of a string or (nested) list of strings, as
// SAM CLI flattens parameter_overrides before parsing each string.
func flatten(v any, out *[]string) error {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		*out = append(*out, v)
	case []any:
		for _, e := range v {
			if err := flatten(e, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("want strings, got %T", v)
	}
	return nil
}

// Problem is one reason not to deploy with these overrides.
type Problem struct {
	Param string
	// Placeholder is set when the value is a placeholder (or an example
	// account id) rather than a real one: fine in the repository, refused
	// at deploy time.
	Placeholder bool
	Msg         string
}

func (p Problem) String() string { return p.Param + ": " + p.Msg }

// placeholder matches values that are not real: the repository's
// PLACEHOLDER_ markers and the all-zero and documentation example account
// ids inside ARNs or URLs.
var placeholder = regexp.MustCompile(`(?i)placeholder|(^|[^0-9])(000000000000|123456789012)([^0-9]|$)`)

// Check returns every problem with overrides for template t, sorted by
// parameter: a parameter of t not listed (SAM CLI would reuse the deployed
// stack's previous value, so a changed Default never reaches the stack), a
// listed name t does not declare, a placeholder, an empty value for a
// parameter without a Default, and a value outside the parameter's
// constraints (AllowedPattern, AllowedValues, Number bounds) — placeholders
// included, so the file's shape is checked even before real ids exist.
func Check(t *samtemplate.Template, overrides map[string]string) []Problem {
	var out []Problem
	for _, name := range slices.Sorted(maps.Keys(t.Parameters)) {
		p := t.Parameters[name]
		v, ok := overrides[name]
		switch {
		case !ok:
			out = append(out, Problem{Param: name, Msg: "not in parameter_overrides: SAM CLI would reuse the stack's previous value (or the Default on a new stack); list it, e.g. " + name + "=" + quoteIfEmpty(defaultString(p))})
			continue
		case placeholder.MatchString(v):
			out = append(out, Problem{Param: name, Placeholder: true, Msg: fmt.Sprintf("%q is a placeholder: replace it with the real value", v)})
		case v == "" && p.Default == nil:
			out = append(out, Problem{Param: name, Msg: "empty, and the template has no default for it"})
			continue
		}
		if err := p.Check(name, v); err != nil {
			out = append(out, Problem{Param: name, Placeholder: placeholder.MatchString(v), Msg: strings.TrimPrefix(err.Error(), "parameter "+name+": ")})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		if _, ok := t.Parameters[name]; !ok {
			out = append(out, Problem{Param: name, Msg: "not a parameter of the template (CloudFormation refuses unknown parameters)"})
		}
	}
	return out
}

func defaultString(p samtemplate.Parameter) string {
	if p.Default == nil {
		return "..."
	}
	return fmt.Sprint(p.Default)
}

func quoteIfEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Err joins problems into one error, or nil when there are none.
func Err(problems []Problem) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = errors.New(p.String())
	}
	return errors.Join(errs...)
}
