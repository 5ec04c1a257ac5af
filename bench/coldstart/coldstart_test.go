package coldstart

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

var (
	rounds    = flag.Int("rounds", 30, "cold starts per function (after one unrecorded warm-up round)")
	warm      = flag.Int("warm", 1000, "invocations of one warm process before its memory is read")
	budget    = flag.Duration("budget", 15*time.Minute, "time limit of all benchmarks here together; past it the run fails (go test's -timeout does not apply to benchmarks)")
	samplesTo = flag.String("samples", "", "also write every cold start to this CSV file (round, function, init_ms, invoke_ms, wall_ms); relative to bench/coldstart")
	inittrace = flag.Bool("inittrace", true, "also start each function once with GODEBUG=inittrace=1 and summarize package init")
	extra     extraFlag
)

func init() {
	flag.Var(&extra, "extra", "name=path: another GetJobFn bootstrap to measure alongside (e.g. one built from an earlier commit); repeatable")
}

// extraFlag collects -extra name=path.
type extraFlag []subject

func (e *extraFlag) String() string { return fmt.Sprint(*e) }

func (e *extraFlag) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return errors.New("want name=path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	*e = append(*e, subject{name: name, bootstrap: abs, getJob: true})
	return nil
}

// Emulated functions get the deployed settings (template.yaml).
const (
	functionTimeout = 10 * time.Second
	memorySizeMB    = 256
)

// lambdaFlags are the Makefile's LAMBDA_FLAGS, with which every bootstrap
// here is built; keep them in step.
var lambdaFlags = testenv.LambdaFlags

// subject is one function under measurement.
type subject struct {
	name      string
	bootstrap string
	getJob    bool // answers GET /v1/jobs/{id} with the job; else any 200
}

// sample is one cold start.
type sample struct {
	coldTimes
	wall float64 // ms from the invoke request to its response, as the client saw it
}

func (s sample) total() float64 { return s.init + s.invoke }

// BenchmarkColdStart measures cold starts (init + first invoke) of GetJobFn
// and of the empty baseline, interleaved, and the resident memory of each
// after -warm invocations. Run it with -benchtime 1x; one iteration is the
// whole measurement.
func BenchmarkColdStart(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Fatal("the Lambda Runtime Interface Emulator runs on Linux only")
	}
	ctx, cancel := withBudget()
	defer cancel()
	for range b.N {
		coldStart(ctx, b)
	}
}

func coldStart(ctx context.Context, b *testing.B) {
	dir := b.TempDir()
	rie, bins, err := testenv.BuildFunctions(ctx, dir, lambdaFlags, "./bench/coldstart/empty", "./cmd/getjob")
	if err != nil {
		fatal(ctx, b, err)
	}
	subjects := []subject{
		{name: "empty", bootstrap: bins["empty"]},
		{name: "getjob", bootstrap: bins["getjob"], getJob: true},
	}
	subjects = append(subjects, extra...)

	stopDB, endpoint, err := testenv.StartDynalite()
	if err != nil {
		fatal(ctx, b, err)
	}
	defer stopDB()
	table, id, err := seed(ctx, endpoint)
	if err != nil {
		fatal(ctx, b, err)
	}
	env := lambdaEnv(map[string]string{
		"JOBS_TABLE":                table,
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint,
		"DYNAMODB_TIMEOUT_MS":       "3000",
	})

	fmt.Printf("\n## Cold start: %d rounds (+1 unrecorded warm-up), %s/%s, %d CPUs, %s\n\n",
		*rounds, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	samples := map[string][]sample{}
	for r := range *rounds + 1 {
		// Rotate the order so that no function always goes first.
		for k := range subjects {
			s := subjects[(r+k)%len(subjects)]
			got, err := coldRound(ctx, rie, s, env, id)
			if err != nil {
				fatal(ctx, b, fmt.Errorf("round %d, %s: %v", r, s.name, err))
			}
			if r > 0 {
				samples[s.name] = append(samples[s.name], got)
			}
		}
	}
	report(b, subjects, samples)
	if *samplesTo != "" {
		if err := writeSamples(*samplesTo, subjects, samples); err != nil {
			fatal(ctx, b, err)
		}
	}

	if *inittrace {
		fmt.Printf("\n## Package init (GODEBUG=inittrace=1, one start each; not part of the timings above)\n\n")
		for _, s := range subjects {
			if err := traceInit(ctx, rie, s, env, id); err != nil {
				fatal(ctx, b, fmt.Errorf("inittrace %s: %v", s.name, err))
			}
		}
	}

	fmt.Printf("\n## Warm memory after %d invocations of one process (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d)\n\n", *warm, memorySizeMB)
	fmt.Println("| function | VmRSS MiB | VmHWM MiB |")
	fmt.Println("|---|---:|---:|")
	for _, s := range subjects {
		m, err := warmMemory(ctx, rie, s, env, id)
		if err != nil {
			fatal(ctx, b, fmt.Errorf("warm %s: %v", s.name, err))
		}
		fmt.Printf("| %s | %.1f | %.1f |\n", s.name, mib(m.rssKiB), mib(m.hwmKiB))
		b.ReportMetric(mib(m.rssKiB), s.name+"-warm-rss-MiB")
		b.ReportMetric(mib(m.hwmKiB), s.name+"-warm-hwm-MiB")
	}
	b.ReportMetric(0, "ns/op")
}

// writeSamples writes every recorded cold start as CSV, by round.
func writeSamples(path string, subjects []subject, samples map[string][]sample) error {
	var sb strings.Builder
	sb.WriteString("round,function,init_ms,invoke_ms,wall_ms\n")
	for r := range *rounds {
		for _, s := range subjects {
			x := samples[s.name][r]
			fmt.Fprintf(&sb, "%d,%s,%.3f,%.3f,%.3f\n", r+1, s.name, x.init, x.invoke, x.wall)
		}
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

// fatal ends the benchmark, saying so if the budget ran out.
func fatal(ctx context.Context, b *testing.B, err error) {
	b.Helper()
	if ctx.Err() != nil {
		b.Fatalf("%v\n(the -budget of %v ran out)", err, *budget)
	}
	b.Fatal(err)
}

var (
	deadlineOnce sync.Once
	deadline     time.Time
)

// withBudget returns a context that ends -budget after the first call, so
// that the benchmarks share one time limit.
func withBudget() (context.Context, context.CancelFunc) {
	deadlineOnce.Do(func() { deadline = time.Now().Add(*budget) })
	return context.WithDeadline(context.Background(), deadline)
}

func mib(kib int) float64 { return float64(kib) / 1024 }

// report prints the cold-start table and reports the key figures as
// benchmark metrics.
func report(b *testing.B, subjects []subject, samples map[string][]sample) {
	fmt.Println("| function | init p50 | init p90 | 1st invoke p50 | 1st invoke p90 | init+invoke p50 | init+invoke p90 | client wall p50 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range subjects {
		var init, invoke, total, wall []float64
		for _, x := range samples[s.name] {
			init = append(init, x.init)
			invoke = append(invoke, x.invoke)
			total = append(total, x.total())
			wall = append(wall, x.wall)
		}
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", s.name,
			median(init), percentile(init, 90), median(invoke), percentile(invoke, 90),
			median(total), percentile(total, 90), median(wall))
		b.ReportMetric(median(total), s.name+"-cold-p50-ms")
		b.ReportMetric(percentile(total, 90), s.name+"-cold-p90-ms")
	}
	fmt.Println("\nRatios to empty (milliseconds in the table; ratio of the medians, of the p90s, and the median of the per-round ratios):")
	fmt.Println("\n| function | init p50 | init+invoke p50 | init+invoke p90 | paired init+invoke p50 |")
	fmt.Println("|---|---:|---:|---:|---:|")
	base := samples["empty"]
	for _, s := range subjects[1:] {
		xs := samples[s.name]
		var paired []float64
		for i := range xs {
			paired = append(paired, xs[i].total()/base[i].total())
		}
		ratio := func(f func(sample) float64, p float64) float64 {
			var a, e []float64
			for i := range xs {
				a, e = append(a, f(xs[i])), append(e, f(base[i]))
			}
			return percentile(a, p) / percentile(e, p)
		}
		initOf := func(x sample) float64 { return x.init }
		fmt.Printf("| %s | %.2f× | %.2f× | %.2f× | %.2f× |\n", s.name,
			median2(xs, base, initOf), median2(xs, base, sample.total), ratio(sample.total, 90), median(paired))
		b.ReportMetric(median2(xs, base, sample.total), s.name+"/empty-cold-p50")
	}
	if len(subjects) < 3 {
		return
	}
	fmt.Println("\nPaired per round, getjob minus each -extra function: median difference in ms [95% bootstrap interval], and the rounds in which getjob was faster:")
	fmt.Println("\n| getjob minus | init | 1st invoke | init+invoke | getjob faster (init+invoke) |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, s := range subjects[2:] {
		xs, ys := samples["getjob"], samples[s.name]
		diff := func(f func(sample) float64) []float64 {
			d := make([]float64, len(xs))
			for i := range xs {
				d[i] = f(xs[i]) - f(ys[i])
			}
			return d
		}
		cell := func(d []float64) string {
			lo, hi := bootstrapMedian(d)
			return fmt.Sprintf("%+.2f [%+.2f, %+.2f]", median(d), lo, hi)
		}
		total := diff(sample.total)
		faster := 0
		for _, d := range total {
			if d < 0 {
				faster++
			}
		}
		fmt.Printf("| %s | %s | %s | %s | %d%% |\n", s.name, cell(diff(func(x sample) float64 { return x.init })),
			cell(diff(func(x sample) float64 { return x.invoke })), cell(total), 100*faster/len(total))
	}
}

// median2 is the ratio of the medians of f over xs and over base.
func median2(xs, base []sample, f func(sample) float64) float64 {
	var a, e []float64
	for i := range xs {
		a, e = append(a, f(xs[i])), append(e, f(base[i]))
	}
	return median(a) / median(e)
}

// coldRound starts s under a fresh emulator, invokes it once, checks the
// response, reads the emulator's timings and stops both processes.
func coldRound(ctx context.Context, rie string, s subject, env []string, id string) (sample, error) {
	f, err := start(ctx, rie, s.bootstrap, env)
	if err != nil {
		return sample{}, err
	}
	defer f.stop()
	t0 := time.Now()
	if err := invokeOnce(ctx, f, s, id); err != nil {
		return sample{}, fmt.Errorf("%w\n%s", err, f.Out.String())
	}
	wall := float64(time.Since(t0).Microseconds()) / 1000
	t, err := f.waitColdStart(ctx)
	if err != nil {
		return sample{}, fmt.Errorf("%w\n%s", err, f.Out.String())
	}
	return sample{coldTimes: t, wall: wall}, nil
}

// invokeOnce sends GET /v1/jobs/{id} and checks the answer: for GetJobFn a
// 200 with the job, for the baseline any 200.
func invokeOnce(ctx context.Context, f *function, s subject, id string) error {
	status, body, err := f.invoke(ctx, getEvent(id))
	if err != nil {
		return err
	}
	var r events.APIGatewayProxyResponse
	if status != 200 || json.Unmarshal(body, &r) != nil {
		return fmt.Errorf("emulator answered HTTP %d: %s", status, body)
	}
	if r.StatusCode != 200 || (s.getJob && !strings.Contains(r.Body, `"jobId":"`+id+`"`)) {
		return fmt.Errorf("function answered %d: %s", r.StatusCode, r.Body)
	}
	return nil
}

// warmMemory invokes one process n times and reads its memory.
func warmMemory(ctx context.Context, rie string, s subject, env []string, id string) (memory, error) {
	f, err := start(ctx, rie, s.bootstrap, env)
	if err != nil {
		return memory{}, err
	}
	defer f.stop()
	for i := range *warm {
		if err := invokeOnce(ctx, f, s, id); err != nil {
			return memory{}, fmt.Errorf("invocation %d: %w", i+1, err)
		}
	}
	pid, err := f.BootstrapPID()
	if err != nil {
		return memory{}, err
	}
	return readMemory(pid)
}

// traceInit starts s once with GODEBUG=inittrace=1 and prints its package
// init totals and the costliest packages.
func traceInit(ctx context.Context, rie string, s subject, env []string, id string) error {
	f, err := start(ctx, rie, s.bootstrap, append(env[:len(env):len(env)], "GODEBUG=inittrace=1"))
	if err != nil {
		return err
	}
	defer f.stop()
	// The emulator got GODEBUG too and traced its own init before it
	// listened; the bootstrap starts on the first invoke.
	emulator := len(f.Out.String())
	if err := invokeOnce(ctx, f, s, id); err != nil {
		return err
	}
	if _, err := f.waitColdStart(ctx); err != nil {
		return err
	}
	inits := parseInittrace(f.Out.String()[emulator:])
	if len(inits) == 0 {
		return errors.New("no inittrace lines in the output")
	}
	var ms float64
	var bytes, allocs int
	for _, p := range inits {
		ms += p.ms
		bytes += p.bytes
		allocs += p.allocs
	}
	fmt.Printf("%s: %d packages, %.2f ms, %d bytes, %d allocs. Costliest:\n\n", s.name, len(inits), ms, bytes, allocs)
	fmt.Println("| package | ms | bytes | allocs |")
	fmt.Println("|---|---:|---:|---:|")
	for _, p := range inits[:min(8, len(inits))] {
		fmt.Printf("| %s | %.3f | %d | %d |\n", p.pkg, p.ms, p.bytes, p.allocs)
	}
	fmt.Println()
	return nil
}

// seed creates a jobs table on endpoint with one QUEUED job of the events'
// user, and returns the table's name and the job's id.
func seed(ctx context.Context, endpoint string) (table, id string, err error) {
	client := testenv.Client(endpoint)
	table = "Jobs-bench"
	in, err := testenv.JobsTableInput(table)
	if err != nil {
		return "", "", err
	}
	if err := dynamodb.CreateTable(ctx, client, in); err != nil {
		return "", "", err
	}
	now := time.Now().UTC()
	spec, err := jobs.Spec{Prompt: "A red fox crossing a snowy field at dawn"}.Normalize()
	if err != nil {
		return "", "", err
	}
	j := jobs.Job{ID: jobs.NewID(), OwnerID: userSub, Status: jobs.Queued, Spec: spec, SpecHash: spec.Hash(),
		CreatedAt: now, UpdatedAt: now, Version: 1}
	return table, j.ID, dynamodb.New(client, table).Create(ctx, j)
}

// benchIssuer is the user pool of the benchmark's ID tokens.
const benchIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BenchPool"

// lambdaEnv is what a Lambda sandbox provides, plus vars. The emulator
// passes its environment on to the bootstrap; nothing of ours leaks in.
func lambdaEnv(vars map[string]string) []string {
	env := testenv.LambdaEnv("GetJobFn", memorySizeMB, functionTimeout)
	env["COGNITO_ISSUER"] = benchIssuer
	env["ALLOWED_ORIGINS"] = testenv.AllowedOrigins
	maps.Copy(env, vars)
	return testenv.EnvList(env)
}

// BenchmarkBinarySize builds both functions' bootstrap for linux/arm64 (as
// deployed) and linux/amd64 with the Makefile's flags and reports their
// sizes.
func BenchmarkBinarySize(b *testing.B) {
	ctx, cancel := withBudget()
	defer cancel()
	dir := b.TempDir()
	for range b.N {
		fmt.Printf("\n## Bootstrap sizes (CGO_ENABLED=0 GOOS=linux go build %s)\n\n", strings.Join(lambdaFlags, " "))
		fmt.Println("| function | arch | bytes | MiB |")
		fmt.Println("|---|---|---:|---:|")
		for _, fn := range []string{"getjob", "submitjob"} {
			for _, arch := range []string{"arm64", "amd64"} {
				out := filepath.Join(dir, arch, fn, "bootstrap")
				args := append(append([]string{"build"}, lambdaFlags...), "-o", out, "./cmd/"+fn)
				if err := testenv.GoCmd(ctx, arch, args...); err != nil {
					fatal(ctx, b, err)
				}
				st, err := os.Stat(out)
				if err != nil {
					fatal(ctx, b, err)
				}
				fmt.Printf("| %s | %s | %d | %.2f |\n", fn, arch, st.Size(), float64(st.Size())/(1<<20))
				b.ReportMetric(float64(st.Size()), fn+"-"+arch+"-bytes")
			}
		}
	}
	b.ReportMetric(0, "ns/op")
}
