// Package localsqs is `make run`'s stand-in for the two AWS services a
// video-pipeline worker talks to: Amazon SQS, in its JSON protocol (AWS JSON
// 1.0, what aws-sdk-go-v2's SQS client speaks), and Lambda's Invoke. A worker
// built on the AWS SDK runs against it unchanged by setting
// AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_LAMBDA to its URL.
//
// Written here because no maintained Go library serves SQS's JSON protocol
// (goaws speaks only the older XML query protocol; ElasticMQ and LocalStack
// need a JVM or Docker). It implements just what the service, its workers
// and make run use, with SQS's semantics for them: SendMessage (with
// MessageGroupId and MessageDeduplicationId on FIFO queues), ReceiveMessage
// (visibility timeout, long polling, ApproximateReceiveCount, redrive to a
// dead-letter queue after maxReceiveCount receives), DeleteMessage,
// ChangeMessageVisibility, GetQueueUrl and GetQueueAttributes
// (ApproximateNumberOfMessages*). Signatures are not checked: it listens on
// loopback only, for development.
package localsqs

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AccountID is the account in local queue URLs and ARNs.
const AccountID = "000000000000"

// QueueConfig describes one queue.
type QueueConfig struct {
	Name string
	// VisibilityTimeout is the queue's default (30 s if 0, as SQS's).
	VisibilityTimeout time.Duration
	// DeadLetter names the queue messages move to after MaxReceiveCount
	// receives; "" for none.
	DeadLetter      string
	MaxReceiveCount int
}

// Function is a Lambda function's handler: a JSON payload in, a JSON result
// or an error (returned to the invoker as a function error) out.
type Function func(ctx context.Context, payload []byte) ([]byte, error)

// Server serves the queues and functions. Safe for concurrent use.
type Server struct {
	// URL is where it is reached (scheme://host:port), the base of queue
	// URLs; set by whoever listens.
	URL string
	Log *slog.Logger
	// Now is injectable for tests.
	Now func() time.Time
	// OnSend, if set, sees every message body accepted, with its queue's
	// name (tests hold them to the message contracts).
	OnSend func(queue, body string)

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced when a message is sent or made visible
	queues    map[string]*queue
	functions map[string]Function
}

type queue struct {
	QueueConfig
	fifo bool
	msgs []*message
	// dedup remembers FIFO deduplication IDs for five minutes, as SQS does.
	dedup map[string]time.Time
}

type message struct {
	id, body, md5 string
	groupID       string
	sentAt        time.Time
	visibleAt     time.Time
	receipt       string
	receives      int
}

// maxBodyBytes is SQS's message size limit (256 KiB); requests are bounded
// a little above it.
const maxBodyBytes = 256 << 10

// New returns a server with the given queues and functions (by name).
func New(queues []QueueConfig, functions map[string]Function) *Server {
	s := &Server{queues: map[string]*queue{}, functions: map[string]Function{}, changed: make(chan struct{})}
	for _, q := range queues {
		if q.VisibilityTimeout <= 0 {
			q.VisibilityTimeout = 30 * time.Second
		}
		s.queues[q.Name] = &queue{QueueConfig: q, fifo: strings.HasSuffix(q.Name, ".fifo"), dedup: map[string]time.Time{}}
	}
	for name, f := range functions {
		s.functions[name] = f
	}
	return s
}

// QueueURL returns the URL of the named queue.
func (s *Server) QueueURL(name string) string { return s.URL + "/" + AccountID + "/" + name }

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ServeHTTP routes SQS (POST / with X-Amz-Target) and Lambda Invoke (POST
// /2015-03-31/functions/{name}/invocations).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/"); ok && r.Method == http.MethodPost {
		if name, ok := strings.CutSuffix(name, "/invocations"); ok {
			s.invoke(w, r, name)
			return
		}
	}
	target, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		sqsError(w, http.StatusBadRequest, "InvalidAction", "this endpoint serves the SQS JSON protocol (X-Amz-Target: AmazonSQS.<Action>) and Lambda Invoke")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+64<<10))
	if err != nil {
		sqsError(w, http.StatusBadRequest, "InvalidParameterValue", "unreadable request")
		return
	}
	var out any
	switch target {
	case "SendMessage":
		out, err = s.sendMessage(body)
	case "ReceiveMessage":
		out, err = s.receiveMessage(r.Context(), body)
	case "DeleteMessage":
		out, err = s.deleteMessage(body)
	case "ChangeMessageVisibility":
		out, err = s.changeVisibility(body)
	case "GetQueueUrl":
		out, err = s.getQueueURL(body)
	case "GetQueueAttributes":
		out, err = s.getQueueAttributes(body)
	default:
		err = &apiError{"UnsupportedOperation", target + " is not served locally (make run serves SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueUrl, GetQueueAttributes)"}
	}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		s.log().Debug("local SQS refused a request", "action", target, "code", ae.Code, "message", ae.Message)
		sqsError(w, http.StatusBadRequest, ae.Code, ae.Message)
	case err != nil:
		sqsError(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(out)
	}
}

// apiError is an SQS error code and message.
type apiError struct{ Code, Message string }

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func sqsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{"InvalidParameterValue", "request body: " + err.Error()}
	}
	return nil
}

// queueByURL finds a queue by its URL's last path segment. Callers hold mu.
func (s *Server) queueByURL(url string) (*queue, error) {
	q, ok := s.queues[url[strings.LastIndex(url, "/")+1:]]
	if !ok || url == "" {
		return nil, &apiError{"QueueDoesNotExist", "The specified queue does not exist."}
	}
	return q, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// notify wakes long polls. Callers hold mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) sendMessage(body []byte) (any, error) {
	var in struct {
		QueueURL               string `json:"QueueUrl"`
		MessageBody            string
		DelaySeconds           int
		MessageGroupID         string `json:"MessageGroupId"`
		MessageDeduplicationID string `json:"MessageDeduplicationId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueByURL(in.QueueURL)
	if err != nil {
		return nil, err
	}
	switch {
	case in.MessageBody == "":
		return nil, &apiError{"MissingParameter", "The request must contain the parameter MessageBody."}
	case len(in.MessageBody) > maxBodyBytes:
		return nil, &apiError{"InvalidParameterValue", fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", maxBodyBytes)}
	case q.fifo && in.MessageGroupID == "":
		return nil, &apiError{"MissingParameter", "The request must contain the parameter MessageGroupId."}
	case q.fifo && in.MessageDeduplicationID == "":
		// Content-based deduplication is not emulated: the queue needs ids.
		return nil, &apiError{"InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"}
	case !q.fifo && (in.MessageGroupID != "" || in.MessageDeduplicationID != ""):
		return nil, &apiError{"InvalidParameterValue", "MessageGroupId and MessageDeduplicationId are for FIFO queues only."}
	}
	now := s.now()
	out := map[string]string{"MessageId": newID(), "MD5OfMessageBody": md5Hex(in.MessageBody)}
	if q.fifo {
		for id, at := range q.dedup {
			if now.Sub(at) >= 5*time.Minute {
				delete(q.dedup, id)
			}
		}
		if _, dup := q.dedup[in.MessageDeduplicationID]; dup {
			return out, nil // accepted, not delivered again
		}
		q.dedup[in.MessageDeduplicationID] = now
	}
	q.msgs = append(q.msgs, &message{
		id: out["MessageId"], body: in.MessageBody, md5: out["MD5OfMessageBody"], groupID: in.MessageGroupID,
		sentAt: now, visibleAt: now.Add(time.Duration(in.DelaySeconds) * time.Second),
	})
	if s.OnSend != nil {
		s.OnSend(q.Name, in.MessageBody)
	}
	s.notify()
	return out, nil
}

// maxWait bounds a long poll, as SQS does (20 s).
const maxWait = 20 * time.Second

func (s *Server) receiveMessage(ctx context.Context, body []byte) (any, error) {
	var in struct {
		QueueURL            string `json:"QueueUrl"`
		MaxNumberOfMessages *int
		VisibilityTimeout   *int
		WaitTimeSeconds     *int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	max := 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
	}
	if max < 1 || max > 10 {
		return nil, &apiError{"InvalidParameterValue", "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10."}
	}
	wait := time.Duration(0)
	if in.WaitTimeSeconds != nil {
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	if wait < 0 || wait > maxWait {
		return nil, &apiError{"InvalidParameterValue", "Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20."}
	}
	deadline := time.Now().Add(wait)
	for {
		msgs, changed, err := s.take(in.QueueURL, max, in.VisibilityTimeout)
		if err != nil || len(msgs) > 0 || !time.Now().Before(deadline) {
			return map[string]any{"Messages": msgs}, err
		}
		t := time.NewTimer(min(time.Until(deadline), time.Second)) // a second: invisible messages come back without a send
		select {
		case <-ctx.Done():
			t.Stop()
			return map[string]any{"Messages": []any{}}, nil
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// take receives up to max visible messages, oldest first, moving those
// received too often to the dead-letter queue. On a FIFO queue a group
// with a message in flight delivers nothing more until it is deleted or
// visible again.
func (s *Server) take(url string, max int, visibility *int) ([]map[string]any, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueByURL(url)
	if err != nil {
		return nil, nil, err
	}
	vis := q.VisibilityTimeout
	if visibility != nil {
		if *visibility < 0 || *visibility > 43200 {
			return nil, nil, &apiError{"InvalidParameterValue", "Value for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200."}
		}
		vis = time.Duration(*visibility) * time.Second
	}
	now := s.now()
	busy := map[string]bool{}
	if q.fifo {
		for _, m := range q.msgs {
			if m.receives > 0 && now.Before(m.visibleAt) {
				busy[m.groupID] = true
			}
		}
	}
	out := []map[string]any{}
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if len(out) >= max || now.Before(m.visibleAt) || (q.fifo && busy[m.groupID]) {
			kept = append(kept, m)
			continue
		}
		if q.DeadLetter != "" && q.MaxReceiveCount > 0 && m.receives >= q.MaxReceiveCount {
			if dlq, ok := s.queues[q.DeadLetter]; ok {
				m.receives, m.receipt, m.visibleAt = 0, "", now
				dlq.msgs = append(dlq.msgs, m)
				s.log().Warn("local SQS moved a message to the dead-letter queue", "queue", q.Name, "deadLetterQueue", dlq.Name, "messageId", m.id)
				continue
			}
		}
		m.receives++
		m.receipt = newID() + "#" + m.id
		m.visibleAt = now.Add(vis)
		if q.fifo {
			busy[m.groupID] = true
		}
		attrs := map[string]string{
			"ApproximateReceiveCount": strconv.Itoa(m.receives),
			"SentTimestamp":           strconv.FormatInt(m.sentAt.UnixMilli(), 10),
		}
		if m.groupID != "" {
			attrs["MessageGroupId"] = m.groupID
		}
		out = append(out, map[string]any{"MessageId": m.id, "ReceiptHandle": m.receipt, "MD5OfBody": m.md5, "Body": m.body, "Attributes": attrs})
		kept = append(kept, m)
	}
	q.msgs = kept
	return out, s.changed, nil
}

// byReceipt finds the message a receipt handle was issued for. Callers
// hold mu.
func (s *Server) byReceipt(url, receipt string) (*queue, int, error) {
	q, err := s.queueByURL(url)
	if err != nil {
		return nil, 0, err
	}
	for i, m := range q.msgs {
		if m.receipt != "" && m.receipt == receipt {
			return q, i, nil
		}
	}
	return q, -1, &apiError{"ReceiptHandleIsInvalid", "The input receipt handle is invalid: not the latest receipt of a message in the queue."}
}

func (s *Server) deleteMessage(body []byte) (any, error) {
	var in struct {
		QueueURL      string `json:"QueueUrl"`
		ReceiptHandle string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, i, err := s.byReceipt(in.QueueURL, in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
	s.notify() // a FIFO group may deliver again
	return struct{}{}, nil
}

func (s *Server) changeVisibility(body []byte) (any, error) {
	var in struct {
		QueueURL          string `json:"QueueUrl"`
		ReceiptHandle     string
		VisibilityTimeout int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.VisibilityTimeout < 0 || in.VisibilityTimeout > 43200 {
		return nil, &apiError{"InvalidParameterValue", "Value for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, i, err := s.byReceipt(in.QueueURL, in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	q.msgs[i].visibleAt = s.now().Add(time.Duration(in.VisibilityTimeout) * time.Second)
	s.notify()
	return struct{}{}, nil
}

func (s *Server) getQueueURL(body []byte) (any, error) {
	var in struct{ QueueName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[in.QueueName]; !ok {
		return nil, &apiError{"QueueDoesNotExist", "The specified queue does not exist."}
	}
	return map[string]string{"QueueUrl": s.QueueURL(in.QueueName)}, nil
}

func (s *Server) getQueueAttributes(body []byte) (any, error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueByURL(in.QueueURL)
	if err != nil {
		return nil, err
	}
	now := s.now()
	visible, inFlight := 0, 0
	for _, m := range q.msgs {
		if now.Before(m.visibleAt) {
			inFlight++
		} else {
			visible++
		}
	}
	return map[string]map[string]string{"Attributes": {
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"VisibilityTimeout":                     strconv.Itoa(int(q.VisibilityTimeout.Seconds())),
		"QueueArn":                              "arn:aws:sqs:us-east-1:" + AccountID + ":" + q.Name,
		"FifoQueue":                             strconv.FormatBool(q.fifo),
	}}, nil
}

// invoke serves Lambda's Invoke (RequestResponse): the function's result,
// or its error as a function error (X-Amz-Function-Error: Unhandled), as
// Lambda answers. The name may be the function's name or its ARN.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request, name string) {
	if i := strings.LastIndex(name, ":function:"); i >= 0 {
		name = name[i+len(":function:"):]
	}
	s.mu.Lock()
	f, ok := s.functions[name]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": "Function not found: " + name})
		return
	}
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
		w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": "only RequestResponse invocations are served locally"})
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	out, err := f(r.Context(), payload)
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
		return
	}
	_, _ = w.Write(out)
}

// JSONFunction adapts a typed handler (as the Lambda mains pass to
// lambda.Start) to a Function.
func JSONFunction[In, Out any](h func(context.Context, In) (Out, error)) Function {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}
