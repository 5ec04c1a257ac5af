package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// TestDashboard drives the dashboard as its users do, with the simulated
// pipeline off so jobs stay where the test puts them: jobs are listed from
// the API (a reload shows them), cancel ends a queued job, the feed is
// live, and an admin sees every user's jobs, narrowed by status.
func TestDashboard(t *testing.T) {
	b := newBrowser(t)
	o := fastOptions(t)
	o.Worker = false
	s := startServer(t, o)
	ctx := b.tab(t)
	signIn := func(user, groups string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.DashboardURL), chromedp.WaitVisible(css(`body[data-ready="true"]`))); err != nil {
			t.Fatalf("open the dashboard: %v", err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.getElementById("user").value = "`+user+`"; document.getElementById("groups").value = "`+groups+`"; return true; })()`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(css(`#sign-in`))); err != nil {
			t.Fatalf("sign in as %s: %v", user, err)
		}
		waitUntil(t, ctx, `document.getElementById("who").textContent.startsWith("Signed in as `+user+`")`, "the sign-in as "+user)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	signIn("alice", "")
	for range 2 {
		n := count(`tr[data-job-id]`)
		if err := chromedp.Do(ctx, chromedp.Click(css(`#submit`))); err != nil {
			t.Fatalf("submit: %v", err)
		}
		waitUntil(t, ctx, `document.querySelectorAll("tr[data-job-id]").length > `+strconv.Itoa(n), "the submitted job's row")
	}
	waitUntil(t, ctx, `document.querySelector('#feed-mode[data-mode="live"]') !== null`, "the indicator to say live")
	// Listed from the API: a reload (session kept, nothing else) shows both.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(css(`body[data-ready="true"]`))); err != nil {
		t.Fatalf("reload: %v", err)
	}
	waitUntil(t, ctx, `document.querySelectorAll('tr[data-status="QUEUED"]').length === 2`, "the two queued jobs listed after a reload")
	if got := count(`tr[data-job-id] .prompt`); got != 2 {
		t.Errorf("%d rows show a prompt, want 2", got)
	}
	// Cancel one: a QUEUED job is CANCELLED at once, and its button goes.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`tr[data-status="QUEUED"] button.cancel`)),
		chromedp.WaitVisible(css(`tr[data-status="CANCELLED"]`)),
	); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`[document.querySelector('tr[data-status="CANCELLED"] button.cancel').offsetParent !== null, document.getElementById("list-scope").offsetParent !== null]`))
	if err != nil {
		t.Fatal(err)
	}
	if shown[0] {
		t.Errorf("a cancelled job still offers Cancel")
	}
	if shown[1] {
		t.Errorf("a non-admin is offered the all-jobs scope")
	}

	// An admin: every user's jobs with scope all, narrowed by status.
	signIn("carol", "admin")
	waitUntil(t, ctx, `!document.getElementById("list-scope").hidden`, "the all-jobs scope offered to an admin")
	setList := func(scope, status string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			document.getElementById("scope").value = "`+scope+`";
			document.getElementById("status").value = "`+status+`";
			document.getElementById("list-form").dispatchEvent(new Event("change"));
			return true;
		})()`)); err != nil {
			t.Fatal(err)
		}
	}
	setList("all", "")
	waitUntil(t, ctx, `document.querySelectorAll("tr[data-job-id]").length === 2`, "alice's two jobs in the admin's all-jobs list")
	setList("all", "CANCELLED")
	waitUntil(t, ctx, `document.querySelectorAll("tr[data-job-id]").length === 1 && document.querySelectorAll('tr[data-status="CANCELLED"]').length === 1`, "the status filter to leave only the cancelled job")
}

// TestDashboardCancelRequested: cancelling a job the pipeline is running
// shows it as cancel requested (the pipeline ends it) and offers no second
// Cancel.
func TestDashboardCancelRequested(t *testing.T) {
	b := newBrowser(t)
	o := fastOptions(t)
	o.Worker = false // the test plays the pipeline
	s := startServer(t, o)
	ctx := b.tab(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.DashboardURL),
		chromedp.WaitVisible(css(`body[data-ready="true"]`)),
		chromedp.Click(css(`#sign-in`)),
		chromedp.WaitVisible(css(`#who.on`)),
		chromedp.Click(css(`#submit`)),
		chromedp.WaitVisible(css(`tr[data-status="QUEUED"]`)),
	); err != nil {
		t.Fatalf("submit: %v", err)
	}
	id, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`tr[data-status="QUEUED"]`), "data-job-id"))
	if err != nil {
		t.Fatal(err)
	}
	progress := 10
	if _, _, err := s.Service.Advance(context.Background(), jobs.Event{JobID: id.Value, Status: jobs.Processing, Progress: &progress}); err != nil {
		t.Fatalf("the pipeline's PROCESSING report: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(css(`tr[data-status="PROCESSING"] button.cancel`)),
		chromedp.Click(css(`tr[data-status="PROCESSING"] button.cancel`)),
	); err != nil {
		t.Fatalf("cancel the running job: %v", err)
	}
	waitUntil(t, ctx, `(() => { const tr = document.querySelector('tr[data-status="PROCESSING"]'); return tr !== null && tr.querySelector(".cancel-requested").offsetParent !== null && tr.querySelector("button.cancel").offsetParent === null; })()`,
		"the running job to show cancel requested, without a Cancel button")
}
