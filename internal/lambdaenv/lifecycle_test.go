package lambdaenv_test

import (
	"strings"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/lambdaenv"
)

// Not parallel: t.Setenv.

func TestCursorKey(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"", false},
		{strings.Repeat("k", lambdaenv.MinCursorKeyLen-1), false},
		{strings.Repeat("k", lambdaenv.MinCursorKeyLen), true},
	}
	for _, tt := range tests {
		t.Setenv("CURSOR_KEY", tt.value)
		key, err := lambdaenv.CursorKey()
		if (err == nil) != tt.ok || (tt.ok && string(key) != tt.value) {
			t.Errorf("CURSOR_KEY of %d bytes: key %d bytes, err %v; want ok=%v", len(tt.value), len(key), err, tt.ok)
		}
	}
}

func TestPolling(t *testing.T) {
	tests := []struct {
		queued, processing string
		wantQ, wantP       time.Duration
		ok                 bool
	}{
		{"", "", 0, 0, true},
		{"3", "10", 3 * time.Second, 10 * time.Second, true},
		{"0", "", 0, 0, false},
		{"", "soon", 0, 0, false},
	}
	for _, tt := range tests {
		t.Setenv("RETRY_AFTER_QUEUED_SECONDS", tt.queued)
		t.Setenv("RETRY_AFTER_PROCESSING_SECONDS", tt.processing)
		q, p, err := lambdaenv.Polling()
		if (err == nil) != tt.ok || (tt.ok && (q != tt.wantQ || p != tt.wantP)) {
			t.Errorf("Polling(%q, %q) = %v, %v, %v; want %v, %v, ok=%v", tt.queued, tt.processing, q, p, err, tt.wantQ, tt.wantP, tt.ok)
		}
	}
}

func TestIdentity(t *testing.T) {
	const iss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC"
	tests := []struct {
		issuer, clients, admin string
		wantClients            []string
		wantAdmin              string
		ok                     bool
	}{
		{iss, "", "", nil, "admin", true},
		{iss, " a, b ,", "ops", []string{"a", "b"}, "ops", true},
		{"", "a", "", nil, "", false},
		{"us-east-1_AbC", "", "", nil, "", false},
	}
	for _, tt := range tests {
		t.Setenv("COGNITO_ISSUER", tt.issuer)
		t.Setenv("COGNITO_APP_CLIENT_IDS", tt.clients)
		t.Setenv("ADMIN_GROUP", tt.admin)
		gotIss, clients, admin, err := lambdaenv.Identity()
		if (err == nil) != tt.ok {
			t.Errorf("Identity(%q) error = %v, want ok=%v", tt.issuer, err, tt.ok)
			continue
		}
		if tt.ok && (gotIss != tt.issuer || strings.Join(clients, "|") != strings.Join(tt.wantClients, "|") || admin != tt.wantAdmin) {
			t.Errorf("Identity() = %q, %q, %q; want %q, %q, %q", gotIss, clients, admin, tt.issuer, tt.wantClients, tt.wantAdmin)
		}
	}
}
