package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// t0 is the fixed creation instant of test jobs.
var t0 = time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)

// env is a Service under test with its collaborators.
type env struct {
	svc   *jobs.Service
	clock *jobstest.Clock
	log   *testenv.LogBuffer
}

// newEnv returns a service over store and pipeline with a clock at t0, IDs
// "job_t1", "job_t2", ... and a log captured in a buffer.
func newEnv(t *testing.T, store jobs.Store, pipeline jobs.Pipeline) *env {
	t.Helper()
	e := &env{clock: jobstest.NewClock(t0), log: &testenv.LogBuffer{}}
	var mu sync.Mutex
	n := 0
	e.svc = &jobs.Service{
		Store:    store,
		Pipeline: pipeline,
		Now:      e.clock.Now,
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("job_t%d", n)
		},
		Log: slog.New(slog.NewTextHandler(e.log, nil)),
	}
	return e
}

// seed stores j (Version 1) in s.
func seed(t *testing.T, s jobs.Store, j jobs.Job) jobs.Job {
	t.Helper()
	j.Version = 1
	if err := s.Create(context.Background(), j); err != nil {
		t.Fatalf("seed %q: %v", j.ID, err)
	}
	return j
}

// stored returns the job with the given ID from s.
func stored(t *testing.T, s jobs.Store, id string) jobs.Job {
	t.Helper()
	j, err := s.GetLatest(context.Background(), id)
	if err != nil {
		t.Fatalf("read back %q: %v", id, err)
	}
	return j
}

// wantCode fails the test unless err has the given code.
func wantCode(t *testing.T, what string, err error, want jobs.Code) {
	t.Helper()
	if got := jobs.ErrorCode(err); got != want {
		t.Errorf("%s: error code = %q, want %q (err: %v)", what, got, want, err)
	}
}

// wantJob fails the test unless got equals want field for field.
func wantJob(t *testing.T, what string, got, want jobs.Job) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, fmtJob(got), fmtJob(want))
	}
}

func fmtJob(j jobs.Job) string {
	e := "<nil>"
	if j.Error != nil {
		e = fmt.Sprintf("%+v", *j.Error)
	}
	return fmt.Sprintf("{ID:%s Owner:%s Status:%s Progress:%d Output:%q Error:%s CancelRequested:%v Key:%q Hash:%q Spec:%+v Created:%s Updated:%s Started:%s Completed:%s Expires:%s Version:%d CancelRequestedAt:%s Deadline:%s HeartbeatAt:%s}",
		j.ID, j.OwnerID, j.Status, j.Progress, j.OutputURL, e, j.CancelRequested, j.IdempotencyKey, j.SpecHash, j.Spec,
		jobs.FormatTime(j.CreatedAt), jobs.FormatTime(j.UpdatedAt), jobs.FormatTime(j.StartedAt),
		jobs.FormatTime(j.CompletedAt), jobs.FormatTime(j.ExpiresAt), j.Version,
		jobs.FormatTime(j.CancelRequestedAt), jobs.FormatTime(j.Deadline), jobs.FormatTime(j.HeartbeatAt))
}

func TestClip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 8, "short"},
		{"exactly8", 8, "exactly8"},
		{"ninechars", 8, "ninechar…"},
		{"ééééé", 3, "ééé…"},
		{"a🎬b", 2, "a🎬…"},
	} {
		if got := jobs.Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for name, d := range map[string]time.Duration{"zero": 0, "negative": -time.Second, "long": time.Hour} {
		if err := jobs.Sleep(done, d); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Sleep on a done context = %v, want context.Canceled", name, err)
		}
	}
	if err := jobs.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms) = %v, want nil", err)
	}
}
