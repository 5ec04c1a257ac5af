package main

import (
	"context"
	"strings"
	"testing"
)

// TestRun runs the comparison briefly: every call answered as expected and
// the three rows and the ratio reported.
func TestRun(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	args := []string{"-n", "20", "-warmup", "2",
		"-template", "../../template.yaml", "-existing-api", "../../dev/existing-api.yaml", "-params", "../../dev/params.json"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"GET /v1/jobs/{id} through the local API (200)", "raw GetItem, same item", "HTTP exchange alone", "ratio of medians: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"-n", "0"}, &out); err == nil {
		t.Error("-n 0 accepted")
	}
}
