package localserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/internal/appsync"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

// streamMapping is what the template says of PublishJobsFn's event source
// mapping from the table's stream.
type streamMapping struct {
	batchSize  int
	maxRetries int
	maxAge     time.Duration
}

func readStreamMapping(tpl *samtemplate.Template, r *samtemplate.Resolver) (streamMapping, error) {
	p := templateProps{tpl: tpl, r: r}
	const id = "PublishJobsFnJobChanges"
	m := streamMapping{batchSize: p.int(id, "BatchSize"), maxRetries: p.int(id, "MaximumRetryAttempts"),
		maxAge: time.Duration(p.int(id, "MaximumRecordAgeInSeconds")) * time.Second}
	return m, p.err
}

// changeStream turns the table's committed writes into the records
// DynamoDB Streams would deliver (NEW_IMAGE: the item each write left, in
// order per item) and runs PublishJobsFn's event source mapping over them:
// batches to the same stream handler the Lambda main runs, retried from the
// first failed record (partial batch response) with backoff, up to the
// mapping's MaximumRetryAttempts and MaximumRecordAgeInSeconds; what still
// fails is logged as JOB_EVENTS_UNPUBLISHED (the on-failure destination).
// No batching window, as the mapping has none.
type changeStream struct {
	handle  func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
	mapping streamMapping
	log     *slog.Logger
	// onCommit, if set, sees each committed write (benchmarks time from it).
	onCommit func(jobID string, version int64, at time.Time)

	mu      sync.Mutex
	wake    chan struct{}
	pending []events.DynamoDBEventRecord
	seq     int64
}

// tapped is the store's DynamoDB client with every successful PutItem
// recorded on the stream: the store writes jobs only with PutItem, the
// whole item each time.
type tapped struct {
	dynamodb.API
	s *changeStream
}

func (t tapped) PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	out, err := t.API.PutItem(ctx, in, optFns...)
	if err == nil {
		t.s.record(in)
	}
	return out, err
}

func (s *changeStream) record(in *ddb.PutItemInput) {
	img, err := dynamodb.StreamImage(in.Item)
	if err != nil {
		s.log.Error("stream: item not representable", "err", err.Error())
		return
	}
	now := time.Now()
	name := events.DynamoDBOperationTypeModify
	if in.ConditionExpression != nil && strings.Contains(*in.ConditionExpression, "attribute_not_exists") {
		name = events.DynamoDBOperationTypeInsert
	}
	s.mu.Lock()
	s.seq++
	r := events.DynamoDBEventRecord{
		AWSRegion: "us-east-1", EventSource: "aws:dynamodb", EventVersion: "1.1", EventName: string(name),
		EventID: strconv.FormatInt(s.seq, 10),
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: now},
			Keys:                        map[string]events.DynamoDBAttributeValue{dynamodb.AttrJobID: img[dynamodb.AttrJobID]},
			NewImage:                    img, SequenceNumber: fmt.Sprintf("%021d", s.seq), StreamViewType: "NEW_IMAGE",
		},
	}
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if s.onCommit != nil {
		v, _ := strconv.ParseInt(img[dynamodb.AttrVersion].Number(), 10, 64)
		s.onCommit(img[dynamodb.AttrJobID].String(), v, now)
	}
}

func (s *changeStream) take() []events.DynamoDBEventRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.pending), s.mapping.batchSize)
	batch := append([]events.DynamoDBEventRecord(nil), s.pending[:n]...)
	s.pending = s.pending[n:]
	return batch
}

func (s *changeStream) run(ctx context.Context) {
	for {
		if batch := s.take(); len(batch) > 0 {
			s.process(ctx, batch)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

func (s *changeStream) process(ctx context.Context, batch []events.DynamoDBEventRecord) {
	for attempt := 0; ; attempt++ {
		resp, err := s.handle(ctx, events.DynamoDBEvent{Records: batch})
		if err == nil && len(resp.BatchItemFailures) == 0 {
			return
		}
		from := 0 // a function error retries the whole batch
		if err == nil {
			for i, r := range batch {
				if r.Change.SequenceNumber == resp.BatchItemFailures[0].ItemIdentifier {
					from = i
				}
			}
		}
		batch = batch[from:]
		age := time.Since(batch[0].Change.ApproximateCreationDateTime.Time)
		if attempt >= s.mapping.maxRetries || age > s.mapping.maxAge || ctx.Err() != nil {
			s.log.Error("JOB_EVENTS_UNPUBLISHED: changes dropped after the mapping's retries", "records", len(batch),
				"firstSequenceNumber", batch[0].Change.SequenceNumber, "attempts", attempt+1)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(100*time.Millisecond<<attempt, 5*time.Second)):
		}
	}
}

// startEvents starts the Events API emulation and the change stream that
// feeds it, and returns the DynamoDB client the store must use (tapped).
func (s *Server) startEvents(ctx context.Context, tpl *samtemplate.Template, r *samtemplate.Resolver, client dynamodb.API, verify func(string) (map[string]any, error), o Options) (dynamodb.API, error) {
	mapping, err := readStreamMapping(tpl, r)
	if err != nil {
		return nil, err
	}
	adminGroup, _ := r.Parameter("AdminGroup")
	host := s.eventsListener.Addr().String()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	creds := aws.Credentials{AccessKeyID: "LOCALPUBLISHJOBSFN", SecretAccessKey: hex.EncodeToString(secret)}
	s.Events = localevents.New(localevents.Config{
		Verify: verify, Host: host, AdminGroup: adminGroup, Publisher: creds, Region: "us-east-1",
		KeepAlive: o.EventsKeepAlive, Log: s.log, OnData: o.OnEventData,
	})
	s.EventsURL = "http://" + host + localevents.PublishPath
	s.RealtimeURL = "ws://" + host + localevents.RealtimePath
	s.EventsHost = host
	publisher := appsync.NewClient(s.EventsURL, aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	cs := &changeStream{handle: lambdamain.NewStreamPublisher(publisher, s.log).Handle, mapping: mapping, log: s.log,
		onCommit: o.OnCommit, wake: make(chan struct{}, 1)}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopStream = stop
	s.streamDone = make(chan struct{})
	go func() { defer close(s.streamDone); cs.run(sctx) }()
	return tapped{API: client, s: cs}, nil
}
