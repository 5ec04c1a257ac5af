package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// fastOptions are the server options tests use: repo files, free loopback
// ports opened up front, a quick and deterministic worker.
func fastOptions(t testing.TB) localserver.Options {
	t.Helper()
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dash, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return localserver.Options{
		Template: "../../template.yaml", Existing: "../../dev/existing-api.yaml", Params: "../../dev/params.json",
		AllowedOrigins: "http://" + dash.Addr().String(),
		Worker:         true, Steps: 3, QueueDelay: 20 * time.Millisecond, StepDelay: 50 * time.Millisecond,
		FailureRate: 0, Rand: func() float64 { return 0.5 },
		Log:         slog.New(slog.DiscardHandler),
		APIListener: api, DashboardListener: dash,
	}
}

func startServer(t testing.TB, o localserver.Options) *localserver.Server {
	t.Helper()
	s, err := localserver.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

type apiReply struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t testing.TB, method, url, token, body string) apiReply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return apiReply{resp.StatusCode, resp.Header, m}
}

// TestRun drives the program as `make run` does: the banner's curl flow
// (submit, then get), another user's 404, an admin's 200, the token
// command, the worker completing the job and its output served, and a
// clean stop when the context (Ctrl-C) ends.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testenv.LogBuffer
	done := make(chan error, 1)
	args := []string{"serve", "-addr", "127.0.0.1:0", "-dashboard-addr", "127.0.0.1:0",
		"-template", "../../template.yaml", "-existing-api", "../../dev/existing-api.yaml", "-params", "../../dev/params.json",
		"-dynamodb-endpoint", "", "-events-addr", "127.0.0.1:0", "-sqs-addr", "127.0.0.1:0", "-worker-queue-delay", "10ms", "-worker-step", "20ms", "-worker-failure-rate", "0", "-log-level", "warn"}
	go func() { done <- run(ctx, args, &stdout, &stderr) }()

	var api, token string
	deadline := time.Now().Add(30 * time.Second)
	for api == "" || token == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		out := stdout.String()
		if m := regexp.MustCompile(`(?m)^  API\s+(\S+)$`).FindStringSubmatch(out); m != nil {
			api = m[1]
		}
		if m := regexp.MustCompile(`(?m)^  TOKEN='([^']+)'$`).FindStringSubmatch(out); m != nil {
			token = m[1]
		}
	}
	banner := stdout.String()
	for _, want := range []string{"Dashboard  http://127.0.0.1:", "embedded engine (minidyn)", "GET /v1/jobs/{id} -> GetJobFn (COGNITO_USER_POOLS)", "curl -s " + api + "/v1/jobs/$JOB"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	sub := call(t, "POST", api+"/v1/jobs", "Bearer "+token, `{"prompt":"a cat surfing a wave"}`)
	id, _ := sub.body["jobId"].(string)
	if sub.status != 202 || id == "" || sub.header.Get("Location") != "/v1/jobs/"+id {
		t.Fatalf("submit: %d %v %v", sub.status, sub.body, sub.header)
	}
	if got := call(t, "GET", api+"/v1/jobs/"+id, "Bearer "+token, ""); got.status != 200 || got.body["jobId"] != id {
		t.Errorf("get own job: %d %v", got.status, got.body)
	}

	tokenFor := func(args ...string) string {
		var out, errb bytes.Buffer
		if err := run(ctx, append([]string{"token", "-api", api}, args...), &out, &errb); err != nil {
			t.Fatalf("token %v: %v (%s)", args, err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	if got := call(t, "GET", api+"/v1/jobs/"+id, tokenFor("-user", "bob"), ""); got.status != 404 {
		t.Errorf("bob gets alice's job: %d %v, want 404", got.status, got.body)
	}
	admin := tokenFor("-user", "carol", "-groups", "admin")
	if got := call(t, "GET", api+"/v1/jobs/"+id, admin, ""); got.status != 200 {
		t.Errorf("an admin gets alice's job: %d %v, want 200", got.status, got.body)
	}
	if got := call(t, "GET", api+"/v1/jobs/"+id, tokenFor("-user", "alice", "-expires-in", "-1m"), ""); got.status != 401 ||
		got.body["error"].(map[string]any)["message"] != "The incoming token has expired" {
		t.Errorf("expired token: %d %v, want 401 expired", got.status, got.body)
	}

	// The worker moves the job to COMPLETED; its output is served.
	var job apiReply
	for deadline := time.Now().Add(20 * time.Second); ; {
		job = call(t, "GET", api+"/v1/jobs/"+id, admin, "")
		if job.body["status"] == "COMPLETED" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _ := job.body["outputUrl"].(string)
	if job.body["status"] != "COMPLETED" || out != api+"/local/outputs/"+id+".mp4" {
		t.Fatalf("job = %v, want COMPLETED with its output URL", job.body)
	}
	resp, err := http.Get(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("output: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after Ctrl-C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after Ctrl-C")
	}
	if !strings.Contains(stdout.String(), "Stopped.") {
		t.Errorf("no clean stop in the output:\n%s", stdout.String())
	}
	if _, err := http.Get(api + "/v1/jobs/" + id); err == nil {
		t.Error("the API still answers after shutdown")
	}
}

func TestFlagsAndAddresses(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	for _, args := range [][]string{
		{"-addr", "0.0.0.0:3000"},
		{"-addr", "192.0.2.1:3000"},
		{"-worker-failure-rate", "2"},
		{"-log-level", "loud"},
		{"extra"},
		{"-no-such-flag"},
	} {
		if err := run(context.Background(), append(args, "-template", "../../template.yaml", "-params", "../../dev/params.json", "-existing-api", "../../dev/existing-api.yaml"), &out, &errb); err == nil {
			t.Errorf("run %v succeeded, want an error", args)
		}
	}
	if err := run(context.Background(), []string{"token", "-api", "http://127.0.0.1:1", "-user", "alice"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "make run") {
		t.Errorf("token without a server: %v, want a hint to start it", err)
	}
}

func TestLoopbackHostOnly(t *testing.T) {
	t.Parallel()
	o := fastOptions(t)
	o.Worker = false
	s := startServer(t, o)
	for _, tt := range []struct {
		url, host string
		status    int
	}{
		{s.APIURL + "/local/token", "evil.example", 421},
		{s.APIURL + "/local/token", "evil.example:3000", 421},
		{s.DashboardURL + "/", "rebind.attacker.test", 421},
		{s.APIURL + "/local/token", "localhost:3000", 405}, // reaches the handler (GET is not allowed there)
		{s.DashboardURL + "/", "127.0.0.1", 200},
	} {
		req, _ := http.NewRequest("GET", tt.url, nil)
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s with Host %s: %d, want %d", tt.url, tt.host, resp.StatusCode, tt.status)
		}
	}
}

func TestOutputsAndJWKS(t *testing.T) {
	t.Parallel()
	o := fastOptions(t)
	o.Worker = false
	s := startServer(t, o)
	resp, err := http.Get(s.Issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var jwks devauth.JWKS
	_ = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(jwks.Keys) != 1 {
		t.Errorf("JWKS at the issuer: %d %+v", resp.StatusCode, jwks)
	}
	tok, _, err := s.Pool.IDToken(devauth.User{Username: "alice"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sub := call(t, "POST", s.APIURL+"/v1/jobs", tok, `{"prompt":"x"}`)
	id, _ := sub.body["jobId"].(string)
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/local/outputs/" + id + ".mp4", 404}, // QUEUED: no output yet (no worker here)
		{"/local/outputs/job_unknown.mp4", 404},
		{"/local/outputs/..%2Fsecret.mp4", 404},
		{"/local/outputs/" + id, 404},
		{"/local/nothing", 404},
	} {
		resp, err := http.Get(s.APIURL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
	}
}

// TestExternalDynamoDB points the server at another DynamoDB-compatible
// endpoint (dynalite, as AWS_ENDPOINT_URL_DYNAMODB or -dynamodb-endpoint
// would): it creates the table there, waiting for ACTIVE, and serves from it.
func TestExternalDynamoDB(t *testing.T) {
	t.Parallel()
	stop, endpoint, err := testenv.StartDynalite()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	o := fastOptions(t)
	o.DynamoDBEndpoint = endpoint
	s := startServer(t, o)
	if s.Dynamo != endpoint {
		t.Errorf("store on %q, want %q", s.Dynamo, endpoint)
	}
	out, err := testenv.Client(endpoint).DescribeTable(context.Background(), &ddb.DescribeTableInput{TableName: aws.String("Jobs-local")})
	if err != nil || len(out.Table.GlobalSecondaryIndexes) != 2 {
		t.Fatalf("table on dynalite: %+v, %v", out, err)
	}
	tok, _, err := s.Pool.IDToken(devauth.User{Username: "alice"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sub := call(t, "POST", s.APIURL+"/v1/jobs", tok, `{"prompt":"x"}`)
	id, _ := sub.body["jobId"].(string)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := call(t, "GET", s.APIURL+"/v1/jobs/"+id, tok, "")
		if got.body["status"] == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job on dynalite: %d %v, want COMPLETED", got.status, got.body)
		}
	}
}
