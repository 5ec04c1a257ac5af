package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

var _ jobs.Index = (*Store)(nil)

// maxQueryRounds bounds the Query calls behind one IndexQuery. Filters
// (statuses, expiry) are applied after DynamoDB reads items, so a page can
// come back short; a few more rounds usually fill it, and a caller that gets
// a short page with a cursor simply asks again.
const maxQueryRounds = 4

// Query reads one partition of IndexByOwner or IndexByStatus: a Query, never
// a Scan, with the status and expiry filters in a FilterExpression. Index
// reads are eventually consistent (GSIs offer nothing else), so a job
// written a moment ago may be missing from a listing for a moment.
func (s *Store) Query(ctx context.Context, q jobs.IndexQuery) (jobs.IndexPage, error) {
	if q.Limit < 1 || (q.Owner == "") == (q.Status == "") {
		return jobs.IndexPage{}, jobs.Errorf(jobs.EINTERNAL, "index query: need a limit and exactly one of owner, status")
	}
	index, keyAttr, keyVal := IndexByOwner, AttrOwnerID, q.Owner
	if q.Status != "" {
		index, keyAttr, keyVal = IndexByStatus, AttrStatus, string(q.Status)
	}
	names := map[string]string{"#pk": keyAttr, "#exp": AttrExpiresAt}
	values := map[string]types.AttributeValue{
		":pk":  &types.AttributeValueMemberS{Value: keyVal},
		":now": &types.AttributeValueMemberN{Value: fmt.Sprint(q.Now.Unix())},
	}
	// Expired: expiresAt <= now, in whole seconds as stored, matching
	// jobs.Job.Expired for the truncated value.
	filter := "(attribute_not_exists(#exp) OR #exp > :now)"
	if len(q.Statuses) > 0 && q.Owner != "" {
		names["#st"] = AttrStatus
		in := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			in[i] = fmt.Sprintf(":st%d", i)
			values[in[i]] = &types.AttributeValueMemberS{Value: string(st)}
		}
		filter += " AND #st IN (" + strings.Join(in, ", ") + ")"
	}

	var start map[string]types.AttributeValue
	if q.After != nil {
		start = map[string]types.AttributeValue{
			AttrJobID:     &types.AttributeValueMemberS{Value: q.After.ID},
			keyAttr:       &types.AttributeValueMemberS{Value: keyVal},
			AttrCreatedAt: &types.AttributeValueMemberS{Value: q.After.SortKey},
		}
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var page jobs.IndexPage
	for round := 0; round < maxQueryRounds && len(page.Items) < q.Limit; round++ {
		out, err := s.client.Query(ctx, &ddb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(index),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			FilterExpression:          aws.String(filter),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
			ExclusiveStartKey:         start,
			ScanIndexForward:          aws.Bool(q.OldestFirst),
			Limit:                     aws.Int32(int32(q.Limit - len(page.Items))),
			ReturnConsumedCapacity:    s.capacity(),
		})
		if err != nil {
			return jobs.IndexPage{}, mapError(err, "Query")
		}
		s.record("Query", out.ConsumedCapacity)
		for _, av := range out.Items {
			j, err := decode(av)
			if err != nil {
				return jobs.IndexPage{}, err
			}
			page.Items = append(page.Items, jobs.Listed{Job: j, Pos: jobs.Position{SortKey: stringAttr(av, AttrCreatedAt), ID: j.ID}})
		}
		start = out.LastEvaluatedKey
		if len(start) == 0 {
			page.Next = nil
			return page, nil
		}
		page.Next = &jobs.Position{SortKey: stringAttr(start, AttrCreatedAt), ID: stringAttr(start, AttrJobID)}
	}
	return page, nil
}

func stringAttr(av map[string]types.AttributeValue, name string) string {
	if v, ok := av[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// maxBatchGetKeys is BatchGetItem's limit of keys per request.
const maxBatchGetKeys = 100

// Backoff between BatchGetItem retries of UnprocessedKeys: exponential with
// full jitter, as AWS recommends, within the call's deadline.
const (
	batchBackoffBase = 20 * time.Millisecond
	batchBackoffMax  = 400 * time.Millisecond
)

// GetMany reads jobs by ID with BatchGetItem: eventually consistent first
// (half the cost), then strongly consistent for the IDs that were missing,
// so that a job created just before is found, as with Get. UnprocessedKeys
// (throttling, the 16 MB response limit) are retried with backoff until the
// call's deadline; keys still unprocessed then make it EUNAVAILABLE, never
// a silently shorter answer.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]jobs.Job, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	found, err := s.batchGet(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	var missing []string
	have := make(map[string]bool, len(found))
	for _, j := range found {
		have[j.ID] = true
	}
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
			have[id] = true // once, even if asked twice
		}
	}
	if len(missing) == 0 {
		return found, nil
	}
	more, err := s.batchGet(ctx, missing, true)
	if err != nil {
		return nil, err
	}
	return append(found, more...), nil
}

func (s *Store) batchGet(ctx context.Context, ids []string, consistent bool) ([]jobs.Job, error) {
	var out []jobs.Job
	seen := map[string]bool{}
	for len(ids) > 0 {
		var keys []map[string]types.AttributeValue
		for len(ids) > 0 && len(keys) < maxBatchGetKeys {
			id := ids[0]
			ids = ids[1:]
			if !seen[id] { // BatchGetItem rejects duplicate keys
				seen[id] = true
				keys = append(keys, map[string]types.AttributeValue{AttrJobID: &types.AttributeValueMemberS{Value: id}})
			}
		}
		if len(keys) == 0 {
			continue
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
		for attempt := 0; ; attempt++ {
			res, err := s.client.BatchGetItem(ctx, &ddb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: s.capacity()})
			if err != nil {
				return nil, mapError(err, "BatchGetItem")
			}
			for _, cc := range res.ConsumedCapacity {
				s.record("BatchGetItem", &cc)
			}
			for _, av := range res.Responses[s.table] {
				j, err := decode(av)
				if err != nil {
					return nil, err
				}
				out = append(out, j)
			}
			req = res.UnprocessedKeys
			if len(req) == 0 || len(req[s.table].Keys) == 0 {
				break
			}
			d := min(batchBackoffMax, batchBackoffBase<<min(attempt, 10))
			if err := sleep(ctx, time.Duration(rand.Int64N(int64(d))+1)); err != nil {
				return nil, jobs.Wrap(jobs.EUNAVAILABLE, errors.Join(errors.New("BatchGetItem: unprocessed keys left at the deadline"), err),
					"The job store is busy; retry shortly.")
			}
		}
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
