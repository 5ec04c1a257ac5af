package jobs_test

import (
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

func TestStatusValidAndTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status       jobs.Status
		valid, final bool
	}{
		{jobs.Queued, true, false},
		{jobs.Processing, true, false},
		{jobs.Completed, true, true},
		{jobs.Failed, true, true},
		{jobs.Cancelled, true, true},
		{"", false, false},
		{"queued", false, false},
		{"DONE", false, false},
		{" QUEUED", false, false},
	}
	for _, tt := range tests {
		if got := tt.status.Valid(); got != tt.valid {
			t.Errorf("Status(%q).Valid() = %v, want %v", tt.status, got, tt.valid)
		}
		if got := tt.status.Terminal(); got != tt.final {
			t.Errorf("Status(%q).Terminal() = %v, want %v", tt.status, got, tt.final)
		}
	}
}

func TestStatusesListsEveryValidStatusInLifecycleOrder(t *testing.T) {
	t.Parallel()
	want := []jobs.Status{jobs.Queued, jobs.Processing, jobs.Completed, jobs.Failed, jobs.Cancelled}
	if len(jobs.Statuses) != len(want) {
		t.Fatalf("len(Statuses) = %d, want %d", len(jobs.Statuses), len(want))
	}
	for i, s := range jobs.Statuses {
		if s != want[i] {
			t.Errorf("Statuses[%d] = %q, want %q", i, s, want[i])
		}
		if !s.Valid() {
			t.Errorf("Statuses[%d] = %q is not Valid", i, s)
		}
	}
}

func TestCanTransitionMatrix(t *testing.T) {
	t.Parallel()
	allowed := map[[2]jobs.Status]bool{
		{jobs.Queued, jobs.Processing}:     true,
		{jobs.Queued, jobs.Failed}:         true,
		{jobs.Queued, jobs.Cancelled}:      true,
		{jobs.Processing, jobs.Completed}:  true,
		{jobs.Processing, jobs.Failed}:     true,
		{jobs.Processing, jobs.Cancelled}:  true,
		{jobs.Queued, jobs.Completed}:      false, // only Advance's pass-through allows it
		{jobs.Processing, jobs.Queued}:     false,
		{jobs.Completed, jobs.Processing}:  false,
		{jobs.Failed, jobs.Queued}:         false,
		{jobs.Cancelled, jobs.Processing}:  false,
		{jobs.Completed, jobs.Failed}:      false,
		{jobs.Failed, jobs.Completed}:      false,
		{jobs.Cancelled, jobs.Completed}:   false,
		{jobs.Processing, jobs.Processing}: false, // self-moves are not transitions
	}
	all := append(append([]jobs.Status(nil), jobs.Statuses...), "", "BOGUS")
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]jobs.Status{from, to}]
			if got := jobs.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
	// Nothing leaves a terminal status.
	for _, from := range jobs.Statuses {
		if !from.Terminal() {
			continue
		}
		for _, to := range jobs.Statuses {
			if jobs.CanTransition(from, to) {
				t.Errorf("CanTransition(%q, %q) = true from a terminal status", from, to)
			}
		}
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for _, s := range jobs.Statuses {
		got, err := jobs.ParseStatus(string(s))
		if err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q, nil", s, got, err, s)
		}
	}
	tests := []struct {
		in          string
		wantInMsg   string
		notWantInMs string
	}{
		{in: "", wantInMsg: `""`},
		{in: "queued", wantInMsg: `"queued"`},
		{in: "DONE", wantInMsg: `"DONE"`},
		{in: "QUEUED ", wantInMsg: `"QUEUED "`},
		// Long input is truncated to 32 runes in the message.
		{in: strings.Repeat("é", 40), wantInMsg: strings.Repeat("é", 32) + "…", notWantInMs: strings.Repeat("é", 33)},
	}
	for _, tt := range tests {
		got, err := jobs.ParseStatus(tt.in)
		if got != "" {
			t.Errorf("ParseStatus(%q) status = %q, want empty", tt.in, got)
		}
		if code := jobs.ErrorCode(err); code != jobs.EINVALID {
			t.Errorf("ParseStatus(%q) code = %q, want %q (err %v)", tt.in, code, jobs.EINVALID, err)
			continue
		}
		msg := jobs.ErrorMessage(err)
		if !strings.Contains(msg, tt.wantInMsg) {
			t.Errorf("ParseStatus(%q) message = %q, want it to contain %q", tt.in, msg, tt.wantInMsg)
		}
		if tt.notWantInMs != "" && strings.Contains(msg, tt.notWantInMs) {
			t.Errorf("ParseStatus(%q) message = %q, want it truncated", tt.in, msg)
		}
	}
}
