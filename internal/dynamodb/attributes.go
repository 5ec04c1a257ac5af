package dynamodb

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// This file is the one place that names storage attributes and indexes and
// says how the index keys are derived. The table itself is defined once, in
// template.yaml; a template test checks it against these names.

// Attribute names used in keys, indexes and expressions.
const (
	AttrJobID     = "jobId"
	AttrStatus    = "status"
	AttrOwnerID   = "ownerId"
	AttrCreatedAt = "createdAt"
	AttrVersion   = "version"
	AttrExpiresAt = "expiresAt" // TTL attribute: epoch seconds
	// AttrStatusShard is IndexByStatus's partition key, "<STATUS>#<nn>"
	// (statusShard).
	AttrStatusShard = "statusShard"
	// AttrCreatedAtID is both indexes' sort key, "<createdAt>#<jobId>"
	// (createdAtID): a total order, so that one position resumes every
	// shard of a status.
	AttrCreatedAtID = "createdAtId"
)

// IndexableAttrs are the attributes an index may be keyed on or project:
// those a progress report never changes (the capacity model checks this on
// replayed reports; a template test holds every index to it).
var IndexableAttrs = []string{AttrJobID, AttrStatusShard, AttrOwnerID, AttrCreatedAt, AttrCreatedAtID, AttrStatus, AttrExpiresAt}

// Global secondary indexes. Neither projects an attribute that progress
// reports change, so the pipeline's PROCESSING reports write no index entry
// (README, Data model; a template test enforces it).
const (
	// IndexByStatus: partition statusShard, sort createdAtId, projecting
	// expiresAt. "Every PROCESSING job, oldest first" is a Query of each of
	// the status's StatusShards partitions, merged.
	IndexByStatus = "byStatus"
	// IndexByOwner: partition ownerId, sort createdAtId, projecting status
	// and expiresAt (they change once or twice per job). "My jobs, newest
	// first." Items without ownerId are simply not in it.
	IndexByOwner = "byOwner"
)

// StatusShards is how many IndexByStatus partitions each status is spread
// over. DynamoDB gives one partition key value at most 1,000 write units per
// second; spreading a status over StatusShards keys lifts the platform's
// limit StatusShards-fold (BENCHMARKS.md, index capacity), and a listing of
// one status reads StatusShards partitions. It is part of every stored key:
// changing it means re-keying every item (docs/deploy.md).
const StatusShards = 16

// ShardOf is the shard of a job: a stable hash (32-bit FNV-1a) of its ID
// modulo StatusShards, so that a job's shard never changes and jobs spread
// evenly. It is part of every stored key, like StatusShards.
func ShardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id)) // hash.Hash never fails
	return int(h.Sum32() % StatusShards)
}

// statusShard is the IndexByStatus partition of a job: "<STATUS>#<nn>".
func statusShard(st jobs.Status, id string) string { return shardKey(st, ShardOf(id)) }

func shardKey(st jobs.Status, shard int) string { return fmt.Sprintf("%s#%02d", st, shard) }

// createdAtID is a job's sort key in both indexes. jobs.TimeLayout is fixed
// width, so the string order is createdAt order, then ID order.
func createdAtID(createdAt, id string) string { return createdAt + "#" + id }

// splitCreatedAtID reads a sort key made by createdAtID.
func splitCreatedAtID(key string) (createdAt, id string, ok bool) {
	createdAt, id, ok = strings.Cut(key, "#")
	if !ok || len(createdAt) != len(jobs.TimeLayout) || id == "" {
		return "", "", false
	}
	if _, err := jobs.ParseTime(createdAt); err != nil {
		return "", "", false
	}
	return createdAt, id, true
}

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
	// Index keys, derived from the fields above by encode.
	StatusShard string `dynamodbav:"statusShard"`
	CreatedAtID string `dynamodbav:"createdAtId"`
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
