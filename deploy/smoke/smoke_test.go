package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
)

// startLocal runs the local API (make run's server: template.yaml through
// the API Gateway emulation, the real handlers) on loopback, answering
// HTTP/1.1 and cleartext HTTP/2, with the given dashboard origins.
func startLocal(t *testing.T, origins string) (*localserver.Server, string) {
	t.Helper()
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := localserver.Start(context.Background(), localserver.Options{
		Template: "../../template.yaml", Existing: "../../dev/existing-api.yaml", Params: "../../dev/params.json",
		AllowedOrigins: origins, Worker: false, Log: slog.New(slog.DiscardHandler), APIListener: api,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	tok, _, err := s.Pool.IDToken(devauth.User{Username: "smoke"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

const (
	originA = "http://127.0.0.1:3001"
	originB = "http://localhost:3001"
)

func TestSmokeAgainstLocalServer(t *testing.T) {
	s, tok := startLocal(t, originA+","+originB)
	res := Run(context.Background(), Config{BaseURL: s.APIURL, Origins: []string{originA, originB}, Token: tok, Timeout: 10 * time.Second})
	var h1, h2 int
	for _, r := range res {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
		switch {
		case strings.HasPrefix(r.Name, "HTTP/1.1 OPTIONS"):
			h1++
		case strings.HasPrefix(r.Name, "HTTP/2 OPTIONS"):
			h2++
		}
	}
	// 4 preflights × 2 origins per protocol, the 401, then submit, get, list, cancel.
	if h1 != 8 || h2 != 8 || len(res) != 21 {
		t.Errorf("%d checks (%d HTTP/1.1 and %d HTTP/2 preflights), want 21 (8 and 8)", len(res), h1, h2)
	}

	// The command: a URL, origins and the token from ID_TOKEN.
	t.Setenv("ID_TOKEN", tok)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-url", s.APIURL, "-origins", originA + "," + originB}, &out, &errb); code != 0 {
		t.Errorf("smoke exit %d\n%s\n%s", code, &out, &errb)
	}
	if !strings.Contains(out.String(), "every check passed") {
		t.Errorf("output:\n%s", &out)
	}
}

// TestSmokeFails: what the smoke test is for — an origin the API does not
// allow, a missing token, a server without HTTP/2 — each fails it.
func TestSmokeFails(t *testing.T) {
	s, tok := startLocal(t, originA)
	fails := func(c Config, want string) {
		t.Helper()
		for _, r := range Run(context.Background(), c) {
			if r.Err != nil && strings.Contains(r.Name+": "+r.Err.Error(), want) {
				return
			}
		}
		t.Errorf("no failure containing %q", want)
	}
	fails(Config{BaseURL: s.APIURL, Origins: []string{originB}, Token: tok}, "Access-Control-Allow-Origin \"\", want \""+originB+"\"")
	fails(Config{BaseURL: s.APIURL, Origins: []string{originA}}, "no ID token given")
	fails(Config{BaseURL: s.APIURL, Origins: []string{originA}, Token: "not-a-token"}, "POST /v1/jobs: 202 with a jobId: status 401")

	// An HTTP/1.1-only server: every HTTP/2 preflight fails.
	h1only := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.WriteHeader(http.StatusNoContent)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h1only.Serve(ln)
	t.Cleanup(func() { h1only.Close() })
	fails(Config{BaseURL: "http://" + ln.Addr().String(), Origins: []string{originA}, Token: tok, Timeout: 5 * time.Second}, "HTTP/2 OPTIONS")

	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-url", s.APIURL, "-origins", originB}, &out, &errb); code != 1 {
		t.Errorf("exit %d with failing checks, want 1\n%s", code, &out)
	}
}
