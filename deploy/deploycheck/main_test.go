package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the deploycheck command built once for this package's tests.
var binary string

// TestMain builds the command. When coverage is collected (`make test`),
// the binary is instrumented and writes its counters where the test's own
// go: `go test -cover` hands the test binary -test.gocoverdir and overrides
// GOCOVERDIR with a directory of its own, so the flag is the one to follow,
// and children (the binary, the scripts running it) get it as GOCOVERDIR.
func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "deploycheck-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "deploycheck")
	args := []string{"build", "-o", binary}
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		coverDir, err := filepath.Abs(f.Value.String())
		if err == nil {
			err = os.Setenv("GOCOVERDIR", coverDir)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		args = append(args, "-cover", "-covermode=atomic", "-coverpkg=github.com/deepfoundai/jobs-api/...")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestBinaryExitCodes runs the built command the way deploy/scripts/deploy.sh
// does: the script branches on these exit codes.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	const td = "../changeset/testdata/"
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"check", td + "safe_update.json"}, 0},
		{[]string{"check", td + "removes_existing.json"}, 1},
		{[]string{"check", td + "truncated.json"}, 2},
		{[]string{"arn", td + "sam_deploy_changeset.txt"}, 0},
		{[]string{"arn", td + "sam_deploy_nochanges.txt"}, 3},
	}
	for _, tc := range tests {
		err := exec.Command(binary, tc.args...).Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("deploycheck %v: exit code %d, want %d", tc.args, code, tc.want)
		}
	}
}
