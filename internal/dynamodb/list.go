package dynamodb

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

var _ jobs.Index = (*Store)(nil)

// Bounds of the work behind one IndexQuery (README, Data model: read costs).
const (
	// maxQueryRounds bounds the rounds of Query calls. A round queries each
	// partition of the query (a status's StatusShards shards, or the
	// owner's one) whose entries read so far are used up. Filters (statuses,
	// expiry) apply after DynamoDB reads entries, so a round can come back
	// short; a few more usually fill the page, and a caller that gets a
	// short page with a cursor simply asks again.
	maxQueryRounds = 4
	// queryConcurrency bounds the Query calls of one round in flight.
	queryConcurrency = 8
)

// indexEntry is one index entry read: its sort key and job ID.
type indexEntry struct{ sortKey, id string }

// shardReader is one index partition of a query: the entries read and not
// yet taken, in listing order, and how far it has been read.
type shardReader struct {
	key  string
	buf  []indexEntry
	from string // sort key read through; "" = not read yet
	done bool   // read to the end
}

// Query reads the owner's partition of IndexByOwner, or every shard of a
// status in IndexByStatus, and merges them in createdAtId order: Query
// calls, never a Scan, with the status and expiry filters in a
// FilterExpression, then one BatchGetItem (GetMany) of the page's jobs, each
// checked again against the query, since an index lags its table. q.After
// is a sort key: one position resumes every shard (createdAtId is unique).
// A position this store could not have made is EINVALID. Index reads are
// eventually consistent (GSIs offer nothing else), so a job written a moment
// ago may be missing from a listing for a moment.
func (s *Store) Query(ctx context.Context, q jobs.IndexQuery) (jobs.IndexPage, error) {
	if q.Limit < 1 || (q.Owner == "") == (q.Status == "") {
		return jobs.IndexPage{}, jobs.Errorf(jobs.EINTERNAL, "index query: need a limit and exactly one of owner, status")
	}
	var after string
	if q.After != nil {
		if _, id, ok := splitCreatedAtID(q.After.SortKey); !ok || id != q.After.ID {
			return jobs.IndexPage{}, jobs.Errorf(jobs.EINVALID, "cursor: not a position of this listing; start again without one")
		}
		after = q.After.SortKey
	}
	index, keyAttr := IndexByOwner, AttrOwnerID
	var shards []*shardReader
	if q.Owner != "" {
		shards = []*shardReader{{key: q.Owner, from: after}}
	} else {
		index, keyAttr = IndexByStatus, AttrStatusShard
		for i := range StatusShards {
			shards = append(shards, &shardReader{key: shardKey(q.Status, i), from: after})
		}
	}
	// before reports whether sort key a comes before b in the listing.
	before := func(a, b string) bool { return (a < b) == q.OldestFirst }

	qctx, cancel := s.ctx(ctx)
	defer cancel()
	var taken []indexEntry
	for round := 0; ; {
		var need []*shardReader
		for _, sh := range shards {
			if !sh.done && len(sh.buf) == 0 {
				need = append(need, sh)
			}
		}
		if len(need) > 0 {
			if round == maxQueryRounds {
				break
			}
			round++
			if err := s.readShards(qctx, index, keyAttr, q, need, q.Limit, before); err != nil {
				return jobs.IndexPage{}, err
			}
		}
		// Take entries in listing order while no partition could still
		// hold an earlier one: each unfinished partition with nothing in
		// hand bounds what may be taken by how far it has been read.
		for len(taken) < q.Limit {
			var best *shardReader
			for _, sh := range shards {
				if len(sh.buf) > 0 && (best == nil || before(sh.buf[0].sortKey, best.buf[0].sortKey)) {
					best = sh
				}
			}
			if best == nil || blocked(shards, best.buf[0].sortKey, before) {
				break
			}
			taken = append(taken, best.buf[0])
			best.buf = best.buf[1:]
		}
		if len(taken) == q.Limit || exhausted(shards) {
			break
		}
	}

	var page jobs.IndexPage
	switch {
	case exhausted(shards):
	case len(taken) == q.Limit:
		page.Next = &jobs.Position{SortKey: taken[len(taken)-1].sortKey, ID: taken[len(taken)-1].id}
	default:
		// Out of rounds: continue from the least-read partition, past every
		// entry taken (they all come before it).
		var at string
		for _, sh := range shards {
			if !sh.done && len(sh.buf) == 0 && (at == "" || before(sh.from, at)) {
				at = sh.from
			}
		}
		_, id, _ := splitCreatedAtID(at)
		page.Next = &jobs.Position{SortKey: at, ID: id}
	}
	if len(taken) == 0 {
		return page, nil
	}
	ids := make([]string, len(taken))
	for i, e := range taken {
		ids[i] = e.id
	}
	found, err := s.GetMany(ctx, ids)
	if err != nil {
		return jobs.IndexPage{}, err
	}
	byID := make(map[string]jobs.Job, len(found))
	for _, j := range found {
		byID[j.ID] = j
	}
	for _, e := range taken {
		j, ok := byID[e.id]
		// Gone (TTL), or changed since the index entry was read: the index
		// is eventually consistent, the item is the truth.
		if !ok || j.Expired(q.Now) || (q.Owner != "" && j.OwnerID != q.Owner) || (q.Status != "" && j.Status != q.Status) ||
			(len(q.Statuses) > 0 && !slices.Contains(q.Statuses, j.Status)) {
			continue
		}
		page.Items = append(page.Items, jobs.Listed{Job: j, Pos: jobs.Position{SortKey: e.sortKey, ID: e.id}})
	}
	return page, nil
}

// keep applies the query's filters to an index entry's projected
// attributes. They are applied here rather than in a FilterExpression:
// DynamoDB charges for the entries a Query reads whether a filter drops them
// or not, so it would save nothing, and the embedded engine of `make run`
// counts filtered entries of other partitions against Limit.
func keep(av map[string]types.AttributeValue, q jobs.IndexQuery) bool {
	// Expired: expiresAt <= now, in whole seconds as stored, matching
	// jobs.Job.Expired for the truncated value.
	if n, ok := av[AttrExpiresAt].(*types.AttributeValueMemberN); ok {
		if exp, err := strconv.ParseInt(n.Value, 10, 64); err == nil && exp <= q.Now.Unix() {
			return false
		}
	}
	return len(q.Statuses) == 0 || slices.Contains(q.Statuses, jobs.Status(stringAttr(av, AttrStatus)))
}

// blocked reports whether an unfinished partition with nothing in hand has
// not been read as far as sort key k, so that it might hold an earlier entry.
func blocked(shards []*shardReader, k string, before func(a, b string) bool) bool {
	for _, sh := range shards {
		if !sh.done && len(sh.buf) == 0 && (sh.from == "" || before(sh.from, k)) {
			return true
		}
	}
	return false
}

func exhausted(shards []*shardReader) bool {
	for _, sh := range shards {
		if !sh.done || len(sh.buf) > 0 {
			return false
		}
	}
	return true
}

// readShards makes one Query of each partition in need, concurrently (at
// most queryConcurrency at a time), each for up to limit entries after
// where it was read through.
func (s *Store) readShards(ctx context.Context, index, keyAttr string, q jobs.IndexQuery, need []*shardReader, limit int, before func(a, b string) bool) error {
	op := "<"
	if q.OldestFirst {
		op = ">"
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(queryConcurrency)
	for _, sh := range need {
		names := map[string]string{"#pk": keyAttr}
		values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: sh.key}}
		cond := "#pk = :pk"
		if sh.from != "" {
			// One position resumes every shard: createdAtId is unique
			// across the index, so "after it" means the same everywhere.
			cond += " AND #sk " + op + " :from"
			names["#sk"] = AttrCreatedAtID
			values[":from"] = &types.AttributeValueMemberS{Value: sh.from}
		}
		in := &ddb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(index),
			KeyConditionExpression:    aws.String(cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
			ScanIndexForward:          aws.Bool(q.OldestFirst),
			Limit:                     aws.Int32(int32(limit)),
			ReturnConsumedCapacity:    s.capacity(),
		}
		g.Go(func() error {
			out, err := s.client.Query(gctx, in)
			if err != nil {
				return mapError(err, "Query")
			}
			s.record("Query", out.ConsumedCapacity)
			for _, av := range out.Items {
				sk := stringAttr(av, AttrCreatedAtID)
				if _, id, ok := splitCreatedAtID(sk); ok && id == stringAttr(av, AttrJobID) && keep(av, q) {
					sh.buf = append(sh.buf, indexEntry{sortKey: sk, id: id})
				}
			}
			last := sh.from
			if n := len(sh.buf); n > 0 {
				last = sh.buf[n-1].sortKey
			}
			// A LastEvaluatedKey that does not move past what was read
			// ends the partition: DynamoDB's always does, but the embedded
			// engine of `make run` returns a stale one when nothing
			// matched, and a listing must never go round in circles.
			lek := stringAttr(out.LastEvaluatedKey, AttrCreatedAtID)
			switch {
			case len(out.LastEvaluatedKey) == 0:
				sh.done = true
			case lek != "" && (last == "" || lek == last || before(last, lek)):
				sh.from = lek
			case len(out.Items) == 0:
				sh.done = true
			default:
				sh.from = last
			}
			return nil
		})
	}
	return g.Wait()
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
			if err := jobs.Sleep(ctx, time.Duration(rand.Int64N(int64(d))+1)); err != nil {
				return nil, jobs.Wrap(jobs.EUNAVAILABLE, errors.Join(errors.New("BatchGetItem: unprocessed keys left at the deadline"), err),
					jobs.MsgStoreBusy)
			}
		}
	}
	return out, nil
}
