package jobs_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// idFormat is the documented format of generated job IDs: "job_" and 26
// lower-case Crockford base32 characters (no i, l, o, u).
var idFormat = regexp.MustCompile(`^job_[0-9a-hjkmnp-tv-z]{26}$`)

func TestSpecNormalizeDefaults(t *testing.T) {
	t.Parallel()
	got, err := jobs.Spec{Prompt: "a cat"}.Normalize()
	if err != nil {
		t.Fatalf("Normalize() error = %v", err)
	}
	want := jobs.Spec{Prompt: "a cat", DurationSeconds: jobs.DefaultDurationSeconds, AspectRatio: jobs.DefaultAspectRatio, Resolution: jobs.DefaultResolution}
	if got != want {
		t.Errorf("Normalize() = %+v, want %+v", got, want)
	}
	if want.DurationSeconds != 5 || want.AspectRatio != "16:9" || want.Resolution != "720p" {
		t.Errorf("documented defaults changed: %+v, want 5, 16:9, 720p", want)
	}
}

func TestSpecNormalize(t *testing.T) {
	t.Parallel()
	ok := func(s jobs.Spec) jobs.Spec {
		if s.DurationSeconds == 0 {
			s.DurationSeconds = 5
		}
		if s.AspectRatio == "" {
			s.AspectRatio = "16:9"
		}
		if s.Resolution == "" {
			s.Resolution = "720p"
		}
		return s
	}
	tests := []struct {
		name      string
		in        jobs.Spec
		wantField string // "" means valid
	}{
		{"minimal", jobs.Spec{Prompt: "x"}, ""},
		{"every option", jobs.Spec{Prompt: "x", DurationSeconds: 60, AspectRatio: "9:16", Resolution: "1080p"}, ""},
		{"square", jobs.Spec{Prompt: "x", AspectRatio: "1:1"}, ""},
		{"duration 1", jobs.Spec{Prompt: "x", DurationSeconds: 1}, ""},
		{"duration 60", jobs.Spec{Prompt: "x", DurationSeconds: 60}, ""},
		{"duration 61", jobs.Spec{Prompt: "x", DurationSeconds: 61}, "options.durationSeconds:"},
		{"duration -1", jobs.Spec{Prompt: "x", DurationSeconds: -1}, "options.durationSeconds:"},
		{"aspect 4:3", jobs.Spec{Prompt: "x", AspectRatio: "4:3"}, "options.aspectRatio:"},
		{"aspect case", jobs.Spec{Prompt: "x", AspectRatio: "16:9 "}, "options.aspectRatio:"},
		{"resolution 4k", jobs.Spec{Prompt: "x", Resolution: "4k"}, "options.resolution:"},
		{"resolution case", jobs.Spec{Prompt: "x", Resolution: "720P"}, "options.resolution:"},
		{"empty prompt", jobs.Spec{}, "prompt:"},
		{"blank prompt", jobs.Spec{Prompt: " \t\n\u00a0"}, "prompt:"},
		{"NUL in prompt", jobs.Spec{Prompt: "a\x00b"}, "prompt:"},
		{"only zero-width characters", jobs.Spec{Prompt: "\u200b\u200c\u200d\u2060\ufeff"}, "prompt:"},
		{"only format and combining marks", jobs.Spec{Prompt: " \u00ad\u0301\u034f\u180e "}, "prompt:"},
		{"only fillers", jobs.Spec{Prompt: "\u3164\u115f\u1160\uffa0\u2800"}, "prompt:"},
		{"only tag characters", jobs.Spec{Prompt: "\U000e0041\U000e0042"}, "prompt:"},
		{"right-to-left override", jobs.Spec{Prompt: "a cat \u202eteg"}, "prompt:"},
		{"left-to-right embedding", jobs.Spec{Prompt: "\u202aa cat"}, "prompt:"},
		{"pop directional formatting", jobs.Spec{Prompt: "a cat\u202c"}, "prompt:"},
		{"right-to-left isolate", jobs.Spec{Prompt: "\u2067a cat\u2069"}, "prompt:"},
		{"first strong isolate", jobs.Spec{Prompt: "\u2068a cat"}, "prompt:"},
		{"Arabic text (control)", jobs.Spec{Prompt: "قطة تركب موجة"}, ""},
		{"a mark beside a letter (control)", jobs.Spec{Prompt: "e\u0301te\u200d"}, ""},
		{"emoji only (control)", jobs.Spec{Prompt: "🐈🌊"}, ""},
		{"2000 ASCII", jobs.Spec{Prompt: strings.Repeat("a", 2000)}, ""},
		{"2001 ASCII", jobs.Spec{Prompt: strings.Repeat("a", 2001)}, "prompt:"},
		{"2000 multibyte runes (6000 bytes)", jobs.Spec{Prompt: strings.Repeat("猫", 2000)}, ""},
		{"2000 emoji (8000 bytes)", jobs.Spec{Prompt: strings.Repeat("🎬", 2000)}, ""},
		{"2001 multibyte runes", jobs.Spec{Prompt: strings.Repeat("猫", 2001)}, "prompt:"},
		{"prompt checked before options", jobs.Spec{Prompt: "", DurationSeconds: 99}, "prompt:"},
	}
	for _, tt := range tests {
		got, err := tt.in.Normalize()
		if tt.wantField == "" {
			if err != nil {
				t.Errorf("%s: Normalize() error = %v, want nil", tt.name, err)
			} else if want := ok(tt.in); got != want {
				t.Errorf("%s: Normalize() = %+v, want %+v", tt.name, got, want)
			}
			continue
		}
		if code := jobs.ErrorCode(err); code != jobs.EINVALID {
			t.Errorf("%s: Normalize() code = %q, want %q (err %v)", tt.name, code, jobs.EINVALID, err)
			continue
		}
		if msg := jobs.ErrorMessage(err); !strings.HasPrefix(msg, tt.wantField) {
			t.Errorf("%s: Normalize() message = %q, want prefix %q", tt.name, msg, tt.wantField)
		}
	}
}

func TestSpecHash(t *testing.T) {
	t.Parallel()
	base := jobs.Spec{Prompt: "a cat surfing a wave", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}
	// The hash decides idempotent replays across deploys, so it must not
	// change between releases.
	const golden = "hq1m95chwg1ehc8d6z45h7qg5r"
	if got := base.Hash(); got != golden {
		t.Errorf("Hash() = %q, want %q (changing it breaks in-flight idempotency keys)", got, golden)
	}
	if a, b := base.Hash(), base.Hash(); a != b {
		t.Errorf("Hash() not stable: %q then %q", a, b)
	}
	variants := map[string]jobs.Spec{
		"prompt":     {Prompt: "a cat surfing a wave!", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"},
		"duration":   {Prompt: base.Prompt, DurationSeconds: 6, AspectRatio: "16:9", Resolution: "720p"},
		"aspect":     {Prompt: base.Prompt, DurationSeconds: 5, AspectRatio: "9:16", Resolution: "720p"},
		"resolution": {Prompt: base.Prompt, DurationSeconds: 5, AspectRatio: "16:9", Resolution: "1080p"},
		// Field boundaries are delimited: moving text between fields changes it.
		"boundary": {Prompt: base.Prompt + "5", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"},
	}
	seen := map[string]string{base.Hash(): "base"}
	for name, s := range variants {
		h := s.Hash()
		if prev, dup := seen[h]; dup {
			t.Errorf("Hash(%s) = Hash(%s) = %q, want different", name, prev, h)
		}
		seen[h] = name
	}
	if a, b := (jobs.Spec{Prompt: "ab", AspectRatio: "c"}).Hash(), (jobs.Spec{Prompt: "a", AspectRatio: "bc"}).Hash(); a == b {
		t.Errorf("Hash() ignores field boundaries: %q == %q", a, b)
	}
}

func TestNewIDFormatAndUniqueness(t *testing.T) {
	t.Parallel()
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		id := jobs.NewID()
		if !idFormat.MatchString(id) {
			t.Fatalf("NewID() = %q, want match for %s", id, idFormat)
		}
		if err := jobs.ValidateID(id); err != nil {
			t.Fatalf("ValidateID(NewID() = %q) = %v, want nil", id, err)
		}
		if seen[id] {
			t.Fatalf("NewID() returned %q twice in %d calls", id, n)
		}
		seen[id] = true
	}
}

func TestIdempotentID(t *testing.T) {
	t.Parallel()
	a := jobs.IdempotentID("alice", "key-1")
	if !idFormat.MatchString(a) {
		t.Errorf("IdempotentID() = %q, want match for %s", a, idFormat)
	}
	if err := jobs.ValidateID(a); err != nil {
		t.Errorf("ValidateID(IdempotentID()) = %v, want nil", err)
	}
	// Derived IDs must survive deploys: a retry may land on a new version.
	const golden = "job_dv8b4zscn6erkacanrq06qpp28"
	if a != golden {
		t.Errorf("IdempotentID(alice, key-1) = %q, want %q", a, golden)
	}
	if again := jobs.IdempotentID("alice", "key-1"); again != a {
		t.Errorf("IdempotentID not deterministic: %q then %q", a, again)
	}
	others := map[string]string{
		"other key":         jobs.IdempotentID("alice", "key-2"),
		"other owner":       jobs.IdempotentID("bob", "key-1"),
		"shifted boundary":  jobs.IdempotentID("alicek", "ey-1"),
		"empty owner":       jobs.IdempotentID("", "alice\x00key-1"),
		"swapped arguments": jobs.IdempotentID("key-1", "alice"),
	}
	for name, id := range others {
		if id == a {
			t.Errorf("IdempotentID (%s) = %q, same as for (alice, key-1)", name, id)
		}
		if !idFormat.MatchString(id) {
			t.Errorf("IdempotentID (%s) = %q, want match for %s", name, id, idFormat)
		}
	}
}

func TestValidateID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id    string
		valid bool
	}{
		{"", false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"job_" + strings.Repeat("0", 124), true},
		{"job_abc123", true}, // legacy
		{"1234", true},       // legacy
		{"a", true},
		{"A-b_C-9", true},
		{"jöb_1", false},
		{"job_１", false}, // full-width digit
		{"%00", false},
		{"job%00", false},
		{"%2F", false},
		{"../x", false},
		{"a/b", false},
		{"a.b", false},
		{"'; DROP TABLE jobs; --", false},
		{"<script>alert(1)</script>", false},
		{"_job", false},
		{"-job", false},
		{"job ", false},
		{" job", false},
		{"job\n", false},
		{"job\x00", false},
		{"job#1", false},
		{"job:1", false},
	}
	for _, tt := range tests {
		err := jobs.ValidateID(tt.id)
		if tt.valid {
			if err != nil {
				t.Errorf("ValidateID(%q) = %v, want nil", tt.id, err)
			}
			continue
		}
		if code := jobs.ErrorCode(err); code != jobs.EINVALID {
			t.Errorf("ValidateID(%q) code = %q, want %q", tt.id, code, jobs.EINVALID)
		}
	}
}

// Admin rights come from Caller.Admin alone, which the API adapter sets from
// the exact admin group name; group names never grant them here.
func TestCallerIsAdmin(t *testing.T) {
	t.Parallel()
	for _, c := range []jobs.Caller{
		{Subject: "s"},
		{Subject: "s", Groups: []string{"admin"}},
		{Subject: "s", Groups: []string{jobs.AdminGroup, "video"}},
	} {
		if c.IsAdmin() {
			t.Errorf("%+v.IsAdmin() = true, want false", c)
		}
	}
	if c := (jobs.Caller{Subject: "s", Admin: true}); !c.IsAdmin() {
		t.Errorf("%+v.IsAdmin() = false, want true", c)
	}
}

func TestJobVisibleTo(t *testing.T) {
	t.Parallel()
	alice := jobs.Caller{Subject: "alice"}
	bob := jobs.Caller{Subject: "bob"}
	admin := jobs.Caller{Subject: "root", Groups: []string{"admin"}, Admin: true}
	anon := jobs.Caller{}
	anonAdmin := jobs.Caller{Groups: []string{"admin"}, Admin: true}
	tests := []struct {
		name   string
		owner  string
		caller jobs.Caller
		want   bool
	}{
		{"owner", "alice", alice, true},
		{"other user", "alice", bob, false},
		{"admin, someone else's job", "alice", admin, true},
		{"legacy ownerless, admin", "", admin, true},
		{"legacy ownerless, non-admin", "", alice, false},
		{"legacy ownerless, empty subject", "", anon, false},
		{"empty subject", "alice", anon, false},
		{"empty subject but admin", "alice", anonAdmin, true},
		{"subject differs by case", "alice", jobs.Caller{Subject: "Alice"}, false},
	}
	for _, tt := range tests {
		j := jobs.Job{ID: "job_x", OwnerID: tt.owner}
		if got := j.VisibleTo(tt.caller); got != tt.want {
			t.Errorf("%s: VisibleTo() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestJobExpired(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		expiresAt time.Time
		now       time.Time
		want      bool
	}{
		{"never", time.Time{}, t0.Add(100 * 365 * 24 * time.Hour), false},
		{"before", t0, t0.Add(-time.Nanosecond), false},
		{"at", t0, t0, true},
		{"after", t0, t0.Add(time.Nanosecond), true},
		{"other zone, same instant", t0, t0.In(time.FixedZone("X", 3600)), true},
	}
	for _, tt := range tests {
		j := jobs.Job{ExpiresAt: tt.expiresAt}
		if got := j.Expired(tt.now); got != tt.want {
			t.Errorf("%s: Expired(%v) = %v, want %v", tt.name, tt.now, got, tt.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"zero", time.Time{}, ""},
		{"no fraction", time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC), "2025-06-23T12:00:00.000Z"},
		{"millis", time.Date(2025, 6, 23, 12, 0, 0, 123e6, time.UTC), "2025-06-23T12:00:00.123Z"},
		{"sub-millis truncated", time.Date(2025, 6, 23, 12, 0, 0, 123999999, time.UTC), "2025-06-23T12:00:00.123Z"},
		{"offset normalized to Z", time.Date(2025, 6, 23, 14, 30, 0, 0, time.FixedZone("CEST", 2*3600)), "2025-06-23T12:30:00.000Z"},
	}
	for _, tt := range tests {
		if got := jobs.FormatTime(tt.in); got != tt.want {
			t.Errorf("%s: FormatTime() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2025-06-23T12:00:00Z", time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)},
		{"2025-06-23T12:00:00.123Z", time.Date(2025, 6, 23, 12, 0, 0, 123e6, time.UTC)},
		{"2025-06-23T12:00:00.123456789Z", time.Date(2025, 6, 23, 12, 0, 0, 123456789, time.UTC)},
		{"2025-06-23T14:30:00.5+02:00", time.Date(2025, 6, 23, 12, 30, 0, 500e6, time.UTC)},
		{"2025-06-23T07:00:00-05:00", time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := jobs.ParseTime(tt.in)
		if err != nil {
			t.Errorf("ParseTime(%q) error = %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, want %v in UTC", tt.in, got, tt.want)
		}
		if tt.in != "" && jobs.FormatTime(got) != jobs.FormatTime(tt.want) {
			t.Errorf("FormatTime(ParseTime(%q)) = %q, want %q", tt.in, jobs.FormatTime(got), jobs.FormatTime(tt.want))
		}
	}
	for _, bad := range []string{"garbage", "2025-06-23", "2025-06-23 12:00:00Z", "2025-13-01T00:00:00Z", "1750680000"} {
		got, err := jobs.ParseTime(bad)
		if code := jobs.ErrorCode(err); code != jobs.EINTERNAL {
			t.Errorf("ParseTime(%q) code = %q, want %q", bad, code, jobs.EINTERNAL)
		}
		if !got.IsZero() {
			t.Errorf("ParseTime(%q) = %v, want zero time", bad, got)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	t.Parallel()
	in := time.Date(2031, 12, 31, 23, 59, 59, 999e6, time.FixedZone("", -7*3600))
	got, err := jobs.ParseTime(jobs.FormatTime(in))
	if err != nil || !got.Equal(in) {
		t.Errorf("ParseTime(FormatTime(%v)) = %v, %v; want the same instant", in, got, err)
	}
}
