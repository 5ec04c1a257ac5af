// The local dashboard: sign in as a dev user, submit jobs, watch them move.
// Plain ES modules, no build step. Jobs are listed from the API and followed
// with jobfeed.js (pushed over the Events API while it is up, one batch
// poll per dashboard while it is not), meant to be copied into the real
// dashboards.
import { createJobFeed, tokenClaims } from "./jobfeed.js";
import { PollError } from "./poller.js";

const $ = (id) => document.getElementById(id);

const state = {
  api: "",
  token: sessionStorage.getItem("jobs.token") || "",
  who: sessionStorage.getItem("jobs.who") || "",
  realtimeUrl: "",
  eventsHost: "",
  feed: null, // the jobfeed.js feed of the jobs on screen
  cursor: "", // the list's nextCursor
};

const FINISHED = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

// ---------------------------------------------------------------- messages

function show(text, kind = "error") {
  const m = $("message");
  m.textContent = text;
  m.className = `message ${kind}`;
  m.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
}

// describe turns a failed call into a sentence a developer can act on.
function describe(err, what) {
  if (err instanceof PollError && err.status === 0) return networkText(what);
  if (err instanceof TypeError) return networkText(what);
  if (err.status === 401) return `${what}: 401 Unauthorized — ${err.message}. Sign in again to get a new token.`;
  if (err.status) return `${what}: ${err.status} ${err.code ? err.code + " — " : ""}${err.message}`;
  return `${what}: ${err.message}`;
}

function networkText(what) {
  return `${what}: the browser blocked the response (CORS) or the API is unreachable. ` +
    `This page's origin ${location.origin} must be in the API's AllowedOrigins, and the API must be running at ${state.api}.`;
}

class APIError extends Error {
  constructor(status, body) {
    const e = (body && (body.error || body)) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "";
  }
}

async function call(path, init = {}) {
  const res = await fetch(state.api + path, init);
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) throw new APIError(res.status, body);
  return { res, body };
}

// ---------------------------------------------------------------- identity

function setIdentity(token, who) {
  state.token = token;
  state.who = who;
  sessionStorage.setItem("jobs.token", token);
  sessionStorage.setItem("jobs.who", who);
  $("who").textContent = who ? `Signed in as ${who}` : "Not signed in";
  $("who").classList.toggle("on", Boolean(token));
}

function isAdmin() {
  const groups = tokenClaims(state.token)?.["cognito:groups"];
  return Array.isArray(groups) && groups.includes("admin");
}

async function signIn(event) {
  event.preventDefault();
  clearMessage();
  const user = $("user").value.trim();
  const groups = $("groups").value.split(",").map((g) => g.trim()).filter(Boolean);
  try {
    const { body } = await call("/local/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user, groups }),
    });
    setIdentity(body.idToken, `${body.username}${groups.length ? " (" + groups.join(", ") + ")" : ""}`);
    loadJobs(true);
  } catch (err) {
    show(describe(err, "Sign-in failed"));
  }
}

function useToken(event) {
  event.preventDefault();
  clearMessage();
  const token = $("token-input").value.trim();
  const c = tokenClaims(token);
  if (!c) {
    show("That is not a JWT.");
    return;
  }
  const groups = c["cognito:groups"] || [];
  setIdentity(token, `${c["cognito:username"] || c.username || c.sub}${groups.length ? " (" + groups.join(", ") + ")" : ""} — pasted token`);
  loadJobs(true);
}

// ---------------------------------------------------------------- jobs

// loadJobs lists jobs from the API (the source of truth: nothing is kept in
// the browser) and follows them with one feed. reset starts over: a new
// identity, scope or filter; otherwise the next page is appended.
async function loadJobs(reset) {
  clearMessage();
  const admin = isAdmin();
  $("list-scope").hidden = !admin;
  const scope = admin ? $("scope").value : "mine";
  if (reset) {
    state.feed?.close();
    state.cursor = "";
    $("jobs").replaceChildren();
    state.feed = createJobFeed({
      api: state.api,
      realtimeUrl: state.realtimeUrl,
      eventsHost: state.eventsHost,
      getToken: () => state.token,
      scope: scope === "all" ? "all" : "mine",
      onJob: (job) => render(job.jobId, job),
      onMode: (mode, detail) => showMode(mode, detail),
      onGone: (id) => row(id).remove(),
      onUnauthorized: () => {
        show("The API answered 401 Unauthorized: sign in again to get a new token.");
        return false; // dev tokens have no refresh token; a real app would refresh here and return true
      },
    });
  }
  const q = new URLSearchParams({ limit: "20" });
  if (scope === "all") q.set("scope", "all");
  if ($("status").value) q.set("status", $("status").value);
  if (state.cursor) q.set("cursor", state.cursor);
  try {
    const { body } = await call(`/v1/jobs?${q}`, { headers: { Authorization: state.token } });
    for (const job of body.jobs) {
      render(job.jobId, job, "", true);
      state.feed.follow(job);
    }
    state.cursor = body.nextCursor || "";
  } catch (err) {
    show(describe(err, "Listing jobs failed"));
  }
  $("more").hidden = !state.cursor;
  renderEmpty();
}

function showMode(mode, detail) {
  const m = $("feed-mode");
  m.dataset.mode = mode;
  m.textContent = { live: "live", polling: "polling", connecting: "connecting…", closed: "" }[mode] ?? mode;
  m.title = detail?.reason || "";
}

function renderEmpty() {
  if (!$("jobs").querySelector("tr[data-job-id]")) {
    $("jobs").innerHTML = '<tr class="empty"><td colspan="6">No jobs yet: submit one.</td></tr>';
  } else {
    $("jobs").querySelector("tr.empty")?.remove();
  }
}

async function submit(event) {
  event.preventDefault();
  clearMessage();
  if (!state.token) {
    show("Sign in first.");
    return;
  }
  const button = $("submit");
  button.disabled = true;
  try {
    const { body } = await call("/v1/jobs", {
      method: "POST",
      headers: {
        Authorization: state.token,
        "Content-Type": "application/json",
        "Idempotency-Key": crypto.randomUUID(),
      },
      body: JSON.stringify({
        prompt: $("prompt").value,
        options: { durationSeconds: Number($("duration").value), aspectRatio: $("aspect").value, resolution: $("resolution").value },
      }),
    });
    render(body.jobId, body);
    state.feed?.follow(body);
  } catch (err) {
    show(describe(err, "Submit failed"));
  } finally {
    button.disabled = false;
  }
}

async function track(event) {
  event.preventDefault();
  clearMessage();
  const id = $("track-id").value.trim();
  if (!id) return;
  if (!state.token) {
    show("Sign in first.");
    return;
  }
  try {
    const { body } = await call(`/v1/jobs/${encodeURIComponent(id)}`, { headers: { Authorization: state.token } });
    render(body.jobId, body);
    state.feed?.follow(body);
  } catch (err) {
    show(describe(err, `Reading ${id}`));
  }
}

async function cancel(id) {
  clearMessage();
  try {
    const { body } = await call(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST", headers: { Authorization: state.token } });
    state.feed?.follow(body);
  } catch (err) {
    show(describe(err, `Cancelling ${id}`));
  }
}

function row(id, append = false) {
  let tr = $("jobs").querySelector(`tr[data-job-id="${CSS.escape(id)}"]`);
  if (!tr) {
    tr = document.createElement("tr");
    tr.dataset.jobId = id;
    tr.innerHTML = '<td class="id"><code></code><div class="prompt"></div><div class="opts"></div></td><td><span class="badge"></span> <span class="cancel-requested" hidden>cancel requested</span></td><td><progress max="100" value="0"></progress> <span class="pct"></span></td><td class="time"></td><td class="result"></td><td class="actions"><button type="button" class="cancel">Cancel</button></td>';
    tr.querySelector("code").textContent = id;
    tr.querySelector("button.cancel").addEventListener("click", () => cancel(id));
    if (append) $("jobs").append(tr);
    else $("jobs").prepend(tr);
    renderEmpty();
  }
  return tr;
}

function render(id, job, note = "", append = false) {
  const tr = row(id, append);
  const status = job ? job.status : "…";
  tr.dataset.status = job ? job.status : "PENDING";
  const badge = tr.querySelector(".badge");
  badge.textContent = status;
  badge.className = `badge ${status.toLowerCase()}`;
  tr.querySelector(".cancel-requested").hidden = !(job?.cancelRequested && !FINISHED.has(status));
  tr.querySelector("button.cancel").hidden = !job || FINISHED.has(status) || Boolean(job.cancelRequested);
  if (job?.prompt !== undefined) tr.querySelector(".prompt").textContent = job.prompt;
  if (job?.options) {
    const o = job.options;
    const owner = job.ownerId && isAdmin() ? ` · owner ${job.ownerId}` : "";
    tr.querySelector(".opts").textContent = `${o.durationSeconds} s · ${o.aspectRatio} · ${o.resolution}${owner}` +
      (job.createdAt ? ` · created ${new Date(job.createdAt).toLocaleString()}` : "");
  }
  const progress = job ? job.progress ?? 0 : 0;
  tr.querySelector("progress").value = progress;
  tr.querySelector(".pct").textContent = job ? `${progress}%` : "";
  tr.querySelector(".time").textContent = job && job.updatedAt ? new Date(job.updatedAt).toLocaleTimeString() : "";
  const result = tr.querySelector(".result");
  result.replaceChildren();
  result.className = "result";
  if (job && job.outputUrl) {
    const video = document.createElement("video");
    video.controls = true;
    video.preload = "metadata";
    video.src = job.outputUrl;
    const a = document.createElement("a");
    a.href = job.outputUrl;
    a.textContent = "open";
    a.target = "_blank";
    a.rel = "noopener";
    result.append(video, a);
  } else if (job && job.error) {
    result.textContent = `${job.error.code}: ${job.error.message}`;
    result.className = "result bad";
  } else if (note) {
    result.textContent = note;
    result.className = "result bad";
  }
}

// ---------------------------------------------------------------- start

async function main() {
  $("origin").textContent = location.origin;
  const cfg = await (await fetch("config.json", { cache: "no-store" })).json();
  state.api = cfg.apiBase;
  state.realtimeUrl = cfg.realtimeUrl || "";
  state.eventsHost = cfg.eventsHost || "";
  $("api-base").textContent = state.api;
  $("signin-form").addEventListener("submit", signIn);
  $("token-form").addEventListener("submit", useToken);
  $("submit-form").addEventListener("submit", submit);
  $("track-form").addEventListener("submit", track);
  $("list-form").addEventListener("change", () => loadJobs(true));
  $("more").addEventListener("click", () => loadJobs(false));
  setIdentity(state.token, state.who);
  if (state.token) loadJobs(true);
  document.body.dataset.ready = "true";
}

main().catch((err) => show(`The dashboard could not start: ${err.message}`));
