package jobstest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Backend is a store and its index over the same data, as one test's fresh,
// empty backend.
type Backend struct {
	Store jobs.Store
	Index jobs.Index
	// ShardOf, for a store that spreads a status over several partitions,
	// is the partition of a job ID, and Shards how many there are; the
	// suite then places jobs in chosen shards. Nil for an unsharded store,
	// which must give the same answers.
	ShardOf func(id string) int
	Shards  int
}

// shardedIDs returns IDs "job_<prefix><n>..." such that the i-th is in
// shard want[i] of b (any shard if b is unsharded), in increasing order.
func shardedIDs(t *testing.T, b Backend, prefix string, want []int) []string {
	t.Helper()
	out := make([]string, len(want))
	n := 0
	for i, sh := range want {
		for ; ; n++ {
			id := fmt.Sprintf("job_%s%05d", prefix, n)
			if b.ShardOf == nil || b.ShardOf(id) == sh%max(b.Shards, 1) {
				out[i] = id
				n++
				break
			}
			if n > 1_000_000 {
				t.Fatalf("no ID in shard %d", sh)
			}
		}
	}
	return out
}

// BackendFactory returns a new, empty backend for one test.
type BackendFactory func(t *testing.T) Backend

// at returns a QUEUED job of owner created i seconds after T0.
func at(id, owner string, i int, st jobs.Status) jobs.Job {
	j := NewJob(id, owner)
	j.Status = st
	j.CreatedAt = T0.Add(time.Duration(i) * time.Second)
	j.UpdatedAt = j.CreatedAt
	switch st {
	case jobs.Completed:
		j.Progress, j.OutputURL = 100, "https://cdn.example.com/"+id+".mp4"
	case jobs.Failed:
		j.Error = &jobs.JobError{Code: "E", Message: "m"}
	}
	return j
}

func create(t *testing.T, s jobs.Store, js ...jobs.Job) {
	t.Helper()
	for _, j := range js {
		if err := s.Create(context.Background(), j); err != nil {
			t.Fatalf("Create %s: %v", j.ID, err)
		}
	}
}

// drain pages through one partition and returns the job IDs in order.
func drain(t *testing.T, ix jobs.Index, q jobs.IndexQuery) []string {
	t.Helper()
	var ids []string
	for range 50 {
		page, err := ix.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", q, err)
		}
		if len(page.Items) > q.Limit {
			t.Fatalf("Query returned %d items, limit %d", len(page.Items), q.Limit)
		}
		for _, l := range page.Items {
			if l.Pos.ID != l.Job.ID || l.Pos.SortKey == "" {
				t.Fatalf("item %s has position %+v", l.Job.ID, l.Pos)
			}
			ids = append(ids, l.Job.ID)
		}
		if page.Next == nil {
			return ids
		}
		q.After = page.Next
	}
	t.Fatalf("Query(%+v) never ended", q)
	return nil
}

func ids(js ...jobs.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

// TestIndex runs the contract of jobs.Index.
func TestIndex(t *testing.T, newBackend BackendFactory) {
	ctx := context.Background()
	now := T0.Add(time.Hour)

	t.Run("OwnerPartitionNewestFirstAcrossPages", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		var alice []jobs.Job
		for i := range 7 {
			alice = append(alice, at(fmt.Sprintf("job_a%d", i), "alice", i, jobs.Queued))
		}
		create(t, b.Store, alice...)
		create(t, b.Store, at("job_b0", "bob", 3, jobs.Queued), at("legacy-0", "", 4, jobs.Queued))

		newest := ids(alice...)
		slices.Reverse(newest)
		for _, limit := range []int{1, 3, 7, 100} {
			got := drain(t, b.Index, jobs.IndexQuery{Owner: "alice", Limit: limit, Now: now})
			if !slices.Equal(got, newest) {
				t.Errorf("limit %d, newest first: got %v, want %v", limit, got, newest)
			}
		}
		got := drain(t, b.Index, jobs.IndexQuery{Owner: "alice", Limit: 2, OldestFirst: true, Now: now})
		if want := ids(alice...); !slices.Equal(got, want) {
			t.Errorf("oldest first: got %v, want %v", got, want)
		}
		if got := drain(t, b.Index, jobs.IndexQuery{Owner: "carol", Limit: 5, Now: now}); len(got) != 0 {
			t.Errorf("unknown owner: got %v, want nothing", got)
		}
	})

	t.Run("OwnerPartitionFiltersStatuses", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		all := []jobs.Job{
			at("job_q0", "alice", 0, jobs.Queued), at("job_p1", "alice", 1, jobs.Processing),
			at("job_c2", "alice", 2, jobs.Completed), at("job_f3", "alice", 3, jobs.Failed),
			at("job_p4", "alice", 4, jobs.Processing), at("job_x5", "alice", 5, jobs.Cancelled),
			at("job_p6", "bob", 6, jobs.Processing),
		}
		create(t, b.Store, all...)
		tests := []struct {
			statuses []jobs.Status
			want     []string
		}{
			{[]jobs.Status{jobs.Processing}, []string{"job_p4", "job_p1"}},
			{[]jobs.Status{jobs.Processing, jobs.Completed}, []string{"job_p4", "job_c2", "job_p1"}},
			{[]jobs.Status{jobs.Failed, jobs.Cancelled, jobs.Queued}, []string{"job_x5", "job_f3", "job_q0"}},
			{nil, []string{"job_x5", "job_p4", "job_f3", "job_c2", "job_p1", "job_q0"}},
		}
		for _, tt := range tests {
			for _, limit := range []int{1, 2, 10} {
				got := drain(t, b.Index, jobs.IndexQuery{Owner: "alice", Statuses: tt.statuses, Limit: limit, Now: now})
				if !slices.Equal(got, tt.want) {
					t.Errorf("statuses %v, limit %d: got %v, want %v", tt.statuses, limit, got, tt.want)
				}
			}
		}
	})

	t.Run("StatusPartitionHoldsEveryOwner", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		create(t, b.Store,
			at("job_1", "alice", 1, jobs.Processing), at("job_2", "bob", 2, jobs.Processing),
			at("legacy-3", "", 3, jobs.Processing), at("job_4", "alice", 4, jobs.Queued))
		got := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Processing, Limit: 2, Now: now})
		if want := []string{"legacy-3", "job_2", "job_1"}; !slices.Equal(got, want) {
			t.Errorf("PROCESSING newest first: got %v, want %v", got, want)
		}
		got = drain(t, b.Index, jobs.IndexQuery{Status: jobs.Processing, Limit: 5, OldestFirst: true, Now: now})
		if want := []string{"job_1", "job_2", "legacy-3"}; !slices.Equal(got, want) {
			t.Errorf("PROCESSING oldest first: got %v, want %v", got, want)
		}
		got = drain(t, b.Index, jobs.IndexQuery{Owner: "alice", Limit: 5, Now: now})
		if want := []string{"job_4", "job_1"}; !slices.Equal(got, want) {
			t.Errorf("a job without owner leaked into an owner partition, or one is missing: got %v, want %v", got, want)
		}
	})

	t.Run("ExpiredJobsAreLeftOut", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		gone := at("job_gone", "alice", 1, jobs.Completed)
		gone.ExpiresAt = now.Add(-time.Second).Truncate(time.Second)
		edge := at("job_edge", "alice", 2, jobs.Completed)
		edge.ExpiresAt = now.Truncate(time.Second) // expired exactly now
		kept := at("job_kept", "alice", 3, jobs.Completed)
		kept.ExpiresAt = now.Add(time.Hour).Truncate(time.Second)
		create(t, b.Store, gone, edge, kept, at("job_live", "alice", 4, jobs.Queued))
		if got, want := drain(t, b.Index, jobs.IndexQuery{Owner: "alice", Limit: 1, Now: now}), []string{"job_live", "job_kept"}; !slices.Equal(got, want) {
			t.Errorf("owner partition: got %v, want %v", got, want)
		}
		if got, want := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Completed, Limit: 10, Now: now}), []string{"job_kept"}; !slices.Equal(got, want) {
			t.Errorf("status partition: got %v, want %v", got, want)
		}
	})

	t.Run("StatusPartitionMergesShards", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		// Shard 3 holds most jobs, interleaved in time with shards 5 and 9;
		// every other shard is empty. Paging oldest first, shards 5 and 9
		// are exhausted while shard 3 still pages; newest first, the other
		// way round. Same-second jobs test the order within a createdAt.
		shards := []int{3, 5, 3, 9, 3, 5, 3, 3, 5, 3, 3}
		idsIn := shardedIDs(t, b, "s", shards)
		var want []string
		for i, id := range idsIn {
			create(t, b.Store, at(id, fmt.Sprintf("owner%d", i%3), i/2*3, jobs.Processing))
			want = append(want, id)
		}
		create(t, b.Store, at(shardedIDs(t, b, "q", []int{3})[0], "owner0", 1, jobs.Queued))
		newest := slices.Clone(want)
		slices.Reverse(newest)
		for _, limit := range []int{1, 2, 3, 4, 100} {
			if got := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Processing, Limit: limit, OldestFirst: true, Now: now}); !slices.Equal(got, want) {
				t.Errorf("limit %d, oldest first:\n got %v\nwant %v", limit, got, want)
			}
			if got := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Processing, Limit: limit, Now: now}); !slices.Equal(got, newest) {
				t.Errorf("limit %d, newest first:\n got %v\nwant %v", limit, got, newest)
			}
		}
		if got := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Failed, Limit: 3, Now: now}); len(got) != 0 {
			t.Errorf("a status with every shard empty: got %v", got)
		}
	})

	t.Run("ShardPagesAfterTheOthersAreExhausted", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		// One old job in each of shards 0-2, then shard 7 alone, with
		// expired jobs between that the filter drops.
		idsIn := shardedIDs(t, b, "p", []int{0, 1, 2, 7, 7, 7, 7, 7, 7})
		var want []string
		for i, id := range idsIn {
			j := at(id, "alice", i, jobs.Completed)
			if i%3 == 1 && i > 3 {
				j.ExpiresAt = now.Add(-time.Minute).Truncate(time.Second)
			} else {
				want = append(want, id)
			}
			create(t, b.Store, j)
		}
		for _, limit := range []int{1, 2, 5} {
			if got := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Completed, Limit: limit, OldestFirst: true, Now: now}); !slices.Equal(got, want) {
				t.Errorf("limit %d:\n got %v\nwant %v", limit, got, want)
			}
		}
	})

	t.Run("ForgedPositionsAreInvalid", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		create(t, b.Store, at("job_f1", "alice", 1, jobs.Queued), at("job_f2", "alice", 2, jobs.Queued))
		page, err := b.Index.Query(ctx, jobs.IndexQuery{Status: jobs.Queued, Limit: 1, OldestFirst: true, Now: now})
		if err != nil || page.Next == nil || len(page.Items) != 1 {
			t.Fatalf("first page = %+v, %v; want one job and a position", page, err)
		}
		good := *page.Next
		for _, pos := range []jobs.Position{
			{SortKey: "", ID: "job_f1"},
			{SortKey: "zzzz", ID: "job_f1"},
			{SortKey: good.SortKey, ID: ""},
			{SortKey: good.SortKey + "#QUEUED#07", ID: good.ID},
		} {
			for _, q := range []jobs.IndexQuery{
				{Status: jobs.Queued, Limit: 2, After: &pos, Now: now},
				{Owner: "alice", Limit: 2, After: &pos, Now: now},
			} {
				if _, err := b.Index.Query(ctx, q); jobs.ErrorCode(err) != jobs.EINVALID {
					t.Errorf("Query after forged position %+v: %v, want %s", pos, err, jobs.EINVALID)
				}
			}
		}
		if got := drain(t, b.Index, jobs.IndexQuery{Status: jobs.Queued, Limit: 1, OldestFirst: true, After: &good, Now: now}); !slices.Equal(got, []string{"job_f2"}) {
			t.Errorf("after the position given: got %v, want [job_f2]", got)
		}
	})

	t.Run("ListCursorsAcrossShardsAndStatuses", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		statuses := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Completed}
		idsIn := shardedIDs(t, b, "l", []int{0, 4, 4, 11, 15, 4, 0, 8, 4, 4, 13, 2})
		var want []string
		for i, id := range idsIn {
			create(t, b.Store, at(id, "alice", i, statuses[i%3]))
			want = append(want, id)
		}
		svc := &jobs.Service{Store: b.Store, Index: b.Index, Now: func() time.Time { return now }}
		admin := jobs.Caller{Subject: "root", Groups: []string{jobs.AdminGroup}, Admin: true}
		req := jobs.ListRequest{Scope: jobs.ScopeAll, Statuses: statuses, Order: jobs.OldestFirst, Limit: 2}
		var got []string
		var cursors []string
		for range 20 {
			page, err := svc.List(ctx, admin, req)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(page.Jobs...)...)
			if page.NextCursor == "" {
				break
			}
			cursors = append(cursors, page.NextCursor)
			req.Cursor = page.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("admin listing of three statuses:\n got %v\nwant %v", got, want)
		}
		if len(cursors) == 0 {
			t.Fatal("no cursor issued")
		}
		// A cursor whose positions were altered is refused before any read.
		c := cursors[len(cursors)/2]
		for i := range min(len(c), 40) {
			forged := []byte(c)
			forged[i] ^= 1
			req.Cursor = string(forged)
			if _, err := svc.List(ctx, admin, req); jobs.ErrorCode(err) != jobs.EINVALID {
				t.Errorf("cursor altered at byte %d: %v, want %s", i, err, jobs.EINVALID)
			}
		}
	})

	t.Run("GetManyReturnsWhatExists", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		a, c := at("job_a", "alice", 1, jobs.Queued), at("job_c", "bob", 2, jobs.Completed)
		create(t, b.Store, a, c)
		got, err := b.Index.GetMany(ctx, []string{"job_c", "job_missing", "job_a", "job_a"})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, k int) bool { return got[i].ID < got[k].ID })
		if want := []jobs.Job{a, c}; !slices.EqualFunc(got, want, jobsEqual) {
			t.Errorf("GetMany =\n%+v\nwant\n%+v", got, want)
		}
		if got, err := b.Index.GetMany(ctx, []string{"job_nope"}); err != nil || len(got) != 0 {
			t.Errorf("GetMany(unknown) = %v, %v; want nothing", got, err)
		}
	})

	t.Run("GetManyBeyondOneRequest", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		var want []string
		for i := range 120 { // BatchGetItem takes 100 keys per request
			j := at(fmt.Sprintf("job_%03d", i), "alice", i, jobs.Queued)
			create(t, b.Store, j)
			want = append(want, j.ID)
		}
		got, err := b.Index.GetMany(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		gotIDs := ids(got...)
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, want) {
			t.Errorf("GetMany of %d ids found %d", len(want), len(gotIDs))
		}
	})
}

func jobsEqual(a, b jobs.Job) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }
