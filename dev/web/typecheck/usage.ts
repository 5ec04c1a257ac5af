// How a dashboard uses jobfeed.js and poller.js, compiled with tsc --strict
// (TestTypeDeclarations): it must compile, and every @ts-expect-error line
// must be an error, so the declarations are neither missing nor `any`.
import { createJobFeed, channelFor, MAX_BATCH_IDS, type FeedMode, type Job, type JobEvent } from "../jobfeed.js";
import { pollJob, PollError, TERMINAL, backoffMs } from "../poller.js";

declare const session: { idToken: string; refresh(): Promise<void> };
declare function render(job: Job): void;

const modes: FeedMode[] = [];
const feed = createJobFeed({
  api: "https://api.example.com/prod",
  realtimeUrl: "wss://example.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime",
  eventsHost: "example.appsync-api.us-east-1.amazonaws.com",
  getToken: () => session.idToken,
  scope: "all",
  onJob: (job, { source }) => {
    const version: number = job.version;
    const when: string = job.updatedAt;
    if (source === "push" && TERMINAL.includes(job.status as (typeof TERMINAL)[number])) render(job);
    void version;
    void when;
  },
  onMode: (mode, detail) => {
    modes.push(mode);
    if (mode === "polling") console.log(detail?.reason);
  },
  onGone: (id: string) => console.log(id),
  onUnauthorized: async () => {
    await session.refresh();
    return true;
  },
});
feed.follow("job_0123456789abcdef");
const held: Map<string, Job | null> = feed.jobs();
const first = held.get("job_0123456789abcdef");
if (first) render(first);
const live: boolean = feed.mode === "live";
feed.close();

const channel: string | null = channelFor(session.idToken);
const batch: 50 = MAX_BATCH_IDS;
declare const ev: JobEvent;
const etag: string = ev.etag;
render(ev.job);

async function once(id: string): Promise<void> {
  try {
    const job = await pollJob(`https://api.example.com/prod/v1/jobs/${id}`, { getToken: () => session.idToken });
    render(job);
  } catch (err) {
    if (err instanceof PollError && err.status === 404) return;
    throw err;
  }
}
void [live, channel, batch, etag, once, backoffMs(1)];

// The declarations refuse what the module does not accept.
// @ts-expect-error getToken is required
createJobFeed({ api: "https://api.example.com/prod" });
// @ts-expect-error scope is "mine" or "all"
createJobFeed({ api: "x", getToken: () => "t", scope: "everyone" });
// @ts-expect-error a job has no "state" (it is "status")
createJobFeed({ api: "x", getToken: () => "t", onJob: (job) => job.state });
// @ts-expect-error the mode is read-only
feed.mode = "live";

// The generated API types (api.d.ts, from docs/openapi.yaml) accept every
// valid body and describe every real error body.
type Schemas = import("../api.js").components["schemas"];
type Responses = import("../api.js").components["responses"];
const onlyDuration: Schemas["SubmitRequest"] = { prompt: "A kite", options: { durationSeconds: 10 } };
const promptOnly: Schemas["SubmitRequest"] = { prompt: "A kite" };
const gateway401: Responses["Unauthorized"]["content"]["application/json"] = { error: { code: "UNAUTHORIZED", message: "Unauthorized" } };
const function401: Responses["Unauthorized"]["content"]["application/json"] = { error: { code: "unauthorized", message: "Authentication required." } };
const gatewayDefault401: Responses["Unauthorized"]["content"]["application/json"] = { message: "Unauthorized" };
const function404: Schemas["ErrorBody"] = { error: { code: "not_found", message: "No job with that id." } };
void [onlyDuration, promptOnly, gateway401, function401, gatewayDefault401, function404];
// @ts-expect-error the prompt is required
const noPrompt: Schemas["SubmitRequest"] = { options: { durationSeconds: 10 } };
// @ts-expect-error 4:3 is not an aspect ratio the API takes
const badAspect: Schemas["SubmitRequest"] = { prompt: "x", options: { aspectRatio: "4:3" } };
// @ts-expect-error a function's error codes are its own, lower-case set
const badCode: Schemas["ErrorBody"] = { error: { code: "NOT_FOUND", message: "x" } };
void [noPrompt, badAspect, badCode];
