package appsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/deepfoundai/jobs-api/internal/appsync"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// eventsAPI is a stand-in publish endpoint: it records what it accepts and
// fails the channels in fail (HTTP 503) or answers failed[] for those in
// reject.
type eventsAPI struct {
	mu        sync.Mutex
	got       map[string][]string // channel -> events, in arrival order
	requests  []*http.Request
	fail      map[string]bool
	reject    map[string]bool
	bodyCheck func(*http.Request, []byte)
}

func (a *eventsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var req struct {
		Channel string   `json:"channel"`
		Events  []string `json:"events"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r)
	if a.bodyCheck != nil {
		a.bodyCheck(r, raw)
	}
	if a.fail[req.Channel] {
		http.Error(w, `{"errors":[{"errorType":"ServiceUnavailable"}]}`, http.StatusServiceUnavailable)
		return
	}
	type item struct {
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
		Code       int    `json:"code,omitempty"`
		Message    string `json:"message,omitempty"`
	}
	var ok, failed []item
	for i, e := range req.Events {
		if a.reject[req.Channel] {
			failed = append(failed, item{Identifier: strconv.Itoa(i), Index: i, Code: 400, Message: "rejected"})
			continue
		}
		a.got[req.Channel] = append(a.got[req.Channel], e)
		ok = append(ok, item{Identifier: strconv.Itoa(i), Index: i})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"successful": ok, "failed": failed})
}

func newEventsAPI(t *testing.T) (*eventsAPI, *appsync.Client) {
	t.Helper()
	a := &eventsAPI{got: map[string][]string{}, fail: map[string]bool{}, reject: map[string]bool{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")
	return a, appsync.NewClient(srv.URL+"/event", aws.Config{Region: "us-east-1", Credentials: creds, HTTPClient: srv.Client()})
}

func TestClientPublishSignsAndReportsFailures(t *testing.T) {
	t.Parallel()
	a, c := newEventsAPI(t)
	a.bodyCheck = func(r *http.Request, _ []byte) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/us-east-1/appsync/aws4_request") {
			t.Errorf("Authorization = %q, want a SigV4 signature for appsync in us-east-1", auth)
		}
		if r.Header.Get("X-Amz-Security-Token") != "session-token" || r.Header.Get("X-Amz-Date") == "" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v: want the session token, X-Amz-Date and JSON", r.Header)
		}
	}
	ctx := context.Background()
	if err := c.Publish(ctx, "/jobs/a", []string{`{"n":1}`, `{"n":2}`}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := a.got["/jobs/a"]; len(got) != 2 || got[1] != `{"n":2}` {
		t.Errorf("published %v", got)
	}
	a.fail["/jobs/down"], a.reject["/jobs/no"] = true, true
	tests := []struct {
		name, channel string
		events        []string
		code          jobs.Code
	}{
		{"HTTP error", "/jobs/down", []string{`{}`}, jobs.EUNAVAILABLE},
		{"events failed", "/jobs/no", []string{`{}`}, jobs.EUNAVAILABLE},
		{"none", "/jobs/a", nil, jobs.EINTERNAL},
		{"too many", "/jobs/a", []string{"1", "2", "3", "4", "5", "6"}, jobs.EINTERNAL},
	}
	for _, tt := range tests {
		err := c.Publish(ctx, tt.channel, tt.events)
		if jobs.ErrorCode(err) != tt.code {
			t.Errorf("%s: error %v, want code %s", tt.name, err, tt.code)
		}
	}
	var unreachable appsync.Client = *c
	unreachable.URL = "http://127.0.0.1:1/event"
	if err := unreachable.Publish(ctx, "/jobs/a", []string{"{}"}); jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Errorf("unreachable endpoint: %v, want EUNAVAILABLE", err)
	}
}

// record is a stream record of a job write: an image with the fields the
// test decoder reads.
func record(seq int, name events.DynamoDBOperationType, id, owner string, version int) events.DynamoDBEventRecord {
	img := map[string]events.DynamoDBAttributeValue{
		"jobId":   events.NewStringAttribute(id),
		"version": events.NewNumberAttribute(strconv.Itoa(version)),
	}
	if owner != "" {
		img["ownerId"] = events.NewStringAttribute(owner)
	}
	r := events.DynamoDBEventRecord{EventID: fmt.Sprint("e", seq), EventName: string(name)}
	r.Change.SequenceNumber = fmt.Sprintf("%021d", seq)
	if name != events.DynamoDBOperationTypeRemove {
		r.Change.NewImage = img
	}
	return r
}

func decode(img map[string]events.DynamoDBAttributeValue) (jobs.Job, error) {
	if img["jobId"].IsNull() || img["jobId"].DataType() != events.DataTypeString {
		return jobs.Job{}, errors.New("no jobId")
	}
	v, _ := strconv.ParseInt(img["version"].Number(), 10, 64)
	j := jobs.Job{ID: img["jobId"].String(), Version: v}
	if o, ok := img["ownerId"]; ok {
		j.OwnerID = o.String()
	}
	return j, nil
}

func render(j jobs.Job) ([]byte, error) {
	return []byte(fmt.Sprintf(`{"id":%q,"v":%d}`, j.ID, j.Version)), nil
}

func TestStreamHandlerPublishesEveryChangeToItsOwnersChannel(t *testing.T) {
	t.Parallel()
	var recs []events.DynamoDBEventRecord
	seq := 0
	add := func(name events.DynamoDBOperationType, id, owner string, v int) {
		seq++
		recs = append(recs, record(seq, name, id, owner, v))
	}
	for v := 1; v <= 7; v++ { // 7 changes of alice's job: two requests, in order
		add(events.DynamoDBOperationTypeModify, "job_a", "alice", v)
	}
	add(events.DynamoDBOperationTypeInsert, "job_b", "bob", 1)
	add(events.DynamoDBOperationTypeRemove, "job_old", "bob", 9) // TTL: nothing to say
	add(events.DynamoDBOperationTypeInsert, "job_legacy", "", 3)
	bad := record(99, events.DynamoDBOperationTypeModify, "", "", 0)
	bad.Change.NewImage = map[string]events.DynamoDBAttributeValue{"x": events.NewNullAttribute()}
	recs = append(recs, bad)

	a, c := newEventsAPI(t)
	logs := &testenv.LogBuffer{}
	h := &appsync.StreamHandler{Publisher: c, Decode: decode, Render: render, Log: slog.New(slog.NewJSONHandler(logs, nil))}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %+v, %v; want every record done", resp, err)
	}
	var want []string
	for v := 1; v <= 7; v++ {
		want = append(want, fmt.Sprintf(`{"id":"job_a","v":%d}`, v))
	}
	if got := a.got["/jobs/alice"]; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("alice's channel got %v, want %v in order", got, want)
	}
	if got := a.got["/jobs/bob"]; len(got) != 1 || got[0] != `{"id":"job_b","v":1}` {
		t.Errorf("bob's channel got %v, want only job_b's insert", got)
	}
	if got := a.got["/jobs/"+appsync.OwnerlessSegment]; len(got) != 1 {
		t.Errorf("ownerless channel got %v, want the legacy job", got)
	}
	if n := len(a.requests); n != 4 {
		t.Errorf("%d publish requests, want 4 (alice 5+2, bob, ownerless)", n)
	}
	if !strings.Contains(logs.String(), "UNPUBLISHABLE_CHANGE") {
		t.Errorf("the undecodable record was not logged: %s", logs.String())
	}
}

func TestStreamHandlerRetriesFromTheFirstFailure(t *testing.T) {
	t.Parallel()
	recs := []events.DynamoDBEventRecord{
		record(1, events.DynamoDBOperationTypeInsert, "job_a", "alice", 1),
		record(2, events.DynamoDBOperationTypeInsert, "job_b", "bob", 1),
		record(3, events.DynamoDBOperationTypeModify, "job_a", "alice", 2),
		record(4, events.DynamoDBOperationTypeModify, "job_c", "carol", 2),
	}
	tests := []struct {
		name      string
		down      []string
		retryFrom string // "" = none
	}{
		{"all up", nil, ""},
		{"bob's publish fails", []string{"/jobs/bob"}, recs[1].Change.SequenceNumber},
		{"carol's and alice's fail", []string{"/jobs/carol", "/jobs/alice"}, recs[0].Change.SequenceNumber},
	}
	for _, tt := range tests {
		a, c := newEventsAPI(t)
		for _, ch := range tt.down {
			a.fail[ch] = true
		}
		h := &appsync.StreamHandler{Publisher: c, Decode: decode, Render: render, Log: slog.New(slog.DiscardHandler), Concurrency: 1}
		resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ""
		if len(resp.BatchItemFailures) == 1 {
			got = resp.BatchItemFailures[0].ItemIdentifier
		} else if len(resp.BatchItemFailures) > 1 {
			t.Errorf("%s: %d failures reported, want at most the first", tt.name, len(resp.BatchItemFailures))
		}
		if got != tt.retryFrom {
			t.Errorf("%s: retry from %q, want %q", tt.name, got, tt.retryFrom)
		}
	}
}

func TestChannels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		owner, channel string
	}{
		{"3f1c2d4e-0000-4000-8000-000000000001", "/jobs/3f1c2d4e-0000-4000-8000-000000000001"},
		{"", "/jobs/ownerless"},
	}
	for _, tt := range tests {
		if got := appsync.Channel(tt.owner); got != tt.channel {
			t.Errorf("Channel(%q) = %q, want %q", tt.owner, got, tt.channel)
		}
	}
	for s, want := range map[string]bool{"abc-DEF-123": true, "": false, "a_b": false, "a/b": false, "*": false, strings.Repeat("a", 51): false, strings.Repeat("a", 50): true} {
		if got := appsync.ValidSegment(s); got != want {
			t.Errorf("ValidSegment(%q) = %v, want %v", s, got, want)
		}
	}
}
