package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/dev/devauth"
)

// TestHandlersReadTheTemplatesEnvironment serves a copy of template.yaml
// whose functions say RETRY_AFTER_QUEUED_SECONDS: "7": a QUEUED job's GET
// must advise that, as GetJobFn would in AWS, not the API's default.
func TestHandlersReadTheTemplatesEnvironment(t *testing.T) {
	t.Parallel()
	tpl, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const from, to = `RETRY_AFTER_QUEUED_SECONDS: "2"`, `RETRY_AFTER_QUEUED_SECONDS: "7"`
	if strings.Count(string(tpl), from) != 1 {
		t.Fatalf("template.yaml does not set %s once", from)
	}
	o := fastOptions(t)
	o.Worker = false // the job stays QUEUED
	o.Template = filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(o.Template, []byte(strings.Replace(string(tpl), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, o)
	tok, _, err := s.Pool.IDToken(devauth.User{Username: "alice"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sub := call(t, "POST", s.APIURL+"/v1/jobs", tok, `{"prompt":"A kite"}`)
	id, _ := sub.body["jobId"].(string)
	if sub.status != 202 || id == "" {
		t.Fatalf("submit: %d %v", sub.status, sub.body)
	}
	got := call(t, "GET", s.APIURL+"/v1/jobs/"+id, tok, "")
	if got.status != 200 || got.body["status"] != "QUEUED" {
		t.Fatalf("get: %d %v, want 200 QUEUED", got.status, got.body)
	}
	if ra := got.header.Get("Retry-After"); ra != "7" {
		t.Errorf("Retry-After = %q, want the template's 7", ra)
	}
}
