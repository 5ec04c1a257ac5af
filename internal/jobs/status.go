package jobs

// Status is where a job is in its lifecycle.
//
//	QUEUED ──► PROCESSING ──► COMPLETED
//	  │            │    └───► FAILED
//	  │            └────────► CANCELLED
//	  ├──────────────────────► FAILED   (the submit hand-off failed)
//	  └──────────────────────► CANCELLED
//
// COMPLETED, FAILED and CANCELLED are terminal: nothing leaves them.
type Status string

// The statuses.
const (
	Queued     Status = "QUEUED"
	Processing Status = "PROCESSING"
	Completed  Status = "COMPLETED"
	Failed     Status = "FAILED"
	Cancelled  Status = "CANCELLED"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Queued, Processing, Completed, Failed, Cancelled}

// transitions holds the allowed moves. A status moving to itself is not
// listed: it is an update (progress) or a duplicate, decided by the caller.
var transitions = map[Status][]Status{
	Queued:     {Processing, Failed, Cancelled},
	Processing: {Completed, Failed, Cancelled},
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	switch s {
	case Queued, Processing, Completed, Failed, Cancelled:
		return true
	}
	return false
}

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool {
	return s == Completed || s == Failed || s == Cancelled
}

// CanTransition reports whether a job may move from one status to another
// different status.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// rank orders statuses along the lifecycle so that a late, stale event
// (PROCESSING after COMPLETED) can be told apart from an illegal one.
func (s Status) rank() int {
	switch s {
	case Queued:
		return 0
	case Processing:
		return 1
	default:
		return 2
	}
}

// ParseStatus returns the Status named by s, or EINVALID.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", Errorf(EINVALID, "unknown status %q: want one of QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED", Clip(s, 32))
	}
	return st, nil
}

// Clip returns s cut to at most n characters (runes, so never inside a
// UTF-8 sequence), marked with "…" when cut: for echoing a caller's input
// in an error message without echoing all of it.
func Clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
