#!/usr/bin/env bash
# Deploys template.yaml to the jobs-api stack safely (docs/deploy.md):
#   0. deploycheck config: samconfig.toml parsed as SAM CLI will, every value checked
#      deploycheck preflight: the live API and account checked for conflicts
#   1. sam build
#   2. sam deploy --config-env $STAGE --no-execute-changeset: creates a change set, changes nothing
#   3. deploycheck: refuses a change set that removes a resource, replaces a stateful one
#      (table, log group, Cognito, REST API, stage) or touches a REST API
#   4. execute the change set and wait for the stack
#   5. deploy/scripts/redeploy-stage.sh: CloudFormation never redeploys a REST API stage itself
#
# A dry run (make deploy-check) stops after 3 and records the change set it reviewed, with the
# state of the working tree it was made from, in $DEPLOY_STATE_DIR/$STAGE.changeset. The deploy
# (make deploy) then executes exactly that change set, by its ARN, after checking it again; it
# refuses one made from another commit or working tree. Without a reviewed change set it runs
# 0-3 and asks before executing (only at a terminal, or with DEPLOY_ASK=1; otherwise it refuses).
#
# Environment:
#   STAGE           samconfig.toml environment and API stage (default prod)
#   DEPLOY_DRY_RUN  1: stop after the check and record the change set as reviewed (make deploy-check)
#   DEPLOY_STATE_DIR  where reviewed change sets are recorded (default .deploy, git-ignored)
#   DEPLOY_ASK      1: ask before executing a change set that was not reviewed, even without a terminal
#   DEPLOY_ALLOW    comma-separated logical IDs whose removal/replacement was reviewed and is accepted
#   SAMCONFIG       SAM CLI config file, relative to the repository root (default samconfig.toml)
#   STACK_NAME, AWS_REGION  override the config's stack_name and region
#   DEPLOYCHECK     path of a built deploycheck binary (default: built from ./deploy/deploycheck)
set -euo pipefail

cd "$(dirname "$0")/../.."
STAGE="${STAGE:-prod}"
CONFIG="${SAMCONFIG:-samconfig.toml}"
# Absolute, because SAM CLI resolves a relative --config-file against the template's directory.
[[ "$CONFIG" == /* ]] || CONFIG="$PWD/$CONFIG"

# samconfig_value KEY: KEY's string value in [$STAGE.deploy.parameters] of $CONFIG.
samconfig_value() {
  awk -v section="[${STAGE}.deploy.parameters]" -v key="$1" '
    /^\[/ { in_section = ($0 == section); next }
    in_section && $1 == key && $2 == "=" {
      v = $0; sub(/^[^=]*=[ \t]*"/, "", v); sub(/".*$/, "", v); print v; exit
    }' "$CONFIG"
}

STACK_NAME="${STACK_NAME:-$(samconfig_value stack_name)}"
AWS_REGION="${AWS_REGION:-$(samconfig_value region)}"
if [[ -z "$STACK_NAME" || -z "$AWS_REGION" ]]; then
  echo "deploy: no stack_name/region for [${STAGE}.deploy.parameters] in $CONFIG" >&2
  exit 2
fi
export AWS_REGION STACK_NAME

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -z "${DEPLOYCHECK:-}" ]]; then
  DEPLOYCHECK="$work/deploycheck"
  go build -o "$DEPLOYCHECK" ./deploy/deploycheck
fi

# Every parameter listed, parsed as SAM CLI will, no placeholder (PLACEHOLDER_*, account
# 000000000000), no empty required value, each within its constraints: before sam build.
if ! "$DEPLOYCHECK" config -template template.yaml -config "$CONFIG" -env "$STAGE"; then
  echo "deploy: fix $CONFIG [$STAGE.deploy.parameters] first (docs/deploy.md)" >&2
  exit 2
fi

state_dir="${DEPLOY_STATE_DIR:-.deploy}"
reviewed="$state_dir/$STAGE.changeset"
# The commit plus a digest of uncommitted changes to tracked files: a change set is only
# executed from the tree it was made from.
tree="$(git rev-parse --short=12 HEAD 2>/dev/null || echo nogit)-$( (git diff HEAD 2>/dev/null || true) | sha256sum | cut -c1-12)"

# check_changeset ARN: describe-change-set into $work/changeset.json and run the guard.
check_changeset() {
  echo "==> checking $1"
  aws cloudformation describe-change-set --change-set-name "$1" --region "$AWS_REGION" --output json \
    >"$work/changeset.json"
  local allow=()
  if [[ -n "${DEPLOY_ALLOW:-}" ]]; then
    allow=(-allow "$DEPLOY_ALLOW")
  fi
  "$DEPLOYCHECK" check -stack "$STACK_NAME" -template template.yaml "${allow[@]}" "$work/changeset.json"
}

if [[ "${DEPLOY_DRY_RUN:-}" != 1 && -f "$reviewed" ]]; then
  read -r changeset reviewed_tree <"$reviewed"
  if [[ "$reviewed_tree" != "$tree" ]]; then
    cat >&2 <<MSG
deploy: NOT executed. The reviewed change set $changeset
was made from $reviewed_tree; this working tree is $tree.
Run make deploy-check STAGE=$STAGE again and review the new change set.
MSG
    exit 1
  fi
  if ! check_changeset "$changeset"; then
    echo "deploy: NOT executed: the reviewed change set no longer passes the checks (above)" >&2
    exit 1
  fi
  echo "==> executing the change set reviewed with make deploy-check"
else
echo "==> pre-flight against the live API and account"
if ! "$DEPLOYCHECK" preflight -template template.yaml -config "$CONFIG" -env "$STAGE"; then
  echo "deploy: NOT started: the pre-flight found conflicts (above); no change set was created" >&2
  exit 1
fi

echo "==> sam build"
sam build

echo "==> sam deploy --config-env $STAGE --no-execute-changeset (stack $STACK_NAME, $AWS_REGION)"
sam deploy --config-file "$CONFIG" --config-env "$STAGE" --no-execute-changeset --no-confirm-changeset --no-fail-on-empty-changeset \
  2>&1 | tee "$work/sam-deploy.log"

rc=0
changeset="$("$DEPLOYCHECK" arn "$work/sam-deploy.log")" || rc=$?
if [[ $rc -eq 3 ]]; then
  echo "==> no changes to deploy; stack $STACK_NAME is up to date (stage not redeployed: run deploy/scripts/redeploy-stage.sh if needed)"
  exit 0
elif [[ $rc -ne 0 ]]; then
  echo "deploy: could not find the change set sam deploy created (see the output above)" >&2
  exit 1
fi

if ! check_changeset "$changeset"; then
  cat >&2 <<MSG
deploy: NOT executed. The change set is left for review:
  aws cloudformation describe-change-set --change-set-name $changeset --region $AWS_REGION
and can be deleted with:
  aws cloudformation delete-change-set --change-set-name $changeset --region $AWS_REGION
MSG
  exit 1
fi

if [[ "${DEPLOY_DRY_RUN:-}" == 1 ]]; then
  mkdir -p "$state_dir"
  echo "$changeset $tree" >"$reviewed"
  cat <<MSG
==> dry run: change set $changeset passed the checks and was NOT executed.
    make deploy STAGE=$STAGE executes exactly this change set (recorded in $reviewed)
    as long as the working tree stays at $tree.
MSG
  exit 0
fi

if [[ -t 0 || "${DEPLOY_ASK:-}" == 1 ]]; then
  read -r -p "Execute change set $changeset on stack $STACK_NAME? [y/N] " answer || answer=
  if [[ "$answer" != y && "$answer" != Y ]]; then
    echo "deploy: NOT executed. Delete it with: aws cloudformation delete-change-set --change-set-name $changeset --region $AWS_REGION" >&2
    exit 1
  fi
else
  cat >&2 <<MSG
deploy: NOT executed: no change set was reviewed for $STAGE. Run make deploy-check STAGE=$STAGE,
review its output, then make deploy STAGE=$STAGE executes exactly that change set.
Delete this one with: aws cloudformation delete-change-set --change-set-name $changeset --region $AWS_REGION
MSG
  exit 1
fi
fi

status="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" --region "$AWS_REGION" \
  --query 'Stacks[0].StackStatus' --output text)"
waiter=stack-update-complete
if [[ "$status" == REVIEW_IN_PROGRESS ]]; then
  waiter=stack-create-complete
fi

echo "==> executing $changeset"
aws cloudformation execute-change-set --change-set-name "$changeset" --region "$AWS_REGION"
rm -f "$reviewed"
if ! aws cloudformation wait "$waiter" --stack-name "$STACK_NAME" --region "$AWS_REGION"; then
  cat >&2 <<MSG
deploy: stack $STACK_NAME did not reach ${waiter#stack-} (CloudFormation rolls a failed update back by itself).
  aws cloudformation describe-stack-events --stack-name $STACK_NAME --region $AWS_REGION --max-items 30
The API stage was not redeployed.
MSG
  exit 1
fi

echo "==> redeploying the API stage"
deploy/scripts/redeploy-stage.sh
