package e2e

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/test/testenv"
)

// Paths of what TestMain built, and where the binaries write coverage data.
var (
	rieBin       string
	getJobBin    string
	submitJobBin string
	listJobsBin  string
	cancelJobBin string
	updateJobBin string
	sweepJobsBin string
	checkJobBin  string
	coverDir     string
	skipReason   string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if runtime.GOOS != "linux" {
		// The emulator runs on Linux only; the tests say so and skip.
		skipReason = "the Lambda Runtime Interface Emulator runs on Linux only"
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "jobs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	coverDir = binaryCoverDir()
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return testenv.RunWithDynamoDB(m)
}

// requireE2E skips a test where the emulator cannot run.
func requireE2E(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// binaryCoverDir returns where the built functions write coverage data.
//
// `go test -cover` gives the test binary -test.gocoverdir (the directory the
// run collects: `make test` passes coverage/unit, which it merges with
// coverage/bin) and also overrides GOCOVERDIR in the test's environment with
// a directory of its own, so the flag is the one to follow. Without -cover,
// a GOCOVERDIR set by whoever runs the test is passed through. Counter files
// of other binaries in the test's directory do not disturb its own report:
// the testing package reads only files of its own meta-data hash.
func binaryCoverDir() string {
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		if abs, err := filepath.Abs(f.Value.String()); err == nil {
			return abs
		}
	}
	return os.Getenv("GOCOVERDIR")
}

// buildAll builds the emulator and the functions into dir: the functions as
// for Lambda (static, lambda.norpc) but for this host, and with coverage
// instrumentation of every package in the module.
func buildAll(dir string) error {
	functions := map[string]*string{
		"getjob":    &getJobBin,
		"submitjob": &submitJobBin,
		"listjobs":  &listJobsBin,
		"canceljob": &cancelJobBin,
		"updatejob": &updateJobBin,
		"sweepjobs": &sweepJobsBin,
		"checkjob":  &checkJobBin,
	}
	var pkgs []string
	for _, name := range slices.Sorted(maps.Keys(functions)) {
		pkgs = append(pkgs, "./cmd/"+name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rie, bins, err := testenv.BuildFunctions(ctx, dir, slices.Concat(testenv.CoverFlags, testenv.LambdaFlags), pkgs...)
	if err != nil {
		return err
	}
	rieBin = rie
	for name, bin := range functions {
		*bin = bins[name]
	}
	return nil
}
