package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/dev/web"
)

// TestPollerModule runs poller.js's and jobfeed.js's own tests
// (poller.test.mjs, jobfeed.test.mjs) with Node's built-in test runner;
// Node is already needed by `make test` (dynalite).
func TestPollerModule(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the poller.js tests (it is installed with the test dependencies): ", err)
	}
	out, err := exec.Command(node, "--test", "--test-reporter=dot", "poller.test.mjs", "jobfeed.test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test poller.test.mjs jobfeed.test.mjs: %v\n%s", err, out)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(web.Handler(web.Config{APIBase: "http://127.0.0.1:3000"}))
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/", 200, "text/html", `<script type="module" src="app.js">`},
		{"GET", "/config.json", 200, "application/json", `{"apiBase":"http://127.0.0.1:3000"}`},
		{"GET", "/poller.js", 200, "text/javascript", "export async function pollJob"},
		{"GET", "/jobfeed.js", 200, "text/javascript", "export function createJobFeed"},
		{"GET", "/app.js", 200, "text/javascript", `from "./poller.js"`},
		{"GET", "/style.css", 200, "text/css", ""},
		{"GET", "/web.go", 404, "", ""},
		{"GET", "/sample-output.mp4", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, resp.Header.Get("Content-Type"), tt.contentType)
		}
		if !bytes.Contains(b, []byte(tt.contains)) {
			t.Errorf("%s %s: body lacks %q", tt.method, tt.path, tt.contains)
		}
	}
}

func TestSampleVideoIsAnMP4(t *testing.T) {
	t.Parallel()
	if len(web.SampleVideo) < 12 || string(web.SampleVideo[4:8]) != "ftyp" {
		t.Errorf("SampleVideo does not start with an ISO BMFF ftyp box")
	}
	if got := http.DetectContentType(web.SampleVideo); got != "video/mp4" {
		t.Errorf("SampleVideo sniffs as %q, want video/mp4", got)
	}
}
