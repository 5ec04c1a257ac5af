package jobs

// Fuzz target for list cursors (internal test: it reaches encodeCursor and
// decodeCursor, the only code that reads a client's cursor). Its seed corpus
// runs in every `go test`;
//
//	go test -run='^$' -fuzz='^FuzzCursor$' -fuzztime=60s ./internal/jobs/
//
// searches further. The result of the documented run is in BENCHMARKS.md.

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

var (
	fzCursorKey   = bytes.Repeat([]byte("k"), MinCursorKeyLen)
	fzOtherKey    = bytes.Repeat([]byte("K"), MinCursorKeyLen)
	fzAlice       = Caller{Subject: "0f3c2a1e-alice-sub"}
	fzAliceQuery  = ListRequest{Scope: ScopeMine, Order: NewestFirst, Statuses: []Status{}}
	fzAliceBind   = cursorBinding(fzAlice, fzAliceQuery)
	fzMalloryBind = cursorBinding(Caller{Subject: "7d9e4b2c-mallory-sub"}, fzAliceQuery)
)

// fzParts builds n cursor parts from fuzzed values, as List would store
// them: positions come from the store and are valid UTF-8 (JSON would
// replace anything else, so they could not round-trip).
func fzParts(sortKey, id string, done bool, n int) []cursorPart {
	sortKey, id = strings.ToValidUTF8(sortKey, "?"), strings.ToValidUTF8(id, "?")
	parts := make([]cursorPart, n)
	for i := range parts {
		switch {
		case done && i == 0:
			parts[i] = cursorPart{Done: true}
		case i == 1:
			// a partition not started yet: the zero part
		default:
			parts[i] = cursorPart{SortKey: sortKey, ID: id}
		}
	}
	return parts
}

// countingIndex counts the reads a listing makes.
type countingIndex struct{ queries, gets atomic.Int64 }

func (x *countingIndex) Query(context.Context, IndexQuery) (IndexPage, error) {
	x.queries.Add(1)
	return IndexPage{}, nil
}

func (x *countingIndex) GetMany(context.Context, []string) ([]Job, error) {
	x.gets.Add(1)
	return nil, nil
}

// fzWantBad fails unless err is the one "bad cursor" error: EINVALID with a
// fixed message that reveals nothing about what was wrong.
func fzWantBad(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted, want %s", what, EINVALID)
	}
	if got := ErrorCode(err); got != EINVALID {
		t.Fatalf("%s: code %s, want %s", what, got, EINVALID)
	}
	if got, want := ErrorMessage(err), ErrorMessage(errBadCursor); got != want {
		t.Fatalf("%s: message %q, want the fixed %q", what, got, want)
	}
}

// FuzzCursor checks, for any input:
//   - a client's string is never a panic; it is accepted only if it is,
//     byte for byte, the cursor the service issues for what it decodes to
//     (so no other spelling of a cursor works), else the fixed EINVALID;
//     through Service.List a rejected cursor reads nothing;
//   - a cursor the service issued decodes to what it holds, and is refused
//     for another caller or query, under another key, for another number of
//     partitions, with any one byte changed, cut short, or with anything
//     appended.
func FuzzCursor(f *testing.F) {
	genuine := encodeCursor(fzCursorKey, fzAliceBind, fzParts("2025-06-23T12:00:00.123Z", "job_aaaaaaaaaaaaaaaaaaaaaaaaaa", false, 1))
	p64, m64, _ := strings.Cut(genuine, ".")
	for _, s := range []string{
		"", ".", "..", "a.b", genuine, genuine + "\n", genuine + "=", genuine + ".", "\n" + genuine,
		p64 + "." + m64[:len(m64)-1] + "B", p64 + "\r." + m64, p64 + "==." + m64, strings.ToUpper(genuine),
		encodeCursor(fzCursorKey, fzMalloryBind, fzParts("2025", "job_m", false, 1)),
		encodeCursor(fzOtherKey, fzAliceBind, fzParts("2025", "job_a", false, 1)),
		encodeCursor(fzCursorKey, fzAliceBind, nil), encodeCursor(fzCursorKey, fzAliceBind, []cursorPart{{Done: true}}),
		"W10.", "bnVsbA." + m64, "eyJzIjoiMjAyNSJ9." + m64, strings.Repeat("A", MaxCursorLen+1), "%2E", "\x00.\x00", "😀.😀",
	} {
		f.Add(s, "2025-06-23T12:00:00.123Z", "job_aaaaaaaaaaaaaaaaaaaaaaaaaa", false, "mine\x00newest\x00", uint(0), byte('A'), uint8(1))
	}
	f.Add("", "", "", true, "", uint(7), byte('\n'), uint8(3))
	f.Add("x", "\xff\xfe", "a<b>&c\"", false, "\x00", uint(1000), byte('.'), uint8(5))
	f.Add("=", "2025-06-23T12:00:00.123Z#job_x", "job_x", false, "other", uint(41), byte('='), uint8(2))

	f.Fuzz(func(t *testing.T, in, sortKey, id string, done bool, otherBinding string, at uint, b byte, n uint8) {
		// A client's string.
		for np := 0; np <= 3; np++ {
			parts, err := decodeCursor(fzCursorKey, fzAliceBind, in, np)
			if err != nil {
				fzWantBad(t, "client cursor", err)
				continue
			}
			if len(parts) != np {
				t.Fatalf("decodeCursor(%q, %d) = %d parts", in, np, len(parts))
			}
			if canon := encodeCursor(fzCursorKey, fzAliceBind, parts); canon != in {
				t.Fatalf("decodeCursor accepted %q, which the service never issues (it issues %q for %+v)", in, canon, parts)
			}
		}
		ix := &countingIndex{}
		svc := &Service{Index: ix, CursorKey: fzCursorKey}
		if in != "" {
			_, err := svc.List(context.Background(), fzAlice, ListRequest{Cursor: in})
			if err != nil {
				fzWantBad(t, "List with a client cursor", err)
				if q, g := ix.queries.Load(), ix.gets.Load(); q+g != 0 {
					t.Fatalf("List with a rejected cursor read the index %d times", q+g)
				}
			}
		}

		// A cursor the service issued.
		np := int(n%4) + 1
		parts := fzParts(sortKey, id, done, np)
		c := encodeCursor(fzCursorKey, fzAliceBind, parts)
		got, err := decodeCursor(fzCursorKey, fzAliceBind, c, np)
		if len(c) > MaxCursorLen {
			// Positions far longer than a store's (see
			// TestLargestCursorFits): refused before decoding, like any
			// other oversized string.
			fzWantBad(t, "oversized", err)
			return
		}
		if err != nil || !reflect.DeepEqual(got, parts) {
			t.Fatalf("round trip of %+v: %+v, %v", parts, got, err)
		}
		if np == 1 && len(c) <= MaxCursorLen {
			// Through List too: alice's listing of her jobs has one partition.
			if _, err := svc.List(context.Background(), fzAlice, ListRequest{Cursor: c}); err != nil {
				t.Fatalf("List with its own cursor %q: %v", c, err)
			}
		}
		if otherBinding != fzAliceBind {
			_, err := decodeCursor(fzCursorKey, otherBinding, c, np)
			fzWantBad(t, "another caller or query", err)
		}
		_, err = decodeCursor(fzCursorKey, fzMalloryBind, c, np)
		fzWantBad(t, "mallory's", err)
		_, err = decodeCursor(fzOtherKey, fzAliceBind, c, np)
		fzWantBad(t, "another key", err)
		_, err = decodeCursor(fzCursorKey, fzAliceBind, c, np+1)
		fzWantBad(t, "another number of partitions", err)
		if i := int(at % uint(len(c))); c[i] != b {
			altered := c[:i] + string([]byte{b}) + c[i+1:]
			_, err = decodeCursor(fzCursorKey, fzAliceBind, altered, np)
			fzWantBad(t, fmt.Sprintf("byte %d changed: %q", i, altered), err)
		}
		if k := int(at % uint(len(c))); k > 0 {
			_, err = decodeCursor(fzCursorKey, fzAliceBind, c[:k], np)
			fzWantBad(t, fmt.Sprintf("cut short: %q", c[:k]), err)
		}
		if in != "" {
			_, err = decodeCursor(fzCursorKey, fzAliceBind, c+in, np)
			fzWantBad(t, fmt.Sprintf("%q appended", in), err)
		}
	})
}

// TestLargestCursorFits: the largest cursor the service issues — every
// status partition of an admin listing, each at a position with a createdAt
// sort key and an id of the longest allowed — is within MaxCursorLen, so
// the service never issues a cursor it would refuse.
func TestLargestCursorFits(t *testing.T) {
	t.Parallel()
	parts := make([]cursorPart, len(Statuses))
	for i := range parts {
		parts[i] = cursorPart{SortKey: "2025-06-23T12:00:00.123Z", ID: strings.Repeat("j", MaxIDLength)}
	}
	admin := Caller{Subject: strings.Repeat("s", 128), Groups: []string{AdminGroup}, Admin: true}
	binding := cursorBinding(admin, ListRequest{Scope: ScopeAll, Order: OldestFirst, Statuses: Statuses})
	c := encodeCursor(fzCursorKey, binding, parts)
	if len(c) > MaxCursorLen {
		t.Fatalf("largest cursor is %d bytes, over MaxCursorLen %d", len(c), MaxCursorLen)
	}
	if got, err := decodeCursor(fzCursorKey, binding, c, len(parts)); err != nil || !reflect.DeepEqual(got, parts) {
		t.Fatalf("largest cursor: %+v, %v", got, err)
	}
	t.Logf("largest cursor: %d of %d bytes", len(c), MaxCursorLen)
}
