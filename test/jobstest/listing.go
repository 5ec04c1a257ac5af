package jobstest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// TestListing submits and reads jobs through jobs.Service on a real backend: idempotent
// submits racing each other, listings across pages and statuses, the batch read, and
// retention.
func TestListing(t *testing.T, newBackend BackendFactory) {
	ctx := context.Background()

	t.Run("ConcurrentIdempotentSubmitsCreateOneJob", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		spec := jobs.Spec{Prompt: "a heron at dawn"}
		const n = 10
		results := make([]jobs.SubmitResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = svc.Submit(ctx, alice, spec, "key-1")
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("submit %d: %v", i, errs[i])
			}
			if results[i].Job.ID != results[0].Job.ID {
				t.Errorf("submit %d got job %s, submit 0 got %s", i, results[i].Job.ID, results[0].Job.ID)
			}
			if !results[i].Replayed {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%d submits created a job, want exactly 1", created)
		}
		mine, err := svc.List(ctx, alice, jobs.ListRequest{})
		if err != nil || len(mine.Jobs) != 1 {
			t.Errorf("alice's jobs after %d idempotent submits: %d, %v; want 1", n, len(mine.Jobs), err)
		}

		_, err = svc.Submit(ctx, alice, jobs.Spec{Prompt: "another body"}, "key-1")
		if jobs.ErrorCode(err) != jobs.EUNPROCESSABLE {
			t.Errorf("same key, different body: %v, want %s", err, jobs.EUNPROCESSABLE)
		}
		other, err := svc.Submit(ctx, bob, spec, "key-1")
		if err != nil || other.Replayed || other.Job.ID == results[0].Job.ID {
			t.Errorf("another owner's same key = %+v, %v; want a new job of their own", other, err)
		}
		clock.Set(clock.Now().Add(jobs.IdempotencyWindow + time.Minute))
		if _, err := svc.Submit(ctx, alice, spec, "key-1"); jobs.ErrorCode(err) != jobs.EUNPROCESSABLE {
			t.Errorf("same key after 24 h: %v, want %s", err, jobs.EUNPROCESSABLE)
		}
	})

	t.Run("ListOwnJobsAcrossPages", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		var want []string
		for i := range 7 {
			st := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Completed}[i%3]
			create(t, b.Store, at(fmt.Sprintf("job_a%d", i), "alice", i, st))
			want = append([]string{fmt.Sprintf("job_a%d", i)}, want...)
		}
		create(t, b.Store, at("job_b", "bob", 9, jobs.Queued), at("legacy-1", "", 8, jobs.Queued))
		got := listAll(t, svc, alice, jobs.ListRequest{Limit: 3})
		if !slices.Equal(got, want) {
			t.Errorf("alice's jobs = %v, want %v", got, want)
		}
		got = listAll(t, svc, alice, jobs.ListRequest{Limit: 2, Statuses: []jobs.Status{jobs.Processing, jobs.Queued}})
		if w := []string{"job_a6", "job_a4", "job_a3", "job_a1", "job_a0"}; !slices.Equal(got, w) {
			t.Errorf("alice's QUEUED and PROCESSING jobs = %v, want %v", got, w)
		}
		got = listAll(t, svc, admin, jobs.ListRequest{Limit: 2})
		if len(got) != 0 {
			t.Errorf("admin's own jobs = %v, want none (scope mine is per caller)", got)
		}
		got = listAll(t, svc, bob, jobs.ListRequest{Order: jobs.OldestFirst})
		if w := []string{"job_b"}; !slices.Equal(got, w) {
			t.Errorf("bob's jobs = %v, want %v", got, w)
		}
	})

	t.Run("ListAllMergesStatusesForAdmins", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		var queuedOrRunning []string
		for i := range 9 {
			st := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Failed}[i%3]
			owner := []string{"alice", "bob", ""}[i%3]
			id := fmt.Sprintf("job_%d", i)
			if owner == "" {
				id = fmt.Sprintf("legacy-%d", i)
			}
			create(t, b.Store, at(id, owner, i, st))
			if st != jobs.Failed {
				queuedOrRunning = append(queuedOrRunning, id)
			}
		}
		for _, limit := range []int{1, 2, 4, 100} {
			got := listAll(t, svc, admin, jobs.ListRequest{Scope: jobs.ScopeAll, Limit: limit, Order: jobs.OldestFirst, Statuses: []jobs.Status{jobs.Queued, jobs.Processing}})
			if !slices.Equal(got, queuedOrRunning) {
				t.Errorf("limit %d, oldest first: %v, want %v", limit, got, queuedOrRunning)
			}
		}
		got := listAll(t, svc, admin, jobs.ListRequest{Scope: jobs.ScopeAll, Limit: 3})
		if len(got) != 9 || got[0] != "legacy-8" || got[8] != "job_0" {
			t.Errorf("every status, newest first: %v", got)
		}
		if _, err := svc.List(ctx, alice, jobs.ListRequest{Scope: jobs.ScopeAll}); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("non-admin scope all: %v, want %s", err, jobs.EINVALID)
		}
	})

	t.Run("ListLimitsAndCursorsAreChecked", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, _ := service(b)
		for i := range jobs.DefaultPageSize + 2 {
			create(t, b.Store, at(fmt.Sprintf("job_a%02d", i), "alice", i, jobs.Queued), at(fmt.Sprintf("job_b%02d", i), "bob", i, jobs.Queued))
		}
		page, err := svc.List(ctx, alice, jobs.ListRequest{})
		if err != nil || len(page.Jobs) != jobs.DefaultPageSize || page.NextCursor == "" {
			t.Fatalf("default page: %d jobs, cursor %q, %v; want %d and a cursor", len(page.Jobs), page.NextCursor, err, jobs.DefaultPageSize)
		}
		for _, limit := range []int{-1, jobs.MaxPageSize + 1} {
			if _, err := svc.List(ctx, alice, jobs.ListRequest{Limit: limit}); jobs.ErrorCode(err) != jobs.EINVALID {
				t.Errorf("limit %d: %v, want %s", limit, err, jobs.EINVALID)
			}
		}
		cur := page.NextCursor
		p64, m64, _ := strings.Cut(cur, ".")
		flip := func(s string) string {
			r := []byte(s)
			r[len(r)/2] ^= 1
			return string(r)
		}
		other := &jobs.Service{Store: b.Store, Index: b.Index, Now: svc.Now, CursorKey: []byte("another-key-0123456789abcdef-0123")}
		tests := []struct {
			name   string
			svc    *jobs.Service
			caller jobs.Caller
			req    jobs.ListRequest
		}{
			{"another caller", svc, bob, jobs.ListRequest{Cursor: cur}},
			{"an admin", svc, admin, jobs.ListRequest{Cursor: cur}},
			{"another status filter", svc, alice, jobs.ListRequest{Cursor: cur, Statuses: []jobs.Status{jobs.Queued}}},
			{"another order", svc, alice, jobs.ListRequest{Cursor: cur, Order: jobs.OldestFirst}},
			{"another scope", svc, admin, jobs.ListRequest{Cursor: cur, Scope: jobs.ScopeAll}},
			{"payload changed", svc, alice, jobs.ListRequest{Cursor: flip(p64) + "." + m64}},
			{"mac changed", svc, alice, jobs.ListRequest{Cursor: p64 + "." + flip(m64)}},
			{"no mac", svc, alice, jobs.ListRequest{Cursor: p64}},
			{"garbage", svc, alice, jobs.ListRequest{Cursor: "not a cursor"}},
			{"too long", svc, alice, jobs.ListRequest{Cursor: strings.Repeat("a", jobs.MaxCursorLen+1)}},
			{"another key", other, alice, jobs.ListRequest{Cursor: cur}},
		}
		for _, tt := range tests {
			page, err := tt.svc.List(ctx, tt.caller, tt.req)
			if jobs.ErrorCode(err) != jobs.EINVALID || len(page.Jobs) != 0 {
				t.Errorf("cursor from %s: %d jobs, %v; want none and %s", tt.name, len(page.Jobs), err, jobs.EINVALID)
			}
		}
		next, err := svc.List(ctx, alice, jobs.ListRequest{Cursor: cur})
		if err != nil || len(next.Jobs) != 2 || next.Jobs[0].OwnerID != "alice" {
			t.Errorf("the right cursor: %d jobs, %v; want alice's last 2", len(next.Jobs), err)
		}
	})

	t.Run("BatchGet", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		gone := at("job_gone", "alice", 3, jobs.Completed)
		gone.ExpiresAt = clock.Now().Add(-time.Hour).Truncate(time.Second)
		create(t, b.Store, at("job_a1", "alice", 1, jobs.Queued), at("job_a2", "alice", 2, jobs.Completed),
			at("job_b1", "bob", 1, jobs.Queued), gone, at("legacy-1", "", 1, jobs.Queued))
		ask := []string{"job_a2", "job_b1", "job_missing", "job_gone", "legacy-1", "job_a1", "job_a2"}
		tests := []struct {
			caller jobs.Caller
			want   []string
		}{
			{alice, []string{"job_a2", "job_a1"}},
			{bob, []string{"job_b1"}},
			{admin, []string{"job_a2", "job_b1", "legacy-1", "job_a1"}},
		}
		for _, tt := range tests {
			got, err := svc.BatchGet(ctx, tt.caller, ask)
			if err != nil || !slices.Equal(ids(got...), tt.want) {
				t.Errorf("%s: BatchGet = %v, %v; want %v", tt.caller.Subject, ids(got...), err, tt.want)
			}
		}
		many := make([]string, jobs.MaxBatchIDs+1)
		for i := range many {
			many[i] = fmt.Sprintf("job_%d", i)
		}
		for name, in := range map[string][]string{"none": nil, "too many": many, "malformed": {"job_a1", "a/b"}} {
			if _, err := svc.BatchGet(ctx, alice, in); jobs.ErrorCode(err) != jobs.EINVALID {
				t.Errorf("%s: %v, want %s", name, err, jobs.EINVALID)
			}
		}
	})

	t.Run("ExpiredJobsAreGoneEverywhere", func(t *testing.T) {
		t.Parallel()
		b := newBackend(t)
		svc, clock := service(b)
		create(t, b.Store, NewJob("job_1", "alice"))
		if _, err := svc.Cancel(ctx, alice, "job_1"); err != nil {
			t.Fatal(err)
		}
		clock.Set(clock.Now().Add(jobs.DefaultRetention - time.Second))
		if _, err := svc.Get(ctx, alice, "job_1"); err != nil {
			t.Fatalf("Get within retention: %v", err)
		}
		clock.Set(clock.Now().Add(2 * time.Second))
		if _, err := svc.Get(ctx, alice, "job_1"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
			t.Errorf("Get after retention: %v, want %s", err, jobs.ENOTFOUND)
		}
		if got, err := svc.BatchGet(ctx, alice, []string{"job_1"}); err != nil || len(got) != 0 {
			t.Errorf("BatchGet after retention: %v, %v; want nothing", ids(got...), err)
		}
		if got := listAll(t, svc, alice, jobs.ListRequest{}); len(got) != 0 {
			t.Errorf("List after retention: %v, want nothing", got)
		}
		if got := listAll(t, svc, admin, jobs.ListRequest{Scope: jobs.ScopeAll}); len(got) != 0 {
			t.Errorf("admin List after retention: %v, want nothing", got)
		}
		if _, err := svc.Cancel(ctx, alice, "job_1"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
			t.Errorf("Cancel after retention: %v, want %s", err, jobs.ENOTFOUND)
		}
	})
}

// listAll pages through a listing and returns the job IDs in order, checking
// that no job comes twice.
func listAll(t *testing.T, svc *jobs.Service, c jobs.Caller, req jobs.ListRequest) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for range 100 {
		page, err := svc.List(context.Background(), c, req)
		if err != nil {
			t.Fatalf("List(%+v): %v", req, err)
		}
		limit := req.Limit
		if limit == 0 {
			limit = jobs.DefaultPageSize
		}
		if len(page.Jobs) > limit {
			t.Fatalf("page of %d jobs, limit %d", len(page.Jobs), limit)
		}
		for _, j := range page.Jobs {
			if seen[j.ID] {
				t.Fatalf("job %s listed twice", j.ID)
			}
			seen[j.ID] = true
			out = append(out, j.ID)
		}
		if page.NextCursor == "" {
			return out
		}
		req.Cursor = page.NextCursor
	}
	t.Fatalf("listing never ended")
	return nil
}
