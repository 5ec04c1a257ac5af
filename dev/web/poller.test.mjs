// Tests of poller.js, run with `node --test dev/web/` (make test runs them from
// dev/web/poller_test.go). No dependencies: a scripted fetch and a recorded sleep.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pollJob, retryAfterMs, backoffMs, PollError, TERMINAL } from "./poller.js";

function response(status, body, headers = {}) {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status,
    headers: { get: (k) => h.get(k.toLowerCase()) ?? null },
    json: async () => {
      if (body === undefined) throw new SyntaxError("no body");
      return body;
    },
  };
}

// script returns a fetch that answers with the given steps in order (a step
// is a response, an Error to throw, or a function of the request).
function script(steps) {
  const requests = [];
  const fetch = async (url, init) => {
    requests.push({ url, headers: { ...init.headers } });
    const step = steps.shift();
    if (step === undefined) throw new Error("unexpected extra request");
    if (step instanceof Error) throw step;
    return typeof step === "function" ? step(init) : step;
  };
  return { fetch, requests };
}

function recorder() {
  const sleeps = [];
  return { sleeps, sleep: async (ms) => void sleeps.push(ms) };
}

const job = (status, extra = {}) => ({ jobId: "job_1", status, progress: 0, ...extra });

test("polls until terminal, waiting Retry-After or the default", async () => {
  const { fetch, requests } = script([
    response(200, job("QUEUED"), { "Retry-After": "2" }),
    response(200, job("PROCESSING", { progress: 40 })),
    response(200, job("COMPLETED", { progress: 100, outputUrl: "http://x/o.mp4" })),
  ]);
  const { sleeps, sleep } = recorder();
  const seen = [];
  const final = await pollJob("http://api/v1/jobs/job_1", { getToken: () => "tok", fetch, sleep, onUpdate: (j) => seen.push(j.status) });
  assert.equal(final.status, "COMPLETED");
  assert.deepEqual(seen, ["QUEUED", "PROCESSING", "COMPLETED"]);
  assert.deepEqual(sleeps, [2000, 3000]);
  assert.equal(requests[0].headers.Authorization, "tok");
  assert.equal(requests[0].url, "http://api/v1/jobs/job_1");
});

test("every terminal status stops polling", async () => {
  for (const status of TERMINAL) {
    const { fetch } = script([response(200, job(status))]);
    const final = await pollJob("u", { getToken: () => "t", fetch, sleep: async () => {} });
    assert.equal(final.status, status);
  }
});

test("Retry-After as an HTTP date", () => {
  const now = Date.parse("2025-06-23T12:00:00Z");
  assert.equal(retryAfterMs("Mon, 23 Jun 2025 12:00:05 GMT", now), 5000);
  // A past date and 0 are floored at one second: never a busy loop.
  assert.equal(retryAfterMs("Mon, 23 Jun 2025 11:00:00 GMT", now), 1000);
  assert.equal(retryAfterMs("0", now), 1000);
  assert.equal(retryAfterMs("7", now), 7000);
  assert.equal(retryAfterMs("soon", now), null);
  assert.equal(retryAfterMs(null, now), null);
});

test("sends no If-None-Match (in a browser it costs a preflight per poll); a 304 keeps the last job", async () => {
  const { fetch, requests } = script([
    response(200, job("PROCESSING", { progress: 10 }), { ETag: '"v2"' }),
    response(304, undefined, { ETag: '"v2"' }),
    response(200, job("COMPLETED"), { ETag: '"v4"' }),
  ]);
  const seen = [];
  const final = await pollJob("u", { getToken: () => "t", fetch, sleep: async () => {}, onUpdate: (j) => seen.push(j.progress) });
  for (const r of requests) assert.equal(r.headers["If-None-Match"], undefined);
  assert.deepEqual(seen, [10, 0]); // the 304 did not report a change
  assert.equal(final.status, "COMPLETED");
});

test("backs off with jitter on 5xx and network errors, honouring Retry-After", async () => {
  const { fetch } = script([
    response(503, { error: { code: "service_unavailable", message: "busy" } }),
    new TypeError("Failed to fetch"),
    response(503, { error: { code: "service_unavailable", message: "busy" } }, { "Retry-After": "4" }),
    response(502, { message: "Internal server error" }),
    response(200, job("FAILED", { error: { code: "X", message: "y" } })),
  ]);
  const { sleeps, sleep } = recorder();
  const errors = [];
  const final = await pollJob("u", {
    getToken: () => "t", fetch, sleep, random: () => 0.5, baseBackoffMs: 1000,
    onError: (err, attempt, delay) => errors.push([err.status ?? "network", attempt, delay]),
  });
  assert.equal(final.status, "FAILED");
  // full jitter at 0.5: 500 (capped from 1000), 1000 (from 2000), then Retry-After, then 4000 (from 8000)
  assert.deepEqual(sleeps, [500, 1000, 4000, 4000]);
  assert.deepEqual(errors.map((e) => e[1]), [1, 2, 3, 4]);
  assert.equal(errors[1][0], "network");
});

test("gives up after maxErrors consecutive failures", async () => {
  const { fetch } = script([new TypeError("Failed to fetch"), new TypeError("Failed to fetch"), new TypeError("Failed to fetch")]);
  await assert.rejects(
    pollJob("u", { getToken: () => "t", fetch, sleep: async () => {}, maxErrors: 3 }),
    (err) => err instanceof PollError && err.status === 0 && /CORS/.test(err.message),
  );
});

test("401 asks for a new token once, then fails", async () => {
  const unauthorized = () => response(401, { error: { code: "UNAUTHORIZED", message: "The incoming token has expired" } });
  let token = "old";
  const { fetch, requests } = script([unauthorized(), response(200, job("PROCESSING")), unauthorized(), unauthorized()]);
  let calls = 0;
  await assert.rejects(
    pollJob("u", {
      getToken: () => token, fetch, sleep: async () => {},
      onUnauthorized: async () => { calls++; token = "new" + calls; return true; },
    }),
    (err) => err instanceof PollError && err.status === 401 && err.message === "The incoming token has expired",
  );
  assert.deepEqual(requests.map((r) => r.headers.Authorization), ["old", "new1", "new1", "new2"]);
  assert.equal(calls, 2);
});

test("401 without a handler, 404 and 400 end polling with the API's message", async () => {
  for (const [status, body, code] of [
    [401, { error: { code: "UNAUTHORIZED", message: "Unauthorized" } }, "UNAUTHORIZED"],
    [404, { error: { code: "not_found", message: "No job with that id." } }, "not_found"],
    [400, { error: { code: "invalid_request", message: "job id: bad" } }, "invalid_request"],
    [403, { message: "Missing Authentication Token" }, ""],
  ]) {
    const { fetch } = script([response(status, body)]);
    await assert.rejects(pollJob("u", { getToken: () => "t", fetch, sleep: async () => {} }), (err) => {
      assert.ok(err instanceof PollError);
      assert.equal(err.status, status);
      assert.equal(err.code, code);
      assert.equal(err.message, (body.error || body).message);
      return true;
    });
  }
});

test("abort stops polling with an AbortError", async () => {
  const controller = new AbortController();
  const { fetch } = script([response(200, job("QUEUED")), response(200, job("QUEUED"))]);
  const sleep = async () => controller.abort();
  await assert.rejects(pollJob("u", { getToken: () => "t", fetch, sleep, signal: controller.signal }), (err) => err.name === "AbortError");
});

test("backoffMs stays within its bounds", () => {
  assert.equal(backoffMs(0, { random: () => 0.999, baseMs: 1000 }), 999);
  assert.equal(backoffMs(10, { random: () => 0.999, baseMs: 1000, maxMs: 30000 }), 29970);
  assert.equal(backoffMs(3, { random: () => 0, minMs: 250 }), 250);
});

test("getToken is required", async () => {
  await assert.rejects(pollJob("u", {}), TypeError);
});

test("no request option that forces a CORS preflight per poll", async () => {
  const inits = [];
  const fetch = async (url, init) => {
    inits.push(init);
    return response(200, job("COMPLETED"), { ETag: '"e"' });
  };
  await pollJob("u", { getToken: () => "t", fetch, sleep: async () => {} });
  // cache: "no-store" bypasses Chromium's preflight cache; other modes and
  // headers beyond Authorization/Accept would add preflights, and so does
  // If-None-Match: it turns the request's cache mode into "no-store".
  assert.equal(inits[0].cache, undefined);
  assert.deepEqual(Object.keys(inits[0].headers).sort(), ["Accept", "Authorization"]);
});
