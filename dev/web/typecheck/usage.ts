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
