// Types of poller.js (hand-written; compiled with `tsc --strict` by
// TestTypeDeclarations against typecheck/usage.ts).
import type { components } from "./api.js";

/** A job as GET /v1/jobs/{id} returns it. */
export type Job = components["schemas"]["JobResponse"];

/** Statuses after which a job never changes. */
export declare const TERMINAL: readonly ["COMPLETED", "FAILED", "CANCELLED"];

/** A response that ends polling. status is the HTTP status (0: network). */
export declare class PollError extends Error {
  constructor(message: string, init?: { status?: number; code?: string; body?: unknown; cause?: unknown });
  readonly name: "PollError";
  /** The HTTP status; 0 for a network failure (or a CORS block). */
  status: number;
  /** The error body's code, e.g. "NOT_FOUND" ("" if none). */
  code: string;
  /** The parsed error body, if any. */
  body: unknown;
  /** Set by jobfeed.js: the Retry-After the failed answer carried, in ms. */
  retryAfterMs?: number | null;
}

/** Floor of retryAfterMs, so that "0" or a past date never busy-loops. */
export declare const MIN_RETRY_AFTER_MS: number;

/** A Retry-After value (seconds or an HTTP date) in ms; null if absent or unreadable. */
export declare function retryAfterMs(value: string | null | undefined, now?: number): number | null;

/** Exponential backoff with full jitter, in ms. */
export declare function backoffMs(
  attempt: number,
  options?: { baseMs?: number; maxMs?: number; minMs?: number; random?: () => number },
): number;

/** Resolves after ms; rejects with an AbortError when signal is aborted. */
export declare function sleep(ms: number, signal?: AbortSignal): Promise<void>;

export interface PollJobOptions {
  /** A Cognito ID token, asked before every request (may be async). */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** Each new state of the job. */
  onUpdate?: (job: Job, response: Response) => void;
  /** On a 401: resolve to true to retry once with getToken()'s new token. */
  onUnauthorized?: ((response: Response, body: unknown) => boolean | Promise<boolean>) | null;
  /** Transient failures (network, 429, 5xx) and the delay before the retry. */
  onError?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  defaultDelayMs?: number;
  maxDelayMs?: number;
  baseBackoffMs?: number;
  maxErrors?: number;
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** Polls url (a job's GET URL) until the job is finished; resolves with it. */
export declare function pollJob(url: string, options: PollJobOptions): Promise<Job>;
