package localsqs

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// BatchHandler is an SQS-triggered function's handler, as UpdateJobFn's
// main passes it to lambda.Start.
type BatchHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// EventSource runs an event source mapping from the named queue to h until
// ctx ends, as Lambda's SQS poller does with ReportBatchItemFailures:
// batches of up to batchSize visible messages, each invocation bounded by
// timeout; the messages of a successful invocation are deleted except those
// it reports as failures, which (like every message of a failed
// invocation) become visible again after the queue's visibility timeout,
// and go to its dead-letter queue after maxReceiveCount receives.
func (s *Server) EventSource(ctx context.Context, queueName string, batchSize int, timeout time.Duration, h BatchHandler) {
	url := s.QueueURL(queueName)
	arn := "arn:aws:sqs:us-east-1:" + AccountID + ":" + queueName
	for ctx.Err() == nil {
		msgs, changed, err := s.take(url, batchSize, nil)
		if err != nil {
			s.log().Error("local event source mapping stopped", "queue", queueName, "err", err)
			return
		}
		if len(msgs) == 0 {
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
			case <-changed:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
		receipts := map[string]string{}
		for i, m := range msgs {
			id, receipt := m["MessageId"].(string), m["ReceiptHandle"].(string)
			receipts[id] = receipt
			ev.Records[i] = events.SQSMessage{
				MessageId: id, ReceiptHandle: receipt, Body: m["Body"].(string), Md5OfBody: m["MD5OfBody"].(string),
				Attributes: m["Attributes"].(map[string]string), EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: "us-east-1",
			}
		}
		ictx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := h(ictx, ev)
		cancel()
		if err != nil {
			s.log().Warn("local event source mapping: the function failed; the batch will be retried", "queue", queueName, "err", err)
			continue
		}
		for _, f := range resp.BatchItemFailures {
			delete(receipts, f.ItemIdentifier)
		}
		s.mu.Lock()
		for _, receipt := range receipts {
			if q, i, err := s.byReceipt(url, receipt); err == nil {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			}
		}
		s.mu.Unlock()
	}
}
