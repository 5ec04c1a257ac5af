// Command jobsapi-local runs the whole Jobs API on a laptop with only Go:
// the API Gateway REST API emulated from template.yaml, the functions'
// handlers in-process, a dev Cognito user pool, an embedded
// DynamoDB-compatible engine, a simulated video pipeline and a dashboard on
// a second origin. `make run` starts it.
//
//	jobsapi-local [serve] [flags]     start the server (Ctrl-C stops it)
//	jobsapi-local token --user alice [--groups admin,video]
//	                                  print an ID token from the running server
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "jobsapi-local:", err)
		}
		os.Exit(1)
	}
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return tokenCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	o, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := localserver.Start(ctx, o)
	if err != nil {
		return err
	}
	if err := banner(stdout, s, o); err != nil {
		_ = s.Close(context.Background())
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.Err():
		o.Log.Error("listener failed", "err", err)
	}
	fmt.Fprintln(stdout, "\nShutting down…")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "Stopped.")
	return nil
}

func parseServeFlags(args []string, stderr io.Writer) (localserver.Options, error) {
	fs := flag.NewFlagSet("jobsapi-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o localserver.Options
	var level string
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:3000", "API listen address (loopback only)")
	fs.StringVar(&o.DashboardAddr, "dashboard-addr", "127.0.0.1:3001", "dashboard listen address, a second origin (loopback only; empty: no dashboard)")
	fs.StringVar(&o.Template, "template", "template.yaml", "the SAM template whose API is served")
	fs.StringVar(&o.Existing, "existing-api", "dev/existing-api.yaml", "stand-ins for methods the existing REST API has outside the stack (empty: none)")
	fs.StringVar(&o.Params, "params", "dev/params.json", "the local deployment: template parameters, existing resource paths")
	fs.StringVar(&o.AllowedOrigins, "allowed-origins", "", "override the AllowedOrigins parameter (comma-separated origins)")
	fs.StringVar(&o.DynamoDBEndpoint, "dynamodb-endpoint", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"),
		"a DynamoDB-compatible endpoint (dynalite, DynamoDB Local, a region) instead of the embedded engine (default: $AWS_ENDPOINT_URL_DYNAMODB)")
	fs.BoolVar(&o.Worker, "worker", true, "run the simulated video pipeline (-worker=false: leave the jobs to your own worker)")
	fs.StringVar(&o.SQSAddr, "sqs-addr", "127.0.0.1:9324", "listen address of the local SQS and Lambda endpoints workers use (loopback only)")
	fs.StringVar(&o.EventsAddr, "events-addr", "127.0.0.1:3002", "listen address of the AppSync Events API emulation: live job updates (loopback only)")
	fs.DurationVar(&o.EventsKeepAlive, "events-keepalive", time.Minute, "time between the Events API's ka keep-alive messages")
	fs.DurationVar(&o.SweepEvery, "sweep-every", time.Minute, "how often the sweeper ends jobs past their limits")
	fs.IntVar(&o.Steps, "worker-steps", 4, "progress updates per simulated job")
	fs.DurationVar(&o.QueueDelay, "worker-queue-delay", 1500*time.Millisecond, "how long a simulated job stays QUEUED")
	fs.DurationVar(&o.StepDelay, "worker-step", 1500*time.Millisecond, "time between progress updates")
	fs.Float64Var(&o.FailureRate, "worker-failure-rate", 0.2, "fraction of simulated jobs that FAIL")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.FailureRate < 0 || o.FailureRate > 1 {
		return o, fmt.Errorf("-worker-failure-rate: between 0 and 1")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return o, fmt.Errorf("-log-level: %w", err)
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	return o, nil
}

// banner prints what runs where and a ready-to-paste curl flow.
func banner(w io.Writer, s *localserver.Server, o localserver.Options) error {
	tok, exp, err := s.Pool.IDToken(devauth.User{Username: "alice"}, 0)
	if err != nil {
		return err
	}
	worker := "off (-worker=true to simulate the video pipeline)"
	if o.Worker {
		worker = fmt.Sprintf("simulated worker: QUEUED → PROCESSING → COMPLETED (%.0f%% FAILED)", o.FailureRate*100)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nJobs API running locally — %s, stage %q, no AWS account needed.\n\n", o.Template, s.Gateway.Stage())
	fmt.Fprintf(&b, "  API        %s\n", s.APIURL)
	if s.DashboardURL != "" {
		fmt.Fprintf(&b, "  Dashboard  %s   ← open in a browser (a second origin: CORS is real)\n", s.DashboardURL)
	}
	fmt.Fprintf(&b, "  DynamoDB   %s, table %s\n", s.Dynamo, s.Table)
	fmt.Fprintf(&b, "  Cognito    dev user pool, issuer %s, client %s\n", s.Issuer, localserver.ClientID)
	fmt.Fprintf(&b, "  Pipeline   %s\n", worker)
	fmt.Fprintf(&b, "  Live       AppSync Events emulation: WebSocket %s, publish %s (channels /jobs/<sub>)\n", s.RealtimeURL, s.EventsURL)
	fmt.Fprintf(&b, "  SQS/Lambda %s  hand-offs %s\n", s.Queues.Endpoint, s.Queues.Pipeline)
	fmt.Fprintf(&b, "             status events %s, worker check %s\n\n", s.Queues.StatusEvents, s.Queues.CheckFunction)
	fmt.Fprintln(&b, "A worker of your own (AWS SDK, or the worker package; see examples/worker):")
	fmt.Fprintf(&b, "  export AWS_ENDPOINT_URL_SQS=%s AWS_ENDPOINT_URL_LAMBDA=%s AWS_REGION=us-east-1 \\\n", s.Queues.Endpoint, s.Queues.Endpoint)
	fmt.Fprintf(&b, "    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local PIPELINE_QUEUE_URL=%s \\\n", s.Queues.Pipeline)
	fmt.Fprintf(&b, "    STATUS_EVENTS_QUEUE_URL=%s WORKER_CHECK_FUNCTION=%s\n", s.Queues.StatusEvents, s.Queues.CheckFunction)
	fmt.Fprintln(&b, "  go run ./examples/worker        # with make run RUN_FLAGS=-worker=false, it takes every job")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Routes (from the template):")
	for _, r := range s.Gateway.Routes() {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	fmt.Fprintf(&b, "\nTry it — alice's ID token (valid until %s UTC; more with: go run ./dev/jobsapi-local token --user bob --groups admin):\n\n", exp.UTC().Format("15:04"))
	fmt.Fprintf(&b, "  TOKEN='%s'\n", tok)
	fmt.Fprintf(&b, "  JOB=$(curl -s -X POST %s/v1/jobs -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n", s.APIURL)
	fmt.Fprintf(&b, "        -d '{\"prompt\":\"A cat surfing a wave at sunset\"}' | tee /dev/stderr | sed -n 's/.*\"jobId\":\"\\([^\"]*\\)\".*/\\1/p')\n")
	fmt.Fprintf(&b, "  curl -s %s/v1/jobs/$JOB -H \"Authorization: Bearer $TOKEN\"\n\n", s.APIURL)
	fmt.Fprintln(&b, "Ctrl-C stops the server.")
	_, err = io.WriteString(w, b.String())
	return err
}

// tokenCommand prints an ID token issued by the running local server (its
// signing key lives only in that process).
func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jobsapi-local token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "http://127.0.0.1:3000", "the running local server")
	user := fs.String("user", "alice", "cognito:username (the sub is derived from it)")
	groups := fs.String("groups", "", "comma-separated cognito:groups, e.g. admin,video")
	email := fs.String("email", "", "email claim (default <user>@example.com)")
	ttl := fs.Duration("expires-in", time.Hour, "lifetime; negative for an already-expired token")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: jobsapi-local token [flags]   (prints an ID token from the running local server)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	req := devauth.TokenRequest{User: devauth.User{Username: *user, Email: *email}, ExpiresInSeconds: int(ttl.Seconds())}
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			req.Groups = append(req.Groups, g)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr, err := devauth.FetchToken(rctx, http.DefaultClient, *api, req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tr.IDToken)
	return err
}
