package apigw

import (
	"encoding/json"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// JobEventType is the type of every push event about a job.
const JobEventType = "job"

// JobEvent is the body of a push event: one committed change of a job, as
// GET /v1/jobs/{id} returns the job to an admin (ownerId included; events go
// only to the owner's own channel and to admins), with the ETag a GET would
// send. Clients keep the copy with the highest job.version and drop the rest
// (duplicates and events overtaken by a poll).
type JobEvent struct {
	Type string      `json:"type"`
	Job  JobResponse `json:"job"`
	ETag string      `json:"etag"`
}

// NewJobEvent renders j's push event.
func NewJobEvent(j jobs.Job) JobEvent {
	r := NewJobResponse(j)
	r.OwnerID = j.OwnerID
	return JobEvent{Type: JobEventType, Job: r, ETag: ETag(j)}
}

// RenderJobEvent is NewJobEvent as JSON.
func RenderJobEvent(j jobs.Job) ([]byte, error) {
	b, err := json.Marshal(NewJobEvent(j))
	if err != nil { // only our own wire types: never in practice
		return nil, jobs.Wrap(jobs.EINTERNAL, err, "render job event")
	}
	return b, nil
}
