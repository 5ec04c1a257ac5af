// Package coldstart measures GetJobFn's cold start and warm memory under AWS's
// Lambda Runtime Interface Emulator (the aws-lambda-rie tool pinned in
// go.mod), against an empty aws-lambda-go function (./empty) as the
// baseline, and the Lambda binaries' sizes. It is a benchmark only:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/coldstart -args -rounds 30
//
// or `make bench-coldstart`. Results and how to read them: RESULTS.md.
//
// Each round starts a fresh emulator and bootstrap per function, in an order
// that rotates between rounds so both share the machine's noise, invokes it
// once with a real API Gateway proxy event (GetJobFn: a GET of an existing
// job on dynalite), and reads the emulator's own log lines: INIT REPORT
// (durationMs: init, from the start of the init phase, which includes exec
// of the bootstrap, until the runtime's first /next) and INVOKE RTDONE
// (duration: the first invocation until the runtime posts its response).
package coldstart
