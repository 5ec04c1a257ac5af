package main

import (
	"context"
	"strings"
	"testing"
)

// TestRun runs the load tool briefly against its in-process stack: both
// phases, every answer 200 or 304, and the report's lines.
func TestRun(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	args := []string{"-duration", "1s", "-workers", "4", "-burst", "20", "-jobs", "8", "-users", "2",
		"-template", "../../template.yaml", "-existing-api", "../../dev/existing-api.yaml", "-params", "../../dev/params.json"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"seeded 8 jobs for 2 users", "poll: GET /v1/jobs/{id} with If-None-Match, 4 pollers", "burst: 20 ×",
		"requests     20 in", "errors       0", "every request was answered 200 or 304"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-workers", "0"}, {"-users", "9", "-jobs", "8"}, {"-duration", "-1s"}, {"-max-requests", "0"}, {"extra"}, {"-template", "nope.yaml", "-duration", "0", "-burst", "0"}} {
		var out strings.Builder
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run %v succeeded, want an error", args)
		}
	}
}
