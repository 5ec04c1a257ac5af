package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

var (
	pushJobs = flag.Int("push.jobs", 50, "BenchmarkPushLatency: jobs in flight per round")
	pushGap  = flag.Duration("push.gap", 200*time.Millisecond, "BenchmarkPushLatency: most time between two changes of one job")
)

// BenchmarkPushLatency measures how long a committed change of a job takes
// to reach a dashboard: from the store's write (Options.OnCommit: the local
// change stream recording it, as DynamoDB Streams would) to jobfeed.js's
// onJob callback in headless Chromium, through the whole local path (the
// change stream, PublishJobsFn's publisher, the SigV4 HTTP publish to the
// Events API emulation, its WebSocket, the page). Each iteration is one
// round: -push.jobs jobs submitted, then advanced concurrently through
// PROCESSING, three progress updates and COMPLETED, each job's changes a
// random 0 to -push.gap apart (the pipeline's updates of many jobs
// interleave). Reported over every change of every round: p50, p95, p99 and
// max in ms to the page's callback (the page's clock calibrated against the
// test's), and p50/p95/p99 to a Go WebSocket subscriber beside the page
// (ws-*: the server side alone).
//
//	go test -run '^$' -bench BenchmarkPushLatency -benchtime 3x ./dev/jobsapi-local/
func BenchmarkPushLatency(b *testing.B) {
	var mu sync.Mutex
	commits := map[string]time.Time{} // "jobId/version" -> when it committed
	key := func(id string, v int64) string { return fmt.Sprintf("%s/%d", id, v) }
	r := newLiveRig(b, func(o *localserver.Options) {
		o.OnCommit = func(id string, v int64, at time.Time) {
			mu.Lock()
			commits[key(id, v)] = at
			mu.Unlock()
		}
	})
	ctx := r.b.tabWithin(b, 15*time.Minute)
	tok := r.token(b, devauth.User{Username: "bench"})
	r.openFeed(b, ctx, r.liveFeed("bench", tok, "mine"))
	waitUntil(b, ctx, modeIs("bench", "live"), "the feed to go live")
	offset := pageClockOffset(b, ctx)
	wsSeen := subscribeInGo(b, r, tok)

	var finals []string // "jobId/version" of every job's last change
	for b.Loop() {
		ids := make([]string, *pushJobs)
		for i := range ids {
			ids[i] = r.submit(b, tok, fmt.Sprintf("benchmark job %d", i))
		}
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { errs[i] = pipeline(r, id) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			v := r.stored(b, id).Version
			finals = append(finals, key(id, v))
			waitUntil(b, ctx, seesVersion("bench", id, v), "the page to see "+id+" completed")
		}
	}

	var ms, wsMS []float64
	mu.Lock()
	defer mu.Unlock()
	for k, at := range wsSeen() {
		if c, ok := commits[k]; ok {
			wsMS = append(wsMS, float64(at.Sub(c))/1e6)
		}
	}
	for _, s := range seenOf(b, ctx, "bench") {
		c, ok := commits[key(s.ID, s.Version)]
		if !ok || s.Source != "push" {
			b.Fatalf("the page saw %s v%d by %s: no such commit, or not pushed", s.ID, s.Version, s.Source)
		}
		ms = append(ms, s.At-offset-float64(c.UnixNano())/1e6)
	}
	// Every job's changes arrive in order and none is dropped as stale, so
	// the page sees each commit once: as many callbacks as commits.
	if len(ms) != len(commits) {
		b.Fatalf("%d commits, %d callbacks", len(commits), len(ms))
	}
	if len(wsMS) != len(commits) {
		b.Fatalf("%d commits, %d received by the Go subscriber", len(commits), len(wsMS))
	}
	slices.Sort(ms)
	slices.Sort(wsMS)
	pct := func(xs []float64, p float64) float64 { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
	b.ReportMetric(pct(ms, 0.50), "p50-ms")
	b.ReportMetric(pct(ms, 0.95), "p95-ms")
	b.ReportMetric(pct(ms, 0.99), "p99-ms")
	b.ReportMetric(ms[len(ms)-1], "max-ms")
	b.ReportMetric(pct(wsMS, 0.50), "ws-p50-ms")
	b.ReportMetric(pct(wsMS, 0.95), "ws-p95-ms")
	b.ReportMetric(pct(wsMS, 0.99), "ws-p99-ms")
	b.ReportMetric(float64(len(ms)), "changes")
}

// subscribeInGo subscribes to tok's channel with a Go WebSocket client
// beside the page, straight to the Events API (no proxy), and returns what
// it has received: "jobId/version" -> when. It splits the page's latency
// into the server side and the browser's share.
func subscribeInGo(b *testing.B, r *liveRig, tok string) func() map[string]time.Time {
	b.Helper()
	auth := map[string]string{"Authorization": tok, "host": r.s.EventsHost}
	hdr, _ := json.Marshal(auth)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, r.s.RealtimeURL, &websocket.DialOptions{
		Subprotocols: []string{localevents.Subprotocol, "header-" + base64.RawURLEncoding.EncodeToString(hdr)}})
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	b.Cleanup(func() { _ = ws.CloseNow() })
	send := func(m any) {
		msg, _ := json.Marshal(m)
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
	}
	read := func(want string) {
		for {
			_, msg, err := ws.Read(ctx)
			if err != nil {
				b.Fatalf("waiting for %s: %v", want, err)
			}
			if strings.Contains(string(msg), `"type":"`+want+`"`) {
				return
			}
		}
	}
	send(map[string]any{"type": "connection_init"})
	read("connection_ack")
	send(map[string]any{"type": "subscribe", "id": "bench", "channel": "/jobs/" + devauth.Subject("bench"), "authorization": auth})
	read("subscribe_success")
	var mu sync.Mutex
	seen := map[string]time.Time{}
	go func() {
		for {
			_, msg, err := ws.Read(ctx)
			at := time.Now()
			if err != nil {
				return
			}
			var m struct {
				Type  string `json:"type"`
				Event string `json:"event"`
			}
			var ev struct {
				Job struct {
					JobID   string `json:"jobId"`
					Version int64  `json:"version"`
				} `json:"job"`
			}
			if json.Unmarshal(msg, &m) != nil || m.Type != "data" || json.Unmarshal([]byte(m.Event), &ev) != nil {
				continue
			}
			mu.Lock()
			seen[fmt.Sprintf("%s/%d", ev.Job.JobID, ev.Job.Version)] = at
			mu.Unlock()
		}
	}()
	return func() map[string]time.Time {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(seen)
	}
}

// pipeline advances a job as the video pipeline would: PROCESSING, three
// progress updates, COMPLETED, spaced by random gaps.
func pipeline(r *liveRig, id string) error {
	steps := []jobs.Event{{Status: jobs.Processing}, {Status: jobs.Processing}, {Status: jobs.Processing}, {Status: jobs.Processing},
		{Status: jobs.Completed, OutputURL: r.s.APIURL + "/local/outputs/" + id + ".mp4"}}
	for i, ev := range steps {
		time.Sleep(time.Duration(rand.Int64N(int64(*pushGap) + 1)))
		ev.JobID = id
		if ev.Status == jobs.Processing {
			p := i * 30
			ev.Progress = &p
		}
		if _, out, err := r.s.Service.Advance(context.Background(), ev); err != nil || out != jobs.Applied {
			return fmt.Errorf("advance %s (%s %v): %v %v", id, ev.Status, ev.Progress, out, err)
		}
	}
	return nil
}

// pageClockOffset is the page's epoch clock (performance.timeOrigin +
// performance.now(), what the page stamps callbacks with) minus the test's,
// in ms: the middle of the quickest of 20 round trips.
func pageClockOffset(tb testing.TB, ctx context.Context) float64 {
	tb.Helper()
	best, offset := time.Duration(1<<62), 0.0
	for range 20 {
		before := time.Now()
		page := pageValue[float64](tb, ctx, "performance.timeOrigin + performance.now()")
		rtt := time.Since(before)
		if rtt < best {
			best = rtt
			offset = page - float64(before.Add(rtt/2).UnixNano())/1e6
		}
	}
	tb.Logf("page clock offset %.3f ms (±%.3f ms)", offset, float64(best)/2e6)
	return offset
}
