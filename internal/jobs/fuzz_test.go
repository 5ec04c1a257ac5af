package jobs_test

// Fuzz targets for the domain's parsers. Their seed corpora run in every
// `go test`; `go test -run=^$ -fuzz=^FuzzValidateID$ ./internal/jobs/` (or
// FuzzParseTime) searches further. Results are in BENCHMARKS.md.

import (
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// fzIDOK is an independent statement of the documented id format: 1 to
// MaxIDLength bytes of A-Z, a-z, 0-9, '_' and '-', starting with a letter
// or digit.
func fzIDOK(id string) bool {
	if id == "" || len(id) > jobs.MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{
		"", "job_0123456789abcdefghjkmnpqrs", jobs.NewID(), "legacy-20240101-0001", "a", "-a", "_a", "a-", "a_",
		strings.Repeat("a", jobs.MaxIDLength), strings.Repeat("a", jobs.MaxIDLength+1), strings.Repeat("a", 2049),
		"jöb", "job_😀", "%00", "\x00", "job\x00", "%2F", "a/b", "../", "..", "' OR 1=1 --", "<script>", `{"$ne":1}`,
		"job\n", " job", "job ", "JOB_ABC", "\xff", "a\u200bb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := jobs.ValidateID(id)
		if got, want := err == nil, fzIDOK(id); got != want {
			t.Fatalf("ValidateID(%q) accepted = %v, want %v", id, got, want)
		}
		if err != nil {
			if got := jobs.ErrorCode(err); got != jobs.EINVALID {
				t.Fatalf("ValidateID(%q) code = %s, want %s", id, got, jobs.EINVALID)
			}
			if got, want := jobs.ErrorMessage(err), jobs.ErrorMessage(jobs.ValidateID("")); got != want {
				t.Fatalf("ValidateID(%q) message %q, want the fixed %q (never the input echoed)", id, got, want)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"", "2025-06-23T12:00:00.123Z", "2025-06-23T12:00:00Z", "2025-06-23T12:00:00.123456789Z",
		"2025-06-23T14:00:00+02:00", "2025-06-23T12:00:00-00:00", "2025-06-23 12:00:00Z", "2025-06-23",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
		"2025-02-30T00:00:00Z", "2025-06-23T24:00:00Z", "2025-06-23T23:59:60Z", "2025-06-23T12:00:00.Z",
		"2025-06-23T12:00:00,5Z", "+2025-06-23T12:00:00Z", "2025-06-23t12:00:00z", "1750680000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := jobs.ParseTime(s)
		if err != nil {
			if got := jobs.ErrorCode(err); got != jobs.EINTERNAL {
				t.Fatalf("ParseTime(%q) code = %s, want %s (a stored timestamp we cannot read is our fault)", s, got, jobs.EINTERNAL)
			}
			if !tm.IsZero() {
				t.Fatalf("ParseTime(%q) returned %v with an error", s, tm)
			}
			return
		}
		if s == "" {
			if !tm.IsZero() {
				t.Fatalf(`ParseTime("") = %v, want the zero time`, tm)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) location = %v, want UTC", s, tm.Location())
		}
		if y := tm.Year(); y < 0 || y > 9999 {
			return // a valid RFC 3339 string whose UTC instant falls outside RFC 3339's years
		}
		if tm.IsZero() {
			// "0001-01-01T00:00:00Z" is Go's zero time, which FormatTime
			// writes as "" (unset): the one instant that does not round-trip.
			if out := jobs.FormatTime(tm); out != "" {
				t.Fatalf("FormatTime(zero) = %q, want \"\"", out)
			}
			return
		}
		out := jobs.FormatTime(tm)
		if len(out) != len(jobs.TimeLayout) || !strings.HasSuffix(out, "Z") {
			t.Fatalf("FormatTime(ParseTime(%q)) = %q, want the fixed %s layout", s, out, jobs.TimeLayout)
		}
		back, err := jobs.ParseTime(out)
		if err != nil || !back.Equal(tm.Truncate(time.Millisecond)) {
			t.Fatalf("ParseTime(FormatTime(ParseTime(%q))) = %v, %v; want %v", s, back, err, tm.Truncate(time.Millisecond))
		}
	})
}
