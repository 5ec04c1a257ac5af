package lambdaenv

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// MinCursorKeyLen is the shortest CURSOR_KEY accepted (jobs.MinCursorKeyLen).
const MinCursorKeyLen = 32

// CursorKey reads CURSOR_KEY, the secret that signs list cursors
// (HMAC-SHA256). Required for the list function, at least MinCursorKeyLen
// bytes; every instance must share it (the template resolves it from a
// generated Secrets Manager secret at deploy time).
func CursorKey() ([]byte, error) {
	k := os.Getenv("CURSOR_KEY")
	if len(k) < MinCursorKeyLen {
		return nil, fmt.Errorf("CURSOR_KEY: at least %d bytes required, got %d", MinCursorKeyLen, len(k))
	}
	return []byte(k), nil
}

// Polling reads RETRY_AFTER_QUEUED_SECONDS and RETRY_AFTER_PROCESSING_SECONDS,
// the Retry-After advice on unfinished jobs; zero (unset) means the API's
// defaults.
func Polling() (queued, processing time.Duration, err error) {
	q, err := positiveInt("RETRY_AFTER_QUEUED_SECONDS")
	if err != nil {
		return 0, 0, err
	}
	p, err := positiveInt("RETRY_AFTER_PROCESSING_SECONDS")
	return time.Duration(q) * time.Second, time.Duration(p) * time.Second, err
}

// Identity reads what the API functions trust about callers:
// COGNITO_ISSUER, the user pool's issuer URL (required: only its ID tokens
// are accepted); COGNITO_APP_CLIENT_IDS, the comma-separated app clients
// whose tokens are accepted (empty: any client of the pool); ADMIN_GROUP,
// the exact name of the admin group (jobs.AdminGroup when unset).
func Identity() (issuer string, clientIDs []string, adminGroup string, err error) {
	issuer = os.Getenv("COGNITO_ISSUER")
	if !strings.HasPrefix(issuer, "https://") && !strings.HasPrefix(issuer, "http://") {
		return "", nil, "", fmt.Errorf("COGNITO_ISSUER: the user pool's issuer URL is required, got %q", issuer)
	}
	for _, id := range strings.Split(os.Getenv("COGNITO_APP_CLIENT_IDS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			clientIDs = append(clientIDs, id)
		}
	}
	adminGroup = os.Getenv("ADMIN_GROUP")
	if adminGroup == "" {
		adminGroup = jobs.AdminGroup
	}
	return issuer, clientIDs, adminGroup, nil
}
