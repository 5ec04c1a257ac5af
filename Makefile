# Jobs API — job status. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
COVER_MIN ?= 80
# Each function's logical id in template.yaml, and the cmd/ directory of its main.
FUNCTIONS := GetJobFn:getjob SubmitJobFn:submitjob ListJobsFn:listjobs CancelJobFn:canceljob \
             UpdateJobFn:updatejob SweepJobsFn:sweepjobs WorkerCheckFn:checkjob PublishJobsFn:publishjobs
LAMBDAS   := $(foreach f,$(FUNCTIONS),$(lastword $(subst :, ,$(f))))
fn_dir     = $(lastword $(subst :, ,$(filter $(1):%,$(FUNCTIONS))))
# Lambda binaries: provided.al2023 on arm64 wants a static `bootstrap`;
# lambda.norpc drops the legacy RPC mode the runtime API does not need.
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: deps
deps: node_modules ## install test dependencies (Go modules, dynalite)
	$(GO) mod download

.PHONY: test
test: deps ## run every test (race detector on) and fail below $(COVER_MIN)% total coverage
	rm -rf coverage && mkdir -p coverage/data
	@command -v cfn-lint >/dev/null || echo "NOTE: cfn-lint not found: the template lint tests SKIP (.ci/run installs it)"
	@$${SAM_PYTHON:-python3} -c 'import samtranslator' 2>/dev/null || echo "NOTE: aws-sam-translator not importable: the SAM transform tests SKIP (.ci/run installs it)"
	@command -v moto_server >/dev/null || echo "NOTE: moto_server not found: the live-API pre-flight tests SKIP (.ci/run installs it)"
	@# The e2e tests build the Lambda binaries with -cover and point their
	@# GOCOVERDIR at -test.gocoverdir, so their runs count too.
	$(GO) test -race -count=1 -cover -covermode=atomic -coverpkg=./... ./... -args -test.gocoverdir=$(CURDIR)/coverage/data
	$(GO) tool covdata textfmt -i=coverage/data -o coverage/coverage.out
	@$(GO) tool cover -func=coverage/coverage.out | tail -1 | awk -v min=$(COVER_MIN) \
	  '{ pct = $$NF; sub("%", "", pct); printf "total coverage (all Go code, unit + built binaries): %s%% (minimum %s%%)\n", pct, min; if (pct + 0 < min) exit 1 }'

.PHONY: types
types: node_modules ## regenerate dev/web/api.d.ts from docs/openapi.yaml (the pinned openapi-typescript)
	node node_modules/openapi-typescript/bin/cli.js docs/openapi.yaml -o dev/web/api.d.ts

# `make run` flags, e.g. make run RUN_FLAGS='-worker=false -addr 127.0.0.1:4000'
# (jobsapi-local -h lists them).
RUN_FLAGS ?=

.PHONY: run
run: ## run the whole API locally (API :3000, dashboard :3001; only Go needed; Ctrl-C stops)
	$(GO) build -o bin/jobsapi-local ./dev/jobsapi-local
	exec ./bin/jobsapi-local $(RUN_FLAGS)

.PHONY: build
build: $(addprefix bin/,$(addsuffix /bootstrap,$(LAMBDAS))) ## build the Lambda binaries (linux/arm64) under bin/

bin/%/bootstrap: FORCE
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $@ ./cmd/$*

# SAM's makefile builder calls build-<LogicalId> with ARTIFACTS_DIR set; a
# logical id missing from FUNCTIONS is an error, even under `make -n`.
build-%:
	$(if $(call fn_dir,$*),,$(error no function $* in the Makefile's FUNCTIONS))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/$(call fn_dir,$*)

# Cold start (init + first invoke) and warm memory of GetJobFn vs an empty
# function under the Lambda Runtime Interface Emulator; bench/coldstart/RESULTS.md.
COLDSTART_ROUNDS ?= 30

.PHONY: bench-coldstart
bench-coldstart: node_modules ## GetJobFn cold start vs an empty function, warm memory, binary sizes (COLDSTART_ROUNDS=30)
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./bench/coldstart -args -rounds $(COLDSTART_ROUNDS) -budget 15m

# Deploy (docs/deploy.md). STAGE selects the samconfig.toml environment and API stage.
STAGE ?= prod

.PHONY: deploy deploy-check redeploy-stage smoke
deploy-check: ## check samconfig.toml and the live API (pre-flight), then create and check the change set for STAGE=prod; executes nothing
	$(GO) test -count=1 ./deploy/samtemplate/
	DEPLOY_DRY_RUN=1 STAGE=$(STAGE) deploy/scripts/deploy.sh

deploy: ## execute the change set deploy-check reviewed for STAGE=prod (or create one and ask), then redeploy the API stage
	$(GO) test -count=1 ./deploy/samtemplate/
	STAGE=$(STAGE) deploy/scripts/deploy.sh

redeploy-stage: ## create a new deployment of the API stage (CloudFormation never does)
	deploy/scripts/redeploy-stage.sh

# ID_TOKEN: a Cognito ID token of a test user (never echoed). SMOKE_URL overrides the stack's ApiUrl.
smoke: ## check the deployed STAGE=prod like a browser: preflights over HTTP/1.1 and HTTP/2, a 401, each method (ID_TOKEN=...)
	@ID_TOKEN='$(ID_TOKEN)' $(GO) run ./deploy/smoke -env $(STAGE) $(if $(SMOKE_URL),-url $(SMOKE_URL))

.PHONY: bench
bench: deps ## run the benchmarks, measure the Lambda binaries, a short load run (results: BENCHMARKS.md)
	GO='$(GO)' LAMBDA_FLAGS='$(LAMBDA_FLAGS)' bench/run.sh

.PHONY: lint
lint: ## gofmt, go vet and go mod tidy must be clean
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

.PHONY: FORCE
FORCE:
