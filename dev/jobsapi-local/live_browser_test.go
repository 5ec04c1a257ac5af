package main

// Live-update browser tests: jobfeed.js in headless Chromium against the
// local server's Events API emulation. The worker is off: each test makes
// every change of its jobs itself (submit through the API, then the
// pipeline's Advance), so what the page must see is known and nothing waits
// on the worker's timing. A proxy in front of the API and the realtime
// endpoint counts every request the page makes and can take the realtime
// endpoint down.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/dev/web"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// liveTabTime bounds each live test's tab: generous, since reconnects back
// off with jitter and a loaded machine is slow; every wait is on a
// condition, so a passing run takes seconds.
const liveTabTime = 3 * time.Minute

// liveRig is the local server with the worker off, a blank page on an
// allowed origin that serves the web assets (jobfeed.js, poller.js), and
// a proxy the page reaches the API and the realtime endpoint through.
type liveRig struct {
	s           *localserver.Server
	b           *browser
	pageURL     string
	apiURL      string // the API, through the proxy
	realtimeURL string // the realtime endpoint, through the proxy

	down     atomic.Bool // the proxy refuses realtime connections
	mu       sync.Mutex
	requests []string // "METHOD /path?query" of every API request through the proxy
}

func newLiveRig(t testing.TB, configure func(*localserver.Options)) *liveRig {
	t.Helper()
	o := fastOptions(t)
	o.Worker = false
	if configure != nil {
		configure(&o)
	}
	page, proxy := loopbackListener(t), loopbackListener(t)
	o.AllowedOrigins += ",http://" + page.Addr().String()
	r := &liveRig{s: startServer(t, o), b: newBrowser(t)}
	r.pageURL = "http://" + page.Addr().String()
	r.apiURL = "http://" + proxy.Addr().String()
	r.realtimeURL = "ws://" + proxy.Addr().String() + localevents.RealtimePath

	apiTarget, err := url.Parse(r.s.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	toAPI := httputil.NewSingleHostReverseProxy(apiTarget)
	toEvents := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: r.s.EventsHost})
	serveOn(t, proxy, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == localevents.RealtimePath {
			if r.down.Load() {
				http.Error(w, "the realtime endpoint is down", http.StatusServiceUnavailable)
				return
			}
			toEvents.ServeHTTP(w, req)
			return
		}
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.RequestURI())
		r.mu.Unlock()
		toAPI.ServeHTTP(w, req)
	}))
	assets := web.Handler(web.Config{APIBase: r.apiURL})
	serveOn(t, page, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><title>job feed</title>")
			return
		}
		assets.ServeHTTP(w, req)
	}))
	return r
}

func loopbackListener(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serveOn(t testing.TB, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// requestsSince returns the API requests made through the proxy from the
// n-th on.
func (r *liveRig) requestsSince(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests[n:]...)
}

func (r *liveRig) requestCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// token is an hour's ID token of a dev user.
func (r *liveRig) token(t testing.TB, u devauth.User) string {
	t.Helper()
	tok, _, err := r.s.Pool.IDToken(u, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// submit submits a job through the API (not the proxy) and returns its id.
func (r *liveRig) submit(t testing.TB, token, prompt string) string {
	t.Helper()
	rep := call(t, "POST", r.s.APIURL+"/v1/jobs", token, fmt.Sprintf(`{"prompt":%q}`, prompt))
	id, _ := rep.body["jobId"].(string)
	if rep.status != 202 || id == "" {
		t.Fatalf("submit: %d %v", rep.status, rep.body)
	}
	return id
}

// advance applies a pipeline status event, as UpdateJobFn does.
func (r *liveRig) advance(t testing.TB, id string, st jobs.Status, progress int) {
	t.Helper()
	ev := jobs.Event{JobID: id, Status: st, Progress: &progress}
	if st == jobs.Completed {
		ev.Progress, ev.OutputURL = nil, r.s.APIURL+"/local/outputs/"+id+".mp4"
	}
	if _, out, err := r.s.Service.Advance(context.Background(), ev); err != nil || out != jobs.Applied {
		t.Fatalf("advance %s to %s: %v %v", id, st, out, err)
	}
}

// feedSeen is one onJob callback as the page recorded it.
type feedSeen struct {
	ID       string  `json:"id"`
	Version  int64   `json:"version"`
	Status   string  `json:"status"`
	Progress int     `json:"progress"`
	Source   string  `json:"source"`
	At       float64 `json:"at"` // ms since the Unix epoch
}

// startFeed is the page's use of jobfeed.js: createJobFeed with its
// callbacks recording into window.feeds[name].
const startFeed = `async (cfg) => {
  const { createJobFeed } = await import("/jobfeed.js");
  const f = { seen: [], modes: [], errors: [] };
  f.feed = createJobFeed({
    api: cfg.api, realtimeUrl: cfg.realtimeUrl, eventsHost: cfg.eventsHost, scope: cfg.scope,
    getToken: () => cfg.token,
    pollIntervalMs: 500,
    onJob: (job, { source }) => f.seen.push({ id: job.jobId, version: job.version, status: job.status,
      progress: job.progress, source, at: performance.timeOrigin + performance.now() }),
    onMode: (m, d) => f.modes.push(d ? m + ": " + d.reason : m),
    onError: (e) => f.errors.push(String((e && e.message) || e)),
  });
  (window.feeds ||= {})[cfg.name] = f;
  return true;
}`

// probe is a hand-written Events API client in the page: it connects with
// an auth object, subscribes to each of cfg.channels (ids "0", "1", ...)
// and records the answers (window.probes[name].acks) and the data it
// receives (.data).
const probe = `async (cfg) => {
  const { base64url } = await import("/jobfeed.js");
  const p = { acks: {}, data: [], other: [] };
  (window.probes ||= {})[cfg.name] = p;
  const ws = new WebSocket(cfg.url, ["aws-appsync-event-ws", "header-" + base64url(JSON.stringify(cfg.auth))]);
  ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init" }));
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "connection_ack") {
      cfg.channels.forEach((channel, i) => ws.send(JSON.stringify({ type: "subscribe", id: String(i), channel, authorization: cfg.auth })));
    } else if (m.type === "subscribe_success" || m.type === "subscribe_error") {
      p.acks[m.id] = m;
    } else if (m.type === "data") {
      p.data.push({ id: m.id, event: JSON.parse(m.event) });
    } else if (m.type !== "ka") {
      p.other.push(m);
    }
  };
  return true;
}`

type probeConfig struct {
	Name     string            `json:"name"`
	URL      string            `json:"url"`
	Auth     map[string]string `json:"auth"`
	Channels []string          `json:"channels"`
}

type probeData struct {
	ID    string `json:"id"`
	Event struct {
		Type string         `json:"type"`
		Job  map[string]any `json:"job"`
	} `json:"event"`
}

type feedConfig struct {
	Name        string `json:"name"`
	API         string `json:"api"`
	RealtimeURL string `json:"realtimeUrl,omitempty"`
	EventsHost  string `json:"eventsHost,omitempty"`
	Scope       string `json:"scope,omitempty"`
	Token       string `json:"token"`
}

// call evaluates the page function fn with arg (JSON) and awaits it.
func evalCall[T any](ctx context.Context, fn string, arg any) (T, error) {
	a, err := json.Marshal(arg)
	if err != nil {
		var zero T
		return zero, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[T](fmt.Sprintf("(%s)(%s)", fn, a), chromedp.EvalAwaitPromise))
}

// waitUntil polls a page expression until it is truthy, failing the test
// with what after ctx ends.
func waitUntil(t testing.TB, ctx context.Context, expr, what string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// eventually waits for cond, checked every 20 ms, until ctx ends.
func eventually(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func pageValue[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// openFeed navigates to the blank page and starts a feed there.
func (r *liveRig) openFeed(t testing.TB, ctx context.Context, cfg feedConfig) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(r.pageURL)); err != nil {
		t.Fatal(err)
	}
	r.addFeed(t, ctx, cfg)
}

func (r *liveRig) addFeed(t testing.TB, ctx context.Context, cfg feedConfig) {
	t.Helper()
	if ok, err := evalCall[bool](ctx, startFeed, cfg); err != nil || !ok {
		t.Fatalf("start feed %s: %v", cfg.Name, err)
	}
}

// liveFeed is a feed of the rig's proxied endpoints.
func (r *liveRig) liveFeed(name, token, scope string) feedConfig {
	return feedConfig{Name: name, API: r.apiURL, RealtimeURL: r.realtimeURL, EventsHost: r.s.EventsHost, Scope: scope, Token: token}
}

func seenOf(t testing.TB, ctx context.Context, feed string) []feedSeen {
	t.Helper()
	return pageValue[[]feedSeen](t, ctx, fmt.Sprintf("window.feeds[%q].seen", feed))
}

// seesVersion is a page expression: feed has been told of job id at
// version v or later.
func seesVersion(feed, id string, v int64) string {
	return fmt.Sprintf("window.feeds[%q].seen.some(s => s.id === %q && s.version >= %d)", feed, id, v)
}

func modeIs(feed, mode string) string {
	return fmt.Sprintf("window.feeds[%q].feed.mode === %q", feed, mode)
}

// stored is the job as the store holds it.
func (r *liveRig) stored(t testing.TB, id string) jobs.Job {
	t.Helper()
	j, err := r.s.Service.Store.GetLatest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestLiveFeed follows jobs with jobfeed.js in Chromium: pushed changes
// reach the page with no request to the API while connected; a killed
// connection falls back to batch polling (one request per poll, one
// preflight per URL) and recovers to live, ending where a pure poller
// ends; channels of other users are refused however they are spelled.
func TestLiveFeed(t *testing.T) {
	r := newLiveRig(t, nil)
	alice := r.token(t, devauth.User{Username: "alice"})

	// Submit, start, progress and completion of two jobs reach the page,
	// every version in order, all by push, while the page makes no API
	// request at all.
	t.Run("LiveUpdatesWithoutRequests", func(t *testing.T) {
		ctx := r.b.tabWithin(t, liveTabTime)
		r.openFeed(t, ctx, r.liveFeed("a", alice, "mine"))
		waitUntil(t, ctx, modeIs("a", "live"), "the feed to go live")
		before := r.requestCount()

		ids := []string{r.submit(t, alice, "a heron at dawn"), r.submit(t, alice, "a fox at dusk")}
		for _, id := range ids {
			r.advance(t, id, jobs.Processing, 0)
			r.advance(t, id, jobs.Processing, 60)
			r.advance(t, id, jobs.Completed, 100)
		}
		for _, id := range ids {
			waitUntil(t, ctx, seesVersion("a", id, r.stored(t, id).Version), "the completion of "+id)
		}
		seen := seenOf(t, ctx, "a")
		for _, id := range ids {
			var statuses []string
			var last int64
			for _, s := range seen {
				if s.ID != id {
					continue
				}
				if s.Source != "push" {
					t.Errorf("%s v%d came by %s, want push", id, s.Version, s.Source)
				}
				if s.Version <= last {
					t.Errorf("%s: v%d after v%d", id, s.Version, last)
				}
				last = s.Version
				statuses = append(statuses, fmt.Sprintf("%s/%d", s.Status, s.Progress))
			}
			if want := []string{"QUEUED/0", "PROCESSING/0", "PROCESSING/60", "COMPLETED/100"}; !reflect.DeepEqual(statuses, want) {
				t.Errorf("%s: the page saw %v, want %v", id, statuses, want)
			}
		}
		if reqs := r.requestsSince(before); len(reqs) != 0 {
			t.Errorf("the page made %d API request(s) while live: %v", len(reqs), reqs)
		}
	})

	// The realtime endpoint goes away (connections dropped, new ones
	// refused): the feed polls the batch form, then comes back live, and
	// ends with what a feed that only polls holds.
	t.Run("KilledConnectionFallsBackAndRecovers", func(t *testing.T) {
		ctx := r.b.tabWithin(t, liveTabTime)
		ids := []string{r.submit(t, alice, "rain on a tin roof"), r.submit(t, alice, "a lighthouse")}
		r.openFeed(t, ctx, r.liveFeed("live", alice, "mine"))
		r.addFeed(t, ctx, feedConfig{Name: "poller", API: r.s.APIURL, Token: alice})
		idsJSON, _ := json.Marshal(ids)
		_ = pageValue[bool](t, ctx, fmt.Sprintf("for (const id of %s) { window.feeds.live.feed.follow(id); window.feeds.poller.feed.follow(id); } true", idsJSON))
		waitUntil(t, ctx, modeIs("live", "live"), "the feed to go live")
		for _, id := range ids {
			waitUntil(t, ctx, seesVersion("live", id, 1), "the re-sync read of "+id)
		}

		r.down.Store(true)
		if n := r.s.Events.DropConnections(); n == 0 {
			t.Fatal("no connection to drop")
		}
		waitUntil(t, ctx, modeIs("live", "polling"), "the feed to fall back to polling")
		polled := r.requestCount()
		r.advance(t, ids[0], jobs.Processing, 30)
		waitUntil(t, ctx, seesVersion("live", ids[0], r.stored(t, ids[0]).Version), "the change to arrive by poll")
		// More polls of the same set, to see the preflight cache at work.
		eventually(t, ctx, "three polls of one batch URL", func() bool {
			n := map[string]int{}
			for _, q := range r.requestsSince(polled) {
				n[q]++
			}
			for q, c := range n {
				if strings.HasPrefix(q, "GET ") && c >= 3 {
					return true
				}
			}
			return false
		})
		polls := r.requestsSince(polled)
		gets, preflights := map[string]int{}, map[string]int{}
		for _, q := range polls {
			method, uri, _ := strings.Cut(q, " ")
			if !strings.HasPrefix(uri, "/v1/jobs?ids=") {
				t.Errorf("while polling: %s, want only the batch form", q)
			}
			switch method {
			case http.MethodGet:
				gets[uri]++
			case http.MethodOptions:
				preflights[uri]++
			default:
				t.Errorf("while polling: %s", q)
			}
		}
		for uri, n := range preflights {
			if n > 1 {
				t.Errorf("%d preflights of %s (%d polls): the preflight cache is not used", n, uri, gets[uri])
			}
		}

		r.down.Store(false)
		waitUntil(t, ctx, modeIs("live", "live"), "the feed to recover to live")
		resynced := r.requestCount()
		r.advance(t, ids[1], jobs.Processing, 10)
		r.advance(t, ids[0], jobs.Completed, 100)
		r.advance(t, ids[1], jobs.Completed, 100)
		for _, id := range ids {
			v := r.stored(t, id).Version
			waitUntil(t, ctx, seesVersion("live", id, v), "the live feed to see "+id+" completed")
			waitUntil(t, ctx, seesVersion("poller", id, v), "the poller to see "+id+" completed")
		}
		if reqs := r.requestsSince(resynced); len(reqs) != 0 {
			t.Errorf("the page made %d API request(s) after recovering: %v", len(reqs), reqs)
		}
		// Events carry the owner (as GET does for admins); alice's polls do
		// not: everything else is the same.
		held := func(feed string) map[string]any {
			return pageValue[map[string]any](t, ctx, fmt.Sprintf(
				"Object.fromEntries([...window.feeds[%q].feed.jobs()].map(([id, j]) => [id, { ...j, ownerId: undefined }]))", feed))
		}
		if live, polled := held("live"), held("poller"); len(live) != len(ids) || !reflect.DeepEqual(live, polled) {
			t.Errorf("after recovery the live feed holds\n%v\nthe poller\n%v", live, polled)
		}
		var sources []string
		for _, s := range seenOf(t, ctx, "live") {
			sources = append(sources, s.Source)
		}
		if !strings.Contains(strings.Join(sources, ","), "poll") || len(sources) == 0 || sources[len(sources)-1] != "push" {
			t.Errorf("sources of the live feed's changes: %v, want polls while down and pushes after", sources)
		}
	})
	// An expired token: the Events API accepts the socket and answers
	// connection_init with connection_error, so the page knows why (a
	// refused upgrade would look like a network failure), and the feed
	// falls back to polling, whose 401 it reports.
	t.Run("ExpiredTokenRefusedWithConnectionError", func(t *testing.T) {
		ctx := r.b.tabWithin(t, liveTabTime)
		expired, _, err := r.s.Pool.IDToken(devauth.User{Username: "alice"}, -time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		r.openFeed(t, ctx, r.liveFeed("expired", expired, "mine"))
		_ = pageValue[bool](t, ctx, fmt.Sprintf("window.feeds.expired.feed.follow(%q), true", r.submit(t, alice, "a job to poll")))
		waitUntil(t, ctx, `window.feeds.expired.modes.includes("polling: connection_error")`, "the connection_error fallback")
		waitUntil(t, ctx, `window.feeds.expired.errors.some(e => e.includes("expired"))`, "the poll's 401 reported")
		if modes := pageValue[[]string](t, ctx, "window.feeds.expired.modes"); modes[0] != "connecting" {
			t.Errorf("modes %v, want connecting, then polling after connection_error", modes)
		}
	})

	// Channels crafted by hand: another user's, the wildcard, paths that
	// climb or are encoded, case variants of another's and of one's own.
	// Each is refused with subscribe_error, and none receives data, while
	// alice's own channel (the control) does. An admin may follow every
	// job with /jobs/*; a non-admin feed with scope "all" falls back to
	// polling.
	t.Run("OtherChannelsRefused", func(t *testing.T) {
		ctx := r.b.tabWithin(t, liveTabTime)
		bobUser := devauth.User{Username: "bob"}
		bob, aliceSub, bobSub := r.token(t, bobUser), devauth.Subject("alice"), devauth.Subject("bob")
		crafted := []string{
			"/jobs/" + bobSub,
			"/jobs/*",
			"/jobs",
			"/*",
			"/jobs/" + aliceSub + "/../" + bobSub,
			"/jobs/" + aliceSub + "/*",
			"/jobs/" + bobSub + "/",
			"/jobs/" + strings.ToUpper(bobSub),
			"/jobs/" + strings.ToUpper(aliceSub),
			"/JOBS/" + aliceSub,
			"/jobs/%2A",
			"/jobs/" + url.PathEscape(bobSub+"/x"),
			"/jobs/" + strings.ReplaceAll(bobSub, "-", "%2D"),
			"jobs/" + aliceSub,
			"/jobs/" + aliceSub + " ",
			"/jobs/" + aliceSub + "\u0000",
		}
		control := len(crafted)
		if err := chromedp.Do(ctx, chromedp.Navigate(r.pageURL)); err != nil {
			t.Fatal(err)
		}
		auth := map[string]string{"Authorization": alice, "host": r.s.EventsHost}
		adminAuth := map[string]string{"Authorization": r.token(t, devauth.User{Username: "ada", Groups: []string{jobs.AdminGroup}}), "host": r.s.EventsHost}
		for _, p := range []probeConfig{
			{Name: "alice", URL: r.realtimeURL, Auth: auth, Channels: append(append([]string(nil), crafted...), "/jobs/"+aliceSub)},
			{Name: "admin", URL: r.realtimeURL, Auth: adminAuth, Channels: []string{"/jobs/*"}},
		} {
			if ok, err := evalCall[bool](ctx, probe, p); err != nil || !ok {
				t.Fatalf("probe %s: %v", p.Name, err)
			}
		}
		waitUntil(t, ctx, fmt.Sprintf("Object.keys(window.probes.alice.acks).length === %d && Object.keys(window.probes.admin.acks).length === 1", control+1), "every subscription answered")
		acks := pageValue[map[string]struct {
			Type   string `json:"type"`
			Errors []struct {
				ErrorType string `json:"errorType"`
			} `json:"errors"`
		}](t, ctx, "window.probes.alice.acks")
		for i, ch := range crafted {
			a := acks[fmt.Sprint(i)]
			if a.Type != "subscribe_error" || len(a.Errors) == 0 || a.Errors[0].ErrorType == "" {
				t.Errorf("subscribe to %q as alice: %+v, want subscribe_error with an errorType", ch, a)
			}
		}
		if a := acks[fmt.Sprint(control)]; a.Type != "subscribe_success" {
			t.Fatalf("alice's own channel: %+v", a)
		}
		if a := pageValue[string](t, ctx, "window.probes.admin.acks['0'].type"); a != "subscribe_success" {
			t.Fatalf("an admin's /jobs/*: %s", a)
		}

		// bob's job changes first, then alice's: the stream keeps commit
		// order, so once alice's arrives anything of bob's would have too.
		bobJob := r.submit(t, bob, "bob's secret")
		r.advance(t, bobJob, jobs.Processing, 50)
		aliceJob := r.submit(t, alice, "alice's own")
		waitUntil(t, ctx, fmt.Sprintf("window.probes.alice.data.some(d => d.event.job.jobId === %q)", aliceJob), "alice's event on her channel")
		waitUntil(t, ctx, fmt.Sprintf("window.probes.admin.data.some(d => d.event.job.jobId === %q)", aliceJob), "alice's event on the admin's /jobs/*")
		for _, d := range pageValue[[]probeData](t, ctx, "window.probes.alice.data") {
			if d.ID != fmt.Sprint(control) || d.Event.Job["ownerId"] != aliceSub {
				channel := "/jobs/" + aliceSub
				if i, err := strconv.Atoi(d.ID); err == nil && i < len(crafted) {
					channel = crafted[i]
				}
				t.Errorf("alice received job %v of %v on %q", d.Event.Job["jobId"], d.Event.Job["ownerId"], channel)
			}
		}
		var adminSaw []string
		for _, d := range pageValue[[]probeData](t, ctx, "window.probes.admin.data") {
			adminSaw = append(adminSaw, fmt.Sprint(d.Event.Job["jobId"]))
		}
		if got := strings.Join(adminSaw, ","); !strings.Contains(got, bobJob) || !strings.Contains(got, aliceJob) {
			t.Errorf("the admin's /jobs/* received %v, want bob's %s and alice's %s", adminSaw, bobJob, aliceJob)
		}
		if other := pageValue[[]any](t, ctx, "window.probes.alice.other.concat(window.probes.admin.other)"); len(other) != 0 {
			t.Errorf("unexpected messages: %v", other)
		}

		// jobfeed.js with scope "all" as alice: refused, so it polls.
		r.addFeed(t, ctx, r.liveFeed("all", alice, "all"))
		waitUntil(t, ctx, modeIs("all", "polling")+` && window.feeds.all.errors.some(e => e.includes("subscription refused"))`, "the refused feed to poll")
	})
}
