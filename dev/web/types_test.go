package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestTypeDeclarations compiles typecheck/usage.ts, a dashboard's use of
// jobfeed.js and poller.js, against their hand-written declarations
// (jobfeed.d.ts, poller.d.ts, and api.d.ts they import) with the pinned
// TypeScript in --strict mode, under the two module resolutions frontends
// use: a bundler's, and Node's ESM. The usage's @ts-expect-error lines make
// a declaration that is missing or `any` fail too.
func TestTypeDeclarations(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (it is installed with the test dependencies): ", err)
	}
	tsc, _ := filepath.Abs(filepath.Join("..", "..", "node_modules", "typescript", "bin", "tsc"))
	if _, err := os.Stat(tsc); err != nil {
		t.Fatalf("TypeScript is not installed (run `npm ci` at the repository root; `make test` does): %v", err)
	}
	for _, resolution := range []struct{ module, resolution string }{
		{"esnext", "bundler"},
		{"nodenext", "nodenext"},
	} {
		t.Run(resolution.resolution, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(node, tsc, "--strict", "--noEmit", "--target", "es2022", "--lib", "es2022,dom",
				"--module", resolution.module, "--moduleResolution", resolution.resolution,
				filepath.Join("typecheck", "usage.ts")).CombinedOutput()
			if err != nil {
				t.Errorf("tsc --strict typecheck/usage.ts: %v\n%s", err, out)
			}
		})
	}
}

// TestDeclarationsMatchExports holds each module's declared runtime exports
// (export declare const/function/class) to what Node imports from it.
func TestDeclarationsMatchExports(t *testing.T) {
	t.Parallel()
	declared := regexp.MustCompile(`(?m)^export declare (?:const|function|class) (\w+)`)
	for _, module := range []string{"jobfeed", "poller"} {
		dts, err := os.ReadFile(module + ".d.ts")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, m := range declared.FindAllStringSubmatch(string(dts), -1) {
			want = append(want, m[1])
		}
		slices.Sort(want)
		cmd := exec.Command("node", "--input-type=module", "-e",
			`const m = await import("./`+module+`.js"); console.log(Object.keys(m).sort().join(","))`)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("import %s.js: %v\n%s", module, err, stderr.String())
		}
		if got := strings.TrimSpace(string(out)); got != strings.Join(want, ",") {
			t.Errorf("%s.js exports %s; %s.d.ts declares %s", module, got, module, strings.Join(want, ","))
		}
	}
}

// TestAPITypesAreGenerated holds the checked-in api.d.ts to what the pinned
// openapi-typescript generates from docs/openapi.yaml (regenerate with
// `make types`).
func TestAPITypesAreGenerated(t *testing.T) {
	t.Parallel()
	cli, _ := filepath.Abs(filepath.Join("..", "..", "node_modules", "openapi-typescript", "bin", "cli.js"))
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("openapi-typescript is not installed (run `npm ci` at the repository root; `make test` does): %v", err)
	}
	out := filepath.Join(t.TempDir(), "api.d.ts")
	if msg, err := exec.Command("node", cli, filepath.Join("..", "..", "docs", "openapi.yaml"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("api.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("dev/web/api.d.ts is not what docs/openapi.yaml generates: run `make types` and commit the result")
	}
}
