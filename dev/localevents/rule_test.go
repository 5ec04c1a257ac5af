package localevents_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/internal/appsync"
)

// ruleCase is a subscribe request that reaches the namespace's handler: a
// well-formed channel and an identity as AppSync gives it to APPSYNC_JS
// (groups in identity.groups, or only in the claims).
type ruleCase struct {
	Name      string   `json:"name"`
	Sub       string   `json:"sub"`
	TokenUse  string   `json:"tokenUse"`
	Groups    any      `json:"groups"`    // identity.groups: a list, a string, or null
	ClaimOnly bool     `json:"claimOnly"` // the groups only in claims["cognito:groups"]
	Channel   string   `json:"channel"`
	Segments  []string `json:"segments"`
}

// adminGroup is the AdminGroup the rule is tested with: not the default,
// so that a rule ignoring the parameter fails.
const adminGroup = "jobs-admins"

func ruleCases(t *testing.T) []ruleCase {
	t.Helper()
	alice, bob := devauth.Subject("alice"), devauth.Subject("bob")
	var cases []ruleCase
	add := func(name, sub string, groups any, claimOnly bool, channel string) {
		segs, ok := localevents.ParseChannel(channel, true, []string{appsync.Namespace})
		if !ok {
			t.Fatalf("%s: %s is not a channel AppSync would pass to the handler", name, channel)
		}
		for _, use := range []string{"id", "access", ""} {
			cases = append(cases, ruleCase{Name: name + " (" + use + " token)", Sub: sub, TokenUse: use, Groups: groups, ClaimOnly: claimOnly, Channel: channel, Segments: segs})
		}
	}
	channels := []string{appsync.Channel(alice), appsync.Channel(bob), appsync.AllJobsChannel, appsync.Channel(alice) + "/x",
		appsync.Channel(alice) + "/*", appsync.Channel(""), "/jobs/" + strings.ToUpper(alice), "/jobs/" + alice[:8], "/jobs"}
	for _, ch := range channels {
		add("alice", alice, nil, false, ch)
		add("alice, no groups claim", alice, []any{}, false, ch)
		add("admin", bob, []any{adminGroup}, false, ch)
		add("admin in claims only", bob, []any{"video", adminGroup}, true, ch)
		add("the default group name", alice, []any{"admin"}, false, ch)
		add("admins (another group)", alice, []any{adminGroup + "s"}, false, ch)
		add("a group containing it", alice, []any{"super" + adminGroup, "video"}, false, ch)
		add("groups as a string", alice, adminGroup, false, ch)
		add("no sub", "", nil, false, ch)
	}
	return cases
}

// goGroups is what the emulation reads from verified claims: the list's
// strings (a string claim is no list: no groups).
func goGroups(g any) []string {
	var out []string
	if l, ok := g.([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestSubscribeRuleAgreesWithTheTemplate runs the onSubscribe handler of
// template.yaml's JobEventsNamespace under Node (its @aws-appsync/utils
// import replaced by util.unauthorized() throwing, as the runtime's does)
// against channel names crafted by hand, and holds MaySubscribe, the
// emulation's rule, to the same answers.
func TestSubscribeRuleAgreesWithTheTemplate(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (README, Run the tests): ", err)
	}
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: map[string]string{
		"Stage": "test", "RestApiId": "abcdef1234", "JobsResourceId": "v1jobs0001", "PipelineQueueName": "q", "AdminGroup": adminGroup,
		"CognitoUserPoolArn": poolARN,
	}})
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := r.Value(tpl.Resources["JobEventsNamespace"].Properties["CodeHandlers"])
	if err != nil {
		t.Fatalf("CodeHandlers: %v", err)
	}
	code, _ := resolved.(string)
	const imp = "import { util } from '@aws-appsync/utils';"
	if !strings.Contains(code, imp) {
		t.Fatalf("CodeHandlers does not import util as expected:\n%s", code)
	}
	dir := t.TempDir()
	stub := "class Unauthorized extends Error {}\nexport const util = { unauthorized() { throw new Unauthorized('Unauthorized'); } };\nexport { Unauthorized };\n"
	handler := strings.Replace(code, imp, "import { util } from './utils.mjs';", 1)
	runner := `import { onSubscribe } from './handler.mjs';
import { Unauthorized } from './utils.mjs';
import { readFileSync } from 'node:fs';
const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = cases.map((c) => {
  const identity = { sub: c.sub, claims: { sub: c.sub, token_use: c.tokenUse } };
  if (c.claimOnly) identity.claims['cognito:groups'] = c.groups;
  else if (c.groups !== null) identity.groups = c.groups;
  const ctx = { identity, info: { channel: { path: c.channel, segments: c.segments }, channelNamespace: { name: c.segments[0] }, operation: 'SUBSCRIBE' } };
  try { onSubscribe(ctx); return 'allowed'; }
  catch (e) { return e instanceof Unauthorized ? 'refused' : 'error: ' + e.message; }
});
console.log(JSON.stringify(out));
`
	cases := ruleCases(t)
	raw, _ := json.Marshal(cases)
	for name, body := range map[string]string{"utils.mjs": stub, "handler.mjs": handler, "run.mjs": runner, "cases.json": string(raw)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(node, filepath.Join(dir, "run.mjs"), filepath.Join(dir, "cases.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var js []string
	if err := json.Unmarshal(out, &js); err != nil || len(js) != len(cases) {
		t.Fatalf("node answered %s: %v", out, err)
	}
	allowed := 0
	for i, c := range cases {
		goAnswer := "refused"
		if localevents.MaySubscribe(c.Segments, localevents.Identity{Sub: c.Sub, TokenUse: c.TokenUse, Groups: goGroups(c.Groups)}, adminGroup) {
			goAnswer = "allowed"
			allowed++
		}
		if js[i] != goAnswer {
			t.Errorf("%s subscribing to %s: the template's handler says %s, the emulation %s", c.Name, c.Channel, js[i], goAnswer)
		}
	}
	// The cases exercise both answers: admins everywhere, alice at home.
	if allowed == 0 || allowed == len(cases) {
		t.Errorf("%d of %d cases allowed: the table does not exercise the rule", allowed, len(cases))
	}
}

func TestParseChannel(t *testing.T) {
	t.Parallel()
	ns := []string{"jobs"}
	for ch, want := range map[string]bool{
		"/jobs/abc": true, "/jobs": true, "/jobs/*": true, "/jobs/a/b/c/d": true, "/jobs/a/*": true,
		"jobs/abc": false, "/other/abc": false, "/jobs/": false, "/jobs//a": false, "/jobs/a/b/c/d/e": false,
		"/jobs/*/a": false, "/*": false, "/jobs/a b": false, "/jobs/a.b": false,
	} {
		if _, got := localevents.ParseChannel(ch, true, ns); got != want {
			t.Errorf("ParseChannel(%q, subscribe) = %v, want %v", ch, got, want)
		}
	}
	if _, ok := localevents.ParseChannel("/jobs/*", false, ns); ok {
		t.Error("a wildcard channel accepted for publishing")
	}
}
