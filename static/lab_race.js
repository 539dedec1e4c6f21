// One race on the server, seen from the lab: create it, watch its events over Server-Sent Events
// (every racer's run events, tagged with `racer`, and the race's own: the loss surface and the points
// that extend its paths), pause, resume, step or stop every racer, change one racer's settings live,
// and recompute the loss surface.

import { fetchOk, HttpError, postJSON } from "./common.js";
import { EVENT_TYPES, RunData } from "./run_data.js";

const RACE_EVENTS = ["race", "surface_progress", "surface", "surface_error", "point", "race_end"];
const POLL_MS = 300; // how often a finished race's recomputing surface is asked for

/** What the lab keeps of one racer: its run's data (curves, controls, sharpness probes) and its settings. */
export class Racer {
  constructor(k, { run, optimizer, hyper }) {
    this.k = k;
    this.run = run;
    this.optimizer = optimizer;
    this.initial = { ...hyper }; // what it started with
    this.hyper = { ...hyper }; // what it has now
    this.data = new RunData();
  }

  apply(type, e) {
    this.data.apply(type, e);
    if (type === "control" && e.action === "set") Object.assign(this.hyper, e.values);
    if (type === "history") this.hyper = { ...this.initial, ...this.data.settings() };
  }

  /** Its probes: [{step, sharpness, threshold, preconditioned?}] (run_data.js keeps them). */
  get probes() {
    return this.data.sharpness;
  }

  /** Whether its rule's threshold applies to λmax(P⁻¹H) (Adam, RMSprop, …), not to λmax(H). */
  get preconditioned() {
    return this.probes.some((p) => "preconditioned" in p);
  }

  /** Its η at step `step`: the one it started with, or the last live change made by then. */
  lrAt(step) {
    let lr = this.initial.lr ?? null;
    for (const c of this.data.controls) if (c.action === "set" && c.values.lr !== undefined && c.step <= step) lr = c.values.lr;
    return lr;
  }

  /**
   * The latest probe with a value its threshold applies to (λmax(P⁻¹H) for a preconditioned rule,
   * which has none before its first step): {step, value, sharpness, threshold, preconditioned, lr}.
   */
  get probe() {
    const key = this.preconditioned ? "preconditioned" : "sharpness";
    for (let i = this.probes.length - 1; i >= 0; i--) {
      const p = this.probes[i];
      if (p[key] === null || p[key] === undefined) continue;
      return { step: p.step, sharpness: p.sharpness, threshold: p.threshold, preconditioned: p.preconditioned ?? null, lr: this.lrAt(p.step), value: p[key] };
    }
    return null;
  }
}

/**
 * A race on the server. onEvent(type, event, racer) after the session took an event in (racer: the
 * Racer it was about, or null); onChange() whenever its status may have changed.
 */
export class RaceSession {
  constructor({ onEvent, onChange }) {
    this.onEvent = onEvent;
    this.onChange = onChange ?? (() => {});
    this.pending = false; // a create request is on its way
    this.reset(null);
  }

  reset(id) {
    this.id = id;
    this.config = null; // the shared training configuration, as the race reports it
    this.surfaceSettings = null; // {kind, resolution, every}
    this.racers = [];
    this.surface = null; // the latest `surface` payload, paths extended by `point`s since
    this.progress = { state: "idle", done: 0, total: 0 }; // a surface being computed
    this.finished = false; // race_end came
    this.lost = null; // the stream's error, when it broke before race_end
    this.version = 0;
  }

  get status() {
    if (this.pending) return "starting";
    if (!this.id) return "idle";
    if (this.lost) return "error";
    if (!this.racers.length) return "starting";
    if (this.ended) return "ended";
    return this.racers.every((r) => r.data.ended || r.data.status === "paused") ? "paused" : "running";
  }

  /** Every racer has ended (the race may still be computing a last surface). */
  get ended() {
    return this.finished || Boolean(this.lost) || (this.racers.length > 0 && this.racers.every((r) => r.data.ended));
  }

  /** Running or paused: controls and live settings reach it. */
  get live() {
    return Boolean(this.id) && !this.ended;
  }

  get computing() {
    return this.progress.state === "computing";
  }

  async create(body) {
    this.detach();
    this.pending = true;
    this.onChange();
    try {
      const out = await postJSON("/api/races", body);
      this.attach(out.id, out);
      return out.id;
    } finally {
      this.pending = false;
      this.onChange();
    }
  }

  /** Watch race `id` (`out`: its RaceOut, when known: the racers show before the stream opens). */
  attach(id, out = null) {
    this.detach();
    this.reset(id);
    if (out) this.takeOut(out);
    const source = new EventSource(`/api/races/${encodeURIComponent(id)}/events`);
    this.source = source;
    for (const type of [...EVENT_TYPES, ...RACE_EVENTS]) {
      source.addEventListener(type, (message) => {
        if (this.source !== source) return;
        const event = JSON.parse(message.data);
        const racer = this.apply(type, event);
        this.onEvent(type, event, racer);
        this.onChange();
      });
    }
    source.addEventListener("error", () => {
      // CONNECTING: EventSource retries by itself (the race sends its catch-up again). CLOSED: gone.
      if (this.source === source && source.readyState === EventSource.CLOSED) {
        this.closeStream();
        if (!this.finished) {
          this.lost = { message: "the connection to the race was lost (races live in server memory)" };
          this.onEvent("error", this.lost, null);
        }
        this.onChange();
      }
    });
    this.onChange();
  }

  takeOut(out) {
    this.racers = out.racers.map((r, k) => new Racer(k, r));
    if (out.surface) this.progress = { state: out.surface.state, done: out.surface.done ?? 0, total: out.surface.total ?? 0 };
  }

  apply(type, e) {
    this.version++;
    if (EVENT_TYPES.includes(type) && Number.isInteger(e.racer)) {
      const racer = this.racers[e.racer];
      racer?.apply(type, e);
      return racer ?? null;
    }
    switch (type) {
      case "race":
        this.config = e.config;
        this.surfaceSettings = e.surface;
        this.racers = e.racers.map((r, k) => new Racer(k, r));
        this.surface = null;
        this.finished = false;
        break;
      case "surface_progress":
        this.progress = { state: "computing", done: e.done, total: e.total };
        break;
      case "surface":
        this.takeSurface(e);
        break;
      case "surface_error":
        this.progress = { state: "idle", done: 0, total: 0 };
        break;
      case "point": {
        const path = this.surface?.paths.find((p) => p.racer === e.racer);
        if (path && path.step.at(-1) !== e.step) {
          path.step.push(e.step);
          path.a.push(e.a);
          path.b.push(e.b);
        }
        break;
      }
      case "race_end":
        this.finished = true;
        this.closeStream();
        break;
    }
    return null;
  }

  takeSurface(e) {
    this.surface = { ...e, paths: e.paths.map((p) => ({ racer: p.racer, step: Array.from(p.step), a: Array.from(p.a), b: Array.from(p.b) })) };
    this.progress = { state: "idle", done: this.progress.total, total: this.progress.total };
  }

  closeStream() {
    this.source?.close();
    this.source = null;
  }

  /** Stop watching (the race goes on until it ends or nobody watches it). */
  detach() {
    this.closeStream();
    clearTimeout(this.pollTimer);
    this.reset(null);
  }

  /** pause | resume | step | stop, for every racer; a race that has ended is left alone. */
  async control(action) {
    if (!this.live) return;
    await postJSON(`/api/races/${encodeURIComponent(this.id)}/${action}`, {});
  }

  /** New hyperparameters for racer k, from its next step. */
  async setHyper(k, values) {
    if (!this.live) return;
    await postJSON(`/api/races/${encodeURIComponent(this.id)}/racers/${k}/hyper`, { values });
  }

  /** Compute the loss surface again now, in the plane `kind` at `resolution` points per axis. */
  async recompute(kind, resolution) {
    const id = this.id;
    let out;
    try {
      out = await postJSON(`/api/races/${encodeURIComponent(id)}/surface`, { kind, resolution });
    } catch (e) {
      // refused because one is computing already (a background one, whose progress is yet to come): show it
      if (!(e instanceof HttpError && e.status === 409)) throw e;
      const state = await (await fetchOk(`/api/races/${encodeURIComponent(id)}/surface`)).json();
      if (state.state !== "computing") throw e;
      out = { surface: state };
    }
    if (this.id !== id) return;
    this.progress = { state: out.surface.state, done: out.surface.done ?? 0, total: out.surface.total ?? 0 };
    this.onChange();
    if (!this.source) this.poll(id); // the stream has ended: ask until the surface is there
  }

  async poll(id) {
    clearTimeout(this.pollTimer);
    let body;
    try {
      body = await (await fetchOk(`/api/races/${encodeURIComponent(id)}/surface`)).json();
    } catch (e) {
      if (this.id !== id) return;
      this.progress = { state: "idle", done: 0, total: 0 };
      this.onEvent("error", { message: `the surface could not be read: ${e.message}` }, null);
      this.onChange();
      return;
    }
    if (this.id !== id) return;
    this.progress = { state: body.state, done: body.done, total: body.total };
    if (body.state === "computing") {
      this.onEvent("surface_progress", { done: body.done, total: body.total }, null);
      this.pollTimer = setTimeout(() => this.poll(id), POLL_MS);
    } else if (body.result) {
      this.takeSurface(body.result);
      this.version++;
      this.onEvent("surface", body.result, null);
    }
    this.onChange();
  }
}
