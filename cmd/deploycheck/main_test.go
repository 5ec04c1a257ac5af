package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBinaryExitCodes runs the built command the way scripts/deploy.sh
// does: the script branches on these exit codes. Under `make test`
// (GOCOVERDIR set) the binary is built with coverage so its run counts.
func TestBinaryExitCodes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "deploycheck")
	args := []string{"build", "-o", bin}
	if os.Getenv("GOCOVERDIR") != "" {
		args = append(args, "-cover", "-coverpkg=github.com/deepfoundai/jobs-api/...")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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
		err := exec.Command(bin, tc.args...).Run()
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
