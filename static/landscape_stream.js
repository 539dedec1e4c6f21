// The landscape page's requests: the racers' paths streamed from /api/paths, the surface and the
// curvature at the start, and what their errors say next to the controls they are about.
//
// A change starts its stream at once (after the current task, so changes made together go out
// together). While a racer's stream is in flight, a new change to it waits for that stream to end
// and then goes out with every change made meanwhile: a dragged slider or start point gets one
// stream in flight at a time, each drawn as it ends, instead of streams cut off before they show
// anything. A new landscape does not wait: the paths in flight are of the old one.

import { HttpError, debounce, fmt, h, postJSON, streamSSE } from "./common.js";
import { $, app, banner, currentKey, emptyData, landscape, page, saveUrl, settle } from "./landscape_page.js";
import { showOutcome } from "./landscape_readout.js";
import { invalidate } from "./landscape_render.js";
import { NOISE, landscapeBody } from "./landscape_state.js";

const streams = page.streams;

/** Something changed: re-stream the racers it affects (all for a global setting), save the URL. */
export function changed({ racers: ids = [], all = false, surface = false, start = false }) {
  app.dataset.status = "pending";
  if (surface) fetchSurface();
  if (start || surface) fetchStability();
  if (start) invalidate("fg", "d3");
  for (const id of ids) streams.pendingIds.add(id);
  streams.pendingAll ||= all;
  streams.supersede ||= surface;
  restreamSoon();
  saveUrl();
}

function restreamSoon() {
  if (streams.queued) return;
  streams.queued = true;
  queueMicrotask(flush);
}

function flush() {
  streams.queued = false;
  const ids = streams.pendingAll ? page.racers.map((r) => r.id) : [...streams.pendingIds];
  if (!streams.supersede && [...streams.jobs].some((job) => ids.some((id) => job.ids.has(id)))) {
    streams.waiting = true; // finish() flushes again
    return;
  }
  streams.waiting = false;
  streams.supersede = false;
  streams.pendingIds = new Set();
  streams.pendingAll = false;
  restream(ids);
}

/** A racer is gone: a stream left with no racer of its own stops. */
export function dropRacer(id) {
  for (const job of [...streams.jobs]) {
    job.ids.delete(id);
    if (!job.ids.size) {
      job.controller.abort();
      streams.jobs.delete(job);
    }
  }
}

/** What /api/paths (and its export) is asked for `list` of racers. */
export function requestBody(list) {
  const { state } = page;
  const body = {
    ...landscapeBody(state),
    racers: list.map((r) => ({ optimizer: r.optimizer, hyper: { ...r.hyper } })),
    start: [...state.start],
    steps: state.steps,
    noise: state.noise ? Object.fromEntries(NOISE.map((p) => [p.name, state[p.name]])) : null,
    schedule: state.schedule,
    schedule_params: { ...state.sparams },
    seed: state.seed,
  };
  return body;
}

/** Stream the racers `ids` now: a stream in flight for any of them stops and its racers join. */
export function restream(ids) {
  const { jobs } = streams;
  const want = new Set(ids);
  for (const job of [...jobs]) {
    if ([...job.ids].some((id) => want.has(id))) {
      job.controller.abort();
      jobs.delete(job);
      for (const id of job.ids) want.add(id);
    }
  }
  const list = page.racers.filter((r) => want.has(r.id));
  if (!list.length) {
    page.draw.awaitingDrawn = true;
    invalidate("fg", "side", "table", "d3");
    return;
  }
  clearErrors();
  performance.mark("descent:request");
  const job = {
    ids: new Set(list.map((r) => r.id)),
    controller: new AbortController(),
    order: list.map((r) => r.id),
    list,
    landscape: page.state.landscape,
    input: page.lastInput, // the user's action this stream answers
    fresh: new Set(), // racers whose new path has begun to arrive
  };
  jobs.add(job);
  for (const r of list) r.status.textContent = "running…";
  setStatus();
  const byId = new Map(list.map((r) => [r.id, r]));
  const racerOf = (i) => (job.ids.has(job.order[i]) ? byId.get(job.order[i]) : null);
  streamSSE("/api/paths", requestBody(list), {
    signal: job.controller.signal,
    onEvent(name, d) {
      if (name === "steps") {
        const r = racerOf(d.racer);
        if (!r) return;
        if (!job.fresh.has(r.id)) {
          job.fresh.add(r.id);
          r.data = emptyData(job.landscape);
          r.outcome = null;
          r.stale = false;
        }
        append(r.data, d.steps);
        streamed();
      } else if (name === "outcome") {
        const r = racerOf(d.racer);
        if (!r) return;
        r.outcome = d.outcome;
        showOutcome(r, page.state.target);
        streamed();
      } else if (name === "end") {
        finish(job); // the race is drawn now; the stream closes once the server has logged it
      } else if (name === "error") {
        banner(`The computation failed: ${d.message}`);
      }
    },
  })
    .then(() => finish(job))
    .catch((err) => {
      if (err.name === "AbortError" || job.finished) return;
      finish(job);
      if (err instanceof HttpError) showErrors(err, job.order);
      else banner(`Could not reach the server: ${err.message}`);
      invalidate("fg", "side", "table", "d3");
    });
}

function finish(job) {
  if (job.finished) return;
  job.finished = true;
  performance.mark("descent:end");
  streams.jobs.delete(job);
  for (const r of job.list) {
    // no new path came (an error): the old one stays, dimmed
    if (job.fresh.has(r.id) || !job.ids.has(r.id)) continue;
    r.stale = true;
    if (r.status.textContent === "running…") r.status.textContent = "";
  }
  clearTimeout(streams.timer);
  streams.timer = null;
  page.draw.unmeasured.push(job.input);
  invalidate("fg", "side", "table", "d3");
  page.draw.awaitingDrawn = true;
  setStatus();
  if (streams.waiting) restreamSoon();
}

function append(data, chunk) {
  for (const key of ["step", "x", "y", "loss", "lr", "gx", "gy", "grad_norm"]) {
    const target = data[key];
    for (const v of chunk[key]) target.push(v);
  }
  for (const [name, rows] of Object.entries(chunk.state)) {
    const target = (data.state[name] ??= []);
    for (const v of rows) target.push(v);
  }
  data.version++;
}

// A fast stream (most take 50 to 150 ms) is drawn once, at its end; a long one every ~250 ms.
function streamed() {
  streams.timer ??= setTimeout(() => {
    streams.timer = null;
    invalidate("fg", "side", "table", "d3");
  }, 250);
}

function setStatus() {
  const busy = streams.jobs.size > 0;
  $("status").textContent = busy ? "computing…" : "";
  if (busy) app.dataset.status = "streaming";
}

// --- errors ------------------------------------------------------------------------------------------

function clearErrors() {
  const { landscape: ls, noise, schedule, steps } = page.controls;
  for (const el of document.querySelectorAll(".group > .field-error, .racer > .field-error")) el.textContent = "";
  for (const c of [...Object.values(ls), ...Object.values(noise), ...Object.values(schedule), steps]) {
    c?.setError("");
  }
  banner(null);
}

/** Each 422 message next to the control it is about. */
function showErrors(err, order) {
  for (const d of err.detail) {
    const loc = d.loc[0] === "body" ? d.loc.slice(1) : d.loc;
    const msg = d.msg.replace(/^Value error, /, "");
    const racer = loc[0] === "racers" && Number.isInteger(loc[1]) ? page.racers.find((r) => r.id === order[loc[1]]) : null;
    if (racer) {
      racer.error.textContent = msg;
      racer.outcome = null; // the verdict was about settings that are gone
      showOutcome(racer, page.state.target);
      continue;
    }
    const where =
      {
        landscape: "landscape-error",
        landscape_params: "landscape-error",
        expression: "custom-error",
        domain: "custom-error",
        start: "start-error",
        noise: "noise-error",
        seed: "noise-error",
        schedule: "schedule-error",
        schedule_params: "schedule-error",
      }[loc[0]] ??
      (/expression|custom/.test(msg)
        ? "custom-error"
        : /landscape|kappa/.test(msg)
        ? "landscape-error"
        : /start/.test(msg)
          ? "start-error"
          : /schedule/.test(msg)
            ? "schedule-error"
            : /batch_size|dataset_size|sigma/.test(msg)
              ? "noise-error"
              : null);
    if (loc[0] === "steps") page.controls.steps.setError(msg);
    else if (where) $(where).textContent = msg;
    else banner(msg);
  }
}

// --- surface and stability ---------------------------------------------------------------------------

export async function fetchSurface() {
  const { state } = page;
  streams.surface?.abort();
  const job = (streams.surface = new AbortController());
  app.dataset.status = "loading";
  try {
    const s = await postJSON(
      "/api/surface",
      { ...landscapeBody(state), resolution: 120, arrows: 20 },
      { signal: job.signal },
    );
    let lo = Infinity;
    let hi = -Infinity;
    let zmin = Infinity;
    let zmax = -Infinity;
    for (let i = 0; i < s.z.length; i++) {
      for (let j = 0; j < s.z[i].length; j++) {
        lo = Math.min(lo, s.color[i][j]);
        hi = Math.max(hi, s.color[i][j]);
        zmin = Math.min(zmin, s.z[i][j]);
        zmax = Math.max(zmax, s.z[i][j]);
      }
    }
    s.range = [lo, hi];
    s.zmin = zmin;
    s.zmax = zmax;
    s.range3d = s.log_scale ? [lo, hi] : [zmin, zmax];
    s.domain = landscape().domain;
    s.name = currentKey();
    page.surface = s;
    $("landscape-error").textContent = "";
    page.draw.awaitingDrawn = true;
    invalidate("bg", "fg", "d3");
  } catch (err) {
    if (err.name === "AbortError") return;
    $("landscape-error").textContent = err instanceof HttpError ? err.message.replace(/Value error, /g, "") : String(err);
  } finally {
    if (streams.surface === job) streams.surface = null;
    settle();
  }
}

export const fetchStability = debounce(async () => {
  const { state } = page;
  streams.stability?.abort();
  const job = (streams.stability = new AbortController());
  try {
    const s = await postJSON(
      "/api/stability",
      { ...landscapeBody(state), x: state.start[0], y: state.start[1] },
      { signal: job.signal },
    );
    page.lrLimit = s.lr_limit;
    $("stability").replaceChildren(
      `Curvature at the start: λmax = ${fmt(s.curvature, 3)}. `,
      s.lr_limit === null
        ? "f curves down here: plain GD has no step-size limit at this point."
        : h("span", {}, "Plain GD is stable for η < 2/λmax = ", h("b", {}, fmt(s.lr_limit, 3)), "."),
    );
    updateStabilityMarks();
  } catch (err) {
    if (err.name !== "AbortError") $("stability").textContent = "";
  }
}, 30);

/** Plain GD's cards: 2/λmax marked on the η slider, and a note when η is above it. */
export function updateStabilityMarks() {
  const limit = page.lrLimit;
  for (const r of page.racers) {
    const gd = r.optimizer === "sgd" && limit !== null;
    r.controls.lr.setMarker(gd ? limit : null, gd ? `2/λmax = ${fmt(limit, 3)}` : "");
    r.stability.hidden = !gd;
    if (gd) {
      const over = r.hyper.lr > limit;
      r.stability.classList.toggle("over", over);
      r.stability.textContent = `▲ 2/λmax = ${fmt(limit, 3)} at the start: above this, GD oscillates or diverges here.${over ? " η is above it." : ""}`;
      r.stability.title = r.stability.textContent;
    }
  }
}
