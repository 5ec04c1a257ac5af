#!/usr/bin/env bash
# bench/run.sh — what `make bench` measures, printed with the machine and the
# exact command of each figure (copy the output into BENCHMARKS.md).
#
#   make bench                      # the usual way: the Makefile passes its Lambda build flags
#   BENCHTIME=3s COUNT=5 make bench # longer, repeated runs (e.g. for benchstat)
#   LOAD_FLAGS='-duration 60s -burst 2000' LOCALAPI_FLAGS='-n 10000' make bench
#                                   # the load and local-API figures as BENCHMARKS.md has them
#
# Needs Go and `npm ci` (dynalite) like `make test`. Keep other load off the
# machine while it runs: the figures are per-request costs.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
# The functions' build flags, as the Makefile's LAMBDA_FLAGS spells them.
eval "flags=(${LAMBDA_FLAGS:--tags lambda.norpc -trimpath -ldflags '-s -w'})"
BENCHTIME=${BENCHTIME:-1s}
DDB_BENCHTIME=${DDB_BENCHTIME:-300x}
COUNT=${COUNT:-1}
OUT=bin/bench

section() { printf '\n## %s\n\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

section "Machine"
run nproc
run lscpu | head -n 20
run "$GO" version
run uname -srm

section "Handler cost per request, in-memory store"
run "$GO" test -run='^$' -bench=. -benchmem -benchtime="$BENCHTIME" -count="$COUNT" ./internal/apigw/

section "DynamoDB capacity per status poll and per submit (dynalite, ReturnConsumedCapacity)"
run "$GO" test -run='^$' -bench=BenchmarkPoll -benchmem -benchtime="$DDB_BENCHTIME" -count="$COUNT" ./internal/dynamodb/

section "One sweep: 50 jobs past the queue limit ended, 50 running jobs read (dynalite, ReturnConsumedCapacity)"
run "$GO" test -run='^$' -bench=BenchmarkSweep -benchtime=3x -count="$COUNT" ./internal/dynamodb/

section "Lambda binary sizes (bootstrap, CGO_ENABLED=0 GOOS=linux, ${flags[*]})"
rm -rf "$OUT"
printf '%-10s %-6s %12s %8s\n' function arch bytes MiB
for arch in arm64 amd64; do
  for fn in getjob submitjob emptyfn; do
    pkg=./cmd/$fn
    [[ $fn == emptyfn ]] && pkg=./bench/coldstart/empty
    CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build "${flags[@]}" -o "$OUT/$arch/$fn/bootstrap" "$pkg"
    size=$(stat -c %s "$OUT/$arch/$fn/bootstrap")
    printf '%-10s %-6s %12d %8.2f\n' "$fn" "$arch" "$size" "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')"
  done
done

section "GET through the local API vs a raw GetItem (same engine, interleaved)"
eval "localapi_flags=(${LOCALAPI_FLAGS:--n 2000})"
run "$GO" run ./bench/localapi "${localapi_flags[@]}"

section "Load on the local stack (vegeta; BENCHMARKS.md's figures: LOAD_FLAGS='-duration 60s -burst 2000')"
eval "load_flags=(${LOAD_FLAGS:--duration 10s -burst 500})"
run "$GO" run ./bench/load "${load_flags[@]}"

section "Push latency: commit to jobfeed.js's callback in headless Chromium, 50 jobs in flight (BENCHMARKS.md)"
run "$GO" test -run='^$' -bench=BenchmarkPushLatency -benchtime=3x -count="$COUNT" ./dev/jobsapi-local/

section "Cold start and warm memory under the Lambda Runtime Interface Emulator (bench/coldstart/RESULTS.md)"
run "$GO" test -run='^$' -bench=. -benchtime=1x -count=1 ./bench/coldstart -args -rounds "${COLDSTART_ROUNDS:-30}"
