// Tests of jobfeed.js, run with Node's test runner (web_test.go runs them):
// a scripted WebSocket and fetch, real timers at millisecond scale.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createJobFeed, base64url, tokenClaims, channelFor, MAX_BATCH_IDS } from "./jobfeed.js";

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const TOKEN = `${b64({ alg: "RS256" })}.${b64({ sub: "sub-alice", token_use: "id" })}.sig`;
const job = (id, version, status = "PROCESSING", extra = {}) => ({ jobId: id, status, progress: version * 10, version, ...extra });

function response(status, body, headers = {}) {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status, headers: { get: (k) => h.get(k.toLowerCase()) ?? null }, json: async () => body };
}

// api answers batch reads from a table of jobs; requests are recorded.
function api(table) {
  const requests = [];
  const fetch = async (url, init) => {
    const ids = decodeURIComponent(new URL(url).searchParams.get("ids")).split(",");
    requests.push({ url, ids, headers: { ...init.headers }, init });
    const jobs = ids.filter((id) => table.has(id)).map((id) => table.get(id));
    const etag = `"${jobs.map((j) => j.jobId + j.version).join(":")}"`;
    if (init.headers["If-None-Match"] === etag) return response(304, undefined, { ETag: etag });
    return response(200, { jobs }, { ETag: etag });
  };
  return { fetch, requests };
}

// FakeSocket is a WebSocket the test drives: the feed's messages in sent,
// server messages with deliver().
class FakeSocket {
  static all = [];
  static refuse = false;
  constructor(url, protocols) {
    if (FakeSocket.refuse) throw new Error("refused");
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.();
    }, 1);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  deliver(msg) {
    if (msg.type === "connection_ack") this.acked = true;
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  kill() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
  last(type) {
    return this.sent.filter((m) => m.type === type).at(-1);
  }
}

async function until(cond, what, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

// live drives a socket through the handshake to a successful subscription.
async function live(feed, ackTimeout = 300000) {
  const fresh = () => FakeSocket.all.at(-1);
  await until(() => fresh() && fresh().readyState === 1 && !fresh().acked && fresh().last("connection_init"), "connection_init on a new socket");
  const s = fresh();
  s.deliver({ type: "connection_ack", connectionTimeoutMs: ackTimeout });
  await until(() => s.last("subscribe"), "subscribe");
  s.deliver({ type: "subscribe_success", id: s.last("subscribe").id });
  await until(() => feed.mode === "live", "live");
  return s;
}

function feedWith(table, extra = {}) {
  FakeSocket.all = [];
  FakeSocket.refuse = false;
  const a = api(table);
  const seen = [];
  const modes = [];
  const gone = [];
  const feed = createJobFeed({
    api: "http://api", realtimeUrl: "ws://events/event/realtime", eventsHost: "events.example", getToken: () => TOKEN,
    WebSocket: FakeSocket, fetch: a.fetch, pollIntervalMs: 5, maxReconnectDelayMs: 20, random: () => 0.5,
    onJob: (j, info) => seen.push(`${j.jobId}@${j.version}:${info.source}`), onMode: (m) => modes.push(m), onGone: (id) => gone.push(id),
    ...extra,
  });
  return { feed, seen, modes, gone, requests: a.requests };
}

test("the handshake: subprotocols with the auth header, connection_init, the caller's own channel", async () => {
  const { feed } = feedWith(new Map());
  const s = await live(feed);
  assert.equal(s.url, "ws://events/event/realtime");
  assert.equal(s.protocols[0], "aws-appsync-event-ws");
  const auth = JSON.parse(Buffer.from(s.protocols[1].slice("header-".length), "base64url").toString());
  assert.deepEqual(auth, { Authorization: TOKEN, host: "events.example" });
  const sub = s.last("subscribe");
  assert.equal(sub.channel, "/jobs/sub-alice");
  assert.deepEqual(sub.authorization, auth);
  feed.close();
  assert.equal(channelFor(TOKEN, "all"), "/jobs/*");
  assert.equal(channelFor("not-a-jwt"), null);
  assert.equal(tokenClaims(TOKEN).sub, "sub-alice");
  assert.equal(base64url("é?>"), Buffer.from("é?>").toString("base64url"));
});

test("live: one callback per change, duplicates and stale events dropped, no request while connected", async () => {
  const table = new Map([["job_a", job("job_a", 1, "QUEUED")]]);
  const { feed, seen, requests } = feedWith(table);
  feed.follow(job("job_a", 1, "QUEUED"));
  const s = await live(feed);
  assert.equal(requests.length, 1, "one re-sync read when the subscription succeeds");
  const id = s.last("subscribe").id;
  const push = (j) => s.deliver({ type: "data", id, event: JSON.stringify({ type: "job", job: j, etag: '"x"' }) });
  push(job("job_a", 2));
  push(job("job_a", 2)); // at-least-once: a duplicate
  push(job("job_a", 4));
  push(job("job_a", 3)); // overtaken
  push(job("job_b", 1, "QUEUED")); // submitted elsewhere: followed too
  s.deliver({ type: "ka" });
  s.deliver({ type: "data", id: "someone-else", event: JSON.stringify({ type: "job", job: job("job_a", 9) }) });
  await new Promise((r) => setTimeout(r, 40)); // many poll intervals
  assert.deepEqual(seen, ["job_a@1:follow", "job_a@2:push", "job_a@4:push", "job_b@1:push"]);
  assert.equal(requests.length, 1, "no poll while live");
  feed.close();
});

test("without a live endpoint: one batch request per poll for up to 50 jobs, Authorization its only header", async () => {
  const table = new Map();
  for (let i = 0; i < 60; i++) table.set(`job_${String(i).padStart(2, "0")}`, job(`job_${String(i).padStart(2, "0")}`, 1));
  const { feed, requests, modes } = feedWith(table, { realtimeUrl: "" });
  for (const id of table.keys()) feed.follow(id);
  await until(() => requests.length >= 4, "two polls");
  assert.equal(modes[0], "polling");
  assert.deepEqual(requests.slice(0, 2).map((r) => r.ids.length), [MAX_BATCH_IDS, 10], "60 jobs: two requests a poll");
  for (const r of requests) {
    // If-None-Match would make the request "no-store": a preflight per poll.
    assert.deepEqual(Object.keys(r.headers), ["Authorization"]);
    assert.equal(r.init.cache, undefined, "no cache mode that bypasses the preflight cache");
  }
  feed.close();
});

test("finished jobs stop being polled; vanished ones are reported gone", async () => {
  const table = new Map([["job_a", job("job_a", 1)], ["job_b", job("job_b", 1)]]);
  const { feed, requests, gone, seen } = feedWith(table, { realtimeUrl: "" });
  feed.follow("job_a");
  feed.follow("job_b");
  feed.follow("job_c"); // not (or no longer) visible
  await until(() => requests.length >= 1, "a poll");
  table.set("job_a", job("job_a", 2, "COMPLETED", { terminal: true }));
  await until(() => seen.includes("job_a@2:poll"), "the completion");
  const n = requests.length;
  await until(() => requests.length > n + 1, "more polls");
  assert.deepEqual(requests.at(-1).ids, ["job_b"]);
  assert.deepEqual(gone, ["job_c"]);
  feed.close();
});

test("a socket that cannot open, a refused subscription, a drop, a silent socket: polling, then live again after a re-sync", async () => {
  const table = new Map([["job_a", job("job_a", 1)]]);
  FakeSocket.refuse = true;
  const { feed, requests, modes, seen } = feedWith(table);
  FakeSocket.refuse = true; // feedWith reset it
  feed.follow("job_a");
  await until(() => requests.length >= 2, "polls while the socket is refused");
  assert.equal(feed.mode, "polling");
  FakeSocket.refuse = false;
  let s = await live(feed);
  const polled = requests.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(requests.length, polled, "polling stopped once live");

  // A drop: changes made meanwhile are read by polling, and again on re-sync.
  s.kill();
  table.set("job_a", job("job_a", 2));
  await until(() => seen.includes("job_a@2:poll"), "the change, polled");
  s = await live(feed);
  assert.ok(modes.join(",").includes("live,polling"), `modes ${modes}`);

  // A refused subscription.
  s.kill();
  await until(() => FakeSocket.all.at(-1) !== s && FakeSocket.all.at(-1).last("connection_init"), "a new socket");
  s = FakeSocket.all.at(-1);
  s.deliver({ type: "connection_ack", connectionTimeoutMs: 300000 });
  await until(() => s.last("subscribe"), "subscribe");
  s.deliver({ type: "subscribe_error", id: s.last("subscribe").id, errors: [{ errorType: "Unauthorized" }] });
  await until(() => feed.mode === "polling", "polling after the refusal");

  // Silence past connectionTimeoutMs (no "ka").
  s = await live(feed, 25);
  await until(() => feed.mode === "polling", "polling after silence", 1000);
  feed.close();
  assert.equal(feed.mode, "closed");
});

test("the admin scope subscribes to every job", async () => {
  const { feed } = feedWith(new Map(), { scope: "all" });
  const s = await live(feed);
  assert.equal(s.last("subscribe").channel, "/jobs/*");
  feed.close();
});

test("a 401 asks for a new token once, then reports", async () => {
  let refreshes = 0;
  const errors = [];
  FakeSocket.all = [];
  const feed = createJobFeed({
    api: "http://api", getToken: () => TOKEN, fetch: async () => response(401, { error: { code: "UNAUTHORIZED", message: "Unauthorized" } }),
    pollIntervalMs: 5, onUnauthorized: async () => ++refreshes === 1, onError: (e) => errors.push(e.status),
  });
  feed.follow("job_a");
  await until(() => errors.length === 1, "the 401 reported");
  assert.equal(refreshes, 2);
  feed.close();
});
