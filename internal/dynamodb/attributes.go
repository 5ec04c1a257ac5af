package dynamodb

// This file is the one place that names storage attributes and indexes. The
// template's table definition must agree with it (a template test checks).

// Attribute names used in keys, indexes and expressions.
const (
	AttrJobID     = "jobId"
	AttrStatus    = "status"
	AttrOwnerID   = "ownerId"
	AttrCreatedAt = "createdAt"
	AttrVersion   = "version"
	AttrExpiresAt = "expiresAt" // TTL attribute: epoch seconds
)

// Global secondary indexes.
const (
	// IndexByStatus: partition status, sort createdAt. "All PROCESSING jobs,
	// oldest first."
	IndexByStatus = "byStatus"
	// IndexByOwner: partition ownerId, sort createdAt. "My jobs, newest
	// first." Items without ownerId are simply not in it.
	IndexByOwner = "byOwner"
)

// item is the stored shape of a job. Optional attributes are omitted, not
// stored empty: an absent ownerId keeps an item out of IndexByOwner, and an
// absent expiresAt means TTL never deletes it.
type item struct {
	JobID           string       `dynamodbav:"jobId"`
	OwnerID         string       `dynamodbav:"ownerId,omitempty"`
	Status          string       `dynamodbav:"status"`
	Progress        int          `dynamodbav:"progress"`
	Request         *requestItem `dynamodbav:"request,omitempty"`
	OutputURL       string       `dynamodbav:"outputUrl,omitempty"`
	Error           *errorItem   `dynamodbav:"error,omitempty"`
	CancelRequested bool         `dynamodbav:"cancelRequested,omitempty"`
	CancelRequestAt string       `dynamodbav:"cancelRequestedAt,omitempty"`
	Deadline        string       `dynamodbav:"deadline,omitempty"`
	HeartbeatAt     string       `dynamodbav:"heartbeatAt,omitempty"`
	IdempotencyKey  string       `dynamodbav:"idempotencyKey,omitempty"`
	SpecHash        string       `dynamodbav:"specHash,omitempty"`
	CreatedAt       string       `dynamodbav:"createdAt"`
	UpdatedAt       string       `dynamodbav:"updatedAt"`
	StartedAt       string       `dynamodbav:"startedAt,omitempty"`
	CompletedAt     string       `dynamodbav:"completedAt,omitempty"`
	ExpiresAt       int64        `dynamodbav:"expiresAt,omitempty"`
	Version         int64        `dynamodbav:"version"`
}

type requestItem struct {
	Prompt          string `dynamodbav:"prompt"`
	DurationSeconds int    `dynamodbav:"durationSeconds"`
	AspectRatio     string `dynamodbav:"aspectRatio"`
	Resolution      string `dynamodbav:"resolution"`
}

type errorItem struct {
	Code    string `dynamodbav:"code"`
	Message string `dynamodbav:"message"`
}
