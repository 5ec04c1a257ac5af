package localevents

import (
	"slices"
	"strings"

	"github.com/deepfoundai/jobs-api/internal/appsync"
)

// MaxSegments is how many segments a channel path may have, the namespace
// included (AppSync Events: up to 5).
const MaxSegments = 5

// ParseChannel checks a channel path as the Events API does before any
// handler runs: "/<namespace>/<segment>...", 1 to MaxSegments segments of 1
// to 50 letters, digits and '-', a namespace of the API, and (only when
// subscribing) a trailing "*" segment. It returns the segments.
func ParseChannel(path string, subscribe bool, namespaces []string) ([]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	segs := strings.Split(path[1:], "/")
	if len(segs) < 1 || len(segs) > MaxSegments || !slices.Contains(namespaces, segs[0]) {
		return nil, false
	}
	for i, s := range segs {
		if s == "*" && subscribe && i == len(segs)-1 && i > 0 {
			continue
		}
		if !appsync.ValidSegment(s) {
			return nil, false
		}
	}
	return segs, true
}

// Identity is what the Events API tells a handler about a Cognito caller:
// the token's sub, token_use and cognito:groups (a list of strings; a claim
// of another shape is no groups).
type Identity struct {
	Sub      string
	TokenUse string
	Groups   []string
}

// MaySubscribe is template.yaml's onSubscribe handler of the jobs namespace
// (JobEventsNamespace.CodeHandlers) in Go: ID tokens only; members of
// adminGroup (the stack's AdminGroup, matched exactly) may subscribe to any
// channel, anyone else to "/jobs/<their sub>" alone. A test runs the
// template's JavaScript under Node against the same cases and holds the two
// to agree.
func MaySubscribe(segments []string, who Identity, adminGroup string) bool {
	if who.TokenUse != "id" {
		return false
	}
	if slices.Contains(who.Groups, adminGroup) {
		return true
	}
	return who.Sub != "" && len(segments) == 2 && segments[0] == appsync.Namespace && segments[1] == who.Sub
}

// matches reports whether an event published to channel reaches a
// subscription to pattern: the same path, or a path under pattern's
// trailing "*".
func matches(pattern, channel string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(channel, prefix) && len(channel) > len(prefix)
	}
	return pattern == channel
}
