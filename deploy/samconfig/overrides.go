// Package samconfig reads SAM CLI's samconfig.toml the way `sam deploy
// --config-env ENV` does, and checks its parameter_overrides against the
// template before anything reaches AWS: SAM CLI rejects an override it cannot
// parse only after `sam build`, and reuses the deployed stack's previous value
// for any parameter the overrides leave out.
package samconfig

import (
	"fmt"
	"regexp"
	"strings"
)

// The override grammar is SAM CLI's own (CfnParameterOverridesType in
// aws-sam-cli's samcli/cli/types.py), ported because no Go library
// implements it and a near-miss (a TOML or shell parser) accepts strings
// SAM CLI refuses, such as "Name=" with an empty unquoted value.
//
// A value is a double-quoted string, a single-quoted string (both may
// contain backslash escapes) or a run of characters other than space and
// double quote (backslash escapes allowed). A key is letters, digits and
// quotes. Python's re and Go's regexp agree on these patterns: no
// backreferences, leftmost-first alternation.
const (
	overrideKey   = `([A-Za-z0-9"']+)`
	overrideValue = `("(?:\\.|[^"\\]+)*"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ "\\]+)+)`
)

// overridePatterns are tried in order on " " + the trimmed string; the first
// with any match decides (as SAM CLI's ordered_pattern_match).
var overridePatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?:ParameterKey=` + overrideKey + `,ParameterValue=` + overrideValue + `)`),
	regexp.MustCompile(`(?: )` + overrideKey + `=` + overrideValue),
}

// ParseOverrides parses parameter_overrides strings as SAM CLI does: each
// string holds one or more "Key=Value" (or
// "ParameterKey=K,ParameterValue=V") pairs separated by spaces; later keys
// win. A string in which no pair matches is an error with SAM CLI's
// message ("... is not a valid format"). Like SAM CLI, it ignores text
// between matched pairs, and it does not support file:// references.
func ParseOverrides(values ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "file://") {
			return nil, fmt.Errorf("samconfig: %s: file:// parameter overrides are not supported here; list the values", v)
		}
		s := " " + strings.TrimSpace(v)
		matched := false
		for _, re := range overridePatterns {
			ms := re.FindAllStringSubmatch(s, -1)
			if len(ms) == 0 {
				continue
			}
			for _, m := range ms {
				out[unquote(m[1])] = unquote(m[2])
			}
			matched = true
			break
		}
		if !matched {
			return nil, fmt.Errorf("samconfig: %s is not a valid format. It must look something like "+
				"'ParameterKey=KeyPairName,ParameterValue=MyKey ParameterKey=InstanceType,ParameterValue=t1.micro' "+
				"or 'KeyPairName=MyKey InstanceType=t1.micro' (SAM CLI's parameter override syntax; an empty value is written Name=\"\")", v)
		}
	}
	return out, nil
}

// unquote is SAM CLI's _unquote_wrapped_quotes: drop one pair of wrapping
// quotes (either kind, matching ends), then unescape "\ ", "\"" and "\'".
func unquote(s string) string {
	if len(s) >= 1 && s[0] == s[len(s)-1] && (s[0] == '"' || s[0] == '\'') {
		if len(s) >= 2 {
			s = s[1 : len(s)-1]
		} else {
			s = ""
		}
	}
	s = strings.ReplaceAll(s, `\ `, " ")
	s = strings.ReplaceAll(s, `\"`, `"`)
	return strings.ReplaceAll(s, `\'`, "'")
}
