package changeset_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/changeset"
)

func decodeFile(t *testing.T, name string) *changeset.ChangeSet {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := changeset.Decode(f)
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return cs
}

func TestCheckFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		allow []string
		want  []string // Finding.String() prefixes, in order
	}{
		{file: "safe_update.json"},
		{file: "removes_existing.json", want: []string{
			"Remove JobsApi (AWS::ApiGateway::RestApi): this stack must not own a REST API",
			"Remove JobsApiProdStage (AWS::ApiGateway::Stage): would be removed from the stack (PolicyAction Delete)",
			"Remove JobsSubmitFunction (AWS::Lambda::Function): would be removed from the stack (PolicyAction Delete)",
			"Remove JobsSubmitFunctionLogGroup (AWS::Logs::LogGroup): would be removed from the stack (PolicyAction Retain: the old resource is kept",
		}},
		{file: "removes_existing.json", allow: []string{"JobsApiProdStage", "JobsSubmitFunction", "JobsSubmitFunctionLogGroup", "JobsApi"}, want: []string{
			"Remove JobsApi (AWS::ApiGateway::RestApi): this stack must not own a REST API", // -allow never covers a REST API
		}},
		{file: "replaces_table.json", want: []string{
			"Modify JobsTable (AWS::DynamoDB::Table): Replacement True of a stateful resource (PolicyAction ReplaceAndRetain: the old resource is kept but leaves the stack) (caused by KeySchema (Always))",
			"Modify GetJobFnLogs (AWS::Logs::LogGroup): Replacement Conditional of a stateful resource",
			// JobIdResource and GetJobMethod are replaced too, but hold no state.
		}},
		{file: "no_changes.json", want: []string{
			"change set is not executable: Status FAILED, ExecutionStatus UNAVAILABLE: The submitted information didn't contain changes.",
		}},
		{file: "two_pages.json", want: []string{"Remove JobsApi (AWS::ApiGateway::RestApi)"}},
	}
	for _, tc := range tests {
		t.Run(tc.file+strings.Join(tc.allow, ","), func(t *testing.T) {
			t.Parallel()
			cs := decodeFile(t, tc.file)
			p := changeset.DefaultPolicy()
			p.Allow = map[string]bool{}
			for _, id := range tc.allow {
				p.Allow[id] = true
			}
			got := changeset.Check(cs, p)
			if len(got) != len(tc.want) {
				t.Fatalf("Check = %d findings %v, want %d %v", len(got), got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i].String(), tc.want[i]) {
					t.Errorf("finding %d = %q, want prefix %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCheckRules(t *testing.T) {
	t.Parallel()
	base := func(changes ...changeset.ResourceChange) *changeset.ChangeSet {
		cs := &changeset.ChangeSet{ChangeSetID: "arn:x", StackName: "jobs-api", Status: "CREATE_COMPLETE", ExecutionStatus: "AVAILABLE"}
		for _, c := range changes {
			cs.Changes = append(cs.Changes, changeset.Change{Type: "Resource", ResourceChange: c})
		}
		return cs
	}
	tests := []struct {
		name    string
		change  changeset.ResourceChange
		blocked bool
	}{
		{"add a function", changeset.ResourceChange{Action: "Add", LogicalResourceID: "F", ResourceType: "AWS::Lambda::Function"}, false},
		{"replace a function", changeset.ResourceChange{Action: "Modify", LogicalResourceID: "F", ResourceType: "AWS::Lambda::Function", Replacement: "True"}, false},
		{"modify the table in place", changeset.ResourceChange{Action: "Modify", LogicalResourceID: "T", ResourceType: "AWS::DynamoDB::Table", Replacement: "False"}, false},
		{"import the table", changeset.ResourceChange{Action: "Import", LogicalResourceID: "T", ResourceType: "AWS::DynamoDB::Table"}, false},
		{"remove a permission", changeset.ResourceChange{Action: "Remove", LogicalResourceID: "P", ResourceType: "AWS::Lambda::Permission"}, true},
		{"replace a user pool client", changeset.ResourceChange{Action: "Modify", LogicalResourceID: "C", ResourceType: "AWS::Cognito::UserPoolClient", Replacement: "Conditional"}, true},
		{"replace a stage", changeset.ResourceChange{Action: "Modify", LogicalResourceID: "S", ResourceType: "AWS::ApiGateway::Stage", Replacement: "True"}, true},
		{"dynamic change of the table", changeset.ResourceChange{Action: "Dynamic", LogicalResourceID: "T", ResourceType: "AWS::DynamoDB::Table"}, true},
		{"add a REST API", changeset.ResourceChange{Action: "Add", LogicalResourceID: "ServerlessRestApi", ResourceType: "AWS::ApiGateway::RestApi"}, true},
		{"modify a REST API", changeset.ResourceChange{Action: "Modify", LogicalResourceID: "Api", ResourceType: "AWS::ApiGateway::RestApi", Replacement: "False"}, true},
		{"add an HTTP API", changeset.ResourceChange{Action: "Add", LogicalResourceID: "ServerlessHttpApi", ResourceType: "AWS::ApiGatewayV2::Api"}, true},
		// SAM publishes a new version behind the alias on each code change
		// and retains the previous one: expected on every deploy.
		{"supersede a published version", changeset.ResourceChange{Action: "Remove", LogicalResourceID: "GetJobFnVersion0123456789", ResourceType: "AWS::Lambda::Version", PolicyAction: "Retain"}, false},
	}
	for _, tc := range tests {
		got := changeset.Check(base(tc.change), changeset.DefaultPolicy())
		if blocked := len(got) > 0; blocked != tc.blocked {
			t.Errorf("%s: findings %v, want blocked=%v", tc.name, got, tc.blocked)
		}
	}
	other := base()
	other.StackName = "jobs-api-staging"
	if got := changeset.Check(other, changeset.DefaultPolicy()); len(got) != 1 || !strings.Contains(got[0].Reason, `want "jobs-api"`) {
		t.Errorf("change set of another stack: findings %v, want one about the stack", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", "no describe-change-set JSON"},
		{"not JSON", "Changeset created successfully.", "reading describe-change-set JSON"},
		{"not a change set", `{"Stacks": []}`, "no ChangeSetId"},
		{"pages of two change sets", `{"ChangeSetId": "a", "NextToken": "t"}{"ChangeSetId": "b"}`, "pages of different change sets"},
	}
	for _, tc := range tests {
		_, err := changeset.Decode(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	f, err := os.Open("testdata/truncated.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := changeset.Decode(f); err == nil || !strings.Contains(err.Error(), "NextToken") {
		t.Errorf("Decode(truncated.json) error = %v, want a NextToken error", err)
	}
	cs := decodeFile(t, "two_pages.json")
	var ids []string
	for _, c := range cs.Changes {
		ids = append(ids, c.ResourceChange.LogicalResourceID)
	}
	if want := []string{"GetJobFn", "JobsApi"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("two pages: changes %v, want %v", ids, want)
	}
}

func TestChangeSetARN(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/samcli-deploy1719500000/4eca1a01-e285-4b8e-8026-9a1967bfb4b0"
	tests := []struct {
		file    string
		want    string
		wantErr error
	}{
		{file: "sam_deploy_changeset.txt", want: arn},
		{file: "sam_deploy_json.txt", want: arn},
		{file: "sam_deploy_nochanges.txt", wantErr: changeset.ErrNoChanges},
		{file: "sam_deploy_json_nochanges.txt", wantErr: changeset.ErrNoChanges},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := changeset.ChangeSetARN(string(b))
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("ChangeSetARN(%s) = %q, %v; want %q, %v", tc.file, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := changeset.ChangeSetARN("Error: Failed to create changeset for the stack: jobs-api"); err == nil || errors.Is(err, changeset.ErrNoChanges) {
		t.Errorf("ChangeSetARN of a failure = %v, want a not-found error", err)
	}
	two := arn + "\n" + strings.Replace(arn, "4eca1a01", "5fdb2b12", 1)
	if _, err := changeset.ChangeSetARN(two); err == nil || !strings.Contains(err.Error(), "2 change sets") {
		t.Errorf("ChangeSetARN of two ARNs = %v, want an ambiguity error", err)
	}
}

func TestMain_(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "safe", args: []string{"check", "testdata/safe_update.json"}, wantCode: changeset.ExitOK,
			wantStdout: "deploycheck: OK"},
		{name: "safe from stdin", args: []string{"check", "-"}, stdin: mustRead(t, "testdata/safe_update.json"), wantCode: changeset.ExitOK,
			wantStdout: "Modify   SubmitJobFn"},
		{name: "blocked", args: []string{"check", "testdata/replaces_table.json"}, wantCode: changeset.ExitBlocked,
			wantStderr: "BLOCKED - 2 reason(s)"},
		{name: "allowed", args: []string{"check", "-allow", "JobsApiProdStage, JobsSubmitFunction,JobsSubmitFunctionLogGroup", "-stack", "", "testdata/removes_existing.json"},
			wantCode: changeset.ExitBlocked, wantStderr: "BLOCKED - 1 reason(s)"},
		{name: "allowed removals are shown as what they delete", args: []string{"check", "-allow", "JobsTable,GetJobFnLogs", "testdata/replaces_table.json"},
			wantCode: changeset.ExitOK, wantStdout: "JobsTable (AWS::DynamoDB::Table): replaced (Replacement True); the old Jobs-prod is kept outside the stack (PolicyAction ReplaceAndRetain)"},
		{name: "a removal under a false Condition is not called missing", args: []string{"check", "-template", "../../template.yaml", "testdata/authorizer_condition_false.json"},
			wantCode: changeset.ExitBlocked, wantStderr: "Remove JobsAuthorizer (AWS::ApiGateway::Authorizer): would be removed from the stack (PolicyAction Delete); template.yaml declares it under Condition CreateAuthorizer, which is false"},
		{name: "allowed authorizer removal deletes it", args: []string{"check", "-template", "../../template.yaml", "-allow", "JobsAuthorizer", "testdata/authorizer_condition_false.json"},
			wantCode: changeset.ExitOK, wantStdout: "Remove JobsAuthorizer (AWS::ApiGateway::Authorizer): DELETES a1b2c3 (PolicyAction Delete)"},
		{name: "bad template", args: []string{"check", "-template", "testdata/nope.yaml", "testdata/safe_update.json"}, wantCode: changeset.ExitError, wantStderr: "no such file"},
		{name: "missing file", args: []string{"check", "testdata/nope.json"}, wantCode: changeset.ExitError, wantStderr: "no such file"},
		{name: "two files", args: []string{"check", "a", "b"}, wantCode: changeset.ExitError, wantStderr: "at most one input file"},
		{name: "bad flag", args: []string{"check", "-bogus"}, wantCode: changeset.ExitError, wantStderr: "flag provided but not defined"},
		{name: "bad JSON", args: []string{"check"}, stdin: "{", wantCode: changeset.ExitError, wantStderr: "reading describe-change-set JSON"},
		{name: "arn", args: []string{"arn", "testdata/sam_deploy_changeset.txt"}, wantCode: changeset.ExitOK,
			wantStdout: "changeSet/samcli-deploy1719500000/"},
		{name: "arn no changes", args: []string{"arn"}, stdin: mustRead(t, "testdata/sam_deploy_nochanges.txt"), wantCode: changeset.ExitNoChanges,
			wantStderr: "no changes"},
		{name: "arn not found", args: []string{"arn"}, stdin: "Error: Unable to upload artifact", wantCode: changeset.ExitError,
			wantStderr: "no change set ARN"},
		{name: "arn two args", args: []string{"arn", "a", "b"}, wantCode: changeset.ExitError, wantStderr: "usage:"},
		{name: "arn missing file", args: []string{"arn", "testdata/nope.txt"}, wantCode: changeset.ExitError, wantStderr: "no such file"},
		{name: "no command", args: nil, wantCode: changeset.ExitError, wantStderr: "usage:"},
		{name: "unknown command", args: []string{"deploy"}, wantCode: changeset.ExitError, wantStderr: `unknown command "deploy"`},
		{name: "help", args: []string{"-h"}, wantCode: changeset.ExitOK, wantStdout: "usage:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := changeset.Main(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", &stdout, tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", &stderr, tc.wantStderr)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
