package dynamodb_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
)

// TestStreamImagesRoundTrip reads back, from the image a stream record
// carries, every job shape the store writes.
func TestStreamImagesRoundTrip(t *testing.T) {
	t.Parallel()
	full := jobstest.NewJob("job_full", "alice")
	full.Status, full.Progress, full.OutputURL = jobs.Completed, 100, "https://cdn.example.com/x.mp4"
	full.StartedAt, full.CompletedAt = jobstest.T0.Add(time.Second), jobstest.T0.Add(time.Minute)
	full.ExpiresAt = time.Unix(jobstest.T0.Unix()+2*86400, 0).UTC() // stored in whole seconds (TTL)
	failed := jobstest.NewJob("job_failed", "bob")
	failed.Status, failed.Error, failed.CancelRequested, failed.Version = jobs.Failed, &jobs.JobError{Code: "GPU_OOM", Message: "out of memory"}, true, 7
	failed.CancelRequestedAt, failed.Deadline, failed.HeartbeatAt = jobstest.T0, jobstest.T0.Add(time.Hour), jobstest.T0.Add(2*time.Second)
	legacy := jobs.Job{ID: "legacy-1", Status: jobs.Queued, CreatedAt: jobstest.T0, UpdatedAt: jobstest.T0, Version: 1}
	for _, j := range []jobs.Job{full, failed, legacy} {
		item, err := dynamodb.Encode(j)
		if err != nil {
			t.Fatal(err)
		}
		img, err := dynamodb.StreamImage(item)
		if err != nil {
			t.Fatalf("%s: StreamImage: %v", j.ID, err)
		}
		got, err := dynamodb.JobFromStreamImage(img)
		if err != nil {
			t.Fatalf("%s: JobFromStreamImage: %v", j.ID, err)
		}
		if !reflect.DeepEqual(got, j) {
			t.Errorf("%s: read back %+v, want %+v", j.ID, got, j)
		}
	}
}

func TestJobFromStreamImageRefusesWhatIsNotAJob(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]events.DynamoDBAttributeValue{
		"no image (KEYS_ONLY stream)": nil,
		"unknown status": {"jobId": events.NewStringAttribute("j"), "status": events.NewStringAttribute("DONE"),
			"createdAt": events.NewStringAttribute("2025-01-01T00:00:00.000Z"), "updatedAt": events.NewStringAttribute("2025-01-01T00:00:00.000Z")},
		"bad time":   {"jobId": events.NewStringAttribute("j"), "status": events.NewStringAttribute("QUEUED"), "createdAt": events.NewStringAttribute("yesterday")},
		"wrong type": {"jobId": events.NewNumberAttribute("1"), "status": events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewBooleanAttribute(true)})},
	}
	for name, img := range tests {
		if _, err := dynamodb.JobFromStreamImage(img); jobs.ErrorCode(err) != jobs.EINTERNAL {
			t.Errorf("%s: %v, want EINTERNAL", name, err)
		}
	}
	// Every attribute type survives the conversion both ways.
	all := map[string]events.DynamoDBAttributeValue{
		"b": events.NewBinaryAttribute([]byte{1}), "bs": events.NewBinarySetAttribute([][]byte{{2}}),
		"ss": events.NewStringSetAttribute([]string{"x"}), "ns": events.NewNumberSetAttribute([]string{"1"}),
		"m": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"l": events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewNullAttribute()})}),
	}
	if _, err := dynamodb.JobFromStreamImage(all); jobs.ErrorCode(err) != jobs.EINTERNAL {
		t.Errorf("an image of no job: %v, want EINTERNAL", err)
	}
}
