// Package layout holds the repository's layout to its meaning: what runs in
// AWS (the Lambda mains under cmd/) is built from internal/ and libraries
// only, never from the dev kit, the deploy tooling, the tests, the
// benchmarks, the examples or the test doubles.
package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/deepfoundai/jobs-api"

// fenced are the module's folders no Lambda main may depend on.
var fenced = []string{"dev", "deploy", "test", "bench", "examples", "internal/inmem", "internal/mock"}

func TestLambdaMainsDependOnTheServiceOnly(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var mains []string
	for _, e := range entries {
		if e.IsDir() {
			mains = append(mains, "./cmd/"+e.Name())
		}
	}
	if len(mains) == 0 {
		t.Fatal("no Lambda mains under cmd/")
	}
	// As `sam build` builds them (see the Makefile's build-% rule): Linux,
	// arm64, without the RPC runtime.
	args := append([]string{"list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}, mains...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(mains) {
		t.Fatalf("go list described %d packages, want the %d mains %v:\n%s", len(lines), len(mains), mains, out)
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		main, deps := fields[0], fields[1:]
		if !strings.HasPrefix(main, module+"/cmd/") {
			t.Errorf("unexpected package %s", main)
			continue
		}
		internal := 0
		for _, dep := range deps {
			rel, ok := strings.CutPrefix(dep, module+"/")
			if !ok {
				continue
			}
			if strings.HasPrefix(rel, "internal/") {
				internal++
			}
			for _, f := range fenced {
				if rel == f || strings.HasPrefix(rel, f+"/") {
					t.Errorf("%s depends on %s (%s/ is not part of what runs in AWS)", main, dep, f)
				}
			}
		}
		if internal == 0 {
			t.Errorf("%s depends on nothing under internal/: is the dependency list right?", main)
		}
	}
}
