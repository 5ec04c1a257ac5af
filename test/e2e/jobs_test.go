package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// stack is the two functions on one jobs table and one pipeline queue.
type stack struct {
	table  string
	store  *dynamodb.Store // reads the table directly, not through a function
	queue  *fakeSQS
	get    *function
	submit *function
}

// newStack starts GetJobFn and SubmitJobFn on a new table of the test's
// dynalite, with a fake queue that answers as fail says.
func newStack(t *testing.T, fail sqsFailure) *stack {
	t.Helper()
	client, table := testenv.NewTable(t)
	s := &stack{table: table, store: dynamodb.New(client, table), queue: newFakeSQS(t, fail)}
	env := map[string]string{
		"JOBS_TABLE":                table,
		"AWS_ENDPOINT_URL_DYNAMODB": testenv.Endpoint(t),
		"ALLOWED_ORIGINS":           allowedOrigins,
	}
	s.get = startFunction(t, "GetJobFn", getJobBin, env)
	env["PIPELINE_QUEUE_URL"] = s.queue.queueURL
	env["AWS_ENDPOINT_URL_SQS"] = s.queue.endpoint()
	s.submit = startFunction(t, "SubmitJobFn", submitJobBin, env)
	return s
}

// stored reads a job from the table, strongly consistent.
func (s *stack) stored(t *testing.T, id string) jobs.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := s.store.GetLatest(ctx, id)
	if err != nil {
		t.Fatalf("read job %s from table %s: %v", id, s.table, err)
	}
	return j
}

var jobIDPattern = regexp.MustCompile(`^job_[0-9a-hjkmnp-tv-z]{26}$`)

// wantTime checks a timestamp field: TimeLayout, UTC, close to now.
func wantTime(t *testing.T, fields map[string]any, name string) time.Time {
	t.Helper()
	s, _ := fields[name].(string)
	ts, err := time.Parse(jobs.TimeLayout, s)
	if err != nil {
		t.Errorf("%s = %q, want a %s timestamp", name, s, jobs.TimeLayout)
		return time.Time{}
	}
	if d := time.Since(ts); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %s, not within a minute of now", name, s)
	}
	return ts
}

// wantJob checks the wire shape of a job that is neither COMPLETED nor
// FAILED: no outputUrl, no error.
func wantJob(t *testing.T, fields map[string]any, id string, status jobs.Status) {
	t.Helper()
	if fields["jobId"] != id {
		t.Errorf("jobId = %v, want %s", fields["jobId"], id)
	}
	if fields["status"] != string(status) {
		t.Errorf("status = %v, want %s", fields["status"], status)
	}
	if p, ok := fields["progress"].(float64); !ok || p != 0 {
		t.Errorf("progress = %v, want 0", fields["progress"])
	}
	wantTime(t, fields, "createdAt")
	wantTime(t, fields, "updatedAt")
	for _, absent := range []string{"outputUrl", "error", "completedAt"} {
		if v, ok := fields[absent]; ok {
			t.Errorf("%s = %v, want it absent", absent, v)
		}
	}
}

func TestSubmitThenGet(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	s := newStack(t, sqsOK)

	// Submit.
	resp, _ := s.submit.invoke(t, submitJob(
		`{"prompt":"A red fox crossing a snowy field at dawn","options":{"durationSeconds":8,"aspectRatio":"9:16","resolution":"1080p"}}`,
		&alice, allowedOrigin).event())
	resp.wantStatus(t, 202)
	resp.wantCORS(t, allowedOrigin, true)
	resp.wantHeader(t, "Cache-Control", "private, no-cache, no-store")
	resp.wantHeader(t, "X-Content-Type-Options", "nosniff")
	resp.wantNoHeader(t, "Idempotent-Replayed")
	submitted := resp.fields(t)
	id, _ := submitted["jobId"].(string)
	if !jobIDPattern.MatchString(id) {
		t.Fatalf("jobId = %q, want job_ and 26 base32 characters", id)
	}
	wantJob(t, submitted, id, jobs.Queued)
	resp.wantHeader(t, "Location", "/v1/jobs/"+id)

	// Handed to the pipeline exactly once, with what was asked for.
	msgs := s.queue.messages("")
	if len(msgs) != 1 || msgs[0].JobID != id {
		t.Fatalf("queue holds %+v, want exactly one message for %s", msgs, id)
	}
	m := msgs[0]
	if m.OwnerID != alice.sub || m.CreatedAt != submitted["createdAt"] ||
		m.Request.Prompt != "A red fox crossing a snowy field at dawn" || m.Request.DurationSeconds != 8 ||
		m.Request.AspectRatio != "9:16" || m.Request.Resolution != "1080p" {
		t.Errorf("queue message = %+v", m)
	}

	// Recorded in the table as QUEUED, owned by the submitter.
	j := s.stored(t, id)
	if j.Status != jobs.Queued || j.OwnerID != alice.sub || j.Version != 1 || j.Spec.Prompt != m.Request.Prompt {
		t.Errorf("stored job = %+v, want QUEUED, owner %s, version 1", j, alice.sub)
	}

	// Read it back.
	type getCase struct {
		name    string
		req     request
		status  int
		code    string // error code, for errors
		allowed bool   // whether the origin may read the response
	}
	cases := []getCase{
		{name: "owner", req: getJob(id, &alice, allowedOrigin), status: 200, allowed: true},
		{name: "owner from a foreign origin", req: getJob(id, &alice, foreignOrigin), status: 200},
		{name: "owner from an origin only the default list allows", req: getJob(id, &alice, defaultOnlyOrigin), status: 200},
		{name: "owner without an origin", req: getJob(id, &alice, ""), status: 200},
		{name: "admin", req: getJob(id, &admin, allowedOrigin), status: 200, allowed: true},
		{name: "admin among several groups", req: getJob(id, &adminListed, allowedOrigin), status: 200, allowed: true},
		{name: "another user", req: getJob(id, &bob, allowedOrigin), status: 404, code: "not_found", allowed: true},
		{name: "another user from a foreign origin", req: getJob(id, &bob, foreignOrigin), status: 404, code: "not_found"},
		{name: "unknown id", req: getJob("job_"+strings.Repeat("0", 26), &alice, allowedOrigin), status: 404, code: "not_found", allowed: true},
		{name: "malformed id", req: getJob("..%2Fjobs", &alice, allowedOrigin), status: 400, code: "invalid_request", allowed: true},
		{name: "id too long", req: getJob("job_"+strings.Repeat("a", 200), &alice, allowedOrigin), status: 400, code: "invalid_request", allowed: true},
		{name: "no claims", req: getJob(id, nil, allowedOrigin), status: 401, code: "unauthorized", allowed: true},
		{name: "odd groups deny no one their own job", req: getJob(id, &user{sub: alice.sub, username: alice.username, groups: `R&D`}, allowedOrigin), status: 200, allowed: true},
		{name: "token of another user than the claims", req: func() request {
			r := getJob(id, &bob, allowedOrigin)
			r.headers = map[string]string{"Authorization": alice.token()}
			return r
		}(), status: 401, code: "unauthorized", allowed: true},
	}
	for _, c := range cases {
		t.Run("get/"+c.name, func(t *testing.T) {
			resp, _ := s.get.invoke(t, c.req.event())
			resp.wantCORS(t, c.req.origin, c.allowed)
			if c.code != "" {
				resp.wantError(t, c.status, c.code)
				if strings.Contains(resp.Body, id) {
					t.Errorf("error body names the job: %s", resp.Body)
				}
				return
			}
			resp.wantStatus(t, c.status)
			got := resp.fields(t)
			wantJob(t, got, id, jobs.Queued)
			if got["createdAt"] != submitted["createdAt"] {
				t.Errorf("createdAt = %v, submit said %v", got["createdAt"], submitted["createdAt"])
			}
		})
	}

	// Submits the function refuses hand nothing to the pipeline.
	rejected := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"no claims", submitJob(`{"prompt":"x"}`, nil, allowedOrigin), 401, "unauthorized"},
		{"not JSON", func() request {
			r := submitJob(`prompt=x`, &alice, allowedOrigin)
			r.headers = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
			return r
		}(), 415, "unsupported_media_type"},
		{"blank prompt", submitJob(`{"prompt":"   "}`, &alice, allowedOrigin), 400, "invalid_request"},
		{"server-owned field", submitJob(`{"prompt":"x","status":"COMPLETED"}`, &alice, allowedOrigin), 400, "invalid_request"},
		{"unknown option", submitJob(`{"prompt":"x","options":{"fps":60}}`, &alice, allowedOrigin), 400, "invalid_request"},
		{"prompt not a string", submitJob(`{"prompt":42}`, &alice, allowedOrigin), 400, "invalid_request"},
		{"duration out of range", submitJob(`{"prompt":"x","options":{"durationSeconds":600}}`, &alice, allowedOrigin), 400, "invalid_request"},
		{"body over 16 KiB", submitJob(`{"prompt":"`+strings.Repeat("x", 17<<10)+`"}`, &alice, allowedOrigin), 413, "payload_too_large"},
		{"body not valid base64", func() request {
			r := submitJob(`{not base64}`, &alice, allowedOrigin)
			r.base64 = true
			return r
		}(), 400, "invalid_request"},
	}
	for _, c := range rejected {
		t.Run("submit rejected/"+c.name, func(t *testing.T) {
			resp, _ := s.submit.invoke(t, c.req.event())
			resp.wantError(t, c.status, c.code)
			resp.wantCORS(t, allowedOrigin, true)
			resp.wantNoHeader(t, "Location")
		})
	}
	if n := len(s.queue.messages("")); n != 1 {
		t.Errorf("queue holds %d messages after the refused submits, want still 1", n)
	}

	t.Run("submit with a base64-encoded body", func(t *testing.T) {
		req := submitJob(base64.StdEncoding.EncodeToString([]byte(`{"prompt":"Waves at night"}`)), &alice, allowedOrigin)
		req.base64 = true
		resp, _ := s.submit.invoke(t, req.event())
		resp.wantStatus(t, 202)
		id, _ := resp.fields(t)["jobId"].(string)
		if msgs := s.queue.messages(id); len(msgs) != 1 || msgs[0].Request.Prompt != "Waves at night" ||
			msgs[0].Request.DurationSeconds != jobs.DefaultDurationSeconds || msgs[0].Request.AspectRatio != jobs.DefaultAspectRatio ||
			msgs[0].Request.Resolution != jobs.DefaultResolution {
			t.Errorf("queue messages for %s = %+v, want one with the prompt and the defaults", id, msgs)
		}
	})

	t.Run("submit with an idempotency key", func(t *testing.T) {
		req := submitJob(`{"prompt":"A lighthouse in a storm"}`, &bob, allowedOrigin)
		req.headers["Idempotency-Key"] = "e2e-" + randHex(16)
		first, _ := s.submit.invoke(t, req.event())
		first.wantStatus(t, 202)
		first.wantNoHeader(t, "Idempotent-Replayed")
		created := first.fields(t)
		id, _ := created["jobId"].(string)
		wantJob(t, created, id, jobs.Queued)

		again, _ := s.submit.invoke(t, req.event())
		again.wantStatus(t, 202)
		again.wantHeader(t, "Idempotent-Replayed", "true")
		again.wantHeader(t, "Location", "/v1/jobs/"+id)
		replayed := again.fields(t)
		if replayed["jobId"] != id || replayed["createdAt"] != created["createdAt"] {
			t.Errorf("replay = %v, want the job of the first submit %v", replayed, created)
		}
		// A still-QUEUED job was sent (or its hand-off's outcome is
		// unknown): a replay does not send it again.
		if n := len(s.queue.messages(id)); n != 1 {
			t.Errorf("queue holds %d messages for %s, want 1", n, id)
		}
		if j := s.stored(t, id); j.Version != 1 || j.OwnerID != bob.sub || j.IdempotencyKey != req.headers["Idempotency-Key"] {
			t.Errorf("stored job = %+v, want one version owned by bob with the key", j)
		}

		other := submitJob(`{"prompt":"Something else"}`, &bob, allowedOrigin)
		other.headers["Idempotency-Key"] = req.headers["Idempotency-Key"]
		conflict, _ := s.submit.invoke(t, other.event())
		conflict.wantError(t, 422, "unprocessable")
	})
}

func TestSubmitHandOffFailure(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	for _, c := range []struct {
		name string
		fail sqsFailure
	}{
		{"queue answers 500", sqsInternal},
		{"queue throttles", sqsThrottling},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, c.fail)
			resp, elapsed := s.submit.invoke(t, submitJob(`{"prompt":"A paper boat on a river"}`, &alice, allowedOrigin).event())
			resp.wantError(t, 503, "service_unavailable")
			resp.wantCORS(t, allowedOrigin, true)
			resp.wantNoHeader(t, "Location")
			if elapsed > functionTimeout*time.Second {
				t.Errorf("answered after %v, past the function timeout", elapsed)
			}

			// The job ID is in the message the function tried to send.
			attempts := s.queue.attemptsFor("")
			if len(attempts) == 0 {
				t.Fatal("the function never tried the queue")
			}
			id := attempts[0].JobID
			for _, a := range attempts {
				if a.JobID != id {
					t.Errorf("attempts for different jobs: %+v", attempts)
				}
			}
			t.Logf("%d SendMessage attempts for %s", len(attempts), id)
			if n := len(s.queue.messages("")); n != 0 {
				t.Errorf("the failing queue accepted %d messages", n)
			}

			// The job does not sit QUEUED: it is FAILED with ENQUEUE_FAILED.
			j := s.stored(t, id)
			if j.Status != jobs.Failed || j.Error == nil || j.Error.Code != jobs.EnqueueFailedCode ||
				j.CompletedAt.IsZero() || j.ExpiresAt.IsZero() || j.Version != 2 {
				t.Errorf("stored job = %+v, want FAILED with %s, completed, expiring, version 2", j, jobs.EnqueueFailedCode)
			}

			// And GET says so, to an admin and to the owner.
			for _, u := range []*user{&admin, &alice} {
				resp, _ := s.get.invoke(t, getJob(id, u, allowedOrigin).event())
				resp.wantStatus(t, 200)
				got := resp.fields(t)
				if got["jobId"] != id || got["status"] != "FAILED" {
					t.Errorf("GET as %s = %v, want %s FAILED", u.username, got, id)
				}
				e, _ := got["error"].(map[string]any)
				if e["code"] != jobs.EnqueueFailedCode || e["message"] == "" {
					t.Errorf("GET as %s: error = %v, want code %s and a message", u.username, got["error"], jobs.EnqueueFailedCode)
				}
				if _, ok := got["outputUrl"]; ok {
					t.Errorf("GET as %s: outputUrl on a FAILED job: %v", u.username, got)
				}
				wantTime(t, got, "completedAt")
			}
		})
	}
}

// TestDynamoDBUnavailable points the functions at a DynamoDB endpoint that
// refuses connections, and at one that accepts them and never answers: both
// must answer 503 with Retry-After within the function timeout, thanks to
// DYNAMODB_TIMEOUT_MS, rather than time out (a 502 from API Gateway). The
// function timeout here equals the default call timeout, so a function that
// ignored DYNAMODB_TIMEOUT_MS would time out.
func TestDynamoDBUnavailable(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	const timeoutSeconds = 3
	endpoints := []struct {
		name     string
		endpoint func(t *testing.T) string
	}{
		{"connection refused", closedEndpoint},
		{"no answer", silentEndpoint},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			t.Parallel()
			queue := newFakeSQS(t, sqsOK)
			env := map[string]string{
				"JOBS_TABLE":                  "Jobs",
				"AWS_ENDPOINT_URL_DYNAMODB":   ep.endpoint(t),
				"DYNAMODB_TIMEOUT_MS":         "500",
				"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(timeoutSeconds),
				"ALLOWED_ORIGINS":             allowedOrigins,
				"PIPELINE_QUEUE_URL":          queue.queueURL,
				"AWS_ENDPOINT_URL_SQS":        queue.endpoint(),
			}
			fns := map[string]struct {
				fn  *function
				req request
			}{
				"get":    {startFunction(t, "GetJobFn", getJobBin, env), getJob("job_"+strings.Repeat("1", 26), &alice, allowedOrigin)},
				"submit": {startFunction(t, "SubmitJobFn", submitJobBin, env), submitJob(`{"prompt":"A kite"}`, &alice, allowedOrigin)},
			}
			for name, f := range fns {
				t.Run(name, func(t *testing.T) {
					// Warm up with a request that needs no DynamoDB, so the
					// timing below is the invoke's alone, not the init's.
					f.fn.invoke(t, getJob("x", nil, "").event())
					resp, elapsed := f.fn.invoke(t, f.req.event())
					resp.wantError(t, 503, "service_unavailable")
					resp.wantCORS(t, allowedOrigin, true)
					if elapsed >= timeoutSeconds*time.Second {
						t.Errorf("answered after %v, not within the %ds function timeout", elapsed, timeoutSeconds)
					}
					t.Logf("503 after %v", elapsed.Round(time.Millisecond))
				})
			}
			if n := len(queue.attemptsFor("")); n != 0 {
				t.Errorf("a submit that could not be recorded was handed to the pipeline (%d messages)", n)
			}
		})
	}
}

// TestTableMissing runs the functions against a table that does not exist:
// a deployment error no retry cures, so the functions answer 500 with a
// generic message, never naming the table.
func TestTableMissing(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	queue := newFakeSQS(t, sqsOK)
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "Jobs-missing-" + hex.EncodeToString(b[:])
	env := map[string]string{
		"JOBS_TABLE":                table,
		"AWS_ENDPOINT_URL_DYNAMODB": testenv.Endpoint(t),
		"ALLOWED_ORIGINS":           allowedOrigins,
		"PIPELINE_QUEUE_URL":        queue.queueURL,
		"AWS_ENDPOINT_URL_SQS":      queue.endpoint(),
	}
	get := startFunction(t, "GetJobFn", getJobBin, env)
	submit := startFunction(t, "SubmitJobFn", submitJobBin, env)
	for name, c := range map[string]struct {
		fn  *function
		req request
	}{
		"get":    {get, getJob("job_"+strings.Repeat("2", 26), &alice, allowedOrigin)},
		"submit": {submit, submitJob(`{"prompt":"A kite"}`, &alice, allowedOrigin)},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := c.fn.invoke(t, c.req.event())
			resp.wantError(t, 500, "internal_error")
			resp.wantCORS(t, allowedOrigin, true)
			if strings.Contains(resp.Body, table) || !strings.Contains(resp.Body, "Internal error.") {
				t.Errorf("body = %s, want the generic message only", resp.Body)
			}
		})
	}
	if n := len(queue.attemptsFor("")); n != 0 {
		t.Errorf("%d messages sent for a job that was never recorded", n)
	}
}

// TestInitFailure checks that a function whose configuration is broken fails
// its init (Runtime.ExitError), which the emulator reports for the invoke at
// once and again on the next one, rather than hanging.
func TestInitFailure(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	cases := []struct {
		name      string
		bootstrap *string
		env       map[string]string
		log       string // what the function logs before exiting
	}{
		{"getjob without JOBS_TABLE", &getJobBin, map[string]string{"JOBS_TABLE": ""}, "JOBS_TABLE is not set"},
		{"getjob without ALLOWED_ORIGINS: no built-in origins", &getJobBin, map[string]string{"ALLOWED_ORIGINS": ""}, "ALLOWED_ORIGINS is not set"},
		{"submitjob without PIPELINE_QUEUE_URL", &submitJobBin, map[string]string{"PIPELINE_QUEUE_URL": ""}, "PIPELINE_QUEUE_URL is not set"},
		{"getjob with a bad DYNAMODB_TIMEOUT_MS", &getJobBin, map[string]string{"DYNAMODB_TIMEOUT_MS": "soon"}, "DYNAMODB_TIMEOUT_MS: a positive integer"},
		{"submitjob without a region", &submitJobBin, map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "AWS_REGION is not set"},
		{"listjobs without CURSOR_KEY", &listJobsBin, map[string]string{"CURSOR_KEY": ""}, "CURSOR_KEY is not set"},
		{"listjobs with a short CURSOR_KEY", &listJobsBin, map[string]string{"CURSOR_KEY": "too-short"}, "CURSOR_KEY: at least 32 bytes required, got 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				"JOBS_TABLE":                "Jobs",
				"AWS_ENDPOINT_URL_DYNAMODB": closedEndpoint(t),
				"PIPELINE_QUEUE_URL":        "http://127.0.0.1:9/" + accountID + "/video-pipeline-jobs",
				"AWS_ENDPOINT_URL_SQS":      "http://127.0.0.1:9",
			}
			for k, v := range c.env {
				env[k] = v
			}
			f := startFunction(t, "InitFailureFn", *c.bootstrap, env)
			for i := range 2 {
				status, body, elapsed := f.invokeRaw(t, getJob("job_"+strings.Repeat("3", 26), &alice, allowedOrigin).event())
				if status == 200 {
					t.Fatalf("invoke %d: HTTP 200 %s, want the emulator to report the failed init", i+1, body)
				}
				if elapsed >= functionTimeout*time.Second {
					t.Errorf("invoke %d: failed after %v, want well before the %ds init timeout", i+1, elapsed, functionTimeout)
				}
				t.Logf("invoke %d: HTTP %d %q after %v", i+1, status, body, elapsed.Round(time.Millisecond))
			}
			waitForOutput(t, f, c.log)
			waitForOutput(t, f, "Runtime.ExitError")
		})
	}
}

// waitForOutput waits a little for s to appear in a function's output, which
// the emulator and the bootstrap write asynchronously.
func waitForOutput(t *testing.T, f *function, s string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(f.Out.String(), s) {
		if time.Now().After(deadline) {
			t.Errorf("%s never logged %q", f.Name, s)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedEndpoint returns the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// silentEndpoint returns the URL of a loopback server that accepts
// connections and never answers, until the test ends.
func silentEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}
