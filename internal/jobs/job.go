// Package jobs is the domain of the Jobs API: what a job is, the states it
// moves through, who may see it, and the errors every adapter speaks. It
// imports no AWS package; storage, the pipeline queue and HTTP are adapters
// that depend on it.
package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Job is one video-generation job.
type Job struct {
	ID      string
	OwnerID string // Cognito sub of the submitter; "" for jobs from before ownership was recorded
	Status  Status
	// Progress is 0–100; it never decreases.
	Progress int
	Spec     Spec
	// OutputURL is set when, and only when, Status is Completed.
	OutputURL string
	// Error is set when, and only when, Status is Failed.
	Error *JobError
	// CancelRequested records a cancel asked for while PROCESSING, for the
	// pipeline to act on; CancelRequestedAt is when (Limits.Cancel counts
	// from it).
	CancelRequested   bool
	CancelRequestedAt time.Time
	// Deadline is the submitter's own limit (Cancel-After): past it the job
	// is cancelled. Zero means none.
	Deadline time.Time
	// HeartbeatAt is the last sign of life the pipeline gave while the job
	// was PROCESSING, as recorded (heartbeats are coalesced); zero until
	// the first after startedAt.
	HeartbeatAt time.Time
	// IdempotencyKey is the submitter's Idempotency-Key, if any.
	IdempotencyKey string
	// SpecHash fingerprints Spec, to tell a retried submit from a different one
	// under the same idempotency key.
	SpecHash string

	CreatedAt   time.Time
	UpdatedAt   time.Time
	StartedAt   time.Time // zero until PROCESSING
	CompletedAt time.Time // zero until terminal
	// ExpiresAt is when retention ends (terminal jobs only); zero means never.
	// Storage TTL deletes late, so readers must treat a job past it as gone.
	ExpiresAt time.Time
	// Version counts writes, from 1 at creation; stores use it for optimistic
	// locking.
	Version int64
}

// JobError says why a job FAILED. Code is machine-readable (e.g.
// "ENQUEUE_FAILED", or the pipeline's own codes); Message is for people.
type JobError struct {
	Code    string
	Message string
}

// Spec is what the submitter asked the video pipeline to make.
type Spec struct {
	Prompt          string
	DurationSeconds int
	AspectRatio     string
	Resolution      string
	// CancelAfter, when not zero, is the submitter's limit on the whole job
	// (the Cancel-After header): Submit turns it into Job.Deadline. It is
	// a limit, not part of what is made: Hash leaves it out, and stores
	// keep only the Deadline.
	CancelAfter time.Duration
}

// Limits and defaults of a Spec, documented in README's API section.
const (
	MaxPromptRunes         = 2000
	MinDurationSeconds     = 1
	MaxDurationSeconds     = 60
	DefaultDurationSeconds = 5
	DefaultAspectRatio     = "16:9"
	DefaultResolution      = "720p"
)

var (
	aspectRatios = []string{"16:9", "9:16", "1:1"}
	resolutions  = []string{"720p", "1080p"}
)

// Normalize fills defaults and validates s. Errors are EINVALID and name the
// field at fault.
func (s Spec) Normalize() (Spec, error) {
	if s.DurationSeconds == 0 {
		s.DurationSeconds = DefaultDurationSeconds
	}
	if s.AspectRatio == "" {
		s.AspectRatio = DefaultAspectRatio
	}
	if s.Resolution == "" {
		s.Resolution = DefaultResolution
	}
	switch n := len([]rune(s.Prompt)); {
	case strings.TrimSpace(s.Prompt) == "":
		return s, Errorf(EINVALID, "prompt: required, a non-blank string")
	case n > MaxPromptRunes:
		return s, Errorf(EINVALID, "prompt: at most %d characters, got %d", MaxPromptRunes, n)
	case strings.ContainsRune(s.Prompt, 0):
		return s, Errorf(EINVALID, "prompt: must not contain NUL characters")
	case strings.ContainsFunc(s.Prompt, bidiControl):
		return s, Errorf(EINVALID, "prompt: must not contain bidirectional override or isolate controls (U+202A-U+202E, U+2066-U+2069)")
	case !strings.ContainsFunc(s.Prompt, visible):
		return s, Errorf(EINVALID, "prompt: must contain a visible character")
	}
	if s.DurationSeconds < MinDurationSeconds || s.DurationSeconds > MaxDurationSeconds {
		return s, Errorf(EINVALID, "options.durationSeconds: an integer from %d to %d", MinDurationSeconds, MaxDurationSeconds)
	}
	if !oneOf(s.AspectRatio, aspectRatios) {
		return s, Errorf(EINVALID, "options.aspectRatio: one of %s", strings.Join(aspectRatios, ", "))
	}
	if !oneOf(s.Resolution, resolutions) {
		return s, Errorf(EINVALID, "options.resolution: one of %s", strings.Join(resolutions, ", "))
	}
	if s.CancelAfter != 0 && (s.CancelAfter < MinCancelAfter || s.CancelAfter > MaxCancelAfter) {
		return s, Errorf(EINVALID, "Cancel-After: a duration from %s to %s", MinCancelAfter, MaxCancelAfter)
	}
	return s, nil
}

// bidiControl reports the explicit bidirectional embedding, override and
// isolate controls: in a prompt they only serve to make text display in
// another order than it is read (a dashboard shows "a cat \u202eteg" as
// "a cat get").
func bidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// visible reports a rune that draws something: a letter, digit, symbol or
// punctuation, except the Hangul and Braille fillers, which are letters and
// symbols that render as blanks.
func visible(r rune) bool {
	switch r {
	case 0x115f, 0x1160, 0x3164, 0xffa0, 0x2800:
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.S, unicode.P)
}

// Hash fingerprints a normalized spec.
func (s Spec) Hash() string {
	h := sha256.New()
	for _, f := range []string{s.Prompt, strconv.Itoa(s.DurationSeconds), s.AspectRatio, s.Resolution} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return idEncoding.EncodeToString(h.Sum(nil)[:16])
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// IDPrefix starts every job ID this service generates.
const IDPrefix = "job_"

// idEncoding is lower-case Crockford base32: URL-safe, unambiguous, and
// compact (26 characters carry 128 random bits).
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a job ID: "job_" and 26 base32 characters of 128 random bits,
// so IDs cannot be guessed or enumerated.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms (crypto/rand docs)
	return IDPrefix + idEncoding.EncodeToString(b[:])
}

// IdempotentID derives a job ID from an owner and an Idempotency-Key, so that
// concurrent retries of one submit collide on the same item and a conditional
// put lets exactly one of them create it. The result has NewID's format.
func IdempotentID(ownerID, key string) string {
	sum := sha256.Sum256([]byte("jobs-api/idempotency\x00" + ownerID + "\x00" + key))
	return IDPrefix + idEncoding.EncodeToString(sum[:16])
}

// MaxIDLength bounds a job ID accepted on lookup.
const MaxIDLength = 128

// wellFormedID accepts generated IDs and IDs written by the submit function
// that predates this service: letters, digits, '_' and '-', starting with a
// letter or digit (the regexp ^[A-Za-z0-9][A-Za-z0-9_-]*$). Nothing that
// could be a path, a key expression or markup. A loop rather than a regexp,
// whose compile at package init would be on every cold start's path
// (bench/coldstart/RESULTS.md).
func wellFormedID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isAlnum(c) && (i == 0 || (c != '_' && c != '-')) {
			return false
		}
	}
	return id != ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// ValidateID returns EINVALID unless id is a well-formed job ID. Adapters call
// it before any storage call, so malformed input never costs a read.
func ValidateID(id string) error {
	if id == "" || len(id) > MaxIDLength || !wellFormedID(id) {
		return Errorf(EINVALID, "job id: 1 to %d characters of A-Z, a-z, 0-9, '_' and '-', starting with a letter or digit", MaxIDLength)
	}
	return nil
}

// AdminGroup is the default name of the Cognito group whose members may see
// every job (the stack's AdminGroup parameter).
const AdminGroup = "admin"

// Caller is the authenticated identity behind a request.
type Caller struct {
	Subject  string // Cognito sub: stable, unique
	Username string
	Groups   []string // informational; authorization uses Admin
	// Admin: the caller may see and cancel every job (a member of the
	// configured admin group, or the service itself).
	Admin bool
}

// IsAdmin reports whether c may see every job.
func (c Caller) IsAdmin() bool { return c.Admin }

// VisibleTo reports whether c may see j: admins see every job, others only
// jobs whose OwnerID is their subject. Jobs with no owner are admin-only.
func (j Job) VisibleTo(c Caller) bool {
	if c.IsAdmin() {
		return true
	}
	return j.OwnerID != "" && c.Subject != "" && j.OwnerID == c.Subject
}

// Expired reports whether j's retention has ended at now.
func (j Job) Expired(now time.Time) bool {
	return !j.ExpiresAt.IsZero() && !now.Before(j.ExpiresAt)
}

// Store persists jobs. Implementations must satisfy the contract suite in
// package jobstest.
type Store interface {
	// Get returns the job with the given ID, or ENOTFOUND. A job created
	// before the call began is always found.
	Get(ctx context.Context, id string) (Job, error)
	// GetLatest is Get with a strongly consistent read: it reflects every
	// write that completed before the call. Read-modify-write paths use it.
	GetLatest(ctx context.Context, id string) (Job, error)
	// Create stores a new job (Version 1), or returns ECONFLICT if the ID is
	// taken.
	Create(ctx context.Context, j Job) error
	// Update replaces a job whose stored Version is j.Version-1, or returns
	// ECONFLICT if it has changed or is absent.
	Update(ctx context.Context, j Job) error
}

// Pipeline hands accepted jobs to the video pipeline.
type Pipeline interface {
	// Enqueue hands j over; a nil error means the pipeline will see it. An
	// error wrapping ErrHandoffUnknown means it may: the request was sent
	// and no answer came (a timeout after sending). Any other error means
	// the pipeline certainly will not see j from this call (it failed
	// before the request was sent, or the queue answered with an error).
	Enqueue(ctx context.Context, j Job) error
}

// ErrHandoffUnknown marks a Pipeline.Enqueue error after which the job may
// have reached the pipeline.
var ErrHandoffUnknown = errors.New("hand-off outcome unknown: the request was sent and not answered")

// TimeLayout is how the API and storage write timestamps: RFC 3339 in UTC
// with a "Z" and fixed millisecond precision, so strings sort by time.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime writes t in TimeLayout; the zero time is "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// ParseTime reads any RFC 3339 timestamp (older records have no fraction);
// "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Wrap(EINTERNAL, err, "bad timestamp")
	}
	return t.UTC(), nil
}
