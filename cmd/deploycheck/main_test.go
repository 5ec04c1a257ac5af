package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the deploycheck command built once for this package's tests.
// Under `make test` (GOCOVERDIR set) it is built with coverage, so its
// runs count.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploycheck-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "deploycheck")
	args := []string{"build", "-o", binary}
	if os.Getenv("GOCOVERDIR") != "" {
		args = append(args, "-cover", "-coverpkg=github.com/deepfoundai/jobs-api/...")
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

// TestBinaryExitCodes runs the built command the way scripts/deploy.sh
// does: the script branches on these exit codes.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	const td = "../../internal/deploycheck/testdata/"
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
