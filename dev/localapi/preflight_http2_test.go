package localapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/dev/localapi"
)

// TestPreflightOverHTTP2: browsers on HTTP/2 send header names in lower
// case ("origin"). Every preflight of template.yaml must still echo an
// allowed origin, over HTTP/1.1 and HTTP/2 alike. Without its fallback to
// the lower-case name, the template finds no header over HTTP/2 when the
// lookup is case-sensitive: the last case shows the test can tell.
func TestPreflightOverHTTP2(t *testing.T) {
	t.Parallel()
	serve := func(t *testing.T, mutate func(*localapi.Config)) *httptest.Server {
		t.Helper()
		e := newEnv(t, mutate)
		srv := httptest.NewUnstartedServer(e.gw)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	preflight := func(t *testing.T, srv *httptest.Server, h2 bool, path, origin string) (proto, allowOrigin string) {
		t.Helper()
		c := srv.Client()
		if !h2 {
			tr := c.Transport.(*http.Transport).Clone()
			tr.ForceAttemptHTTP2 = false
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
			c = &http.Client{Transport: tr}
		}
		req, _ := http.NewRequest("OPTIONS", srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Errorf("%s %s: status %d, want 204", resp.Proto, path, resp.StatusCode)
		}
		return resp.Proto, resp.Header.Get("Access-Control-Allow-Origin")
	}
	srv := serve(t, nil)
	for _, path := range []string{"/v1/jobs", "/v1/jobs/job_1", "/v1/jobs/job_1/cancel"} {
		for _, h2 := range []bool{false, true} {
			for _, origin := range []string{allowed, "http://localhost:3001"} {
				proto, got := preflight(t, srv, h2, path, origin)
				if want := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]; proto != want {
					t.Fatalf("answered over %s, want %s", proto, want)
				}
				if got != origin {
					t.Errorf("%s OPTIONS %s from %s: Access-Control-Allow-Origin = %q, want the origin", proto, path, origin, got)
				}
			}
			if _, got := preflight(t, srv, h2, path, disallowed); got != "" {
				t.Errorf("OPTIONS %s from a disallowed origin: Access-Control-Allow-Origin = %q", path, got)
			}
		}
	}

	noFallback := serve(t, func(cfg *localapi.Config) {
		r := cfg.Template.Resources["OptionsJobIdMethod"]
		resp := r.Properties["Integration"].(map[string]any)["IntegrationResponses"].([]any)[0].(map[string]any)
		tpl := resp["ResponseTemplates"].(map[string]any)["application/json"].(map[string]any)
		src := tpl["Fn::Sub"].(string)
		tpl["Fn::Sub"] = src[:strings.Index(src, "#if(")] + src[strings.Index(src, "#set($allowed"):]
		cfg.Template.Resources["OptionsJobIdMethod"] = r
	})
	if _, got := preflight(t, noFallback, false, "/v1/jobs/job_1", allowed); got != allowed {
		t.Errorf("no fallback, over HTTP/1.1: Access-Control-Allow-Origin = %q, want %q", got, allowed)
	}
	if _, got := preflight(t, noFallback, true, "/v1/jobs/job_1", allowed); got != "" {
		t.Errorf("no fallback, over HTTP/2: Access-Control-Allow-Origin = %q, want none (the case-sensitive lookup misses \"origin\")", got)
	}
}
