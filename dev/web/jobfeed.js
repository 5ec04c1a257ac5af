// jobfeed.js — follow many Jobs API jobs live: pushed over the AppSync
// Events WebSocket while it is up, one batch poll per dashboard while it is
// not. Dependency-free ES module (types: jobfeed.d.ts); copy it with
// poller.js, which it uses for Retry-After, backoff and errors.
//
//   import { createJobFeed } from "./jobfeed.js";
//   const feed = createJobFeed({
//     api: "https://api.example.com/prod",              // the REST API's stage URL
//     realtimeUrl: "wss://<Dns.Realtime>/event/realtime", // stack output JobEventsRealtimeUrl
//     eventsHost: "<Dns.Http>",                          // stack output JobEventsHost
//     getToken: () => session.idToken,                   // a Cognito ID token, asked before each use
//     scope: "mine",                                     // or "all" (admins: every job)
//     onJob: (job, { source }) => render(job),           // once per new version of a job
//     onMode: (mode) => showIndicator(mode),             // "connecting" | "live" | "polling" | "closed"
//   });
//   feed.follow(submitted);   // a job from submit or a list, or just its id
//   feed.close();
//
// Behaviour:
// - Live: a WebSocket with the subprotocols "aws-appsync-event-ws" and
//   "header-<base64url {Authorization, host}>", connection_init, then one
//   subscription: /jobs/<the token's sub> (scope "mine") or /jobs/* (scope
//   "all", admins). Every committed change of a job arrives as an event
//   carrying the job as GET returns it.
// - Exactly one callback per job change: a job is delivered only when its
//   version is higher than the one held (duplicates, late events and events
//   older than a poll are dropped), from push, poll or follow() alike.
// - Re-sync: each time the subscription succeeds (the first time and after
//   every reconnect) the followed unfinished jobs are read once with the
//   batch form, so nothing that changed while the socket was down is missed.
//   While live there is no other request.
// - Fallback: when the socket cannot be opened, is refused, drops, or goes
//   silent past the connection's timeout (no "ka"), the feed polls
//   GET /v1/jobs?ids=… — one request per poll for up to 50 jobs, waiting
//   what Retry-After says — and reconnects with backoff; once live again it
//   stops polling.
// - Polling sends only Authorization, in the default cache mode: nothing
//   that defeats the browser's preflight cache, so a poll is one GET (one
//   OPTIONS per distinct URL every 10 minutes, the API's Max-Age). Not
//   If-None-Match either: the Fetch standard turns a request that sets it
//   into cache mode "no-store", and Chromium then preflights every poll —
//   two requests to save a body the feed ignores (it keeps the highest
//   version anyway).
// - Finished jobs (COMPLETED, FAILED, CANCELLED) stop being polled; jobs
//   that disappear from the batch answer (expired, not yours) are reported
//   to onGone and forgotten.
import { TERMINAL, PollError, retryAfterMs, backoffMs } from "./poller.js";

/** Most ids the batch form takes per request. */
export const MAX_BATCH_IDS = 50;

const PROTOCOL = "aws-appsync-event-ws";
const DEFAULT_CONNECTION_TIMEOUT_MS = 5 * 60 * 1000;

/** base64url of a UTF-8 string (no padding), as the header subprotocol wants. */
export function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The claims of a JWT (unverified: only to read the caller's own sub). */
export function tokenClaims(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(part + "=".repeat((4 - (part.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

/** The channel a caller subscribes to: its own, or every job's for scope "all". */
export function channelFor(token, scope = "mine") {
  if (scope === "all") return "/jobs/*";
  const sub = tokenClaims(token)?.sub;
  return typeof sub === "string" && sub !== "" ? `/jobs/${sub}` : null;
}

function isNewer(job, held) {
  if (!held) return true;
  const v = Number(job.version);
  const h = Number(held.version);
  if (Number.isFinite(v) && Number.isFinite(h)) return v > h;
  return job.updatedAt > held.updatedAt; // an API without versions: the later write
}

/**
 * createJobFeed follows jobs as the top of this file says. Options:
 * api, getToken (required); realtimeUrl and eventsHost (without them the
 * feed only polls); scope "mine" | "all"; onJob(job, {source}),
 * onMode(mode, detail), onGone(jobId), onError(err), onUnauthorized() →
 * Promise<boolean> (true: retry with a new token); followNew (default
 * true: jobs first seen in events, e.g. submitted from another tab, are
 * followed too); pollIntervalMs (3000, when the API sends no Retry-After);
 * maxReconnectDelayMs (30000); and for tests WebSocket, fetch, random.
 */
export function createJobFeed(options) {
  const {
    api,
    realtimeUrl = "",
    eventsHost = "",
    getToken,
    scope = "mine",
    onJob = () => {},
    onMode = () => {},
    onGone = () => {},
    onError = () => {},
    onUnauthorized = null,
    followNew = true,
    pollIntervalMs = 3000,
    maxReconnectDelayMs = 30000,
    WebSocket: WS = globalThis.WebSocket,
    fetch: doFetch = globalThis.fetch.bind(globalThis),
    random = Math.random,
  } = options;
  if (typeof getToken !== "function") throw new TypeError("createJobFeed: getToken is required");
  if (!api) throw new TypeError("createJobFeed: api is required");

  const jobs = new Map(); // jobId -> latest job (null until first read)
  let mode = "";
  let closed = false;
  let socket = null;
  let subId = "";
  let watchdog = null;
  let reconnectTimer = null;
  let reconnects = 0;
  let pollTimer = null;
  let polling = false; // a poll is in flight
  let pollErrors = 0;

  function setMode(m, detail) {
    if (m === mode) return;
    mode = m;
    onMode(m, detail);
  }

  function accept(job, source) {
    if (!job || typeof job.jobId !== "string" || typeof job.status !== "string") return false;
    const known = jobs.has(job.jobId);
    if (!known && source === "push" && !followNew) return false;
    if (!isNewer(job, jobs.get(job.jobId))) return false;
    jobs.set(job.jobId, job);
    onJob(job, { source });
    return true;
  }

  function unfinished() {
    const ids = [];
    for (const [id, job] of jobs) if (!job || !TERMINAL.includes(job.status)) ids.push(id);
    return ids.sort(); // a stable URL for a stable set: its preflight stays cached
  }

  // ------------------------------------------------------------ polling

  async function readBatch(ids) {
    const url = `${api}/v1/jobs?ids=${ids.map(encodeURIComponent).join(",")}`;
    const headers = {};
    const token = await getToken();
    if (token) headers.Authorization = token;
    const res = await doFetch(url, { method: "GET", headers });
    const retry = retryAfterMs(res.headers.get("Retry-After"));
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (res.status !== 200) {
      const e = (body && (body.error || body)) || {};
      const err = new PollError(e.message || `HTTP ${res.status}`, { status: res.status, code: e.code || "", body });
      err.retryAfterMs = retry;
      throw err;
    }
    const seen = new Set();
    for (const job of body.jobs || []) {
      seen.add(job.jobId);
      accept(job, "poll");
    }
    for (const id of ids) {
      if (!seen.has(id)) {
        jobs.delete(id);
        onGone(id);
      }
    }
    return { retry };
  }

  // sync reads every followed unfinished job once; it returns the delay
  // the API asks for before the next read (or null).
  async function sync() {
    const ids = unfinished();
    let wait = null;
    for (let i = 0; i < ids.length; i += MAX_BATCH_IDS) {
      const { retry } = await readBatch(ids.slice(i, i + MAX_BATCH_IDS));
      if (retry != null) wait = wait == null ? retry : Math.min(wait, retry);
    }
    return wait;
  }

  function schedulePoll(ms) {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (closed || mode === "live") return;
    pollTimer = setTimeout(poll, ms);
  }

  async function poll() {
    pollTimer = null;
    if (closed || mode === "live" || polling) return;
    if (unfinished().length === 0) {
      schedulePoll(pollIntervalMs); // nothing to ask about yet
      return;
    }
    polling = true;
    let next = pollIntervalMs;
    try {
      const wait = await sync();
      pollErrors = 0;
      if (wait != null) next = wait;
    } catch (err) {
      next = await failed(err);
    } finally {
      polling = false;
    }
    if (next != null) schedulePoll(Math.min(next, maxReconnectDelayMs));
  }

  // failed reports err and returns the delay before trying again, or null
  // to stop (a 401 nobody could fix).
  async function failed(err) {
    if (err instanceof PollError && err.status === 401) {
      if (onUnauthorized && (await onUnauthorized()) === true) return 0;
      onError(err);
      return null;
    }
    pollErrors++;
    onError(err);
    return err.retryAfterMs ?? backoffMs(pollErrors - 1, { maxMs: maxReconnectDelayMs, random });
  }

  function startPolling(reason) {
    if (closed) return;
    setMode("polling", { reason });
    if (!pollTimer && !polling) schedulePoll(0);
  }

  // ------------------------------------------------------------ live

  function send(msg) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(msg));
  }

  function armWatchdog(ms) {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => drop("no keep-alive within the connection timeout"), ms);
  }

  let timeoutMs = DEFAULT_CONNECTION_TIMEOUT_MS;

  function drop(reason) {
    const s = socket;
    socket = null;
    clearTimeout(watchdog);
    if (s) {
      s.onopen = s.onmessage = s.onclose = s.onerror = null;
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    if (closed) return;
    startPolling(reason);
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, backoffMs(reconnects++, { baseMs: 1000, maxMs: maxReconnectDelayMs, random }));
  }

  async function connect() {
    reconnectTimer = null;
    if (closed || !realtimeUrl || !WS) {
      if (!closed) startPolling("no live endpoint");
      return;
    }
    let token;
    try {
      token = await getToken();
    } catch (err) {
      onError(err);
      drop("no token");
      return;
    }
    const channel = channelFor(token, scope);
    if (!token || !channel) {
      drop("no usable token");
      return;
    }
    const auth = { Authorization: token, host: eventsHost };
    if (mode !== "polling") setMode("connecting");
    let s;
    try {
      s = new WS(realtimeUrl, [PROTOCOL, `header-${base64url(JSON.stringify(auth))}`]);
    } catch (err) {
      onError(err);
      drop("the socket could not be opened");
      return;
    }
    socket = s;
    s.onopen = () => {
      send({ type: "connection_init" });
      armWatchdog(15000); // the acknowledgement
    };
    s.onerror = () => {}; // onclose follows, with what little a browser tells
    s.onclose = () => {
      if (socket === s) drop("the connection closed");
    };
    s.onmessage = async (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      armWatchdog(timeoutMs);
      switch (msg.type) {
        case "connection_ack":
          timeoutMs = Number(msg.connectionTimeoutMs) > 0 ? Number(msg.connectionTimeoutMs) : DEFAULT_CONNECTION_TIMEOUT_MS;
          armWatchdog(timeoutMs);
          subId = typeof crypto !== "undefined" && crypto.randomUUID ? crypto.randomUUID() : `sub-${Date.now()}-${random()}`;
          send({ type: "subscribe", id: subId, channel, authorization: auth });
          break;
        case "subscribe_success":
          if (msg.id !== subId) return;
          reconnects = 0;
          clearTimeout(pollTimer);
          pollTimer = null;
          // Re-sync before declaring live: what changed while not subscribed.
          try {
            await sync();
          } catch (err) {
            onError(err);
          }
          if (socket === s) setMode("live");
          break;
        case "subscribe_error":
          if (msg.id !== subId) return;
          onError(new Error(`subscription refused: ${(msg.errors && msg.errors[0] && msg.errors[0].errorType) || "error"}`));
          drop("the subscription was refused");
          break;
        case "data": {
          if (msg.id !== subId) return;
          let event;
          try {
            event = typeof msg.event === "string" ? JSON.parse(msg.event) : msg.event;
          } catch {
            return;
          }
          if (event && event.type === "job") accept(event.job, "push");
          break;
        }
        case "connection_error":
        case "error":
          drop(msg.type);
          break;
        default: // "ka" and anything newer: the watchdog was re-armed
      }
    };
  }

  // ------------------------------------------------------------ API

  connect();

  return {
    /** The mode: "connecting", "live", "polling" or "closed". */
    get mode() {
      return mode;
    },
    /** Follow a job (an object from submit or a list, or an id). */
    follow(jobOrId) {
      if (closed) return;
      if (typeof jobOrId === "string") {
        if (!jobs.has(jobOrId)) jobs.set(jobOrId, null);
      } else {
        accept(jobOrId, "follow");
      }
      if (mode === "polling" && !pollTimer && !polling) schedulePoll(0);
      if (mode === "live" && typeof jobOrId === "string") sync().catch(onError);
    },
    /** Stop following a job. */
    unfollow(id) {
      jobs.delete(id);
    },
    /** The jobs followed, by id (null: not read yet). */
    jobs() {
      return new Map(jobs);
    },
    /** Stop everything: socket, polls, timers. */
    close() {
      closed = true;
      clearTimeout(pollTimer);
      clearTimeout(reconnectTimer);
      drop("closed");
      setMode("closed");
    },
  };
}
