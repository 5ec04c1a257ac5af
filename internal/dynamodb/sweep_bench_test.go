package dynamodb_test

// What one sweep costs on the table, from ReturnConsumedCapacity as dynalite
// computes it: capacity per job ended (Query and BatchGetItem page share, strong GetItem,
// conditional PutItem) and per unfinished job only read. The template's
// SweepJobsFn bounds a run at 1,000 jobs read per status and 200 ended.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/jobstest"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// BenchmarkSweep runs sweeps over 50 QUEUED jobs past the queue limit and
// 50 PROCESSING jobs within every limit, and reports read and write units
// per job ended and per job read.
func BenchmarkSweep(b *testing.B) {
	ctx := context.Background()
	const overdue, healthy = 50, 50
	var ended, read int
	var rcu, wcu float64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		client, table := testenv.NewTable(b) // a fresh table: each sweep sees the same world
		meter := &capMeter{API: client, units: map[string]float64{}}
		store := dynamodb.New(meter, table)
		store.OnCapacity = meter.record
		clock := jobstest.NewClock(jobstest.T0.Add(time.Hour))
		svc := &jobs.Service{Store: store, Index: store, Now: clock.Now, Limits: jobs.Limits{Queue: time.Hour}}
		for k := range overdue + healthy {
			j := jobstest.NewJob(fmt.Sprintf("job_b%d", k), "alice")
			if k >= overdue {
				j.Status, j.StartedAt, j.HeartbeatAt = jobs.Processing, jobstest.T0.Add(50*time.Minute), jobstest.T0.Add(59*time.Minute)
			}
			if err := store.Create(ctx, j); err != nil {
				b.Fatal(err)
			}
		}
		meter.reset()
		b.StartTimer()
		start := time.Now()
		res, err := svc.Sweep(ctx, jobs.SweepOptions{})
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil || res.Changed[jobs.ReasonQueueTimeout] != overdue || len(res.Changed) != 1 {
			b.Fatalf("sweep: %+v, %v", res, err)
		}
		units, _, _ := meter.reset()
		rcu += units["Query"] + units["BatchGetItem"] + units["GetItem"]
		wcu += units["PutItem"]
		ended += overdue
		read += res.Scanned
		b.StartTimer()
	}
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/sweep")
	b.ReportMetric(float64(read)/float64(b.N), "jobs-read/sweep")
	b.ReportMetric(float64(ended)/float64(b.N), "jobs-ended/sweep")
	b.ReportMetric(rcu/float64(b.N), "RCU/sweep")
	b.ReportMetric(wcu/float64(b.N), "WCU/sweep")
}
