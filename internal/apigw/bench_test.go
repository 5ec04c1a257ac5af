package apigw_test

// Handler cost per request with an in-memory store: what the function itself
// spends on a request (claims, validation, CORS, JSON, logging), apart from
// DynamoDB. `make bench` runs these; results are in BENCHMARKS.md.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// benchHandler is wired as cmd/getjob and cmd/submitjob wire it, with the
// production JSON logger writing to io.Discard instead of stdout.
func benchHandler(store jobs.Store) *apigw.Handler {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := &jobs.Service{Store: store, Pipeline: benchPipeline{}, Log: log}
	return apigw.NewHandler(svc, testenv.AllowedOrigins, log)
}

type benchPipeline struct{}

func (benchPipeline) Enqueue(context.Context, jobs.Job) error { return nil }

func benchStore(b *testing.B) *inmem.Store {
	b.Helper()
	s := inmem.NewStore()
	now := time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)
	j := jobs.Job{ID: biAliceJob, OwnerID: biAlice, Status: jobs.Processing, Progress: 40,
		Spec:      jobs.Spec{Prompt: "a cat surfing a wave at sunset", DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"},
		CreatedAt: now, UpdatedAt: now, StartedAt: now, Version: 1}
	if err := s.Create(context.Background(), j); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkGetJob200(b *testing.B) {
	h := benchHandler(benchStore(b))
	req := biEvent(biGet(biAliceJob), biClaims(biAlice, ""), map[string]string{"Origin": biAdminOrigin})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h.GetJob(ctx, req); resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkGetJob404(b *testing.B) {
	h := benchHandler(benchStore(b))
	req := biEvent(biGet("job_00000000000000000000000000"), biClaims(biAlice, ""), map[string]string{"Origin": biAdminOrigin})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h.GetJob(ctx, req); resp.StatusCode != http.StatusNotFound {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkSubmitJob202(b *testing.B) {
	store := inmem.NewStore()
	h := benchHandler(store)
	req := biEvent(biSubmit(`{"prompt":"a cat surfing a wave at sunset","options":{"durationSeconds":10,"resolution":"1080p"}}`),
		biClaims(biAlice, ""), map[string]string{"Origin": biAdminOrigin})
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n%4096 == 0 { // keep the map small, so the figure is the handler's, not map growth's
			b.StopTimer()
			h.Service.Store = inmem.NewStore()
			b.StartTimer()
		}
		if resp, _ := h.SubmitJob(ctx, req); resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
