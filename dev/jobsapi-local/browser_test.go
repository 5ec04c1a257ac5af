package main

// Browser tests: the dashboard in real headless Chromium (Debian's
// `chromium`, driven with chromedp) against the real local server,
// in-process on free loopback ports. The browser enforces CORS, so these
// show what a dashboard on an allowed or a disallowed origin experiences.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localserver"
	"github.com/deepfoundai/jobs-api/dev/web"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// ChromiumEnv names a Chromium binary to use instead of `chromium` on PATH.
const ChromiumEnv = "JOBS_TEST_CHROMIUM"

// ScreenshotsEnv: "always" saves a screenshot after every browser test, not
// only after failures.
const ScreenshotsEnv = "JOBS_TEST_SCREENSHOTS"

// chromiumPath finds Chromium, failing (not skipping) the test without it:
// CI installs it, and a browser suite that silently skips proves nothing.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium is required for the browser tests and was not found: install Debian's chromium (apt-get install chromium; .ci/run does) or set %s", ChromiumEnv)
	return ""
}

// browser is a headless Chromium for one test binary run.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	logs   []string // console and browser log lines, all tabs
	cancel func()
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		// Without these Chromium's own connections are refused on this
		// network and it stalls.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	b := &browser{ctx: bctx, cancel: func() { cancelBrowser(); cancelAlloc() }}
	t.Cleanup(b.cancel)
	return b
}

// tab opens a new tab that records console and log entries, and saves a
// screenshot when the test fails; its context ends after 30 s.
func (b *browser) tab(t testing.TB) context.Context {
	t.Helper()
	return b.tabWithin(t, 30*time.Second)
}

// tabWithin is tab with the tab's context ending after d.
func (b *browser) tabWithin(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.logs = append(b.logs, string(m.Type)+": "+m.Text)
			b.mu.Unlock()
		}
	}()
	tctx, cancelTimeout := context.WithTimeout(ctx, d)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv(ScreenshotsEnv) == "always" {
			saveScreenshot(t, ctx)
			t.Logf("browser log:\n%s", strings.Join(b.logLines(), "\n"))
		}
		cancelTimeout()
		cancel()
	})
	return tctx
}

func (b *browser) logLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logs...)
}

func saveScreenshot(t testing.TB, ctx context.Context) {
	dir := filepath.Join("..", "..", "testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)) // 100: PNG (lower is JPEG)
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	abs, _ := filepath.Abs(name)
	t.Logf("screenshot saved to %s", abs)
}

// serveDashboard serves the dashboard on another loopback origin, one that
// is not in AllowedOrigins.
func serveDashboard(t *testing.T, apiBase string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: web.Handler(web.Config{APIBase: apiBase}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func textOf(ctx context.Context, sel string) (string, error) {
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
}

// css is shorthand for a CSS selector.
type css = chromedp.CSS

// signInWithToken pastes a token into the page's "use a token" form.
func signInWithToken(tok string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(css(`details summary`)),
		chromedp.SetValue(css(`#token-input`), tok),
		chromedp.Click(css(`#use-token`)),
		chromedp.WaitVisible(css(`#who.on`)),
	)
}

func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	s := startServer(t, fastOptions(t))
	ready := css(`body[data-ready="true"]`)

	// Sign in through the page (the token endpoint, cross-origin), submit,
	// and watch the poller take the job to COMPLETED.
	t.Run("AllowedOriginSubmitsAndSeesCompleted", func(t *testing.T) {
		ctx := b.tab(t)
		done := css(`tr[data-status="COMPLETED"]`)
		// Each wait also ends on an error message, so a failure is quick
		// and says why.
		failed := func() {
			t.Helper()
			if msg, _ := textOf(ctx, "#message"); msg != "" {
				if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("message").hidden`)); !hidden {
					t.Fatalf("the page shows an error: %s", msg)
				}
			}
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.DashboardURL),
			chromedp.WaitVisible(ready),
			chromedp.SetValue(css(`#user`), "alice"),
			chromedp.SetValue(css(`#groups`), "video"),
			chromedp.Click(css(`#sign-in`)),
			chromedp.WaitVisible(css(`#who.on, #message:not([hidden])`)),
		)
		if err != nil {
			t.Fatalf("sign in: %v", err)
		}
		failed()
		err = chromedp.Do(ctx,
			chromedp.Click(css(`#submit`)),
			chromedp.WaitVisible(css(`tr[data-status="COMPLETED"], tr[data-status="FAILED"], #message:not([hidden])`)),
		)
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		failed()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(done)); err != nil {
			t.Fatalf("waiting for COMPLETED: %v", err)
		}
		who, err1 := chromedp.Run(ctx, chromedp.Text(css(`#who`)))
		id, err2 := chromedp.Run(ctx, chromedp.AttributeValue(done, "data-job-id"))
		href, err3 := chromedp.Run(ctx, chromedp.AttributeValue(css(`tr[data-status="COMPLETED"] .result a`), "href"))
		hidden, err4 := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("message").hidden`))
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		// The output plays inline: the player loads the video's metadata.
		waitUntil(t, ctx, `(() => { const v = document.querySelector('tr[data-status="COMPLETED"] video'); return v !== null && v.src === `+strconv.Quote(href.Value)+` && v.readyState >= 1; })()`, "the inline player to load the output")
		if who != "Signed in as alice (video)" {
			t.Errorf("identity shown = %q", who)
		}
		if !strings.HasPrefix(id.Value, "job_") || href.Value != s.APIURL+"/local/outputs/"+id.Value+".mp4" {
			t.Errorf("completed row: id %q, output link %q", id.Value, href.Value)
		}
		j, err := s.Service.Store.GetLatest(context.Background(), id.Value)
		if err != nil || j.OwnerID != devauth.Subject("alice") {
			t.Errorf("stored job: %+v, %v; want owned by alice", j, err)
		}
		if !hidden {
			msg, _ := textOf(ctx, "#message")
			t.Errorf("an error message is shown: %q", msg)
		}
	})

	// From an origin not in AllowedOrigins the preflight answer carries no
	// Access-Control-Allow-Origin: the browser never sends the POST and the
	// page can only say so.
	t.Run("DisallowedOriginIsBlockedByCORS", func(t *testing.T) {
		ctx := b.tab(t)
		evil := serveDashboard(t, s.APIURL)
		tok, _, err := s.Pool.IDToken(devauth.User{Username: "mallory"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		before := jobCount(t, s)
		err = chromedp.Do(ctx,
			chromedp.Navigate(evil),
			chromedp.WaitVisible(ready),
			signInWithToken(tok),
			chromedp.Click(css(`#submit`)),
			chromedp.WaitVisible(css(`#message`)),
		)
		if err != nil {
			t.Fatalf("dashboard flow: %v", err)
		}
		msg, err := textOf(ctx, "#message")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, "Submit failed") || !strings.Contains(msg, "CORS") || !strings.Contains(msg, evil) {
			t.Errorf("message = %q, want a CORS failure naming the origin", msg)
		}
		blocked := false
		for deadline := time.Now().Add(5 * time.Second); !blocked && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, l := range b.logLines() {
				blocked = blocked || strings.Contains(l, "blocked by CORS policy") && strings.Contains(l, evil)
			}
		}
		if !blocked {
			t.Errorf("Chromium logged no CORS block for %s; log:\n%s", evil, strings.Join(b.logLines(), "\n"))
		}
		if after := jobCount(t, s); after != before {
			t.Errorf("%d job(s) were submitted from the disallowed origin", after-before)
		}
	})

	// An expired token reaches the page as a readable 401: the gateway
	// response carries CORS headers, so the browser lets the page see it.
	t.Run("ExpiredTokenShowsA401", func(t *testing.T) {
		ctx := b.tab(t)
		tok, _, err := s.Pool.IDToken(devauth.User{Username: "alice"}, -time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			chromedp.Navigate(s.DashboardURL),
			chromedp.WaitVisible(ready),
			signInWithToken(tok),
			chromedp.Click(css(`#submit`)),
			chromedp.WaitVisible(css(`#message`)),
		)
		if err != nil {
			t.Fatalf("dashboard flow: %v", err)
		}
		msg, err := textOf(ctx, "#message")
		if err != nil {
			t.Fatal(err)
		}
		// The submit fails with it; so may the polling of alice's job from
		// the first subtest (same origin, same storage): either says so.
		if want := ": 401 Unauthorized — The incoming token has expired. Sign in again"; !strings.Contains(msg, want) {
			t.Errorf("message = %q, want it to contain %q", msg, want)
		}
		for _, l := range b.logLines() {
			if strings.Contains(l, "blocked by CORS policy") && strings.Contains(l, s.DashboardURL) {
				t.Errorf("a response to the allowed origin was blocked by CORS: %s", l)
			}
		}
	})
}

// jobCount counts every job the server holds.
func jobCount(t *testing.T, s *localserver.Server) int {
	t.Helper()
	admin := jobs.Caller{Subject: "test-admin", Groups: []string{jobs.AdminGroup}, Admin: true}
	n, cursor := 0, ""
	for {
		page, err := s.Service.List(context.Background(), admin, jobs.ListRequest{Scope: jobs.ScopeAll, Limit: jobs.MaxPageSize, Cursor: cursor})
		if err != nil {
			t.Fatalf("list jobs: %v", err)
		}
		n += len(page.Jobs)
		if cursor = page.NextCursor; cursor == "" {
			return n
		}
	}
}
