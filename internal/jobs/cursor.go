package jobs

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// MaxCursorLen bounds a cursor accepted from a client; longer ones are
// rejected before any decoding.
const MaxCursorLen = 4096

// MinCursorKeyLen is the shortest CursorKey worth having: HMAC-SHA256 keys
// shorter than the hash add nothing but weakness.
const MinCursorKeyLen = 32

// processCursorKey signs cursors when Service.CursorKey is unset: cursors
// then work within this process only (fine for tests and a local server; the
// Lambda functions require a configured key so that every instance agrees).
var processCursorKey = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}()

func (s *Service) cursorKey() []byte {
	if len(s.CursorKey) > 0 {
		return s.CursorKey
	}
	return processCursorKey
}

// cursorPart is one index partition's place in a listing: not started
// (zero), at a position, or done.
type cursorPart struct {
	SortKey string `json:"s,omitempty"`
	ID      string `json:"i,omitempty"`
	Done    bool   `json:"d,omitempty"`
}

func (c cursorPart) position() *Position {
	if c.Done || (c.SortKey == "" && c.ID == "") {
		return nil
	}
	return &Position{SortKey: c.SortKey, ID: c.ID}
}

func (c *cursorPart) at(p Position) { *c = cursorPart{SortKey: p.SortKey, ID: p.ID} }

var cursorEncoding = base64.RawURLEncoding

// cursorMAC authenticates a cursor's payload together with the query it
// belongs to, so that a cursor is valid only for the caller and query that
// received it. The binding is not in the payload: a foreign cursor simply
// fails verification.
func cursorMAC(key []byte, binding string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("jobs-api/cursor/v1\x00"))
	m.Write([]byte(binding))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// encodeCursor writes base64url(JSON of the parts) "." base64url(HMAC).
func encodeCursor(key []byte, binding string, parts []cursorPart) string {
	payload, _ := json.Marshal(parts) // plain strings and bools: cannot fail
	return cursorEncoding.EncodeToString(payload) + "." + cursorEncoding.EncodeToString(cursorMAC(key, binding, payload))
}

var errBadCursor = Errorf(EINVALID, "cursor: not a cursor of this query; start again without one")

// decodeCursor verifies and reads a cursor for a query of n partitions.
// Anything wrong with it is the same EINVALID, so that it reveals nothing.
func decodeCursor(key []byte, binding, cursor string, n int) ([]cursorPart, error) {
	if len(cursor) > MaxCursorLen {
		return nil, errBadCursor
	}
	p64, m64, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, errBadCursor
	}
	payload, err1 := cursorEncoding.DecodeString(p64)
	mac, err2 := cursorEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, cursorMAC(key, binding, payload)) {
		return nil, errBadCursor
	}
	// Go's base64 decoder skips '\r' and '\n' and ignores the last
	// character's unused bits, so other spellings of a cursor decode to the
	// same bytes. Harmless, but the API promises that an altered cursor is a
	// 400: only the exact string the service issued is accepted.
	if cursorEncoding.EncodeToString(payload) != p64 || cursorEncoding.EncodeToString(mac) != m64 {
		return nil, errBadCursor
	}
	var parts []cursorPart
	if err := json.Unmarshal(payload, &parts); err != nil || len(parts) != n {
		return nil, errBadCursor
	}
	return parts, nil
}
