package jobs_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// idRule is the rule ValidateID implemented as a regexp before it became a
// loop (cold start, bench/coldstart/RESULTS.md); the loop must agree with it.
var idRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

func wantValidID(id string) bool { return len(id) <= jobs.MaxIDLength && idRule.MatchString(id) }

// idRuleCases are edge cases of the rule, also the fuzz seed corpus.
var idRuleCases = []string{
	"", "a", "Z", "0", "_", "-", "a_", "a-", "_a", "-a", "job_0123456789abcdefghjkmnpqrs", "legacy-ID_42",
	"a b", "a/b", "a.b", "a\n", "a\x00", "\na", "é", "aé", "a\xff", "../x", "%2F", "a$", "a^",
	strings.Repeat("a", jobs.MaxIDLength), strings.Repeat("a", jobs.MaxIDLength+1),
}

func TestValidateIDMatchesRule(t *testing.T) {
	t.Parallel()
	for _, id := range idRuleCases {
		got, want := jobs.ValidateID(id) == nil, wantValidID(id)
		if got != want {
			t.Errorf("ValidateID(%q) accepts = %v, want %v", id, got, want)
		}
	}
}

func FuzzValidateIDMatchesRule(f *testing.F) {
	for _, id := range idRuleCases {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := jobs.ValidateID(id) == nil, wantValidID(id); got != want {
			t.Errorf("ValidateID(%q) accepts = %v, want %v", id, got, want)
		}
	})
}
