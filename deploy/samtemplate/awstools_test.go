package samtemplate_test

// The template through AWS's own tools, offline: cfn-lint (the
// CloudFormation linter, with AWS's resource specifications) on
// template.yaml, and the SAM translator (aws-sam-translator, the transform
// `sam deploy` and CloudFormation run) turning it into the CloudFormation
// the stack will get, linted again. Each gate is shown to fail on a template
// broken in the way it is there to catch. Where a tool is not installed the
// tests skip saying so; .ci/run installs both (pinned) or prints why not,
// and `make test` prints a note.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cfnLint returns the cfn-lint command: $CFN_LINT, else cfn-lint on PATH.
func cfnLint(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CFN_LINT"); p != "" {
		return p
	}
	p, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (pip install cfn-lint==1.51.0; .ci/run does): template lint gate skipped")
	}
	return p
}

// samPython returns a Python that can import samtranslator: $SAM_PYTHON,
// else python3.
func samPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("SAM_PYTHON")
	if py == "" {
		py = "python3"
	}
	if out, err := exec.Command(py, "-c", "import samtranslator").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import samtranslator (pip install aws-sam-translator==1.110.0; .ci/run does): SAM transform gate skipped: %v %s", py, err, bytes.TrimSpace(out))
	}
	return py
}

// runLint lints file and returns cfn-lint's exit code and findings.
func runLint(t *testing.T, lint, file string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(lint, append(append([]string{"--format", "parseable"}, args...), "--", file)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// translate runs the SAM translator on file and returns the CloudFormation
// JSON, or the translator's refusal.
func translate(t *testing.T, py, file string) ([]byte, string, error) {
	t.Helper()
	cmd := exec.Command(py, "testdata/sam_translate.py", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

// templateFile writes template.yaml with old replaced by new (old must
// occur exactly once) to a temporary file; old "" writes it unchanged.
func templateFile(t *testing.T, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if old != "" {
		if n := strings.Count(text, old); n != 1 {
			t.Fatalf("%q occurs %d times in template.yaml, want 1", old, n)
		}
		text = strings.Replace(text, old, new, 1)
	}
	p := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCfnLint(t *testing.T) {
	t.Parallel()
	lint := cfnLint(t)
	tests := []struct {
		name, old, new string
		rule           string // "" - the template must be clean
	}{
		{name: "template.yaml"},
		{name: "kept on removal, deleted on replacement", old: "    DeletionPolicy: RetainExceptOnCreate\n    UpdateReplacePolicy: Retain\n    Properties:\n      RestApiId: !Ref RestApiId\n      ResourceId: !Ref JobsResourceId\n      HttpMethod: POST\n",
			new: "    DeletionPolicy: RetainExceptOnCreate\n    Properties:\n      RestApiId: !Ref RestApiId\n      ResourceId: !Ref JobsResourceId\n      HttpMethod: POST\n", rule: "W3011"},
		{name: "resource type that does not exist", old: "Type: AWS::SecretsManager::Secret", new: "Type: AWS::SecretsManager::Secrets", rule: "E3006"},
		{name: "log retention CloudWatch does not offer", old: "AllowedValues: [7, 14, 30, 60, 90, 180, 365]", new: "AllowedValues: [7, 14, 30, 45]", rule: "W1030"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out := runLint(t, lint, templateFile(t, tt.old, tt.new))
			switch {
			case tt.rule == "" && code != 0:
				t.Errorf("cfn-lint template.yaml: exit %d\n%s", code, out)
			case tt.rule != "" && (code == 0 || !strings.Contains(out, tt.rule)):
				t.Errorf("cfn-lint on the broken template: exit %d, want a %s finding\n%s", code, tt.rule, out)
			}
		})
	}
}

func TestSAMTransform(t *testing.T) {
	t.Parallel()
	py := samPython(t)
	tests := []struct {
		name, old, new string
		refused        string // the translator's refusal
		creates        string // a resource type the output must not have
	}{
		{name: "template.yaml"},
		{name: "Api event", old: "      Description: GET /v1/jobs/{id} - a job's status for its owner or an admin.\n",
			new: "      Description: GET /v1/jobs/{id} - a job's status for its owner or an admin.\n      Events:\n        Get: {Type: Api, Properties: {Path: /x, Method: get}}\n", creates: "AWS::ApiGateway::RestApi"},
		{name: "SQS event without a queue", old: "      Description: Applies the video pipeline's status events (SQS) to jobs, with partial batch failure reporting.\n",
			new: "      Description: Applies the video pipeline's status events (SQS) to jobs, with partial batch failure reporting.\n      Events:\n        Q: {Type: SQS, Properties: {BatchSize: 10}}\n", refused: "Queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := translate(t, py, templateFile(t, tt.old, tt.new))
			if tt.refused != "" {
				if err == nil || !strings.Contains(stderr, tt.refused) {
					t.Errorf("translator accepted the broken template (err %v), want a refusal naming %q\n%s", err, tt.refused, stderr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SAM translator refused template.yaml: %v\n%s", err, stderr)
			}
			var doc struct {
				Resources map[string]struct{ Type string }
			}
			if err := json.Unmarshal(out, &doc); err != nil || len(doc.Resources) == 0 {
				t.Fatalf("translator output: %v\n%.500s", err, out)
			}
			var bad []string
			for id, r := range doc.Resources {
				// The stack extends the existing API: no REST API, stage or
				// deployment of its own, explicit or implicit.
				switch {
				case strings.HasPrefix(r.Type, "AWS::Serverless::"),
					r.Type == "AWS::ApiGateway::RestApi", r.Type == "AWS::ApiGateway::Stage", r.Type == "AWS::ApiGateway::Deployment":
					bad = append(bad, id+" "+r.Type)
				}
			}
			if tt.creates != "" {
				if !strings.Contains(strings.Join(bad, ","), tt.creates) {
					t.Errorf("translated output has %v, want the check to see the %s the mutation creates", bad, tt.creates)
				}
				return
			}
			if len(bad) > 0 {
				t.Errorf("translated template has %v", bad)
			}
			lint := cfnLint(t)
			p := filepath.Join(t.TempDir(), "translated.json")
			if err := os.WriteFile(p, out, 0o600); err != nil {
				t.Fatal(err)
			}
			// W2001 (parameter not used): the translator resolves the
			// parameters SAM needs at transform time (DeploymentPreference's
			// Type), so its output no longer references them.
			if code, findings := runLint(t, lint, p, "--ignore-checks", "W2001"); code != 0 {
				t.Errorf("cfn-lint on the translated template: exit %d\n%s", code, findings)
			}
		})
	}
}
