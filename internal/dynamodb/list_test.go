package dynamodb_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

func TestIndexContract(t *testing.T) {
	jobstest.TestIndex(t, func(t *testing.T) jobstest.Backend {
		client, table := testenv.NewTable(t)
		s := dynamodb.New(client, table)
		return jobstest.Backend{Store: s, Index: s, ShardOf: dynamodb.ShardOf, Shards: dynamodb.StatusShards}
	})
}

// TestQueryWorkIsBounded: a listing whose filter drops everything (a status
// full of expired jobs) stops after maxQueryRounds rounds of one Query per
// shard, with a position to go on from, instead of reading the partition to
// its end in one request.
func TestQueryWorkIsBounded(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	var queries atomic.Int32
	s := dynamodb.New(&faulty{API: client, query: func() error { queries.Add(1); return nil }}, table)
	ctx := context.Background()
	now := jobstest.T0.Add(time.Hour)
	// Enough expired jobs that every shard still has some after four
	// rounds of one entry each.
	for i := range 8 * dynamodb.StatusShards {
		j := jobstest.NewJob(fmt.Sprintf("job_x%03d", i), "alice")
		j.Status, j.ExpiresAt = jobs.Failed, jobstest.T0
		j.Error = &jobs.JobError{Code: "E", Message: "m"}
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	live := jobstest.NewJob("job_live", "alice")
	live.Status, live.CreatedAt = jobs.Failed, jobstest.T0.Add(-time.Hour) // listed last, newest first
	live.Error = &jobs.JobError{Code: "E", Message: "m"}
	if err := s.Create(ctx, live); err != nil {
		t.Fatal(err)
	}
	for _, q := range []jobs.IndexQuery{
		{Status: jobs.Failed, Limit: 1, Now: now},
		{Owner: "alice", Limit: 1, Now: now},
	} {
		queries.Store(0)
		page, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		partitions := int32(dynamodb.StatusShards)
		if q.Owner != "" {
			partitions = 1
		}
		if got, most := queries.Load(), 4*partitions; got > most || len(page.Items) != 0 || page.Next == nil {
			t.Errorf("%+v: %d Queries (want at most %d), %d items, next %v; want nothing and a position", q, got, most, len(page.Items), page.Next)
		}
		// The position it gave resumes past what it read: paging on finds
		// the live job behind the expired ones, once.
		var found []string
		for q.After = page.Next; q.After != nil; q.After = page.Next {
			if page, err = s.Query(ctx, q); err != nil {
				t.Fatal(err)
			}
			for _, l := range page.Items {
				found = append(found, l.Job.ID)
			}
		}
		if len(found) != 1 || found[0] != live.ID {
			t.Errorf("%+v: paging on found %v, want [%s]", q, found, live.ID)
		}
	}
}

// BenchmarkListPage reports the read units and calls behind one page of 20,
// as dynalite counts them: a user's page (one Query and one BatchGetItem),
// a status page of an admin or the sweeper (a Query per shard, merged, and
// one BatchGetItem).
func BenchmarkListPage(b *testing.B) {
	client, table := testenv.NewTable(b)
	var queries atomic.Int32
	s := dynamodb.New(&faulty{API: client, query: func() error { queries.Add(1); return nil }}, table)
	units := map[string]float64{}
	var mu sync.Mutex
	s.OnCapacity = func(op string, u float64) { mu.Lock(); units[op] += u; mu.Unlock() }
	ctx := context.Background()
	for i := range 200 {
		j := jobstest.NewJob(fmt.Sprintf("job_b%03d", i), "alice")
		j.CreatedAt = jobstest.T0.Add(time.Duration(i) * time.Second)
		j.Status = []jobs.Status{jobs.Queued, jobs.Processing}[i%2]
		if err := s.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
	now := jobstest.T0.Add(time.Hour)
	for _, bc := range []struct {
		name string
		q    jobs.IndexQuery
	}{
		{"user-page-20", jobs.IndexQuery{Owner: "alice", Limit: 20, Now: now}},
		{"user-page-20-status-filter", jobs.IndexQuery{Owner: "alice", Statuses: []jobs.Status{jobs.Processing}, Limit: 20, Now: now}},
		{"status-page-20-oldest", jobs.IndexQuery{Status: jobs.Queued, Limit: 20, OldestFirst: true, Now: now}},
		{"status-page-100-oldest", jobs.IndexQuery{Status: jobs.Queued, Limit: 100, OldestFirst: true, Now: now}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clear(units)
			queries.Store(0)
			for b.Loop() {
				page, err := s.Query(ctx, bc.q)
				if err != nil || len(page.Items) == 0 {
					b.Fatal(err, len(page.Items))
				}
			}
			n := float64(b.N)
			b.ReportMetric(units["Query"]/n, "Query-RCU/page")
			b.ReportMetric(units["BatchGetItem"]/n, "BatchGet-RCU/page")
			b.ReportMetric(float64(queries.Load())/n, "Queries/page")
		})
	}
}

// TestBoundedQueryResumesAtTheLeastReadShard: when the bound stops a status
// listing, it must continue from the shard read least far, or it would skip
// what that shard has not been read for. Shard B's entries are newer than
// shard A's; both are read at one entry a round, so after the bound B has
// been read least far (in listing order), and B's live job lies between
// where B and A stopped.
func TestBoundedQueryResumesAtTheLeastReadShard(t *testing.T) {
	t.Parallel()
	client, table := testenv.NewTable(t)
	s := dynamodb.New(client, table)
	ctx := context.Background()
	n := 0
	inShard := func(shard int) string {
		for ; ; n++ {
			if id := fmt.Sprintf("job_r%04d", n); dynamodb.ShardOf(id) == shard {
				n++
				return id
			}
		}
	}
	create := func(id string, at time.Duration, expired bool) {
		t.Helper()
		j := jobstest.NewJob(id, "bob")
		j.Status, j.CreatedAt = jobs.Failed, jobstest.T0.Add(at)
		j.Error = &jobs.JobError{Code: "E", Message: "m"}
		if expired {
			j.ExpiresAt = jobstest.T0
		}
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		create(inShard(2), time.Duration(1+i)*time.Second, true)  // shard A: T0+1s..10s
		create(inShard(9), time.Duration(91+i)*time.Second, true) // shard B: T0+91s..100s
	}
	live := inShard(9)
	create(live, 50*time.Second, false)

	q := jobs.IndexQuery{Status: jobs.Failed, Limit: 1, Now: jobstest.T0.Add(time.Hour)}
	var found []string
	for range 20 {
		page, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page.Items {
			found = append(found, l.Job.ID)
		}
		if q.After = page.Next; q.After == nil {
			break
		}
	}
	if len(found) != 1 || found[0] != live {
		t.Errorf("found %v, want [%s]", found, live)
	}
}
