// Types of jobfeed.js (hand-written; compiled with `tsc --strict` by
// TestTypeDeclarations against typecheck/usage.ts). The behaviour is
// described at the top of jobfeed.js and in README "Live updates".
import type { components } from "./api.js";
import type { Job } from "./poller.js";

export type { Job } from "./poller.js";

/** A push event: one committed change of a job, with the ETag a GET would send. */
export type JobEvent = components["schemas"]["JobEvent"];

/** Most ids the batch form GET /v1/jobs?ids= takes per request. */
export declare const MAX_BATCH_IDS: 50;

/**
 * The feed's mode: "connecting" (first connection attempt), "live" (subscribed,
 * no polling), "polling" (no live connection: batch polls, reconnecting with
 * backoff) or "closed" (after close()).
 */
export type FeedMode = "connecting" | "live" | "polling" | "closed";

/** Where a job state came from: an event, a batch poll, or follow(job). */
export type JobSource = "push" | "poll" | "follow";

/** "mine": the caller's own jobs (/jobs/<sub>); "all": every job (/jobs/*, admins only). */
export type FeedScope = "mine" | "all";

export interface JobFeedOptions {
  /** The REST API's stage URL, e.g. https://api.example.com/prod (no trailing slash). */
  api: string;
  /** A Cognito ID token (not an access token), asked before each use; may be async. */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** Stack output JobEventsRealtimeUrl (wss://…/event/realtime); without it the feed only polls. */
  realtimeUrl?: string;
  /** Stack output JobEventsHost: the Events API's HTTP host, named in the auth header. */
  eventsHost?: string;
  /** Default "mine". */
  scope?: FeedScope;
  /** Called once per new version of a followed job (never twice for one version, never for an older one). */
  onJob?: (job: Job, info: { source: JobSource }) => void;
  /** Called on each mode change, with the reason when falling back to polling. */
  onMode?: (mode: FeedMode, detail?: { reason: string }) => void;
  /** A followed job the batch poll no longer returns (expired, or not the caller's): it is forgotten. */
  onGone?: (jobId: string) => void;
  /** Failures the feed recovers from by itself (refused subscription, failed poll, …). */
  onError?: (err: unknown) => void;
  /** A 401 from a poll: resolve to true once a fresh token is available, to retry at once. */
  onUnauthorized?: (() => boolean | Promise<boolean>) | null;
  /** Follow jobs first seen in events (e.g. submitted from another tab); default true. */
  followNew?: boolean;
  /** Delay between polls when the API sends no Retry-After; default 3000. */
  pollIntervalMs?: number;
  /** Cap of the reconnect and poll backoff; default 30000. */
  maxReconnectDelayMs?: number;
  /** For tests: the WebSocket constructor, fetch and random source to use. */
  WebSocket?: typeof WebSocket;
  fetch?: typeof fetch;
  random?: () => number;
}

export interface JobFeed {
  /** The current mode ("" before the first change). */
  readonly mode: FeedMode | "";
  /** Follow a job: an object from submit or a list (delivered at once if new), or an id (read at the next sync). */
  follow(jobOrId: Job | string): void;
  /** Stop following a job. */
  unfollow(jobId: string): void;
  /** The followed jobs by id; null for a job followed by id and not read yet. A copy. */
  jobs(): Map<string, Job | null>;
  /** Stop everything: socket, polls, timers. The mode becomes "closed". */
  close(): void;
}

/** Follows jobs: live over the AppSync Events WebSocket, batch polls when that is down. */
export declare function createJobFeed(options: JobFeedOptions): JobFeed;

/** base64url (no padding) of a UTF-8 string, as the header subprotocol wants. */
export declare function base64url(text: string): string;

/** The claims of a JWT, unverified (only to read the caller's own sub); null if unreadable. */
export declare function tokenClaims(token: string): Record<string, unknown> | null;

/** The channel to subscribe to: "/jobs/*" for scope "all", else "/jobs/<sub>"; null without a sub. */
export declare function channelFor(token: string, scope?: FeedScope): string | null;
