package sqs_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/sqs"
	"github.com/deepfoundai/jobs-api/internal/strictjson"
)

// FuzzDecodeStatusEvent: every body is either a valid event or EINVALID,
// and what is accepted is one object with each name once and a pipeline
// error code.
func FuzzDecodeStatusEvent(f *testing.F) {
	for _, s := range []string{
		`{"jobId":"job_1","status":"PROCESSING","progress":40}`,
		`{"jobId":"job_1","status":"COMPLETED","outputUrl":"https://cdn.example.com/a.mp4"}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"GPU_OOM","message":"m"}}`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"ENQUEUE_FAILED","message":"m"}}`,
		`{"jobId":"job_1","jobId":"job_2","status":"PROCESSING"}`,
		`{"jobId":"job_1","JobID":"job_2","status":"PROCESSING"}`,
		`{"jobId":"job_1","status":"PROCESSING"}]`,
		`{"jobId":"job_1","status":"FAILED","error":{"code":"X","code":"Y","message":"m"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := sqs.DecodeStatusEvent(body)
		if err != nil {
			if jobs.ErrorCode(err) != jobs.EINVALID {
				t.Fatalf("DecodeStatusEvent error %v, want %s", err, jobs.EINVALID)
			}
			return
		}
		if _, serr := strictjson.Object(body); serr != nil {
			t.Fatalf("accepted %q, which is not a strict JSON object: %v", body, serr)
		}
		if verr := ev.Validate(); verr != nil {
			t.Fatalf("accepted event %+v fails Validate: %v", ev, verr)
		}
	})
}
