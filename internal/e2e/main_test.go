package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/testenv"
)

// rieTool is the emulator's main package; go.mod pins it with a tool
// directive, so building it from the module uses that version.
const rieTool = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Paths of what TestMain built, and where the binaries write coverage data.
var (
	rieBin       string
	getJobBin    string
	submitJobBin string
	listJobsBin  string
	cancelJobBin string
	updateJobBin string
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

// buildAll builds the emulator and the functions into dir, concurrently.
// The functions are built as for Lambda (static, lambda.norpc) but for this
// host, and with coverage instrumentation of every package in the module.
// One go build makes all of them: the instrumented packages they share are
// compiled once, where separate builds running side by side would each
// compile them. Each binary then goes to dir/<function>/bootstrap.
func buildAll(dir string) error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	rieBin = filepath.Join(dir, "aws-lambda-rie")
	functions := map[string]*string{
		"getjob":    &getJobBin,
		"submitjob": &submitJobBin,
		"listjobs":  &listJobsBin,
		"canceljob": &cancelJobBin,
		"updatejob": &updateJobBin,
	}
	out := filepath.Join(dir, "build") + string(filepath.Separator)
	fnBuild := []string{"build", "-cover", "-covermode=atomic", "-coverpkg=./...", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags=-s -w", "-o", out}
	for _, name := range slices.Sorted(maps.Keys(functions)) {
		fnBuild = append(fnBuild, "./cmd/"+name)
	}
	builds := [][]string{
		{"build", "-o", rieBin, rieTool},
		fnBuild,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, args := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = goCmd(ctx, root, args...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for name, bin := range functions {
		*bin = filepath.Join(dir, name, "bootstrap")
		if err := os.Mkdir(filepath.Dir(*bin), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(out, name), *bin); err != nil {
			return err
		}
	}
	return nil
}

func goCmd(ctx context.Context, dir string, args ...string) error {
	gobin, err := exec.LookPath("go") // `go test` puts its GOROOT/bin first in PATH
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if testing.Verbose() {
		pkgs := args[len(args)-1:]
		if i := slices.Index(args, "-o"); i >= 0 && i+2 < len(args) {
			pkgs = args[i+2:]
		}
		fmt.Fprintf(os.Stderr, "e2e: go build %s (%.1fs)\n", strings.Join(pkgs, " "), time.Since(start).Seconds())
	}
	return nil
}
