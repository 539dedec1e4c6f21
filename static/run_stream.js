// One training run on the server, seen from a page: create it (or upload a saved model), watch its
// events over Server-Sent Events, pause, resume, step, stop and change live settings.

import { fetchOk, postJSON } from "./common.js";
import { EVENT_TYPES, RunData } from "./run_data.js";

/**
 * One run on the server, watched over Server-Sent Events (EventSource: it reconnects by itself and a
 * reconnect starts with the catch-up snapshot). onEvent(type, event) after RunData took it in.
 */
export class RunSession {
  constructor({ onEvent, onChange }) {
    this.id = null;
    this.logged = null; // the run-log id of a finished run shown from the log (no run on the server)
    this.loaded = null; // {trained_steps} when the run started from an uploaded model
    this.data = new RunData();
    this.source = null;
    this.onEvent = onEvent;
    this.onChange = onChange ?? (() => {});
    this.pending = false; // a create request is on its way
  }

  get status() {
    if (this.pending) return "starting";
    return this.id ? this.data.status : "idle";
  }

  /** Running or paused: controls and live settings reach it. */
  get live() {
    return Boolean(this.id) && !this.data.ended;
  }

  async create(body) {
    this.detach();
    this.pending = true;
    this.onChange();
    try {
      const out = await postJSON("/api/runs", body);
      this.attach(out.id);
      return out.id;
    } finally {
      this.pending = false;
      this.onChange();
    }
  }

  /** Upload a saved model (.npz bytes): a new run, paused after evaluating the loaded weights. */
  async upload(file) {
    const response = await fetchOk("/api/runs/upload", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: file,
    });
    const body = await response.json();
    this.attach(body.id, body.loaded);
    return body.id;
  }

  /** Watch run `id`; `loaded` ({trained_steps}) when it started from a saved model (else asked for). */
  attach(id, loaded) {
    this.detach();
    this.id = id;
    this.data.reset();
    this.loaded = loaded ?? null;
    if (loaded === undefined) this.askLoaded(id);
    const source = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
    this.source = source;
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (message) => {
        if (this.source !== source) return;
        const event = JSON.parse(message.data);
        this.data.apply(type, event);
        if (type === "summary" || type === "error") this.closeStream();
        this.onEvent(type, event);
        this.onChange();
      });
    }
    source.addEventListener("error", () => {
      // CONNECTING: EventSource retries by itself (the run sends its snapshot again). CLOSED: gone.
      if (this.source === source && source.readyState === EventSource.CLOSED) {
        this.closeStream();
        if (!this.data.ended) {
          this.data.status = "error";
          this.data.error = { message: "the connection to the run was lost (runs live in server memory)" };
          this.onEvent("error", this.data.error);
        }
        this.onChange();
      }
    });
    this.onChange();
  }

  /** Whether the run started from a saved model (a reload or a link: the page does not know). */
  async askLoaded(id) {
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(id)}`);
      const body = response.ok ? await response.json() : null;
      if (this.id === id && body?.loaded) {
        this.loaded = body.loaded;
        this.onChange();
      }
    } catch {
      // the stream says what matters; this only labels a loaded model
    }
  }

  /**
   * Show run `id` of the run log (a page's link from /log): true once shown; false when the log has no
   * training run of that id on a dataset `known` to the page; null when a run started meanwhile.
   * `perEpoch(config)`: that run's steps per epoch.
   */
  async openLogged(id, known, perEpoch) {
    const response = await fetch(`/api/log/${id}`);
    const entry = response.ok ? await response.json() : null;
    if (this.id || this.status === "starting") return null;
    if (!entry || entry.kind !== "training" || !known(entry.config.dataset)) return false;
    this.showLogged(entry, perEpoch(entry.config));
    return true;
  }

  /** Show a finished run from the run log: its curves, no run on the server. */
  showLogged(entry, per) {
    this.detach();
    this.data = RunData.fromLog(entry, per);
    this.logged = entry.id;
    this.onChange();
  }

  closeStream() {
    this.source?.close();
    this.source = null;
  }

  /** Stop watching (the run itself goes on until it ends or nobody watches it). */
  detach() {
    this.closeStream();
    this.id = null;
    this.logged = null;
    this.loaded = null;
    this.data = new RunData();
  }

  /** pause | resume | step | stop; a run that has already ended is left alone. */
  async control(action) {
    if (!this.live) return;
    await postJSON(`/api/runs/${encodeURIComponent(this.id)}/${action}`, {});
  }

  /** New optimizer hyperparameters or live settings (l1, l2, max_norm, …), from the run's next step. */
  async setHyper(values) {
    if (!this.live) return;
    await postJSON(`/api/runs/${encodeURIComponent(this.id)}/hyper`, { values });
  }
}
