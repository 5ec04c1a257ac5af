package apigw_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/apigw"
)

// groupNameRule is the rule for group names as a regexp, as it was before it
// became a loop (cold start, bench/coldstart/RESULTS.md); the loop must agree
// with it.
var groupNameRule = regexp.MustCompile(`^[A-Za-z0-9_.@+=:-]{1,128}$`)

// groupNameCases are edge cases of the rule, also the fuzz seed corpus.
var groupNameCases = []string{
	"", "admin", "video", "a", "_.@+=:-", "Admin_01", "us-east-1_AbC:x", "a=b+c@d.e",
	"a b", "a,b", "[a]", `"a"`, "a\n", "a\x00", "é", "admin\xff", "a/b", "a*", "a~", "a#",
	strings.Repeat("g", 128), strings.Repeat("g", 129),
}

// checkGroupName asks ParseGroups about one name, passed as a JSON array so
// that no list syntax splits or trims it, and compares with the rule.
func checkGroupName(t *testing.T, name string) {
	t.Helper()
	claim, err := json.Marshal([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	var decoded []string // what ParseGroups sees: JSON makes invalid UTF-8 U+FFFD
	if err := json.Unmarshal(claim, &decoded); err != nil {
		t.Fatal(err)
	}
	_, err = apigw.ParseGroups(string(claim))
	if got, want := err == nil, groupNameRule.MatchString(decoded[0]); got != want {
		t.Errorf("ParseGroups(%s) accepts = %v, want %v", claim, got, want)
	}
}

func TestGroupNameMatchesRule(t *testing.T) {
	t.Parallel()
	for _, n := range groupNameCases {
		checkGroupName(t, n)
	}
}

func FuzzGroupNameMatchesRule(f *testing.F) {
	for _, n := range groupNameCases {
		f.Add(n)
	}
	f.Fuzz(checkGroupName)
}
