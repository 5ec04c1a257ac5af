package appsync

import (
	"context"
	"log/slog"
	"sort"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Publisher sends events to one channel (Client does, over HTTP).
type Publisher interface {
	Publish(ctx context.Context, channel string, events []string) error
}

// DefaultConcurrency bounds the channels one batch publishes to at once.
const DefaultConcurrency = 8

// StreamHandler consumes the jobs table's DynamoDB stream (NEW_IMAGE) and
// publishes each committed change of a job to its owner's channel: at least
// once, since the stream keeps a record until it is processed and this
// handler reports the first record it could not publish (partial batch
// response: Lambda retries from there, with the event source mapping's
// retries, bisection and on-failure destination). The writes that made the
// changes never wait for it.
//
// A record that is not a job (no image, does not decode) is logged as
// UNPUBLISHABLE_CHANGE and skipped: retrying it would only block the shard.
// REMOVE records (TTL deletions) publish nothing.
type StreamHandler struct {
	Publisher Publisher
	// Decode reads a job from a record's NewImage (dynamodb.JobFromStreamImage).
	Decode func(map[string]events.DynamoDBAttributeValue) (jobs.Job, error)
	// Render makes a job's event (apigw.RenderJobEvent).
	Render func(jobs.Job) ([]byte, error)
	Log    *slog.Logger
	// Concurrency bounds the channels published to at once
	// (DefaultConcurrency if 0); each channel's events go in order.
	Concurrency int
}

type pending struct {
	index int // in the batch
	event string
}

// Handle publishes a batch of stream records. Within a channel events go in
// stream order, at most MaxEventsPerPublish per request; channels are
// published concurrently. The answer names the earliest record whose
// publish failed; later records are retried with it (subscribers drop the
// duplicates by version).
func (h *StreamHandler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	byChannel := map[string][]pending{}
	var order []string
	for i, r := range ev.Records {
		if r.EventName == string(events.DynamoDBOperationTypeRemove) {
			continue
		}
		j, err := h.Decode(r.Change.NewImage)
		var body []byte
		if err == nil {
			body, err = h.Render(j)
		}
		if err != nil {
			log.ErrorContext(ctx, "UNPUBLISHABLE_CHANGE: stream record skipped", "eventId", r.EventID,
				"sequenceNumber", r.Change.SequenceNumber, "err", err.Error())
			continue
		}
		ch := Channel(j.OwnerID)
		if _, ok := byChannel[ch]; !ok {
			order = append(order, ch)
		}
		byChannel[ch] = append(byChannel[ch], pending{index: i, event: string(body)})
	}

	n := h.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	var (
		mu       sync.Mutex
		failed   []int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, n)
		channels = len(order)
	)
	for _, ch := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(ch string, evs []pending) {
			defer func() { <-sem; wg.Done() }()
			for start := 0; start < len(evs); start += MaxEventsPerPublish {
				chunk := evs[start:min(start+MaxEventsPerPublish, len(evs))]
				bodies := make([]string, len(chunk))
				for k, p := range chunk {
					bodies[k] = p.event
				}
				if err := h.Publisher.Publish(ctx, ch, bodies); err != nil {
					log.WarnContext(ctx, "publish failed; the stream retries it", "channel", ch, "events", len(chunk), "err", err.Error())
					mu.Lock()
					failed = append(failed, chunk[0].index)
					mu.Unlock()
					return // this channel's later events wait for the retry, in order
				}
			}
		}(ch, byChannel[ch])
	}
	wg.Wait()

	var resp events.DynamoDBEventResponse
	if len(failed) > 0 {
		sort.Ints(failed)
		first := ev.Records[failed[0]].Change.SequenceNumber
		resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: first}}
		log.WarnContext(ctx, "publish batch incomplete", "records", len(ev.Records), "channels", channels,
			"failedChannels", len(failed), "retryFrom", first)
		return resp, nil
	}
	log.DebugContext(ctx, "published", "records", len(ev.Records), "channels", channels)
	return resp, nil
}
