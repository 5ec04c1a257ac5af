// Package dynamodb stores jobs in an Amazon DynamoDB table (or any
// DynamoDB-compatible server: dynalite, DynamoDB Local, the embedded engine of
// the local server).
package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// API is the subset of the DynamoDB client the store uses; *ddb.Client
// satisfies it, and tests wrap it to inject faults.
type API interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *ddb.BatchGetItemInput, optFns ...func(*ddb.Options)) (*ddb.BatchGetItemOutput, error)
}

// Store is a jobs.Store on one DynamoDB table.
type Store struct {
	client API
	table  string
	// Timeout bounds each call, retries included (jobs.DefaultCallTimeout
	// if zero; DYNAMODB_TIMEOUT_MS in the functions).
	Timeout time.Duration
	// OnCapacity, if set, receives the capacity units each call consumed
	// (the store then asks DynamoDB to return them). For benchmarks and
	// metrics; nil in production costs nothing.
	OnCapacity func(op string, units float64)
}

var _ jobs.Store = (*Store)(nil)

// New returns a store on the named table.
func New(client API, table string) *Store {
	return &Store{client: client, table: table}
}

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, jobs.CallTimeout(s.Timeout))
}

func (s *Store) capacity() types.ReturnConsumedCapacity {
	if s.OnCapacity == nil {
		return types.ReturnConsumedCapacityNone
	}
	return types.ReturnConsumedCapacityTotal
}

func (s *Store) record(op string, cc *types.ConsumedCapacity) {
	if s.OnCapacity != nil && cc != nil && cc.CapacityUnits != nil {
		s.OnCapacity(op, *cc.CapacityUnits)
	}
}

// Get reads with an eventually consistent GetItem (half the cost of a strong
// read); only when that misses does it read again, strongly consistent, so a
// job created just before is never reported missing.
func (s *Store) Get(ctx context.Context, id string) (jobs.Job, error) {
	j, err := s.get(ctx, id, false)
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return s.get(ctx, id, true)
	}
	return j, err
}

// GetLatest reads with one strongly consistent GetItem.
func (s *Store) GetLatest(ctx context.Context, id string) (jobs.Job, error) {
	return s.get(ctx, id, true)
}

func (s *Store) get(ctx context.Context, id string, consistent bool) (jobs.Job, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName:              &s.table,
		Key:                    map[string]types.AttributeValue{AttrJobID: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead:         aws.Bool(consistent),
		ReturnConsumedCapacity: s.capacity(),
	})
	if err != nil {
		return jobs.Job{}, mapError(err, "GetItem")
	}
	s.record("GetItem", out.ConsumedCapacity)
	if len(out.Item) == 0 {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "No job with that id.")
	}
	return decode(out.Item)
}

// Create puts j only if no item has its ID.
func (s *Store) Create(ctx context.Context, j jobs.Job) error {
	if j.Version != 1 {
		return jobs.Errorf(jobs.EINTERNAL, "create: version must be 1, got %d", j.Version)
	}
	return s.put(ctx, j, "attribute_not_exists(#id)", map[string]string{"#id": AttrJobID}, nil)
}

// Update replaces j only if the stored version is j.Version-1.
func (s *Store) Update(ctx context.Context, j jobs.Job) error {
	return s.put(ctx, j, "#v = :prev",
		map[string]string{"#v": AttrVersion},
		map[string]types.AttributeValue{":prev": &types.AttributeValueMemberN{Value: fmt.Sprint(j.Version - 1)}})
}

func (s *Store) put(ctx context.Context, j jobs.Job, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	av, err := encode(j)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName:                 &s.table,
		Item:                      av,
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    s.capacity(),
	})
	if err != nil {
		return mapError(err, "PutItem")
	}
	s.record("PutItem", out.ConsumedCapacity)
	return nil
}

func encode(j jobs.Job) (map[string]types.AttributeValue, error) {
	it := item{
		JobID:           j.ID,
		OwnerID:         j.OwnerID,
		Status:          string(j.Status),
		Progress:        j.Progress,
		OutputURL:       j.OutputURL,
		CancelRequested: j.CancelRequested,
		IdempotencyKey:  j.IdempotencyKey,
		SpecHash:        j.SpecHash,
		CreatedAt:       jobs.FormatTime(j.CreatedAt),
		UpdatedAt:       jobs.FormatTime(j.UpdatedAt),
		StartedAt:       jobs.FormatTime(j.StartedAt),
		CompletedAt:     jobs.FormatTime(j.CompletedAt),
		CancelRequestAt: jobs.FormatTime(j.CancelRequestedAt),
		Deadline:        jobs.FormatTime(j.Deadline),
		HeartbeatAt:     jobs.FormatTime(j.HeartbeatAt),
		Version:         j.Version,
		StatusShard:     statusShard(j.Status, j.ID),
	}
	it.CreatedAtID = createdAtID(it.CreatedAt, j.ID)
	if j.Spec != (jobs.Spec{}) {
		it.Request = &requestItem{Prompt: j.Spec.Prompt, DurationSeconds: j.Spec.DurationSeconds, AspectRatio: j.Spec.AspectRatio, Resolution: j.Spec.Resolution}
	}
	if j.Error != nil {
		it.Error = &errorItem{Code: j.Error.Code, Message: j.Error.Message}
	}
	if !j.ExpiresAt.IsZero() {
		it.ExpiresAt = j.ExpiresAt.Unix()
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, jobs.Wrap(jobs.EINTERNAL, err, "encode job")
	}
	return av, nil
}

func decode(av map[string]types.AttributeValue) (jobs.Job, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return jobs.Job{}, jobs.Wrap(jobs.EINTERNAL, err, "decode job")
	}
	j := jobs.Job{
		ID:              it.JobID,
		OwnerID:         it.OwnerID,
		Status:          jobs.Status(it.Status),
		Progress:        it.Progress,
		OutputURL:       it.OutputURL,
		CancelRequested: it.CancelRequested,
		IdempotencyKey:  it.IdempotencyKey,
		SpecHash:        it.SpecHash,
		Version:         it.Version,
	}
	if it.Request != nil {
		j.Spec = jobs.Spec{Prompt: it.Request.Prompt, DurationSeconds: it.Request.DurationSeconds, AspectRatio: it.Request.AspectRatio, Resolution: it.Request.Resolution}
	}
	if it.Error != nil {
		j.Error = &jobs.JobError{Code: it.Error.Code, Message: it.Error.Message}
	}
	if it.ExpiresAt != 0 {
		j.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
	}
	var errs []error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&j.CreatedAt, it.CreatedAt}, {&j.UpdatedAt, it.UpdatedAt}, {&j.StartedAt, it.StartedAt}, {&j.CompletedAt, it.CompletedAt},
		{&j.CancelRequestedAt, it.CancelRequestAt}, {&j.Deadline, it.Deadline}, {&j.HeartbeatAt, it.HeartbeatAt}} {
		t, err := jobs.ParseTime(f.src)
		errs = append(errs, err)
		*f.dst = t
	}
	if err := errors.Join(errs...); err != nil {
		return jobs.Job{}, jobs.Wrap(jobs.EINTERNAL, err, "decode job "+it.JobID)
	}
	if !j.Status.Valid() {
		return jobs.Job{}, jobs.Errorf(jobs.EINTERNAL, "decode job %s: unknown status %q", it.JobID, it.Status)
	}
	return j, nil
}
