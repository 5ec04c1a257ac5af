// The local dashboard: sign in as a dev user, submit jobs, watch them move.
// Plain ES modules, no build step. The polling is poller.js, meant to be
// copied into the real dashboards.
import { pollJob, PollError } from "./poller.js";

const $ = (id) => document.getElementById(id);

const state = {
  api: "",
  token: sessionStorage.getItem("jobs.token") || "",
  who: sessionStorage.getItem("jobs.who") || "",
  jobs: new Map(), // jobId -> { job, controller }
};

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

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
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
    restoreJobs();
  } catch (err) {
    show(describe(err, "Sign-in failed"));
  }
}

function useToken(event) {
  event.preventDefault();
  clearMessage();
  const token = $("token-input").value.trim();
  const c = claimsOf(token);
  if (!c) {
    show("That is not a JWT.");
    return;
  }
  const groups = c["cognito:groups"] || [];
  setIdentity(token, `${c["cognito:username"] || c.username || c.sub}${groups.length ? " (" + groups.join(", ") + ")" : ""} — pasted token`);
  restoreJobs();
}

// ---------------------------------------------------------------- jobs

function storageKey() {
  const c = claimsOf(state.token);
  return c ? `jobs.ids.${c.sub}` : "";
}

function remember(id) {
  const key = storageKey();
  if (!key) return;
  const ids = new Set(JSON.parse(localStorage.getItem(key) || "[]"));
  ids.add(id);
  localStorage.setItem(key, JSON.stringify([...ids].slice(-50)));
}

function restoreJobs() {
  for (const { controller } of state.jobs.values()) controller.abort();
  state.jobs.clear();
  $("jobs").replaceChildren();
  const key = storageKey();
  const ids = key ? JSON.parse(localStorage.getItem(key) || "[]") : [];
  for (const id of ids.reverse()) follow(id, null);
  renderEmpty();
}

function renderEmpty() {
  if (state.jobs.size === 0) {
    $("jobs").innerHTML = '<tr class="empty"><td colspan="5">No jobs yet: submit one.</td></tr>';
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
    remember(body.jobId);
    follow(body.jobId, body);
  } catch (err) {
    show(describe(err, "Submit failed"));
  } finally {
    button.disabled = false;
  }
}

function track(event) {
  event.preventDefault();
  clearMessage();
  const id = $("track-id").value.trim();
  if (!id) return;
  if (!state.token) {
    show("Sign in first.");
    return;
  }
  follow(id, null);
}

function row(id) {
  let tr = $("jobs").querySelector(`tr[data-job-id="${CSS.escape(id)}"]`);
  if (!tr) {
    tr = document.createElement("tr");
    tr.dataset.jobId = id;
    tr.innerHTML = '<td class="id"></td><td><span class="badge"></span></td><td><progress max="100" value="0"></progress> <span class="pct"></span></td><td class="time"></td><td class="result"></td>';
    tr.querySelector(".id").textContent = id;
    $("jobs").prepend(tr);
    renderEmpty();
  }
  return tr;
}

function render(id, job, note = "") {
  const tr = row(id);
  const status = job ? job.status : "…";
  tr.dataset.status = job ? job.status : "PENDING";
  const badge = tr.querySelector(".badge");
  badge.textContent = status;
  badge.className = `badge ${status.toLowerCase()}`;
  const progress = job ? job.progress ?? 0 : 0;
  tr.querySelector("progress").value = progress;
  tr.querySelector(".pct").textContent = job ? `${progress}%` : "";
  tr.querySelector(".time").textContent = job && job.updatedAt ? new Date(job.updatedAt).toLocaleTimeString() : "";
  const result = tr.querySelector(".result");
  result.replaceChildren();
  if (job && job.outputUrl) {
    const a = document.createElement("a");
    a.href = job.outputUrl;
    a.textContent = "video";
    a.target = "_blank";
    a.rel = "noopener";
    result.append(a);
  } else if (job && job.error) {
    result.textContent = `${job.error.code}: ${job.error.message}`;
    result.className = "result bad";
  } else if (note) {
    result.textContent = note;
    result.className = "result bad";
  }
}

function follow(id, initial) {
  if (state.jobs.has(id)) return;
  const controller = new AbortController();
  state.jobs.set(id, { job: initial, controller });
  render(id, initial);
  pollJob(`${state.api}/v1/jobs/${encodeURIComponent(id)}`, {
    getToken: () => state.token,
    signal: controller.signal,
    onUpdate: (job) => {
      state.jobs.get(id).job = job;
      render(id, job);
    },
    onUnauthorized: async (_res, body) => {
      const msg = (body && (body.error || body).message) || "Unauthorized";
      show(`Polling ${id}: 401 Unauthorized — ${msg}. Sign in again to get a new token.`);
      return false; // dev tokens have no refresh token; a real app would refresh here and return true
    },
    onError: (err, attempt, delay) => {
      const what = err instanceof PollError ? `${err.status} ${err.message}` : "network error or CORS block";
      render(id, state.jobs.get(id).job, `retrying in ${Math.round(delay / 1000)} s (${what})`);
    },
  }).catch((err) => {
    if (err.name === "AbortError") return;
    render(id, state.jobs.get(id)?.job ?? null, describe(err, "Polling"));
    if (err.status !== 404) show(describe(err, `Polling ${id}`));
  });
}

// ---------------------------------------------------------------- start

async function main() {
  $("origin").textContent = location.origin;
  const cfg = await (await fetch("config.json", { cache: "no-store" })).json();
  state.api = cfg.apiBase;
  $("api-base").textContent = state.api;
  $("signin-form").addEventListener("submit", signIn);
  $("token-form").addEventListener("submit", useToken);
  $("submit-form").addEventListener("submit", submit);
  $("track-form").addEventListener("submit", track);
  setIdentity(state.token, state.who);
  if (state.token) restoreJobs();
  document.body.dataset.ready = "true";
}

main().catch((err) => show(`The dashboard could not start: ${err.message}`));
