// Command localapi compares, in one run, a GET /v1/jobs/{id} through the
// local API (HTTP on loopback, the API Gateway emulation with the Cognito
// authorizer's token check, the proxy event, GetJobFn's handler, the
// DynamoDB store) with a raw SDK GetItem of the same item on the same
// embedded engine, through the same client, and, as a reference, the bare
// HTTP exchange with the same server. Calls alternate one by one (the
// order rotating), one at a time, on warm keep-alive connections, so all
// see the same machine; it reports per-call latency percentiles and the
// ratio of the medians. It describes the dev kit only (no target): in AWS,
// API Gateway and Lambda do this work with other costs.
//
//	go run ./bench/localapi                                # 5,000 rounds
//	go run ./bench/localapi -n 20000 -cpuprofile cpu.out   # profile the process while measuring
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
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "localapi:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("localapi", flag.ContinueOnError)
	n := fs.Int("n", 5000, "measured rounds (one API GET, one GetItem and one bare HTTP exchange each)")
	warm := fs.Int("warmup", 500, "unmeasured rounds first")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measured loop to this file")
	template := fs.String("template", "template.yaml", "the SAM template (run from the repository root)")
	existing := fs.String("existing-api", "dev/existing-api.yaml", "stand-ins for the existing REST API's methods")
	params := fs.String("params", "dev/params.json", "the local deployment parameters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 1_000_000 || *warm < 0 {
		return errors.New("-n: 1 to 1,000,000; -warmup: not negative")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()

	s, err := localserver.Start(ctx, localserver.Options{
		Addr: "127.0.0.1:0", Template: *template, Existing: *existing, Params: *params, Worker: false,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("starting the local stack: %w", err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer scancel()
		_ = s.Close(sctx)
	}()

	tok, _, err := s.Pool.IDToken(devauth.User{Username: "alice"}, 2*time.Hour)
	if err != nil {
		return err
	}
	auth := "Bearer " + tok
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	id, err := submit(ctx, client, s.APIURL, auth)
	if err != nil {
		return err
	}
	fetch := func(path string, want int) func() error {
		return func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL+path, nil)
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != want {
				err = fmt.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
			return err
		}
	}
	get := fetch("/v1/jobs/"+id, http.StatusOK)
	// The same HTTP exchange with (almost) nothing behind it: the dev
	// server's 404 for a malformed output name. What any API behind an
	// HTTP hop costs at least.
	hop := fetch("/local/outputs/-.mp4", http.StatusNotFound)
	// What the store's Get sends for an existing job: one eventually
	// consistent GetItem of the whole item.
	in := &ddb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{dynamodb.AttrJobID: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(false),
	}
	getItem := func() error {
		out, err := s.DynamoDB.GetItem(ctx, in)
		if err == nil && len(out.Item) == 0 {
			err = errors.New("GetItem: no item")
		}
		return err
	}

	for range *warm {
		if err := errors.Join(get(), getItem(), hop()); err != nil {
			return err
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	api, raw, bare := make([]time.Duration, 0, *n), make([]time.Duration, 0, *n), make([]time.Duration, 0, *n)
	timed := func(f func() error, into *[]time.Duration) error {
		t0 := time.Now()
		err := f()
		*into = append(*into, time.Since(t0))
		return err
	}
	calls := []func() error{func() error { return timed(get, &api) }, func() error { return timed(getItem, &raw) }, func() error { return timed(hop, &bare) }}
	for i := range *n {
		// Rotate the order: no kind always goes first.
		for j := range calls {
			if err := calls[(i+j)%len(calls)](); err != nil {
				return err
			}
		}
	}

	fmt.Fprintf(out, "localapi: go run ./bench/localapi %s\n", strings.Join(args, " "))
	fmt.Fprintf(out, "          %s, GOMAXPROCS=%d, %s/%s; %d rounds after %d warm-up rounds, one call at a time\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, *n, *warm)
	pa, pr, pb := percentiles(api), percentiles(raw), percentiles(bare)
	fmt.Fprintf(out, "%-52s %10s %10s %10s %10s\n", "", "p50", "p90", "p99", "mean")
	fmt.Fprintf(out, "%-52s %10s %10s %10s %10s\n", "GET /v1/jobs/{id} through the local API (200)", us(pa[0]), us(pa[1]), us(pa[2]), us(pa[3]))
	fmt.Fprintf(out, "%-52s %10s %10s %10s %10s\n", "raw GetItem, same item, engine and client", us(pr[0]), us(pr[1]), us(pr[2]), us(pr[3]))
	fmt.Fprintf(out, "%-52s %10s %10s %10s %10s\n", "HTTP exchange alone (the dev server's 404)", us(pb[0]), us(pb[1]), us(pb[2]), us(pb[3]))
	ratio := float64(pa[0]) / float64(pr[0])
	fmt.Fprintf(out, "\nratio of medians: %.2f× (the dev kit's emulation; no target)\n", ratio)
	fmt.Fprintf(out, "the API's cost per GET beyond the GetItem: %s, of which the HTTP exchange %s and the emulation and handler %s\n",
		us(pa[0]-pr[0]), us(pb[0]), us(pa[0]-pr[0]-pb[0]))
	fmt.Fprintf(out, "floor with an HTTP hop and nothing else: (GetItem + HTTP exchange) / GetItem = %.2f×\n", float64(pr[0]+pb[0])/float64(pr[0]))
	return nil
}

// submit creates the job the benchmark reads.
func submit(ctx context.Context, client *http.Client, api, auth string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, api+"/v1/jobs", strings.NewReader(`{"prompt":"a cat surfing a wave at sunset"}`))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, rest, ok := strings.Cut(string(b), `"jobId":"`)
	id, _, _ := strings.Cut(rest, `"`)
	if resp.StatusCode != http.StatusAccepted || !ok || id == "" {
		return "", fmt.Errorf("submit: %d %s", resp.StatusCode, b)
	}
	return id, nil
}

// percentiles returns p50, p90, p99 and the mean.
func percentiles(d []time.Duration) [4]time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return [4]time.Duration{at(0.50), at(0.90), at(0.99), sum / time.Duration(len(s))}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
