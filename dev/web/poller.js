// poller.js — poll a Jobs API job until it is finished. Dependency-free ES
// module: copy it into any frontend (no build step needed).
//
//   import { pollJob } from "./poller.js";
//   const job = await pollJob(`${api}/v1/jobs/${id}`, {
//     getToken: () => session.idToken,            // called before every request
//     onUpdate: (job) => render(job),             // each new state of the job
//     onUnauthorized: async () => { await session.refresh(); return true; }, // 401: retry with a new token?
//     onError: (err, attempt, delayMs) => showRetrying(err, delayMs),        // transient failures
//     signal: controller.signal,                  // abort to stop polling
//   });
//
// Behaviour:
// - Waits Retry-After between polls when the API sends it (seconds or an
//   HTTP date), else defaultDelayMs (3 s).
// - Sends Authorization only (and the safelisted Accept), in the default
//   cache mode, so that a poll is one GET: a cross-origin browser reuses
//   the API's preflight answer for 10 minutes. Not If-None-Match: the Fetch
//   standard turns a request that sets it into cache mode "no-store", and
//   Chromium then preflights every poll (an OPTIONS and a GET to save one
//   small body). A 304 (from a proxy or cache) keeps the last job.
// - Stops when the job is COMPLETED, FAILED or CANCELLED, resolving with it.
// - 429, 5xx and network failures (including CORS blocks, which browsers
//   report as network errors) are retried with exponential backoff and full
//   jitter (or Retry-After when given); after maxErrors in a row it gives up.
// - 401 calls onUnauthorized; resolve it to true to retry with getToken()'s
//   new token. Other 4xx (400, 403, 404) end polling with a PollError.
// - Rejects with an AbortError when signal is aborted.

/** Statuses after which a job never changes. */
export const TERMINAL = Object.freeze(["COMPLETED", "FAILED", "CANCELLED"]);

/** A response that ends polling. status is the HTTP status (0: network). */
export class PollError extends Error {
  constructor(message, { status = 0, code = "", body = null, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = "PollError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * retryAfterMs parses a Retry-After header value: delay-seconds or an
 * HTTP-date, floored at MIN_RETRY_AFTER_MS so that "0" or a past date never
 * makes a busy loop. Returns null when absent or unreadable.
 */
export const MIN_RETRY_AFTER_MS = 1000;

export function retryAfterMs(value, now = Date.now()) {
  if (value == null || value === "") return null;
  const v = String(value).trim();
  if (/^\d+$/.test(v)) return Math.max(MIN_RETRY_AFTER_MS, Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(MIN_RETRY_AFTER_MS, t - now);
}

/**
 * backoffMs is exponential backoff with full jitter: a random delay between
 * 0 and min(maxMs, baseMs * 2^attempt), never under minMs.
 */
export function backoffMs(attempt, { baseMs = 1000, maxMs = 30000, minMs = 250, random = Math.random } = {}) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.max(minMs, Math.floor(random() * cap));
}

function abortError(signal) {
  if (signal && signal.reason instanceof Error) return signal.reason;
  return new DOMException("Polling aborted", "AbortError");
}

/** sleep resolves after ms, or rejects with an AbortError when aborted. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(abortError(signal));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function readJSON(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function errorInfo(body) {
  const e = body && (body.error || body);
  return { code: (e && typeof e.code === "string" && e.code) || "", message: (e && typeof e.message === "string" && e.message) || "" };
}

/**
 * pollJob polls url (GET /v1/jobs/{id}) until the job is terminal and
 * resolves with it. See the top of this file for the options.
 */
export async function pollJob(url, options = {}) {
  const {
    getToken,
    onUpdate = () => {},
    onUnauthorized = null,
    onError = () => {},
    signal,
    defaultDelayMs = 3000,
    maxDelayMs = 30000,
    baseBackoffMs = 1000,
    maxErrors = 8,
    fetch: doFetch = globalThis.fetch.bind(globalThis),
    random = Math.random,
    sleep: wait = sleep,
    now = Date.now,
  } = options;
  if (typeof getToken !== "function") throw new TypeError("pollJob: getToken is required");

  let last = null;
  let errors = 0; // consecutive transient failures
  let refreshed = false; // a 401 was followed by a token refresh

  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    const headers = { Accept: "application/json" };
    const token = await getToken();
    if (token) headers.Authorization = token;

    let response;
    try {
      // The default cache mode: responses are Cache-Control no-store anyway,
      // and "no-store" here would make Chromium skip its preflight cache,
      // doubling every poll into an OPTIONS and a GET.
      response = await doFetch(url, { method: "GET", headers, signal });
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      errors++;
      if (errors >= maxErrors) {
        throw new PollError("The API could not be reached (network error, or the browser blocked the response by CORS).", { status: 0, cause: err });
      }
      const delay = backoffMs(errors - 1, { baseMs: baseBackoffMs, maxMs: maxDelayMs, random });
      onError(err, errors, delay);
      await wait(delay, signal);
      continue;
    }

    const retryAfter = retryAfterMs(response.headers.get("Retry-After"), now());
    const status = response.status;

    if (status === 200 || status === 304) {
      errors = 0;
      refreshed = false;
      if (status === 200) {
        const job = await readJSON(response);
        if (!job || typeof job.status !== "string") {
          throw new PollError("The API answered 200 without a job.", { status, body: job });
        }
        last = job;
        onUpdate(job, response);
      } else if (!last) {
        continue; // 304 without a job to keep: ask again
      }
      if (TERMINAL.includes(last.status)) return last;
      await wait(Math.min(maxDelayMs, retryAfter ?? defaultDelayMs), signal);
      continue;
    }

    const body = await readJSON(response);
    const { code, message } = errorInfo(body);

    if (status === 401) {
      if (!refreshed && onUnauthorized && (await onUnauthorized(response, body)) === true) {
        refreshed = true; // one retry per refresh; a second 401 ends polling
        continue;
      }
      throw new PollError(message || "Unauthorized", { status, code, body });
    }

    if (status === 429 || status >= 500) {
      errors++;
      if (errors >= maxErrors) throw new PollError(message || `HTTP ${status}`, { status, code, body });
      const delay = retryAfter ?? backoffMs(errors - 1, { baseMs: baseBackoffMs, maxMs: maxDelayMs, random });
      onError(new PollError(message || `HTTP ${status}`, { status, code, body }), errors, delay);
      await wait(Math.min(maxDelayMs, delay), signal);
      continue;
    }

    throw new PollError(message || `HTTP ${status}`, { status, code, body });
  }
}
