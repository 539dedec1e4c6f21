// A client for /api/jobs: submit a list of job specs, poll for results as they come, cancel.
// Used by the network tools; the server runs the specs on its job pool (app/jobs.py): a local process
// pool or a Dask cluster. Each answer says where (`pool`) and how many specs still wait for it.

import { messageOf, postJSON } from "./common.js";


const POLL_MS = 200;

/** One tool's job: onProgress(runner) as results come, onEnd(runner) once it is done, failed, cancelled or
 * refused. `pool` is the server's pool as last reported, `waiting` the specs it has not taken yet. */
export class JobRunner {
  constructor(tool, { onProgress, onEnd }) {
    this.tool = tool;
    this.onProgress = onProgress;
    this.onEnd = onEnd;
    this.id = null;
    this.results = [];
    this.total = 0;
    this.status = "idle";
  }

  async start(specs) {
    await this.cancel();
    this.results = [];
    this.total = specs.length;
    this.status = "running";
    this.started = performance.now();
    this.onProgress(this);
    try {
      const job = await postJSON("/api/jobs", { specs });
      this.id = job.id;
      this.pool = job.pool;
      this.waiting = job.waiting;
      this.since = 0;
      this.poll(this.id);
    } catch (e) {
      this.status = "error";
      this.error = e.status === 429 ? `The server is busy: ${messageOf(e)}` : e.status === 422 ? specErrors(e) : messageOf(e);
      this.onEnd(this);
    }
  }

  async poll(id) {
    if (id !== this.id) return;
    let job;
    try {
      const response = await fetch(`/api/jobs/${id}?since=${this.since}`);
      if (!response.ok) throw new Error(`the job is gone (${response.status})`);
      job = await response.json();
    } catch (e) {
      if (id !== this.id) return;
      this.status = "error";
      this.error = messageOf(e);
      this.onEnd(this);
      return;
    }
    if (id !== this.id) return;
    this.since = job.next;
    this.results.push(...job.results);
    this.seconds = job.seconds;
    this.pool = job.pool;
    this.waiting = job.waiting;
    this.onProgress(this);
    if (job.status === "running") setTimeout(() => this.poll(id), POLL_MS);
    else {
      this.status = job.status;
      if (job.status === "failed") this.error = failures(this.results);
      this.id = null;
      this.onEnd(this);
    }
  }

  async cancel() {
    const id = this.id;
    this.id = null;
    if (id && this.status === "running") {
      this.status = "cancelled";
      await fetch(`/api/jobs/${id}`, { method: "DELETE" }).catch(() => {});
      this.onEnd(this);
    }
  }
}

/** Every spec of a job failed: each distinct reason once, with how many specs gave it. */
function failures(results) {
  const counts = new Map();
  for (const { error } of results) counts.set(error, (counts.get(error) ?? 0) + 1);
  return [...counts].map(([error, n]) => (results.length > 1 ? `${error} (${n} of ${results.length})` : error)).join("; ");
}

/** A 422 names every spec: say each distinct problem once, with how many specs have it. */
export function specErrors(error) {
  const counts = new Map();
  for (const d of error.detail) {
    const message = d.msg.replace(/^Value error, /, "");
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  const total = new Set(error.detail.map((d) => d.loc[2])).size;
  return [...counts].map(([message, n]) => (n > 1 || total > 1 ? `${message} (${n} of the runs)` : message)).join("; ");
}

