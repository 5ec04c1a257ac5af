// Command load puts the local Jobs API under load, in-process and on
// loopback only, with vegeta's library, and exits non-zero on any answer
// but 200 or 304 (or any transport error).
//
// It starts the local stack (dev/localserver: the API Gateway
// emulation from template.yaml, dev Cognito, the embedded DynamoDB engine,
// the simulated pipeline moving jobs along), submits -jobs jobs for -users
// users through the API, then runs two phases against GET /v1/jobs/{id}:
//
//   - poll: -workers concurrent pollers for -duration, each sending its
//     next request as soon as the last one is answered (-rate 0) or at a
//     constant total -rate per second; every request carries the user's ID
//     token and If-None-Match with the job's last ETag, as dashboards poll;
//   - burst: -burst requests released at once, no ramp, each on its own new
//     connection.
//
// For each phase it prints requests, throughput, latency percentiles,
// errors and the status-code mix. From the repository root:
//
//	go run ./bench/load                              # 60 s poll + 2,000 burst
//	go run ./bench/load -duration 10s -burst 500     # what `make bench` runs
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
)

type config struct {
	duration    time.Duration
	workers     int
	rate        int
	maxRequests int
	burst       int
	jobs, users int
	timeout     time.Duration
	worker      bool
	template    string
	existing    string
	params      string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "load:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "how long the poll phase runs (0: skip it)")
	fs.IntVar(&c.workers, "workers", 200, "concurrent pollers")
	fs.IntVar(&c.rate, "rate", 0, "total requests per second in the poll phase; 0: as fast as the pollers get answers")
	fs.IntVar(&c.maxRequests, "max-requests", 2_000_000, "stop the poll phase after this many requests even if -duration has not passed")
	fs.IntVar(&c.burst, "burst", 2000, "requests released at once in the burst phase (0: skip it)")
	fs.IntVar(&c.jobs, "jobs", 400, "jobs submitted before the load")
	fs.IntVar(&c.users, "users", 40, "users owning them (round robin)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout (a timeout is an error)")
	fs.BoolVar(&c.worker, "worker", true, "run the simulated pipeline (jobs change while polled: 200s and 304s)")
	fs.StringVar(&c.template, "template", "template.yaml", "the SAM template (run from the repository root)")
	fs.StringVar(&c.existing, "existing-api", "dev/existing-api.yaml", "stand-ins for the existing REST API's methods")
	fs.StringVar(&c.params, "params", "dev/params.json", "the local deployment parameters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.workers < 1 || c.jobs < 1 || c.users < 1 || c.users > c.jobs:
		return errors.New("-workers, -jobs and -users must be positive, with -users ≤ -jobs")
	case c.duration < 0 || c.rate < 0 || c.burst < 0 || c.maxRequests < 1 || c.duration > time.Hour:
		return errors.New("-duration (≤ 1h), -rate, -burst must not be negative; -max-requests must be positive")
	}
	// Whatever happens, stop: the phases plus set-up and a margin.
	ctx, cancel := context.WithTimeout(ctx, c.duration+c.timeout*3+3*time.Minute)
	defer cancel()

	fmt.Fprintf(out, "load: go run ./bench/load %s\n", strings.Join(args, " "))
	fmt.Fprintf(out, "      %s, GOMAXPROCS=%d, %s/%s; client and server share the process and its CPUs\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)

	s, err := localserver.Start(ctx, localserver.Options{
		Addr: "127.0.0.1:0", Template: c.template, Existing: c.existing, Params: c.params,
		Worker: c.worker, Steps: 4, QueueDelay: 2 * time.Second, StepDelay: 2 * time.Second, FailureRate: 0.2,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("starting the local stack: %w", err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer scancel()
		if err := s.Close(sctx); err != nil {
			fmt.Fprintln(os.Stderr, "load: shutdown:", err)
		}
	}()
	fmt.Fprintf(out, "      local stack at %s (%s, worker %v)\n", s.APIURL, s.Dynamo, c.worker)

	set, err := seed(ctx, s, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "      seeded %d jobs for %d users through POST /v1/jobs\n\n", len(set.jobs), c.users)

	var failed []string
	if c.duration > 0 {
		atk := vegeta.NewAttacker(vegeta.Workers(uint64(c.workers)), vegeta.MaxWorkers(uint64(c.workers)),
			vegeta.Connections(c.workers), vegeta.Timeout(c.timeout), vegeta.Redirects(vegeta.NoFollow), vegeta.KeepAlive(true))
		pacer := capped(vegeta.ConstantPacer{Freq: c.rate, Per: time.Second}, uint64(c.maxRequests))
		what := fmt.Sprintf("%d pollers, max rate", c.workers)
		if c.rate > 0 {
			what = fmt.Sprintf("%d pollers, %d req/s", c.workers, c.rate)
		}
		r := attack(ctx, atk, set, pacer, c.duration, "poll")
		r.print(out, fmt.Sprintf("poll: GET /v1/jobs/{id} with If-None-Match, %s, %s", what, c.duration))
		failed = append(failed, r.failures...)
	}
	if c.burst > 0 {
		// One worker and one fresh connection per request, all released
		// together: no ramp, no warm connections.
		atk := vegeta.NewAttacker(vegeta.Workers(uint64(c.burst)), vegeta.MaxWorkers(uint64(c.burst)),
			vegeta.Connections(c.burst), vegeta.Timeout(c.timeout), vegeta.Redirects(vegeta.NoFollow), vegeta.KeepAlive(false))
		r := attack(ctx, atk, set, capped(vegeta.ConstantPacer{}, uint64(c.burst)), 0, "burst")
		r.print(out, fmt.Sprintf("burst: %d × GET /v1/jobs/{id} at once, new connections", c.burst))
		failed = append(failed, r.failures...)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped early: %w", ctx.Err())
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d requests were not answered 200 or 304, e.g. %s", len(failed), failed[0])
	}
	fmt.Fprintln(out, "every request was answered 200 or 304")
	return nil
}

// polled is one job under load: its URL, its owner's Authorization and the
// last ETag seen for it.
type polled struct {
	url, auth string
	etag      atomic.Pointer[string]
}

type jobSet struct {
	jobs  []*polled
	byURL map[string]*polled
	next  atomic.Uint64
}

// targeter hands out the jobs round robin, each with If-None-Match set to
// the last ETag seen for it (none before the first 200).
func (js *jobSet) targeter() vegeta.Targeter {
	return func(t *vegeta.Target) error {
		p := js.jobs[(js.next.Add(1)-1)%uint64(len(js.jobs))]
		t.Method, t.URL = http.MethodGet, p.url
		t.Header = http.Header{"Authorization": {p.auth}}
		if e := p.etag.Load(); e != nil {
			t.Header["If-None-Match"] = []string{*e}
		}
		return nil
	}
}

// seed submits the jobs through the API, a few at a time.
func seed(ctx context.Context, s *localserver.Server, c config) (*jobSet, error) {
	auths := make([]string, c.users)
	for i := range auths {
		tok, _, err := s.Pool.IDToken(devauth.User{Username: fmt.Sprintf("loaduser%03d", i)}, 2*time.Hour)
		if err != nil {
			return nil, err
		}
		auths[i] = "Bearer " + tok
	}
	js := &jobSet{jobs: make([]*polled, c.jobs), byURL: make(map[string]*polled, c.jobs)}
	client := &http.Client{Timeout: 30 * time.Second}
	errs := make(chan error, c.jobs)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range js.jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			auth := auths[i%c.users]
			body := fmt.Sprintf(`{"prompt":"load test job %d","options":{"durationSeconds":%d}}`, i, 1+i%60)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.APIURL+"/v1/jobs", strings.NewReader(body))
			req.Header.Set("Authorization", auth)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var jr struct{ JobID string }
			if err := json.NewDecoder(resp.Body).Decode(&jr); err != nil || resp.StatusCode != http.StatusAccepted || jr.JobID == "" {
				errs <- fmt.Errorf("seed submit: %d %v", resp.StatusCode, err)
				return
			}
			js.jobs[i] = &polled{url: s.APIURL + "/v1/jobs/" + jr.JobID, auth: auth}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	for _, p := range js.jobs {
		js.byURL[p.url] = p
	}
	return js, nil
}

// cappedPacer stops a pacer after n hits.
type cappedPacer struct {
	vegeta.Pacer
	n uint64
}

func capped(p vegeta.Pacer, n uint64) vegeta.Pacer { return cappedPacer{p, n} }

func (c cappedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= c.n {
		return 0, true
	}
	return c.Pacer.Pace(elapsed, hits)
}

type report struct {
	m        vegeta.Metrics
	codes    map[uint16]int
	failures []string
}

// attack runs one phase and collects its results. It records each 200's
// ETag for the job's next If-None-Match, as a poller would.
func attack(ctx context.Context, atk *vegeta.Attacker, js *jobSet, p vegeta.Pacer, du time.Duration, name string) *report {
	r := &report{codes: map[uint16]int{}}
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	for res := range atk.Attack(js.targeter(), p, du, name) {
		r.m.Add(res)
		r.codes[res.Code]++
		switch {
		case res.Error != "" || (res.Code != http.StatusOK && res.Code != http.StatusNotModified):
			if len(r.failures) < 20 {
				r.failures = append(r.failures, fmt.Sprintf("%s %s: %d %s %.200s", name, res.URL, res.Code, res.Error, bytes.TrimSpace(res.Body)))
			} else {
				r.failures = append(r.failures, "")
			}
		case res.Code == http.StatusOK:
			if e := res.Headers.Get("ETag"); e != "" {
				if pj := js.byURL[res.URL]; pj != nil {
					pj.etag.Store(&e)
				}
			}
		}
	}
	r.m.Close()
	return r
}

func (r *report) print(w io.Writer, title string) {
	m := &r.m
	var codes []string
	for c, n := range r.codes {
		label := fmt.Sprint(c)
		if c == 0 {
			label = "no answer"
		}
		codes = append(codes, fmt.Sprintf("%s: %d", label, n))
	}
	sort.Strings(codes)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "  requests     %d in %s (%.0f req/s sent, %.0f answered 200/304 per second)\n",
		m.Requests, (m.Duration + m.Wait).Round(time.Millisecond), m.Rate, m.Throughput)
	fmt.Fprintf(w, "  latency      p50 %s   p90 %s   p99 %s   max %s   mean %s\n",
		ms(m.Latencies.P50), ms(m.Latencies.P90), ms(m.Latencies.P99), ms(m.Latencies.Max), ms(m.Latencies.Mean))
	fmt.Fprintf(w, "  status codes %s\n", strings.Join(codes, ", "))
	fmt.Fprintf(w, "  errors       %d\n", len(r.failures))
	for _, f := range r.failures {
		if f != "" {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	fmt.Fprintln(w)
}
