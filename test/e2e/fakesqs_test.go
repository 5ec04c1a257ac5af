package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/deepfoundai/jobs-api/test/contracttest"
	"github.com/deepfoundai/jobs-api/test/testenv"
	"github.com/deepfoundai/jobs-api/worker"
)

// sqsFailure is how a fakeSQS answers SendMessage.
type sqsFailure int

const (
	sqsOK         sqsFailure = iota
	sqsInternal              // HTTP 500, InternalError
	sqsThrottling            // HTTP 400, ThrottlingException
)

// fakeSQS is the part of Amazon SQS the submit function uses: SendMessage in
// the AWS JSON 1.0 protocol (aws-sdk-go-v2's sqs client since v1.50) on one
// queue. It records every attempt and the messages it accepted.
type fakeSQS struct {
	t        testing.TB
	srv      *httptest.Server
	queueURL string
	fail     sqsFailure

	mu       sync.Mutex
	attempts []worker.Handoff // every well-formed SendMessage, accepted or not
	accepted []worker.Handoff
	problems []string // requests the real service would have refused
}

func newFakeSQS(t *testing.T, fail sqsFailure) *fakeSQS {
	t.Helper()
	f := &fakeSQS{t: t, fail: fail}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.queueURL = f.srv.URL + "/" + accountID + "/video-pipeline-jobs"
	t.Cleanup(func() {
		for _, p := range f.problemList() {
			t.Errorf("fake SQS: %s", p)
		}
	})
	return f
}

// endpoint is the function's AWS_ENDPOINT_URL_SQS.
func (f *fakeSQS) endpoint() string { return f.srv.URL }

func (f *fakeSQS) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-RequestId", newUUID())
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	var problem string
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		problem = fmt.Sprintf("%s %s, want POST /", r.Method, r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.0":
		problem = fmt.Sprintf("Content-Type %q, want application/x-amz-json-1.0", r.Header.Get("Content-Type"))
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+testenv.TestAccessKeyID+"/") ||
		!strings.Contains(r.Header.Get("Authorization"), "/us-east-1/sqs/aws4_request"):
		problem = fmt.Sprintf("Authorization %q is not a SigV4 signature for sqs in us-east-1 with the function's key", r.Header.Get("Authorization"))
	}
	if problem != "" {
		f.problem(problem)
		fail(http.StatusBadRequest, "com.amazonaws.sqs#InvalidSecurity", problem)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "AmazonSQS.SendMessage" {
		f.problem("unexpected operation " + target)
		fail(http.StatusBadRequest, "com.amazonaws.sqs#UnsupportedOperation", "not faked: "+target)
		return
	}
	var in struct {
		QueueURL    string `json:"QueueUrl"`
		MessageBody string `json:"MessageBody"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &in); err != nil || in.MessageBody == "" {
		f.problem(fmt.Sprintf("SendMessage body %s: %v", raw, err))
		fail(http.StatusBadRequest, "com.amazonaws.sqs#InvalidParameterValue", "bad request")
		return
	}
	if in.QueueURL != f.queueURL {
		f.problem(fmt.Sprintf("QueueUrl %q, want %q", in.QueueURL, f.queueURL))
		fail(http.StatusBadRequest, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.")
		return
	}
	var msg worker.Handoff
	dec := json.NewDecoder(strings.NewReader(in.MessageBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		f.problem(fmt.Sprintf("MessageBody is not a pipeline message (%v): %s", err, in.MessageBody))
	}
	if err := contracttest.Check(f.t, contracttest.Handoff, []byte(in.MessageBody)); err != nil {
		f.problem(fmt.Sprintf("MessageBody does not satisfy docs/schemas/%s: %v", contracttest.Handoff, err))
	}

	f.mu.Lock()
	f.attempts = append(f.attempts, msg)
	if f.fail == sqsOK {
		f.accepted = append(f.accepted, msg)
	}
	f.mu.Unlock()

	switch f.fail {
	case sqsInternal:
		fail(http.StatusInternalServerError, "com.amazonaws.sqs#InternalError", "We encountered an internal error. Please try again.")
	case sqsThrottling:
		fail(http.StatusBadRequest, "com.amazonaws.sqs#ThrottlingException", "Rate exceeded")
	default:
		sum := md5.Sum([]byte(in.MessageBody)) // the client checks it
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-RequestId", newUUID())
		_ = json.NewEncoder(w).Encode(map[string]string{
			"MessageId":        newUUID(),
			"MD5OfMessageBody": hex.EncodeToString(sum[:]),
		})
	}
}

func (f *fakeSQS) problem(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, p)
}

func (f *fakeSQS) problemList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.problems...)
}

// messages returns the accepted messages for jobID ("" for all).
func (f *fakeSQS) messages(jobID string) []worker.Handoff {
	f.mu.Lock()
	defer f.mu.Unlock()
	return filterMessages(f.accepted, jobID)
}

// attemptsFor returns every SendMessage attempt for jobID ("" for all).
func (f *fakeSQS) attemptsFor(jobID string) []worker.Handoff {
	f.mu.Lock()
	defer f.mu.Unlock()
	return filterMessages(f.attempts, jobID)
}

func filterMessages(ms []worker.Handoff, jobID string) []worker.Handoff {
	var out []worker.Handoff
	for _, m := range ms {
		if jobID == "" || m.JobID == jobID {
			out = append(out, m)
		}
	}
	return out
}
