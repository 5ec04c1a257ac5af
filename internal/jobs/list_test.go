package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

// stingyIndex wraps an index and hands out as little as the Index contract
// allows, as DynamoDB does with Limit 1 and a FilterExpression: each call
// reads one item and, when the filters drop it, returns nothing but the
// position after it.
type stingyIndex struct{ jobs.Index }

func (s stingyIndex) Query(ctx context.Context, q jobs.IndexQuery) (jobs.IndexPage, error) {
	raw := q
	raw.Limit, raw.Statuses, raw.Now = 1, nil, time.Time{}
	page, err := s.Index.Query(ctx, raw)
	if err != nil || len(page.Items) == 0 {
		return page, err
	}
	l := page.Items[0]
	if l.Job.Expired(q.Now) || (len(q.Statuses) > 0 && !slices.Contains(q.Statuses, l.Job.Status)) {
		if page.Next != nil {
			return jobs.IndexPage{Next: &l.Pos}, nil
		}
		return jobs.IndexPage{}, nil
	}
	return page, nil
}

func TestListMergesShortPagesInGlobalOrder(t *testing.T) {
	t.Parallel()
	store := inmem.NewStore()
	statuses := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Completed, jobs.Failed}
	var all []jobs.Job
	for i := range 14 {
		// Irregular spacing and a shared timestamp, across partitions.
		j := jobstest.NewJob(fmt.Sprintf("job_%02d", i), []string{"alice", "bob"}[i%2])
		j.Status = statuses[(i*7)%len(statuses)]
		j.CreatedAt = jobstest.T0.Add(time.Duration(i*i%11) * time.Second)
		if i%5 == 4 {
			j.ExpiresAt = jobstest.T0 // long gone: never listed
		}
		switch j.Status {
		case jobs.Completed:
			j.OutputURL = "https://cdn.example.com/x.mp4"
		case jobs.Failed:
			j.Error = &jobs.JobError{Code: "E", Message: "m"}
		}
		if err := store.Create(context.Background(), j); err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	admin := jobs.Caller{Subject: "root", Groups: []string{jobs.AdminGroup}, Admin: true}
	tests := []struct {
		name   string
		caller jobs.Caller
		req    jobs.ListRequest
		keep   func(jobs.Job) bool
	}{
		{"admin, two statuses", admin, jobs.ListRequest{Scope: jobs.ScopeAll, Statuses: []jobs.Status{jobs.Queued, jobs.Failed}},
			func(j jobs.Job) bool { return j.Status == jobs.Queued || j.Status == jobs.Failed }},
		{"admin, every status", admin, jobs.ListRequest{Scope: jobs.ScopeAll}, func(jobs.Job) bool { return true }},
		{"alice, filtered", jobs.Caller{Subject: "alice"}, jobs.ListRequest{Statuses: []jobs.Status{jobs.Processing, jobs.Completed}},
			func(j jobs.Job) bool {
				return j.OwnerID == "alice" && (j.Status == jobs.Processing || j.Status == jobs.Completed)
			}},
	}
	for _, tt := range tests {
		for _, order := range []jobs.Order{jobs.NewestFirst, jobs.OldestFirst} {
			for _, limit := range []int{1, 3, 100} {
				var want []string
				sorted := slices.Clone(all)
				slices.SortStableFunc(sorted, func(a, b jobs.Job) int {
					c := a.CreatedAt.Compare(b.CreatedAt)
					if c == 0 {
						c = compareStrings(a.ID, b.ID)
					}
					if order == jobs.NewestFirst {
						return -c
					}
					return c
				})
				for _, j := range sorted {
					if tt.keep(j) && j.ExpiresAt.IsZero() {
						want = append(want, j.ID)
					}
				}
				svc := &jobs.Service{Store: store, Index: stingyIndex{store}, Now: func() time.Time { return jobstest.T0.Add(time.Hour) }}
				req := tt.req
				req.Order, req.Limit = order, limit
				var got []string
				for range 100 {
					page, err := svc.List(context.Background(), tt.caller, req)
					if err != nil {
						t.Fatalf("%s: %v", tt.name, err)
					}
					got = append(got, ids(page.Jobs)...)
					if page.NextCursor == "" {
						break
					}
					req.Cursor = page.NextCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s, %s first, limit %d:\n got %v\nwant %v", tt.name, order, limit, got, want)
				}
			}
		}
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ids(js []jobs.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

// faultyIndex fails every call with err.
type faultyIndex struct{ err error }

func (f faultyIndex) Query(context.Context, jobs.IndexQuery) (jobs.IndexPage, error) {
	return jobs.IndexPage{}, f.err
}
func (f faultyIndex) GetMany(context.Context, []string) ([]jobs.Job, error) { return nil, f.err }

func TestListAndBatchGetPassStoreErrorsAndCheckCallers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	unavailable := jobs.Errorf(jobs.EUNAVAILABLE, "busy")
	svc := &jobs.Service{Store: inmem.NewStore(), Index: faultyIndex{unavailable}}
	alice := jobs.Caller{Subject: "alice"}
	if _, err := svc.List(ctx, alice, jobs.ListRequest{}); jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Errorf("List over a failing index: %v, want %s", err, jobs.EUNAVAILABLE)
	}
	if _, err := svc.BatchGet(ctx, alice, []string{"job_1"}); jobs.ErrorCode(err) != jobs.EUNAVAILABLE {
		t.Errorf("BatchGet over a failing index: %v, want %s", err, jobs.EUNAVAILABLE)
	}
	for name, call := range map[string]func(jobs.Caller) error{
		"List":     func(c jobs.Caller) error { _, err := svc.List(ctx, c, jobs.ListRequest{}); return err },
		"BatchGet": func(c jobs.Caller) error { _, err := svc.BatchGet(ctx, c, []string{"job_1"}); return err },
	} {
		if err := call(jobs.Caller{}); jobs.ErrorCode(err) != jobs.EUNAUTHORIZED {
			t.Errorf("%s without a caller: %v, want %s", name, err, jobs.EUNAUTHORIZED)
		}
	}
	bad := []jobs.ListRequest{
		{Scope: "everyone"}, {Order: "random"}, {Statuses: []jobs.Status{"DONE"}}, {Limit: -5},
	}
	for _, req := range bad {
		if _, err := svc.List(ctx, alice, req); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("List(%+v): %v, want %s", req, err, jobs.EINVALID)
		}
	}
	// A store that is no Index, and no Index given: an internal error, not a panic.
	bare := &jobs.Service{Store: storeOnly{}}
	if _, err := bare.List(ctx, alice, jobs.ListRequest{}); jobs.ErrorCode(err) != jobs.EINTERNAL {
		t.Errorf("List without an index: %v, want %s", err, jobs.EINTERNAL)
	}
	// Without an explicit Index, a Store that is one serves.
	withStore := &jobs.Service{Store: inmem.NewStore()}
	if _, err := withStore.List(ctx, alice, jobs.ListRequest{}); err != nil {
		t.Errorf("List with the store as index: %v", err)
	}
}

type storeOnly struct{ jobs.Store }
