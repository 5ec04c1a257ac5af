package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The deploy scripts need SAM CLI and AWS credentials, which tests do not
// have. These tests run the real scripts with fake `sam` and `aws`
// executables first on PATH that log their arguments and answer from
// fixtures, and assert which AWS calls the scripts make — above all, that
// a blocked change set is never executed and the stage is redeployed only
// after the stack update succeeded.

const (
	repoRoot = "../.."
	fixtures = "../changeset/testdata/"
	arn      = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/samcli-deploy1719500000/4eca1a01-e285-4b8e-8026-9a1967bfb4b0"
)

func TestScriptsParse(t *testing.T) {
	t.Parallel()
	scripts, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "scripts", "*.sh"))
	if err != nil || len(scripts) < 2 {
		t.Fatalf("scripts: %v %v", scripts, err)
	}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		if fi, err := os.Stat(s); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
		b, _ := os.ReadFile(s)
		if !strings.Contains(string(b), "set -euo pipefail") {
			t.Errorf("%s lacks set -euo pipefail", s)
		}
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		args := append([]string{"--severity=warning"}, scripts...)
		if out, err := exec.Command(sc, args...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	} else {
		t.Log("shellcheck not installed; ran bash -n only")
	}
}

const fakeSam = `#!/usr/bin/env bash
echo "sam $*" >>"$FAKE_LOG"
case "$1" in
  build) echo "Build Succeeded" ;;
  deploy) cat "$FAKE_SAM_OUTPUT" ;;
  *) exit 99 ;;
esac
`

const fakeAWS = `#!/usr/bin/env bash
echo "aws $*" >>"$FAKE_LOG"
case "$1 $2" in
  "cloudformation describe-change-set") cat "$FAKE_CHANGESET" ;;
  "cloudformation describe-stacks")
    case "$*" in
      *StackStatus*) echo UPDATE_COMPLETE ;;
      *RestApiId*) echo o0fvahtccd ;;
      *"'Stage'"*) echo prod ;;
      *) exit 98 ;;
    esac ;;
  "cloudformation execute-change-set") ;;
  "cloudformation wait") exit "${FAKE_WAIT_RC:-0}" ;;
  "apigateway get-stage") echo olddep1 ;;
  "apigateway create-deployment") echo newdep2 ;;
  *) echo "fake aws: unexpected $*" >&2; exit 99 ;;
esac
`

// fakeDeploycheck runs the real deploycheck for everything but the
// pre-flight, which needs the live account (deploy/preflight tests it
// against moto); it logs the call and answers from FAKE_PREFLIGHT_RC.
const fakeDeploycheck = `#!/usr/bin/env bash
if [ "$1" = preflight ]; then
  echo "deploycheck $*" >>"$FAKE_LOG"
  [ "${FAKE_PREFLIGHT_RC:-0}" = 0 ] || echo "REFUSED ListJobsMethod: GET /v1/jobs already exists (fake)" >&2
  exit "${FAKE_PREFLIGHT_RC:-0}"
fi
exec "$REAL_DEPLOYCHECK" "$@"
`

type scriptRun struct {
	code   int
	output string
	calls  []string
}

// runScript runs deploy/scripts/<name> from the repository with fake tools and
// env (KEY=VALUE) added to the environment.
func runScript(t *testing.T, name string, env ...string) scriptRun {
	t.Helper()
	dir := t.TempDir()
	for file, body := range map[string]string{"sam": fakeSam, "aws": fakeAWS, "deploycheck": fakeDeploycheck} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "calls.log")
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cmd := exec.Command("bash", filepath.Join(repoRoot, "deploy", "scripts", name))
	cmd.Env = append(os.Environ(),
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_LOG="+log,
		"DEPLOYCHECK="+filepath.Join(dir, "deploycheck"),
		"REAL_DEPLOYCHECK="+binary,
		"SAMCONFIG="+abs("testdata/samconfig.toml"),
		"FAKE_SAM_OUTPUT="+abs(fixtures+"sam_deploy_changeset.txt"),
		"FAKE_CHANGESET="+abs(fixtures+"safe_update.json"),
	)
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "FAKE_") && (strings.HasSuffix(v, ".json") || strings.HasSuffix(v, ".txt")) {
			e = k + "=" + abs(fixtures+v)
		}
		if k == "STDIN" { // what the operator types
			cmd.Stdin = strings.NewReader(v)
			continue
		}
		cmd.Env = append(cmd.Env, e)
	}
	out, err := cmd.CombinedOutput()
	run := scriptRun{output: string(out)}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		run.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			run.calls = append(run.calls, l)
		}
	}
	return run
}

// preflightCall is how deploy.sh runs the pre-flight (the fake logs it).
const preflightCall = "deploycheck preflight -template template.yaml -config "

func TestDeployScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      []string
		wantCode int
		// wantCalls are prefixes of the calls made, in order; the run
		// must make exactly these calls.
		wantCalls  []string
		wantOutput string
		// review: run make deploy-check's dry run first (it must pass),
		// then the run under test with the same state directory; or
		// write this "ARN tree" line as the reviewed change set.
		review   bool
		reviewed string
	}{
		{
			name:   "the reviewed change set is executed by its ARN, then the stage redeployed",
			review: true,
			wantCalls: []string{
				"aws cloudformation describe-change-set --change-set-name " + arn + " --region us-east-1 --output json",
				"aws cloudformation describe-stacks --stack-name jobs-api --region us-east-1 --query Stacks[0].StackStatus",
				"aws cloudformation execute-change-set --change-set-name " + arn + " --region us-east-1",
				"aws cloudformation wait stack-update-complete --stack-name jobs-api --region us-east-1",
				"aws cloudformation describe-stacks --stack-name jobs-api --region us-east-1 --query Stacks[0].Parameters[?ParameterKey=='RestApiId']",
				"aws cloudformation describe-stacks --stack-name jobs-api --region us-east-1 --query Stacks[0].Parameters[?ParameterKey=='Stage']",
				"aws apigateway get-stage --rest-api-id o0fvahtccd --stage-name prod --region us-east-1 --query deploymentId",
				"aws apigateway create-deployment --rest-api-id o0fvahtccd --stage-name prod --region us-east-1 --description jobs-api ",
			},
			wantOutput: "--patch-operations op=replace,path=/deploymentId,value=olddep1",
		},
		{
			name:     "blocked change set is not executed",
			env:      []string{"FAKE_CHANGESET=removes_existing.json"},
			wantCode: 1,
			wantCalls: []string{
				preflightCall,
				"sam build",
				"sam deploy ",
				"aws cloudformation describe-change-set ",
			},
			wantOutput: "deploy: NOT executed",
		},
		{
			name:   "reviewed replacements are allowed, and shown as what they delete",
			env:    []string{"FAKE_CHANGESET=replaces_table.json", "DEPLOY_ALLOW=JobsTable,GetJobFnLogs"},
			review: true,
			wantCalls: []string{
				"aws cloudformation describe-change-set ", "aws cloudformation describe-stacks ",
				"aws cloudformation execute-change-set ", "aws cloudformation wait ", "aws cloudformation describe-stacks ",
				"aws cloudformation describe-stacks ", "aws apigateway get-stage ", "aws apigateway create-deployment ",
			},
			wantOutput: "the old Jobs-prod is kept outside the stack",
		},
		{
			name:     "no reviewed change set and no terminal: not executed",
			wantCode: 1,
			wantCalls: []string{
				preflightCall, "sam build", "sam deploy ", "aws cloudformation describe-change-set ",
			},
			wantOutput: "no change set was reviewed for prod",
		},
		{
			name: "no reviewed change set: asks, and executes on y",
			env:  []string{"DEPLOY_ASK=1", "STDIN=y\n"},
			wantCalls: []string{
				preflightCall, "sam build", "sam deploy ", "aws cloudformation describe-change-set ", "aws cloudformation describe-stacks ",
				"aws cloudformation execute-change-set --change-set-name " + arn + " ", "aws cloudformation wait ", "aws cloudformation describe-stacks ",
				"aws cloudformation describe-stacks ", "aws apigateway get-stage ", "aws apigateway create-deployment ",
			},
		},
		{
			name:       "no reviewed change set: asks, and stops on anything but y",
			env:        []string{"DEPLOY_ASK=1", "STDIN=\n"},
			wantCode:   1,
			wantCalls:  []string{preflightCall, "sam build", "sam deploy ", "aws cloudformation describe-change-set "},
			wantOutput: "delete-change-set --change-set-name " + arn,
		},
		{
			name:       "a change set reviewed from another tree is refused",
			reviewed:   arn + " 0123456789ab-000000000000",
			wantCode:   1,
			wantOutput: "was made from 0123456789ab-000000000000",
		},
		{
			name:       "dry run stops after the check",
			env:        []string{"DEPLOY_DRY_RUN=1"},
			wantCalls:  []string{preflightCall, "sam build", "sam deploy ", "aws cloudformation describe-change-set "},
			wantOutput: "was NOT executed",
		},
		{
			name:       "nothing to deploy",
			env:        []string{"FAKE_SAM_OUTPUT=sam_deploy_nochanges.txt"},
			wantCalls:  []string{preflightCall, "sam build", "sam deploy "},
			wantOutput: "no changes to deploy",
		},
		{
			name:     "failed stack update does not redeploy the stage",
			env:      []string{"FAKE_WAIT_RC=255"},
			review:   true,
			wantCode: 1,
			wantCalls: []string{
				"aws cloudformation describe-change-set ", "aws cloudformation describe-stacks ",
				"aws cloudformation execute-change-set ", "aws cloudformation wait ",
			},
			wantOutput: "The API stage was not redeployed",
		},
		{
			name:       "other stage's stack and region from samconfig",
			env:        []string{"STAGE=staging", "DEPLOY_DRY_RUN=1"},
			wantCode:   1, // the fixture change set is for stack jobs-api
			wantCalls:  []string{preflightCall, "sam build", "sam deploy --config-file " + mustAbs(t, "testdata/samconfig.toml") + " --config-env staging ", "aws cloudformation describe-change-set --change-set-name " + arn + " --region eu-west-1 "},
			wantOutput: `change set is for stack "jobs-api", want "jobs-api-staging"`,
		},
		{
			name:       "a pre-flight refusal stops the deploy before sam build",
			env:        []string{"FAKE_PREFLIGHT_RC=1"},
			wantCode:   1,
			wantCalls:  []string{preflightCall},
			wantOutput: "the pre-flight found conflicts",
		},
		{
			name:       "placeholders in samconfig stop the deploy",
			env:        []string{"SAMCONFIG=samconfig.toml"}, // the repository's, which has placeholders
			wantCode:   2,
			wantOutput: `JobsResourceId: "PLACEHOLDER_JOBS_RESOURCE_ID" is a placeholder`,
		},
		{
			name:       "the placeholder account stops the deploy",
			env:        []string{"STAGE=zeroaccount"},
			wantCode:   2,
			wantOutput: "CognitoUserPoolArn: \"arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_AbCdEf123\" is a placeholder",
		},
		{
			name:       "an override SAM CLI cannot parse stops the deploy before sam build",
			env:        []string{"STAGE=emptyvalue"},
			wantCode:   2,
			wantOutput: "CognitoAuthorizerId= is not a valid format",
		},
		{
			name:       "a parameter left out stops the deploy",
			env:        []string{"STAGE=missing"},
			wantCode:   2,
			wantOutput: "JobRetentionDays: not in parameter_overrides",
		},
		{
			name:       "unknown config environment",
			env:        []string{"STAGE=dev"},
			wantCode:   2,
			wantOutput: "no stack_name/region for [dev.deploy.parameters]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state := t.TempDir()
			env := append([]string{"DEPLOY_STATE_DIR=" + state}, tc.env...)
			if tc.review {
				dry := runScript(t, "deploy.sh", append(env, "DEPLOY_DRY_RUN=1")...)
				checkRun(t, dry, 0, []string{preflightCall, "sam build", "sam deploy ", "aws cloudformation describe-change-set "}, "make deploy STAGE=prod executes exactly this change set")
			}
			if tc.reviewed != "" {
				if err := os.WriteFile(filepath.Join(state, "prod.changeset"), []byte(tc.reviewed+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			run := runScript(t, "deploy.sh", env...)
			checkRun(t, run, tc.wantCode, tc.wantCalls, tc.wantOutput)
		})
	}
}

func TestRedeployStageScript(t *testing.T) {
	t.Parallel()
	run := runScript(t, "redeploy-stage.sh", "REST_API_ID=abcde12345", "STAGE_NAME=prod", "AWS_REGION=us-east-1", "DEPLOY_DESCRIPTION=hotfix")
	checkRun(t, run, 0, []string{
		"aws apigateway get-stage --rest-api-id abcde12345 --stage-name prod --region us-east-1 --query deploymentId --output text",
		"aws apigateway create-deployment --rest-api-id abcde12345 --stage-name prod --region us-east-1 --description hotfix --query id --output text",
	}, "now serves deployment newdep2 (was olddep1)")
}

func checkRun(t *testing.T, run scriptRun, wantCode int, wantCalls []string, wantOutput string) {
	t.Helper()
	if run.code != wantCode {
		t.Errorf("exit code %d, want %d\noutput:\n%s", run.code, wantCode, run.output)
	}
	if len(run.calls) != len(wantCalls) {
		t.Errorf("calls:\n  %s\nwant %d calls:\n  %s", strings.Join(run.calls, "\n  "), len(wantCalls), strings.Join(wantCalls, "\n  "))
	} else {
		for i := range wantCalls {
			if !strings.HasPrefix(run.calls[i], wantCalls[i]) {
				t.Errorf("call %d = %q, want prefix %q", i, run.calls[i], wantCalls[i])
			}
		}
	}
	if !strings.Contains(run.output, wantOutput) {
		t.Errorf("output:\n%s\nwant it to contain %q", run.output, wantOutput)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
