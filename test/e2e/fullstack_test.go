package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// statusEventsARN is the status-events queue UpdateJobFn consumes, named as
// template.yaml names it.
const statusEventsARN = "arn:aws:sqs:us-east-1:" + accountID + ":jobs-api-" + stage + "-status-events"

// fullStack is all five functions on one jobs table: the two of stack, and
// ListJobsFn, CancelJobFn and UpdateJobFn.
type fullStack struct {
	*stack
	list   *function
	cancel *function
	update *function
}

func newFullStack(t *testing.T) *fullStack {
	t.Helper()
	s := &fullStack{stack: newStack(t, sqsOK)}
	env := func(extra ...string) map[string]string {
		m := map[string]string{
			"JOBS_TABLE":                s.table,
			"AWS_ENDPOINT_URL_DYNAMODB": testenv.Endpoint(t),
			"ALLOWED_ORIGINS":           allowedOrigins,
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	s.list = startFunction(t, "ListJobsFn", listJobsBin, env("CURSOR_KEY", randHex(64)))
	s.cancel = startFunction(t, "CancelJobFn", cancelJobBin, env())
	s.update = startFunction(t, "UpdateJobFn", updateJobBin, env())
	return s
}

func listJobs(query url.Values, u *user, origin string) request {
	return request{method: "GET", path: "/v1/jobs", resource: "/v1/jobs", query: query, origin: origin, user: u}
}

func cancelJob(id string, u *user, origin string) request {
	return request{method: "POST", path: "/v1/jobs/" + id + "/cancel", resource: "/v1/jobs/{id}/cancel",
		params: map[string]string{"id": id}, origin: origin, user: u}
}

// sqsMessage is one message of the status-events queue.
type sqsMessage struct {
	id           string // messageId: the same on every delivery of the message
	body         string
	receiveCount int // ApproximateReceiveCount; 0 means 1
}

// newMessage is a message the pipeline sent with body, delivered once so far.
func newMessage(body string) sqsMessage { return sqsMessage{id: newUUID(), body: body} }

// statusEvent renders a pipeline status event as the message body.
func statusEvent(fields map[string]any) string {
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sqsBatch renders msgs as the SQS event of one invocation, as Lambda's
// event source mapping sends it: a receipt handle per delivery, the
// system attributes, the body's MD5 and the queue's ARN and region.
func sqsBatch(msgs ...sqsMessage) map[string]any {
	sent := time.Now().Add(-2 * time.Second).UnixMilli()
	records := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		count := max(m.receiveCount, 1)
		sum := md5.Sum([]byte(m.body))
		handle := make([]byte, 96)
		_, _ = rand.Read(handle)
		records[i] = map[string]any{
			"messageId":     m.id,
			"receiptHandle": "AQEB" + base64.StdEncoding.EncodeToString(handle),
			"body":          m.body,
			"attributes": map[string]string{
				"ApproximateReceiveCount":          strconv.Itoa(count),
				"SentTimestamp":                    strconv.FormatInt(sent, 10),
				"SenderId":                         "AROAE2ETESTPIPELINE01:video-pipeline-worker",
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(sent+15, 10),
				"AWSTraceHeader":                   "Root=1-" + randHex(8) + "-" + randHex(24) + ";Parent=" + randHex(16) + ";Sampled=0",
			},
			"messageAttributes": map[string]any{},
			"md5OfBody":         hex.EncodeToString(sum[:]),
			"eventSource":       "aws:sqs",
			"eventSourceARN":    statusEventsARN,
			"awsRegion":         "us-east-1",
		}
	}
	return map[string]any{"Records": records}
}

// consume invokes UpdateJobFn with an SQS event and returns the ids of the
// messages it reported as batch item failures, sorted.
func (f *function) consume(t *testing.T, batch map[string]any) []string {
	t.Helper()
	status, body, _ := f.invokeRaw(t, batch)
	if status != http.StatusOK {
		t.Fatalf("invoke %s: emulator answered HTTP %d: %s", f.Name, status, body)
	}
	// A function error (errorMessage, errorType) is no SQSEventResponse:
	// Lambda would retry the whole batch.
	var r events.SQSEventResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("invoke %s: not an SQS batch response (%v): %s", f.Name, err, body)
	}
	ids := make([]string, 0, len(r.BatchItemFailures))
	for _, fail := range r.BatchItemFailures {
		ids = append(ids, fail.ItemIdentifier)
	}
	slices.Sort(ids)
	return ids
}

// wantFailures checks a batch response's failures against the message ids.
func wantFailures(t *testing.T, got []string, want ...sqsMessage) {
	t.Helper()
	ids := make([]string, len(want))
	for i, m := range want {
		ids[i] = m.id
	}
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("batchItemFailures = %q, want %q", got, ids)
	}
}

// wantOutcomes waits for UpdateJobFn's log to say, for each message id, how
// its event was handled: an Advance outcome ("applied", "duplicate",
// "stale", "rejected") or "malformed" (MALFORMED_STATUS_EVENT). receiveCount
// tells apart deliveries of one message.
func wantOutcomes(t *testing.T, f *function, receiveCount int, want map[sqsMessage]string) {
	t.Helper()
	got := map[string]string{}
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, rec := range logRecords(f) {
			id, _ := rec["messageId"].(string)
			if rec["receiveCount"] != strconv.Itoa(receiveCount) {
				continue
			}
			if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "MALFORMED_STATUS_EVENT") {
				got[id] = "malformed"
			} else if o, ok := rec["outcome"].(string); ok {
				got[id] = o
			}
		}
		missing := false
		for m := range want {
			if _, ok := got[m.id]; !ok {
				missing = true
			}
		}
		if !missing || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for m, outcome := range want {
		if got[m.id] != outcome {
			t.Errorf("message %s (%s): logged outcome %q, want %q", m.id, m.body, got[m.id], outcome)
		}
	}
}

// logRecords returns the JSON log records a function wrote so far; the
// emulator's own lines are not JSON.
func logRecords(f *function) []map[string]any {
	var recs []map[string]any
	for _, line := range strings.Split(f.Out.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			recs = append(recs, rec)
		}
	}
	return recs
}

// jobIDs returns the jobIds of a list body, in order.
func jobIDs(t *testing.T, fields map[string]any) []string {
	t.Helper()
	list, ok := fields["jobs"].([]any)
	if !ok {
		t.Fatalf("jobs = %v, want an array", fields["jobs"])
	}
	ids := make([]string, len(list))
	for i, j := range list {
		m, _ := j.(map[string]any)
		ids[i], _ = m["jobId"].(string)
	}
	return ids
}

// listAll follows nextCursor from the first page of query and returns every
// job id, in order, and how many pages it took.
func (s *fullStack) listAll(t *testing.T, query url.Values, u *user) (ids []string, pages int) {
	t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for pages < 10 {
		resp, _ := s.list.invoke(t, listJobs(q, u, allowedOrigin).event())
		resp.wantStatus(t, 200)
		resp.wantCORS(t, allowedOrigin, true)
		page := resp.fields(t)
		pages++
		ids = append(ids, jobIDs(t, page)...)
		next, _ := page["nextCursor"].(string)
		if next == "" {
			return ids, pages
		}
		q.Set("cursor", next)
	}
	t.Fatalf("still a nextCursor after %d pages: %q", pages, ids)
	return nil, 0
}

// TestFullStack runs a job's whole life through the built binaries of all
// five functions: submitted, moved by the pipeline's status events (with the
// duplicates, reordering and garbage an SQS queue delivers), polled,
// listed and cancelled.
func TestFullStack(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	s := newFullStack(t)

	// Alice submits three jobs, Bob one in between.
	submit := func(u *user, prompt string) string {
		t.Helper()
		resp, _ := s.submit.invoke(t, submitJob(`{"prompt":"`+prompt+`"}`, u, allowedOrigin).event())
		resp.wantStatus(t, 202)
		id, _ := resp.fields(t)["jobId"].(string)
		if !jobIDPattern.MatchString(id) {
			t.Fatalf("jobId = %q", id)
		}
		return id
	}
	rendered := submit(&alice, "A heron taking off from a misty lake")
	bobs := submit(&bob, "A train crossing a viaduct")
	cancelled := submit(&alice, "A market street in the rain")
	queued := submit(&alice, "Northern lights over a cabin")
	if n := len(s.queue.messages("")); n != 4 {
		t.Fatalf("pipeline queue holds %d messages, want 4", n)
	}

	// The pipeline starts the job and reports on the status-events queue:
	// progress 30, the same report again (SQS delivers at least once), an
	// older progress report overtaken by the newer one, and a message no
	// version of the pipeline should send.
	progress30 := newMessage(statusEvent(map[string]any{"jobId": rendered, "status": "PROCESSING", "progress": 30}))
	again := newMessage(progress30.body)
	older := newMessage(statusEvent(map[string]any{"jobId": rendered, "status": "PROCESSING", "progress": 10}))
	malformed := newMessage(statusEvent(map[string]any{"jobId": rendered, "status": "DONE", "progress": 100}))
	failures := s.update.consume(t, sqsBatch(progress30, again, older, malformed))
	wantFailures(t, failures, malformed)
	wantOutcomes(t, s.update, 1, map[sqsMessage]string{
		progress30: "applied", again: "duplicate", older: "stale", malformed: "malformed",
	})
	if j := s.stored(t, rendered); j.Status != jobs.Processing || j.Progress != 30 || j.Version != 2 || j.StartedAt.IsZero() {
		t.Fatalf("stored job after the first batch = %+v, want PROCESSING, progress 30, started, version 2", j)
	}

	// A dashboard polls: 200 with an ETag, then 304 while nothing changes.
	resp, _ := s.get.invoke(t, getJob(rendered, &alice, allowedOrigin).event())
	resp.wantStatus(t, 200)
	processingTag, _ := resp.header("ETag")
	if want := apigw.ETag(s.stored(t, rendered)); processingTag != want {
		t.Errorf("ETag = %q, want %q", processingTag, want)
	}
	resp.wantHeader(t, "Retry-After", "5")
	if got := resp.fields(t); got["status"] != "PROCESSING" || got["progress"] != 30.0 || got["terminal"] != nil {
		t.Errorf("GET = %v, want PROCESSING at 30, not terminal", got)
	}
	poll := getJob(rendered, &alice, allowedOrigin)
	poll.headers = map[string]string{"If-None-Match": processingTag}
	resp, _ = s.get.invoke(t, poll.event())
	wantNotModified(t, resp, processingTag)
	resp.wantHeader(t, "Retry-After", "5")

	// The job completes. With it come the malformed message, redelivered
	// after its visibility timeout, and a progress report that arrives
	// after the end.
	outputURL := "https://cdn.e2e.example/v/" + rendered + ".mp4"
	completed := newMessage(statusEvent(map[string]any{"jobId": rendered, "status": "COMPLETED", "outputUrl": outputURL}))
	redelivered := malformed
	redelivered.receiveCount = 2
	late := newMessage(statusEvent(map[string]any{"jobId": rendered, "status": "PROCESSING", "progress": 60}))
	failures = s.update.consume(t, sqsBatch(completed, redelivered, late))
	wantFailures(t, failures, malformed)
	wantOutcomes(t, s.update, 1, map[sqsMessage]string{completed: "applied", late: "stale"})
	wantOutcomes(t, s.update, 2, map[sqsMessage]string{redelivered: "malformed"})
	j := s.stored(t, rendered)
	if j.Status != jobs.Completed || j.Progress != 100 || j.OutputURL != outputURL || j.Version != 3 ||
		j.CompletedAt.IsZero() || j.ExpiresAt.IsZero() {
		t.Fatalf("stored job = %+v, want COMPLETED, progress 100, the output URL, version 3, completed, expiring", j)
	}

	t.Run("get completed", func(t *testing.T) {
		resp, _ := s.get.invoke(t, poll.event()) // the old ETag no longer matches
		resp.wantStatus(t, 200)
		resp.wantCORS(t, allowedOrigin, true)
		resp.wantNoHeader(t, "Retry-After") // terminal: stop polling
		tag, _ := resp.header("ETag")
		if tag == processingTag || tag != apigw.ETag(j) {
			t.Errorf("ETag = %q, want %q (and not the PROCESSING one, %q)", tag, apigw.ETag(j), processingTag)
		}
		got := resp.fields(t)
		if got["jobId"] != rendered || got["status"] != "COMPLETED" || got["progress"] != 100.0 ||
			got["outputUrl"] != outputURL || got["terminal"] != true {
			t.Errorf("GET = %v, want COMPLETED at 100 with outputUrl %s, terminal", got, outputURL)
		}
		wantTime(t, got, "startedAt")
		wantTime(t, got, "completedAt")
		if _, ok := got["error"]; ok {
			t.Errorf("error on a COMPLETED job: %v", got)
		}

		cond := getJob(rendered, &alice, allowedOrigin)
		cond.headers = map[string]string{"If-None-Match": tag}
		resp, _ = s.get.invoke(t, cond.event())
		wantNotModified(t, resp, tag)
		resp.wantNoHeader(t, "Retry-After")

		// Authorization comes first: a matching ETag tells Bob nothing.
		cond.user = &bob
		resp, _ = s.get.invoke(t, cond.event())
		resp.wantError(t, 404, "not_found")
	})

	t.Run("cancel", func(t *testing.T) {
		cases := []struct {
			name   string
			req    request
			status int
			code   string
		}{
			{"a queued job", cancelJob(cancelled, &alice, allowedOrigin), 200, ""},
			{"the cancelled job again", cancelJob(cancelled, &alice, allowedOrigin), 200, ""},
			{"a completed job", cancelJob(rendered, &alice, allowedOrigin), 409, "conflict"},
			{"another user's job", cancelJob(queued, &bob, allowedOrigin), 404, "not_found"},
			{"no claims", cancelJob(queued, nil, allowedOrigin), 401, "unauthorized"},
		}
		for _, c := range cases { // in order: the second cancel sees the first
			t.Run(c.name, func(t *testing.T) {
				resp, _ := s.cancel.invoke(t, c.req.event())
				resp.wantCORS(t, allowedOrigin, true)
				if c.code != "" {
					resp.wantError(t, c.status, c.code)
					return
				}
				resp.wantStatus(t, c.status)
				resp.wantNoHeader(t, "Retry-After")
				got := resp.fields(t)
				if got["jobId"] != cancelled || got["status"] != "CANCELLED" || got["terminal"] != true {
					t.Errorf("body = %v, want %s CANCELLED, terminal", got, cancelled)
				}
				wantTime(t, got, "completedAt")
			})
		}
		if j := s.stored(t, cancelled); j.Status != jobs.Cancelled || j.Version != 2 || j.ExpiresAt.IsZero() {
			t.Errorf("stored cancelled job = %+v, want CANCELLED once (version 2), expiring", j)
		}
		if j := s.stored(t, queued); j.Status != jobs.Queued || j.Version != 1 {
			t.Errorf("stored job Bob tried to cancel = %+v, want QUEUED, version 1", j)
		}
		if j := s.stored(t, rendered); j.Version != 3 {
			t.Errorf("stored completed job has version %d after a refused cancel, want 3", j.Version)
		}
	})

	t.Run("list", func(t *testing.T) {
		// Newest first, two per page: every page but the last has a cursor.
		ids, pages := s.listAll(t, url.Values{"limit": {"2"}}, &alice)
		if want := []string{queued, cancelled, rendered}; !slices.Equal(ids, want) {
			t.Errorf("Alice's jobs = %q, want %q (newest first)", ids, want)
		}
		if pages < 2 {
			t.Errorf("3 jobs, 2 per page, in %d page(s)", pages)
		}
		if ids, _ := s.listAll(t, nil, &bob); !slices.Equal(ids, []string{bobs}) {
			t.Errorf("Bob's jobs = %q, want only %s", ids, bobs)
		}
		ids, _ = s.listAll(t, url.Values{"scope": {"all"}, "status": {"queued"}}, &admin)
		if want := []string{queued, bobs}; !slices.Equal(ids, want) {
			t.Errorf("admin's QUEUED jobs = %q, want %q", ids, want)
		}

		// The first page, its statuses, and its cursor in others' hands.
		resp, _ := s.list.invoke(t, listJobs(url.Values{"limit": {"2"}}, &alice, allowedOrigin).event())
		resp.wantStatus(t, 200)
		page := resp.fields(t)
		list, _ := page["jobs"].([]any)
		var statuses []string
		for _, j := range list {
			m, _ := j.(map[string]any)
			st, _ := m["status"].(string)
			statuses = append(statuses, st)
		}
		if want := []string{"QUEUED", "CANCELLED"}; !slices.Equal(statuses, want) {
			t.Errorf("first page statuses = %q, want %q", statuses, want)
		}
		cursor, _ := page["nextCursor"].(string)
		if cursor == "" {
			t.Fatalf("first page of 2 of 3 jobs has no nextCursor: %v", page)
		}
		for _, c := range []struct {
			name string
			req  request
		}{
			{"another user's cursor", listJobs(url.Values{"limit": {"2"}, "cursor": {cursor}}, &bob, allowedOrigin)},
			{"the cursor of another query", listJobs(url.Values{"status": {"QUEUED"}, "cursor": {cursor}}, &alice, allowedOrigin)},
			{"an altered cursor", listJobs(url.Values{"cursor": {alter(cursor)}}, &alice, allowedOrigin)},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, _ := s.list.invoke(t, c.req.event())
				resp.wantError(t, 400, "invalid_request")
				resp.wantCORS(t, allowedOrigin, true)
			})
		}
	})

	t.Run("batch", func(t *testing.T) {
		unknown := "job_" + strings.Repeat("0", 26)
		asked := strings.Join([]string{rendered, bobs, unknown, queued, cancelled, rendered}, ",")
		for _, c := range []struct {
			user *user
			want []string
		}{
			{&alice, []string{rendered, queued, cancelled}},
			{&bob, []string{bobs}},
			{&admin, []string{rendered, bobs, queued, cancelled}},
		} {
			resp, _ := s.list.invoke(t, listJobs(url.Values{"ids": {asked}}, c.user, allowedOrigin).event())
			resp.wantStatus(t, 200)
			resp.wantCORS(t, allowedOrigin, true)
			got := resp.fields(t)
			if ids := jobIDs(t, got); !slices.Equal(ids, c.want) {
				t.Errorf("ids=%s as %s: %q, want %q", asked, c.user.username, ids, c.want)
			}
			if _, ok := got["nextCursor"]; ok {
				t.Errorf("a batch answer has a nextCursor: %v", got)
			}
		}
	})
}

// wantNotModified checks a 304: no body, no Content-Type, the ETag, and
// the headers every response has, CORS included.
func wantNotModified(t *testing.T, resp apiResponse, etag string) {
	t.Helper()
	resp.wantStatus(t, 304)
	if resp.Body != "" {
		t.Errorf("304 with a body: %q", resp.Body)
	}
	resp.wantNoHeader(t, "Content-Type")
	resp.wantHeader(t, "ETag", etag)
	resp.wantHeader(t, "Cache-Control", "private, no-cache, no-store")
	resp.wantCORS(t, allowedOrigin, true)
}

// alter flips one character in the middle of s.
func alter(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
