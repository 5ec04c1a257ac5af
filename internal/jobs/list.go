package jobs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Limits of List and BatchGet, documented in README.md (API).
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	MaxBatchIDs     = 50
)

// Scope says whose jobs List returns.
type Scope string

// Scopes of List.
const (
	// ScopeMine lists the caller's own jobs through the owner index.
	ScopeMine Scope = "mine"
	// ScopeAll lists every job with the given statuses through the status
	// index. Admins only.
	ScopeAll Scope = "all"
)

// Order is the order of a listing, by createdAt.
type Order string

// Orders of List.
const (
	NewestFirst Order = "newest"
	OldestFirst Order = "oldest"
)

// ListRequest is one page request of List.
type ListRequest struct {
	Scope    Scope    // ScopeMine if empty
	Statuses []Status // keep only jobs in these statuses; every status if empty
	Order    Order    // NewestFirst if empty
	Limit    int      // DefaultPageSize if 0; at most MaxPageSize
	// Cursor is the NextCursor of the previous page of the same query by the
	// same caller, or "" for the first page.
	Cursor string
}

// Page is one page of a listing.
type Page struct {
	Jobs []Job
	// NextCursor fetches the next page; "" when there is none. A page may
	// hold fewer than Limit jobs, even none, and still have a NextCursor.
	NextCursor string
}

// Position is where a listing stopped within one index partition: the
// stored sort key and job ID of the last item read there. It is opaque to the
// domain; stores make and read it. A store that spreads a partition over
// several shards (the DynamoDB store spreads each status) makes positions
// that resume every shard at once.
type Position struct {
	SortKey string
	ID      string
}

// Listed is a job read through an index, with its place there.
type Listed struct {
	Job Job
	Pos Position
}

// IndexQuery reads one index partition: a caller's jobs (Owner set) or
// every job in one status (Status set).
type IndexQuery struct {
	Owner  string
	Status Status
	// Statuses keeps only jobs in these statuses (all if empty). Only with
	// Owner: a status partition holds one status already.
	Statuses []Status
	// After continues after this position; nil starts at the beginning.
	After *Position
	// Limit is the most jobs to return, at least 1.
	Limit       int
	OldestFirst bool
	// Now leaves out jobs whose retention ended at or before it.
	Now time.Time
}

// IndexPage is what an IndexQuery found, in index order.
type IndexPage struct {
	Items []Listed
	// Next is where to continue; nil when the partition is exhausted. It
	// may lie past the last item (items the filters left out were read).
	Next *Position
}

// Index finds jobs other than by a single ID. Implementations must satisfy
// jobstest.TestIndex.
type Index interface {
	// Query reads one partition of the owner or status index, in createdAt
	// order (then by an order of the store's own among equal createdAt).
	// It returns at most q.Limit items and may return fewer even when more
	// follow (then Next is set).
	Query(ctx context.Context, q IndexQuery) (IndexPage, error)
	// GetMany returns the jobs with the given IDs that exist, in any order.
	// Like Store.Get, a job created before the call began is found. It
	// returns every job or an error, never a silent subset.
	GetMany(ctx context.Context, ids []string) ([]Job, error)
}

func (s *Service) index() (Index, error) {
	if s.Index != nil {
		return s.Index, nil
	}
	if ix, ok := s.Store.(Index); ok {
		return ix, nil
	}
	return nil, Errorf(EINTERNAL, "service has no index")
}

// partition is one index partition a listing reads.
type partition struct {
	owner  string
	status Status
	filter []Status
}

// List returns a page of jobs: with ScopeMine the caller's own, with
// ScopeAll (admins only) every job in the given statuses; newest first
// unless OldestFirst. Expired jobs are never listed. Every error is EINVALID
// (bad limit, status, scope or cursor), EUNAUTHORIZED, or a store error.
//
// The cursor is bound, with an HMAC under CursorKey, to the caller and the
// query (scope, statuses, order): a forged, altered or foreign cursor is
// EINVALID and reads nothing. A ScopeAll listing of several statuses reads
// each status partition and merges them by createdAt; the cursor carries
// each partition's position.
func (s *Service) List(ctx context.Context, caller Caller, req ListRequest) (Page, error) {
	if caller.Subject == "" {
		return Page{}, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	req, err := req.normalize()
	if err != nil {
		return Page{}, err
	}
	if req.Scope == ScopeAll && !caller.IsAdmin() {
		return Page{}, Errorf(EINVALID, "scope: \"all\" is for admins; use \"mine\"")
	}
	ix, err := s.index()
	if err != nil {
		return Page{}, err
	}

	var parts []partition
	if req.Scope == ScopeMine {
		parts = []partition{{owner: caller.Subject, filter: req.Statuses}}
	} else {
		statuses := req.Statuses
		if len(statuses) == 0 {
			statuses = Statuses
		}
		for _, st := range statuses {
			parts = append(parts, partition{status: st})
		}
	}
	binding := cursorBinding(caller, req)
	states := make([]cursorPart, len(parts))
	if req.Cursor != "" {
		if states, err = decodeCursor(s.cursorKey(), binding, req.Cursor, len(parts)); err != nil {
			return Page{}, err
		}
	}

	now := s.now()
	pages := make([]IndexPage, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		if states[i].Done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pages[i], errs[i] = ix.Query(ctx, IndexQuery{
				Owner: p.owner, Status: p.status, Statuses: p.filter,
				After: states[i].position(), Limit: req.Limit,
				OldestFirst: req.Order == OldestFirst, Now: now,
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Page{}, err
		}
	}

	taken := merge(pages, states, req.Limit, req.Order == OldestFirst)
	page := Page{Jobs: make([]Job, 0, len(taken))}
	for _, j := range taken {
		// The index holds only what was asked for; this re-check is defence
		// in depth against a store that returns more.
		if j.VisibleTo(caller) && !j.Expired(now) && (req.Scope == ScopeAll || j.OwnerID == caller.Subject) {
			page.Jobs = append(page.Jobs, j)
		}
	}
	for _, st := range states {
		if !st.Done {
			page.NextCursor = encodeCursor(s.cursorKey(), binding, states)
			break
		}
	}
	return page, nil
}

// merge takes up to limit items from the partitions' pages in global order,
// each page's items in its own order, and moves states past what it took.
// A partition whose page was cut short (Next set) bounds the merge: nothing
// that sorts after its Next may be taken, since unread items of that
// partition could come first.
func merge(pages []IndexPage, states []cursorPart, limit int, ascending bool) []Job {
	// before reports whether a sorts strictly before b in the listing.
	before := func(a, b Position) bool {
		if a.SortKey != b.SortKey {
			return (a.SortKey < b.SortKey) == ascending
		}
		return (a.ID < b.ID) == ascending
	}
	heads := make([]int, len(pages))
	var out []Job
	for len(out) < limit {
		best := -1
		for i, p := range pages {
			if states[i].Done || heads[i] >= len(p.Items) {
				continue
			}
			if best < 0 || before(p.Items[heads[i]].Pos, pages[best].Items[heads[best]].Pos) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		pos := pages[best].Items[heads[best]].Pos
		blocked := false
		for i, p := range pages {
			// A cut-short partition with nothing left in hand is a barrier:
			// only items strictly before its Next (by sort key) are safe.
			if i == best || states[i].Done || heads[i] < len(p.Items) || p.Next == nil {
				continue
			}
			if pos.SortKey == p.Next.SortKey || !before(pos, *p.Next) {
				blocked = true
			}
		}
		if blocked {
			break
		}
		out = append(out, pages[best].Items[heads[best]].Job)
		states[best].at(pos)
		heads[best]++
	}
	for i, p := range pages {
		if states[i].Done || heads[i] < len(p.Items) {
			continue // unread or partly taken: its position is the last taken item
		}
		// Everything in hand was taken: continue from where the store
		// stopped, which may be past the last item.
		if p.Next == nil {
			states[i] = cursorPart{Done: true}
		} else {
			states[i].at(*p.Next)
		}
	}
	return out
}

func (r ListRequest) normalize() (ListRequest, error) {
	switch r.Scope {
	case "":
		r.Scope = ScopeMine
	case ScopeMine, ScopeAll:
	default:
		return r, Errorf(EINVALID, "scope: one of mine, all")
	}
	switch r.Order {
	case "":
		r.Order = NewestFirst
	case NewestFirst, OldestFirst:
	default:
		return r, Errorf(EINVALID, "order: one of newest, oldest")
	}
	switch {
	case r.Limit == 0:
		r.Limit = DefaultPageSize
	case r.Limit < 1 || r.Limit > MaxPageSize:
		return r, Errorf(EINVALID, "limit: an integer from 1 to %d", MaxPageSize)
	}
	// Canonical order and no repeats, so that the same query always binds
	// its cursor the same way.
	var statuses []Status
	for _, st := range Statuses {
		for _, want := range r.Statuses {
			if want == st {
				statuses = append(statuses, st)
				break
			}
		}
	}
	for _, st := range r.Statuses {
		if !st.Valid() {
			_, err := ParseStatus(string(st))
			return r, err
		}
	}
	r.Statuses = statuses
	return r, nil
}

// cursorBinding names the query a cursor belongs to: who asked, and what.
func cursorBinding(c Caller, r ListRequest) string {
	st := make([]string, len(r.Statuses))
	for i, s := range r.Statuses {
		st[i] = string(s)
	}
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s", c.Subject, r.Scope, r.Order, strings.Join(st, ","))
}

// BatchGet returns the jobs with the given IDs that caller may see, in the
// order asked, each at most once. Unknown, foreign and expired IDs are simply
// absent. At most MaxBatchIDs IDs, each well-formed, else EINVALID before any
// read.
func (s *Service) BatchGet(ctx context.Context, caller Caller, ids []string) ([]Job, error) {
	if caller.Subject == "" {
		return nil, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	if len(ids) == 0 || len(ids) > MaxBatchIDs {
		return nil, Errorf(EINVALID, "ids: 1 to %d job ids, got %d", MaxBatchIDs, len(ids))
	}
	var uniq []string
	seen := map[string]bool{}
	for i, id := range ids {
		if err := ValidateID(id); err != nil {
			return nil, Errorf(EINVALID, "ids[%d]: %s", i, strings.TrimPrefix(ErrorMessage(err), "job id: "))
		}
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	ix, err := s.index()
	if err != nil {
		return nil, err
	}
	found, err := ix.GetMany(ctx, uniq)
	if err != nil {
		return nil, err
	}
	now := s.now()
	byID := make(map[string]Job, len(found))
	for _, j := range found {
		if seen[j.ID] && j.VisibleTo(caller) && !j.Expired(now) {
			byID[j.ID] = j
		}
	}
	out := make([]Job, 0, len(byID))
	for _, id := range uniq {
		if j, ok := byID[id]; ok {
			out = append(out, j)
		}
	}
	return out, nil
}
