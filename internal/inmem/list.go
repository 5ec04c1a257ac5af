package inmem

import (
	"context"
	"slices"
	"strings"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

var _ jobs.Index = (*Store)(nil)

// Query reads the owner or status "index" as DynamoDB's GSIs would: jobs
// without an owner are not in the owner index; order is createdAt as stored
// (the formatted string), then job ID, a total order, as in the DynamoDB
// store, which merges a status's shards by it. One store holds everything,
// so there are no shards here; the contract's sharded cases still hold.
func (s *Store) Query(_ context.Context, q jobs.IndexQuery) (jobs.IndexPage, error) {
	if q.Limit < 1 || (q.Owner == "") == (q.Status == "") {
		return jobs.IndexPage{}, jobs.Errorf(jobs.EINTERNAL, "index query: need a limit and exactly one of owner, status")
	}
	if q.After != nil {
		// Positions are a createdAt and an ID, as this store makes them;
		// anything else is refused, as the DynamoDB store refuses keys it
		// could not have written.
		if t, err := jobs.ParseTime(q.After.SortKey); err != nil || t.IsZero() || jobs.FormatTime(t) != q.After.SortKey || q.After.ID == "" {
			return jobs.IndexPage{}, jobs.Errorf(jobs.EINVALID, "cursor: not a position of this listing; start again without one")
		}
	}
	s.mu.RLock()
	var all []jobs.Listed
	for _, j := range s.jobs {
		if (q.Owner != "" && j.OwnerID != q.Owner) || (q.Status != "" && j.Status != q.Status) {
			continue
		}
		all = append(all, jobs.Listed{Job: clone(j), Pos: jobs.Position{SortKey: jobs.FormatTime(j.CreatedAt), ID: j.ID}})
	}
	s.mu.RUnlock()
	slices.SortFunc(all, func(a, b jobs.Listed) int {
		if q.OldestFirst {
			return comparePos(a.Pos, b.Pos)
		}
		return comparePos(b.Pos, a.Pos)
	})
	if q.After != nil {
		// Continue with the first item past the position, whether or not
		// the item it names still exists.
		start := slices.IndexFunc(all, func(l jobs.Listed) bool {
			c := comparePos(l.Pos, *q.After)
			return (q.OldestFirst && c > 0) || (!q.OldestFirst && c < 0)
		})
		if start < 0 {
			start = len(all)
		}
		all = all[start:]
	}
	var page jobs.IndexPage
	for i, l := range all {
		if len(page.Items) == q.Limit {
			page.Next = &all[i-1].Pos
			break
		}
		if l.Job.Expired(q.Now) || (len(q.Statuses) > 0 && !slices.Contains(q.Statuses, l.Job.Status)) {
			continue
		}
		page.Items = append(page.Items, l)
	}
	return page, nil
}

func comparePos(a, b jobs.Position) int {
	if c := strings.Compare(a.SortKey, b.SortKey); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// GetMany returns the jobs that exist among ids.
func (s *Store) GetMany(_ context.Context, ids []string) ([]jobs.Job, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []jobs.Job
	seen := map[string]bool{}
	for _, id := range ids {
		if j, ok := s.jobs[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, clone(j))
		}
	}
	return out, nil
}
