#!/usr/bin/env bash
# Redeploys the REST API stage so that method changes made by the jobs-api stack reach clients.
# CloudFormation updates methods, integrations and gateway responses on the REST API, but a stage
# keeps serving the deployment (snapshot) it points at until a new deployment is created.
#
# A deployment snapshots the WHOLE API as it is now, including changes anyone made outside
# this stack and never deployed. The previous deployment id is printed for rollback.
#
# Environment (defaults read from the stack's parameters RestApiId and Stage):
#   REST_API_ID, STAGE_NAME, STACK_NAME (default jobs-api), AWS_REGION (default us-east-1)
#   DEPLOY_DESCRIPTION  description of the new deployment
set -euo pipefail

STACK_NAME="${STACK_NAME:-jobs-api}"
AWS_REGION="${AWS_REGION:-us-east-1}"

stack_parameter() {
  aws cloudformation describe-stacks --stack-name "$STACK_NAME" --region "$AWS_REGION" \
    --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" --output text
}

REST_API_ID="${REST_API_ID:-$(stack_parameter RestApiId)}"
STAGE_NAME="${STAGE_NAME:-$(stack_parameter Stage)}"
if [[ -z "$REST_API_ID" || "$REST_API_ID" == None || -z "$STAGE_NAME" || "$STAGE_NAME" == None ]]; then
  echo "redeploy-stage: cannot tell the REST API id and stage (set REST_API_ID and STAGE_NAME)" >&2
  exit 2
fi
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DEPLOY_DESCRIPTION="${DEPLOY_DESCRIPTION:-jobs-api $rev $(date -u +%Y-%m-%dT%H:%M:%SZ)}"

previous="$(aws apigateway get-stage --rest-api-id "$REST_API_ID" --stage-name "$STAGE_NAME" \
  --region "$AWS_REGION" --query deploymentId --output text)"
current="$(aws apigateway create-deployment --rest-api-id "$REST_API_ID" --stage-name "$STAGE_NAME" \
  --region "$AWS_REGION" --description "$DEPLOY_DESCRIPTION" --query id --output text)"

cat <<MSG
==> stage $STAGE_NAME of $REST_API_ID now serves deployment $current (was $previous)
    to roll the stage back:
      aws apigateway update-stage --rest-api-id $REST_API_ID --stage-name $STAGE_NAME --region $AWS_REGION \\
        --patch-operations op=replace,path=/deploymentId,value=$previous
MSG
