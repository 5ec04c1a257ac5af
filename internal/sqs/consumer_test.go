package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/sqs"
	"github.com/deepfoundai/jobs-api/test/contracttest"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
	"github.com/deepfoundai/jobs-api/worker"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithDynamoDB(m)) }

// advancer is a fake jobs.Service.Advance.
type advancer struct {
	mu    sync.Mutex
	calls []jobs.Event
	fn    func(jobs.Event) (jobs.Job, jobs.Outcome, error)
}

func (a *advancer) Advance(_ context.Context, ev jobs.Event) (jobs.Job, jobs.Outcome, error) {
	a.mu.Lock()
	a.calls = append(a.calls, ev)
	a.mu.Unlock()
	return a.fn(ev)
}

func msg(id, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

func failed(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	slices.Sort(ids)
	return ids
}

func testLogger() (*slog.Logger, *testenv.LogBuffer) {
	var buf testenv.LogBuffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

func TestConsumerReportsWhatToRetry(t *testing.T) {
	t.Parallel()
	outcomeFor := map[string]func() (jobs.Job, jobs.Outcome, error){
		"job_applied":  func() (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, jobs.Applied, nil },
		"job_dup":      func() (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, jobs.Duplicate, nil },
		"job_stale":    func() (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, jobs.Stale, nil },
		"job_rejected": func() (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, jobs.Rejected, nil },
		"job_busy": func() (jobs.Job, jobs.Outcome, error) {
			return jobs.Job{}, "", jobs.Errorf(jobs.EUNAVAILABLE, "throttled")
		},
		"job_broken":  func() (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, "", fmt.Errorf("boom") },
		"job_unknown": func() (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, "", jobs.Errorf(jobs.ENOTFOUND, "no") },
	}
	fake := &advancer{fn: func(ev jobs.Event) (jobs.Job, jobs.Outcome, error) { return outcomeFor[ev.JobID]() }}
	log, logs := testLogger()
	c := sqs.NewConsumer(fake, log)
	var batch events.SQSEvent
	for id := range outcomeFor {
		batch.Records = append(batch.Records, msg("m-"+id, `{"jobId":"`+id+`","status":"PROCESSING","progress":5}`))
	}
	malformed := map[string]string{
		"m-notjson":     `not json`,
		"m-array":       `[1,2]`,
		"m-type":        `{"jobId":"job_1","status":"PROCESSING","progress":"5"}`,
		"m-fraction101": `{"jobId":"job_1","status":"PROCESSING","progress":100.5}`,
		"m-case":        `{"jobId":"job_1","Status":"PROCESSING"}`,
		"m-case-id":     `{"JOBID":"job_1","status":"PROCESSING"}`,
		"m-nooutput":    `{"jobId":"job_1","status":"COMPLETED"}`,
		"m-noerror":     `{"jobId":"job_1","status":"FAILED"}`,
		"m-status":      `{"jobId":"job_1","status":"DONE"}`,
		"m-queued":      `{"jobId":"job_1","status":"QUEUED"}`,
		"m-id":          `{"jobId":"../etc","status":"PROCESSING"}`,
		"m-two":         `{"jobId":"job_1","status":"PROCESSING"} {"jobId":"job_1","status":"PROCESSING"}`,
		"m-big":         `{"jobId":"job_1","status":"PROCESSING","progress":101,"pad":"` + strings.Repeat("x", 4000) + `"}`,
		"m-emptyerrmsg": `{"jobId":"job_1","status":"FAILED","error":{"code":"X","message":""}}`,
	}
	for id, body := range malformed {
		batch.Records = append(batch.Records, msg(id, body))
	}
	resp, err := c.Handle(context.Background(), batch)
	if err != nil {
		t.Fatalf("Handle returned an error (SQS would retry the whole batch): %v", err)
	}
	want := []string{"m-job_broken", "m-job_busy", "m-job_unknown"}
	for id := range malformed {
		want = append(want, id)
	}
	slices.Sort(want)
	if got := failed(resp); !slices.Equal(got, want) {
		t.Errorf("batch item failures =\n%v\nwant\n%v", got, want)
	}
	if len(fake.calls) != len(outcomeFor) {
		t.Errorf("Advance called %d times, want %d (malformed events never reach it)", len(fake.calls), len(outcomeFor))
	}
	out := logs.String()
	for _, want := range []string{"MALFORMED_STATUS_EVENT", "status event applied", "changes nothing", "contradicts", "unknown job", "SQS will redeliver"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(out, strings.Repeat("x", 2000)) {
		t.Errorf("a malformed body was logged whole; want it truncated")
	}
}

func TestConsumerKeepsOrderPerJobAndStopsAtTheDeadline(t *testing.T) {
	t.Parallel()
	fake := &advancer{fn: func(jobs.Event) (jobs.Job, jobs.Outcome, error) { return jobs.Job{}, jobs.Applied, nil }}
	c := &sqs.Consumer{Service: fake, Log: slog.New(slog.DiscardHandler), Concurrency: 3}
	var batch events.SQSEvent
	for i := range 10 {
		batch.Records = append(batch.Records, msg(fmt.Sprint(i), fmt.Sprintf(`{"jobId":"job_%d","status":"PROCESSING","progress":%d}`, i%2, i)))
	}
	resp, _ := c.Handle(context.Background(), batch)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %v", failed(resp))
	}
	last := map[string]int{}
	for _, ev := range fake.calls {
		if *ev.Progress < last[ev.JobID] {
			t.Errorf("events for %s applied out of batch order: %d after %d", ev.JobID, *ev.Progress, last[ev.JobID])
		}
		last[ev.JobID] = *ev.Progress
	}

	// An invocation with less time left than the reserve processes nothing
	// and leaves every message for redelivery.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.Reserve = 2 * time.Minute
	fake.calls = nil
	resp, _ = c.Handle(ctx, batch)
	if len(resp.BatchItemFailures) != len(batch.Records) || len(fake.calls) != 0 {
		t.Errorf("after the deadline: %d failures and %d calls; want every message left for redelivery, none applied", len(resp.BatchItemFailures), len(fake.calls))
	}
}

func TestStatusEventRoundTrip(t *testing.T) {
	t.Parallel()
	p := 40
	tests := []jobs.Event{
		{JobID: "job_1", Status: jobs.Processing, Progress: &p},
		{JobID: "job_1", Status: jobs.Completed, OutputURL: "https://cdn.example.com/o.mp4"},
		{JobID: "job_1", Status: jobs.Failed, Error: &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}},
		{JobID: "job_1", Status: jobs.Cancelled},
	}
	for _, ev := range tests {
		body := asWorkerSends(t, ev)
		got, err := sqs.DecodeStatusEvent(body)
		if err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip of %s: %+v, %v", body, got, err)
		}
	}
	// Fields the pipeline adds for itself are ignored.
	if _, err := sqs.DecodeStatusEvent([]byte(`{"jobId":"job_1","status":"CANCELLED","eventId":"e-1","at":"2025-06-23T12:00:00Z"}`)); err != nil {
		t.Errorf("extra fields: %v", err)
	}
}

// TestConsumerOnDynamoDB delivers a pipeline's events the way SQS does
// (duplicated, reordered, in two batches handled at once by two instances)
// to the real service on dynalite.
func TestConsumerOnDynamoDB(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	store := dynamodb.New(client, table)
	svc := &jobs.Service{Store: store, Now: func() time.Time { return jobstest.T0.Add(time.Hour) }}
	const n = 5
	for i := range n {
		if err := store.Create(context.Background(), jobstest.NewJob(fmt.Sprintf("job_%d", i), "alice")); err != nil {
			t.Fatal(err)
		}
	}
	var sequence []string // each job's life, in order
	for _, p := range []int{10, 50, 90} {
		sequence = append(sequence, fmt.Sprintf(`"status":"PROCESSING","progress":%d`, p))
	}
	sequence = append(sequence, `"status":"COMPLETED","outputUrl":"https://cdn.example.com/o.mp4"`)
	var all []events.SQSMessage
	for i := range n {
		for k, s := range sequence {
			all = append(all, msg(fmt.Sprintf("m%d-%d", i, k), fmt.Sprintf(`{"jobId":"job_%d",%s}`, i, s)))
		}
	}
	// Instance A gets everything backwards; instance B everything in order,
	// plus a malformed message: every event is delivered twice.
	backwards := slices.Clone(all)
	slices.Reverse(backwards)
	inOrder := append(slices.Clone(all), msg("bad", `{"jobId":"job_0","status":"COMPLETED"}`))
	c := sqs.NewConsumer(svc, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	resps := make([]events.SQSEventResponse, 2)
	for i, records := range [][]events.SQSMessage{backwards, inOrder} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(records) > 0 { // batches of 10, as SQS delivers
				k := min(10, len(records))
				r, _ := c.Handle(context.Background(), events.SQSEvent{Records: records[:k]})
				resps[i].BatchItemFailures = append(resps[i].BatchItemFailures, r.BatchItemFailures...)
				records = records[k:]
			}
		}()
	}
	wg.Wait()
	for i, r := range resps {
		for _, f := range r.BatchItemFailures {
			// Contention may leave a message for redelivery; the malformed
			// one always is.
			if f.ItemIdentifier == "bad" {
				continue
			}
			t.Logf("instance %d: %s left for redelivery", i, f.ItemIdentifier)
		}
	}
	if got := failed(resps[1]); !slices.Contains(got, "bad") {
		t.Errorf("malformed message not reported as a failure: %v", got)
	}
	for i := range n {
		j, err := store.GetLatest(context.Background(), fmt.Sprintf("job_%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != jobs.Completed || j.Progress != 100 || j.OutputURL == "" || j.StartedAt.IsZero() || j.ExpiresAt.IsZero() {
			t.Errorf("job_%d ended %s %d%%; want COMPLETED 100%% with output, startedAt and expiresAt", i, j.Status, j.Progress)
		}
		// Writes: at most one per distinct step (3 progress values, 1 end).
		if j.Version > int64(1+len(sequence)) {
			t.Errorf("job_%d has version %d: duplicates were written", i, j.Version)
		}
	}
}

// TestDecodeStatusEventProgress: a fractional progress (a percentage
// computation) is accepted and rounded down, never sent to the DLQ.
func TestDecodeStatusEventProgress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want int
	}{
		{`{"jobId":"job_1","status":"PROCESSING","progress":40.5}`, 40},
		{`{"jobId":"job_1","status":"PROCESSING","progress":99.999}`, 99},
		{`{"jobId":"job_1","status":"PROCESSING","progress":0.2}`, 0},
		{`{"jobId":"job_1","status":"PROCESSING","progress":100.0}`, 100},
		{`{"jobId":"job_1","status":"PROCESSING","progress":4e1}`, 40},
	}
	for _, tt := range tests {
		ev, err := sqs.DecodeStatusEvent([]byte(tt.body))
		if err != nil || ev.Progress == nil || *ev.Progress != tt.want {
			t.Errorf("DecodeStatusEvent(%s) = %+v, %v; want progress %d", tt.body, ev, err, tt.want)
		}
	}
	for _, body := range []string{
		`{"jobId":"job_1","status":"PROCESSING","progress":-0.5}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":100.01}`,
		`{"jobId":"job_1","status":"PROCESSING","Progress":5}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":"5"}`,
	} {
		if _, err := sqs.DecodeStatusEvent([]byte(body)); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("DecodeStatusEvent(%s) error = %v, want %s", body, err, jobs.EINVALID)
		}
	}
}

// TestDecodeStatusEventStrict: a status event is one JSON object whose
// member names occur once each, in their exact spelling; anything else goes
// to the dead-letter queue rather than being read one of two ways.
func TestDecodeStatusEventStrict(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"jobId":"job_1","jobId":"job_2","status":"PROCESSING"}`,
		`{"jobId":"job_1","JobID":"job_2","status":"PROCESSING"}`,
		`{"jobId":"job_1","status":"PROCESSING","Status":"FAILED"}`,
		`{"jobId":"job_1","status":"PROCESSING","status":"FAILED","error":{"code":"X","message":"y"}}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"https://cdn.example.com/a.mp4","outputURL":"https://evil.example/b.mp4"}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"https://cdn.example.com/a.mp4","outputUrl":"https://evil.example/b.mp4"}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"X","code":"Y","message":"y"}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"X","Code":"Y","message":"y"}}`,
		`{"jobId":"job_1","status":"PROCESSING"}]`,
		`{"jobId":"job_1","status":"PROCESSING"}{}`,
	} {
		if ev, err := sqs.DecodeStatusEvent([]byte(body)); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("DecodeStatusEvent(%s) = %+v, %v; want %s", body, ev, err, jobs.EINVALID)
		}
	}
}

// TestStatusEventSchemaAgrees holds docs/schemas/status-event.schema.json and
// DecodeStatusEvent to the same answer on every body: what one accepts the
// other accepts, what one refuses the other refuses.
func TestStatusEventSchemaAgrees(t *testing.T) {
	t.Parallel()
	long := "https://cdn.example.com/" + strings.Repeat("a", 2048-24)
	bodies := []string{
		`{"jobId":"job_1","status":"PROCESSING","progress":40}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":40.5}`,
		`{"jobId":"job_1","status":"PROCESSING"}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":0}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":100}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":-1}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":101}`,
		`{"jobId":"job_1","status":"PROCESSING","progress":"5"}`,
		`{"jobId":"job_1","status":"PROCESSING","eventId":"e-1","sentAt":"2025-06-23T12:00:00Z"}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"https://cdn.example.com/o.mp4"}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"` + long + `"}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"` + long + `b"}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"ftp://cdn.example.com/o.mp4"}`,
		`{"jobId":"job_1","status":"COMPLETED"}`,
		`{"jobId":"job_1","status":"PROCESSING","outputUrl":"https://cdn.example.com/o.mp4"}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"GPU_OOM","message":"out of memory"}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"` + strings.Repeat("C", 64) + `","message":"` + strings.Repeat("m", 1024) + `"}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"` + strings.Repeat("C", 65) + `","message":"m"}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"X","message":""}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"QUEUE_TIMEOUT","message":"m"}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"ENQUEUE_FAILED","message":"m"}}`,
		`{"jobId":"job_1","status":"FAILED"}`,
		`{"jobId":"job_1","status":"CANCELLED"}`,
		`{"jobId":"job_1","status":"CANCELLED","error":{"code":"X","message":"x"}}`,
		`{"jobId":"job_1","status":"QUEUED"}`,
		`{"jobId":"job_1","status":"processing"}`,
		`{"jobId":"job_1","Status":"PROCESSING"}`,
		`{"JobId":"job_1","status":"PROCESSING"}`,
		`{"jobId":"job_1","status":"PROCESSING","OUTPUTURL":"x"}`,
		`{"jobId":"../etc","status":"PROCESSING"}`,
		`{"jobId":"","status":"PROCESSING"}`,
		`{"jobId":"` + strings.Repeat("j", 129) + `","status":"PROCESSING"}`,
		`{"status":"PROCESSING"}`,
		`[1,2]`,
		`"PROCESSING"`,
	}
	for _, body := range bodies {
		ev, decodeErr := sqs.DecodeStatusEvent([]byte(body))
		if decodeErr == nil && ev.Error != nil && jobs.ServiceErrorCode(ev.Error.Code) {
			decodeErr = errors.New("Advance refuses the service's own error codes")
		}
		schemaErr := contracttest.Check(t, contracttest.StatusEvent, []byte(body))
		if (decodeErr == nil) != (schemaErr == nil) {
			t.Errorf("%.120s:\n  DecodeStatusEvent: %v\n  schema: %v", body, decodeErr, schemaErr)
		}
	}
	// What Go producers send is valid.
	for _, ev := range []jobs.Event{
		{JobID: "job_1", Status: jobs.Processing, Progress: new(int)},
		{JobID: "job_1", Status: jobs.Completed, OutputURL: "https://cdn.example.com/o.mp4?a=1&b=2"},
		{JobID: "job_1", Status: jobs.Failed, Error: &jobs.JobError{Code: "X", Message: "x"}},
	} {
		contracttest.Valid(t, contracttest.StatusEvent, asWorkerSends(t, ev))
	}
}

// asWorkerSends encodes ev as a Go worker sends it: the public worker
// package's StatusEvent as JSON.
func asWorkerSends(t *testing.T, ev jobs.Event) []byte {
	t.Helper()
	se := worker.StatusEvent{JobID: ev.JobID, Status: worker.Status(ev.Status), OutputURL: ev.OutputURL}
	if ev.Progress != nil {
		p := float64(*ev.Progress)
		se.Progress = &p
	}
	if ev.Error != nil {
		se.Error = &worker.EventError{Code: ev.Error.Code, Message: ev.Error.Message}
	}
	body, err := json.Marshal(se)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
