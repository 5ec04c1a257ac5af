package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Config is one smoke run.
type Config struct {
	// BaseURL is the stage's URL, e.g.
	// https://o0fvahtccd.execute-api.us-east-1.amazonaws.com/prod.
	BaseURL string
	// Origins are the dashboards' origins (AllowedOrigins).
	Origins []string
	// Token is a Cognito ID token of a test user, sent as the dashboards
	// send it (raw, or "Bearer <token>" if given so).
	Token string
	// TLS configures HTTPS (tests trust their own server); nil - system roots.
	TLS *tls.Config
	// Timeout bounds each request.
	Timeout time.Duration
}

// Result is one check.
type Result struct {
	Name string
	Err  error
}

// clients returns an HTTP/1.1-only client and one that speaks HTTP/2 (over
// TLS by ALPN; to an http:// URL as cleartext HTTP/2, as local servers do).
func clients(c Config) (h1, h2 *http.Client) {
	base := func() *http.Transport {
		return &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: c.TLS.Clone(),
			DialContext: (&net.Dialer{Timeout: c.Timeout}).DialContext, TLSHandshakeTimeout: c.Timeout}
	}
	t1 := base()
	t1.Protocols = new(http.Protocols)
	t1.Protocols.SetHTTP1(true)
	if t1.TLSClientConfig == nil {
		t1.TLSClientConfig = &tls.Config{}
	}
	t1.TLSClientConfig.NextProtos = []string{"http/1.1"}
	t2 := base()
	t2.Protocols = new(http.Protocols)
	t2.Protocols.SetHTTP2(true)
	t2.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: t1, Timeout: c.Timeout}, &http.Client{Transport: t2, Timeout: c.Timeout}
}

type reply struct {
	status int
	proto  int
	header http.Header
	body   []byte
}

func do(ctx context.Context, c *http.Client, method, url string, hdr map[string]string, body string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return reply{resp.StatusCode, resp.ProtoMajor, resp.Header, b}, err
}

// Run makes the smoke checks against a deployed stage: every preflight over
// HTTP/1.1 and HTTP/2 from every origin; one request without a token (401
// with CORS headers, so a dashboard can tell the user to sign in); then each
// method once with the token — submit a smoke job, read it, list, cancel it.
func Run(ctx context.Context, c Config) []Result {
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	base := strings.TrimRight(c.BaseURL, "/")
	token := c.Token // raw, as the dashboards send it
	h1, h2 := clients(c)
	var out []Result
	check := func(name string, err error) { out = append(out, Result{name, err}) }

	preflights := []struct{ path, method, headers string }{
		{"/v1/jobs", "POST", "authorization,content-type,idempotency-key"},
		{"/v1/jobs", "GET", "authorization"},
		{"/v1/jobs/smoke-preflight", "GET", "authorization,if-none-match"},
		{"/v1/jobs/smoke-preflight/cancel", "POST", "authorization,content-type"},
	}
	for _, proto := range []struct {
		name   string
		client *http.Client
		major  int
	}{{"HTTP/1.1", h1, 1}, {"HTTP/2", h2, 2}} {
		for _, origin := range c.Origins {
			for _, p := range preflights {
				name := fmt.Sprintf("%s OPTIONS %s (%s %s) from %s", proto.name, p.path, p.method, p.headers, origin)
				r, err := do(ctx, proto.client, "OPTIONS", base+p.path, map[string]string{
					"Origin": origin, "Access-Control-Request-Method": p.method, "Access-Control-Request-Headers": p.headers}, "")
				if err == nil {
					err = preflightOK(r, proto.major, origin, p.method, p.headers)
				}
				check(name, err)
			}
		}
	}
	origin := ""
	if len(c.Origins) > 0 {
		origin = c.Origins[0]
	}
	r, err := do(ctx, h1, "GET", base+"/v1/jobs", map[string]string{"Origin": origin}, "")
	if err == nil {
		err = statusCORS(r, origin, http.StatusUnauthorized)
	}
	check("GET /v1/jobs without a token: 401 with CORS headers", err)
	if token == "" {
		check("methods with a token", fmt.Errorf("no ID token given (ID_TOKEN): GET, POST and cancel not tried"))
		return out
	}
	auth := map[string]string{"Origin": origin, "Authorization": token}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range auth {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	r, err = do(ctx, h1, "POST", base+"/v1/jobs", with(map[string]string{"Content-Type": "application/json", "Idempotency-Key": fmt.Sprintf("smoke-%d", time.Now().UnixNano())}),
		`{"prompt":"smoke test: cancelled right away"}`)
	var job struct {
		JobID string `json:"jobId"`
	}
	if err == nil {
		if err = statusCORS(r, origin, http.StatusAccepted); err == nil {
			if err = json.Unmarshal(r.body, &job); err == nil && job.JobID == "" {
				err = fmt.Errorf("202 without a jobId: %.200s", r.body)
			}
		}
	}
	check("POST /v1/jobs: 202 with a jobId", err)
	if job.JobID == "" {
		return out
	}
	r, err = do(ctx, h1, "GET", base+"/v1/jobs/"+job.JobID, auth, "")
	if err == nil {
		err = statusCORS(r, origin, http.StatusOK)
	}
	check("GET /v1/jobs/{id}: 200", err)
	r, err = do(ctx, h1, "GET", base+"/v1/jobs?limit=1", auth, "")
	if err == nil {
		err = statusCORS(r, origin, http.StatusOK)
	}
	check("GET /v1/jobs?limit=1: 200", err)
	r, err = do(ctx, h1, "POST", base+"/v1/jobs/"+job.JobID+"/cancel", with(map[string]string{"Content-Type": "application/json"}), "")
	if err == nil {
		if err = statusCORS(r, origin, http.StatusOK); err != nil {
			err = statusCORS(r, origin, http.StatusAccepted)
		}
	}
	check("POST /v1/jobs/{id}/cancel: 200 or 202 (the smoke job ends)", err)
	return out
}

func preflightOK(r reply, major int, origin, method, headers string) error {
	switch {
	case r.proto != major:
		return fmt.Errorf("answered over HTTP/%d, want HTTP/%d", r.proto, major)
	case r.status < 200 || r.status > 299:
		return fmt.Errorf("status %d, want 2xx", r.status)
	case r.header.Get("Access-Control-Allow-Origin") != origin:
		return fmt.Errorf("Access-Control-Allow-Origin %q, want %q", r.header.Get("Access-Control-Allow-Origin"), origin)
	case !listHas(r.header.Get("Access-Control-Allow-Methods"), method):
		return fmt.Errorf("Access-Control-Allow-Methods %q lacks %s", r.header.Get("Access-Control-Allow-Methods"), method)
	}
	for _, h := range strings.Split(headers, ",") {
		if !listHas(r.header.Get("Access-Control-Allow-Headers"), h) {
			return fmt.Errorf("Access-Control-Allow-Headers %q lacks %s", r.header.Get("Access-Control-Allow-Headers"), h)
		}
	}
	return nil
}

func statusCORS(r reply, origin string, want int) error {
	if r.status != want {
		return fmt.Errorf("status %d, want %d: %.200s", r.status, want, r.body)
	}
	if origin != "" && r.header.Get("Access-Control-Allow-Origin") != origin {
		return fmt.Errorf("status %d but Access-Control-Allow-Origin %q, want %q: a browser could not read it", r.status, r.header.Get("Access-Control-Allow-Origin"), origin)
	}
	return nil
}

func listHas(list, item string) bool {
	for _, e := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(e), strings.TrimSpace(item)) || strings.TrimSpace(e) == "*" {
			return true
		}
	}
	return false
}
