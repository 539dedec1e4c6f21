// The landscape playground: optimizers racing on a 2D loss surface, streamed from /api/paths.
//
// One state object (its link: FIELDS in landscape_state.js), racers with their own controls, streams
// per set of racers (a racer's hyperparameter re-streams that racer alone), a render loop that draws
// at most once per animation frame, and a playback cursor over the steps.

import { HttpError, PALETTE, clamp, copyText, debounce, fmt, h, paramControl, postJSON, saveBlob, select, streamSSE } from "./common.js";
import { curveControls } from "./charts.js";
import { MARGIN, cursorShape, markersFigure, pathsFigure, racerMarks, sideFigure, surface3dFigure, surfaceFigure } from "./landscape_figures.js";
import { drawTrails, nearestPoint, plotFrame } from "./landscape_trails.js";
import { thin, renderTable } from "./landscape_readout.js";
import {
  FIELDS,
  LANDSCAPES,
  NOISE,
  OPTIMIZERS,
  REG,
  SCHEDULES,
  SLOTS,
  STEPS_PARAM,
  farOutside,
  hyperFor,
  normalize,
  settings,
  shortLabel,
  suggestedLr,
} from "./landscape_state.js";

const $ = (id) => document.getElementById(id);
const app = $("app");

const state = normalize(FIELDS.deserialize(location.search));
const landscape = () => LANDSCAPES[state.landscape];

// The link follows every change, at most every 200 ms (browsers throttle a flood of replaceState).
let urlTimer = null;
let urlSaved = 0;

function saveUrl({ now = false } = {}) {
  clearTimeout(urlTimer);
  const wait = urlSaved + 200 - performance.now();
  if (now || wait <= 0) {
    urlSaved = performance.now();
    state.racers = racers.map((r) => ({ optimizer: r.optimizer, hyper: { ...r.hyper } }));
    history.replaceState(null, "", `${location.pathname}?${FIELDS.serialize(state)}`);
  } else {
    urlTimer = setTimeout(() => saveUrl({ now: true }), wait);
  }
}

// --- racers ------------------------------------------------------------------------------------------

let nextId = 0;
const racers = []; // {id, optimizer, hyper, color, data, outcome, stale, card, controls, ...}

// One object per streamed path: whatever is derived from it (side-plot series, 3D heights) is cached
// on the object itself, so a new path can never be drawn with an old path's series.
const emptyData = (landscape = state.landscape) => ({
  landscape, // the landscape the path ran on
  step: [], x: [], y: [], loss: [], lr: [], gx: [], gy: [], grad_norm: [], state: {},
  version: 0, // chunks appended so far
  derived: {},
});

function freeColor() {
  const used = new Set(racers.map((r) => r.color));
  return PALETTE.find((c) => !used.has(c)) ?? PALETTE[racers.length % PALETTE.length];
}

function addRacer(optimizer, hyper) {
  const spec = OPTIMIZERS[optimizer];
  const r = {
    id: nextId++,
    optimizer,
    hyper: hyper ?? hyperFor(spec, landscape()),
    color: freeColor(),
    data: emptyData(),
    outcome: null,
    stale: false,
  };
  racers.push(r);
  buildCard(r);
  return r;
}

const labelOf = (r) => {
  const same = racers.filter((o) => o.optimizer === r.optimizer);
  const name = shortLabel(OPTIMIZERS[r.optimizer]);
  return same.length > 1 ? `${name} ${same.indexOf(r) + 1}` : name;
};

/** A parameter's symbol for the "more" summary: "γ (momentum)" → "γ", "weight decay λ" → "λ". */
const symbol = (p) => (p.label.includes("(") ? p.label.split(" ")[0] : p.label.split(" ").at(-1));

function buildCard(r) {
  const spec = OPTIMIZERS[r.optimizer];
  r.controls = {};
  const onParam = (name) => (v) => {
    r.hyper[name] = v;
    if (name === "lr") updateStabilityMarks();
    changed({ racers: [r.id] });
  };
  // a refused value: the path drawn is of settings the card no longer shows, so it has no verdict
  const onReject = () => {
    r.outcome = null;
    r.stale = true;
    showOutcome(r);
    invalidate("fg", "table", "side", "d3");
  };
  const [lrParam, ...rest] = spec.params;
  r.controls.lr = paramControl(lrParam, r.hyper.lr, onParam("lr"), { onReject });
  for (const p of rest) r.controls[p.name] = paramControl(p, r.hyper[p.name], onParam(p.name), { onReject });
  r.stability = h("p.stability-note", { hidden: true });
  r.status = h("p.racer-status", { role: "status" });
  r.target = h("p.racer-target", { hidden: true });
  r.error = h("div.field-error", { role: "status" });
  const remove = h("button.icon", { type: "button", title: "Remove this racer", "aria-label": "Remove racer" }, "✕");
  remove.addEventListener("click", () => removeRacer(r));
  const short = REG.optimizers.map((o) => ({ name: o.name, label: shortLabel(o) }));
  const choose = select(short, r.optimizer, (name) => switchOptimizer(r, name), { "aria-label": "Optimizer", title: spec.label });
  const more = rest.length
    ? h("details.more", {}, h("summary", {}, rest.map(symbol).join(", ")), rest.map((p) => r.controls[p.name].el))
    : null;
  const card = h(
    "article.racer",
    { dataset: { id: r.id, optimizer: r.optimizer } },
    h("div.racer-head", {}, h("span.swatch"), choose, remove),
    h("p.rule", { title: `${spec.rule}\n${spec.reference}` }, spec.rule),
    r.controls.lr.el,
    r.stability,
    more,
    r.status,
    r.target,
    r.error,
  );
  card.style.setProperty("--racer", r.color);
  if (r.card) r.card.replaceWith(card);
  else $("racers").append(card);
  r.card = card;
  r.remove = remove;
  updateStabilityMarks();
}

function switchOptimizer(r, name) {
  r.optimizer = name;
  r.hyper = hyperFor(OPTIMIZERS[name], landscape());
  buildCard(r);
  changed({ racers: [r.id] });
  refreshRacerChrome();
}

function removeRacer(r) {
  if (racers.length <= 1) return;
  racers.splice(racers.indexOf(r), 1);
  r.card.remove();
  for (const job of [...jobs]) {
    job.ids.delete(r.id);
    if (!job.ids.size) {
      job.controller.abort();
      jobs.delete(job);
    }
  }
  refreshRacerChrome();
  changed({});
}

function refreshRacerChrome() {
  $("racer-count").textContent = `${racers.length} of ${SLOTS}`;
  $("add-racer").disabled = racers.length >= SLOTS;
  for (const r of racers) r.remove.disabled = racers.length <= 1;
}

$("add-racer").addEventListener("click", () => {
  if (racers.length >= SLOTS) return;
  const used = new Set(racers.map((r) => r.optimizer));
  const name = REG.optimizers.find((o) => !used.has(o.name))?.name ?? "adam";
  const r = addRacer(name);
  refreshRacerChrome();
  changed({ racers: [r.id] });
  r.card.scrollIntoView({ block: "nearest" });
});

// --- global controls ---------------------------------------------------------------------------------

let landscapeControls = {};
let stepsControl = null;
const noiseControls = {};
let scheduleControls = {};

function buildLandscapeControls() {
  const ls = landscape();
  $("landscape").value = ls.name;
  $("formula").textContent = `f(x, y) = ${ls.formula}`;
  $("landscape-note").textContent = ls.reference;
  landscapeControls = {};
  $("landscape-params").replaceChildren(
    ...ls.params.map((p) => {
      landscapeControls[p.name] = paramControl(p, state.lparams[p.name], (v) => {
        state.lparams[p.name] = v;
        changed({ surface: true, all: true });
      });
      return landscapeControls[p.name].el;
    }),
  );
}

function buildScheduleControls() {
  const spec = SCHEDULES[state.schedule];
  $("schedule").value = spec.name;
  $("schedule-formula").textContent = spec.formula;
  scheduleControls = {};
  $("schedule-params").replaceChildren(
    ...spec.params.map((p) => {
      scheduleControls[p.name] = paramControl(p, state.sparams[p.name], (v) => {
        state.sparams[p.name] = v;
        changed({ all: true });
      });
      return scheduleControls[p.name].el;
    }),
  );
}

function buildNoiseControls() {
  $("noise-params").replaceChildren(
    ...NOISE.map((p) => {
      noiseControls[p.name] = paramControl(p, state[p.name], (v) => {
        state[p.name] = v;
        if (p.name === "dataset_size" && state.batch_size > v) setNoise("batch_size", v);
        if (p.name === "batch_size" && v > state.dataset_size) setNoise("batch_size", state.dataset_size);
        changed({ all: true });
      });
      return noiseControls[p.name].el;
    }),
  );
  stepsControl = paramControl(STEPS_PARAM, state.steps, (v) => {
    state.steps = v;
    changed({ all: true });
  });
  $("steps-control").replaceChildren(stepsControl.el);
}

function setNoise(name, v) {
  state[name] = v;
  noiseControls[name].set(v);
}

function syncNoiseUi() {
  $("noise-on").checked = state.noise;
  $("noise-off").checked = !state.noise;
  $("noise-settings").hidden = !state.noise;
  $("seed").value = String(state.seed);
  const preset = state.batch_size === state.dataset_size ? "batch" : state.batch_size === 1 ? "sgd" : "minibatch";
  for (const b of document.querySelectorAll("[data-preset]")) b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
}

function syncStartUi() {
  for (const [i, id] of ["start-x", "start-y"].entries()) {
    if (document.activeElement !== $(id)) $(id).value = String(state.start[i]);
  }
}

$("landscape").addEventListener("change", () => {
  const ls = LANDSCAPES[$("landscape").value];
  state.landscape = ls.name;
  state.lparams = settings(ls.params);
  state.target = null; // a replay's target is a loss on the landscape it came from
  state.start = [...ls.start];
  state.steps = ls.steps;
  stepsControl.set(state.steps);
  for (const r of racers) {
    r.hyper.lr = suggestedLr(ls, OPTIMIZERS[r.optimizer]);
    r.controls.lr.set(r.hyper.lr);
  }
  buildLandscapeControls();
  syncStartUi();
  resetZoom();
  fitMap();
  changed({ surface: true, all: true, start: true });
});

for (const id of ["start-x", "start-y"]) {
  $(id).addEventListener("change", () => {
    const p = [Number($("start-x").value), Number($("start-y").value)];
    if (!p.every(Number.isFinite) || $("start-x").value.trim() === "" || $("start-y").value.trim() === "") {
      $("start-error").textContent = "x and y must be numbers";
      return;
    }
    moveStart(p);
  });
}
$("start-reset").addEventListener("click", () => moveStart([...landscape().start]));

function moveStart(p) {
  if (farOutside(p, landscape())) {
    $("start-error").textContent = `(${p.join(", ")}) lies more than ten domain widths outside the map`;
    return;
  }
  $("start-error").textContent = "";
  state.start = p;
  syncStartUi();
  changed({ all: true, start: true });
}

for (const radio of document.querySelectorAll("input[name=noise]")) {
  radio.addEventListener("change", () => {
    state.noise = $("noise-on").checked;
    syncNoiseUi();
    changed({ all: true });
  });
}
for (const button of document.querySelectorAll("[data-preset]")) {
  button.addEventListener("click", () => {
    const b = { batch: state.dataset_size, sgd: 1, minibatch: Math.min(32, state.dataset_size) }[button.dataset.preset];
    setNoise("batch_size", b);
    syncNoiseUi();
    changed({ all: true });
  });
}
$("seed").addEventListener("change", () => {
  const v = Number($("seed").value);
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 32 - 1) {
    $("noise-error").textContent = "the seed is a whole number from 0 to 4294967295";
    return;
  }
  state.seed = v;
  changed({ all: true });
});
$("seed-new").addEventListener("click", () => {
  state.seed = Math.floor(Math.random() * 1e6);
  syncNoiseUi();
  changed({ all: true });
});
$("schedule").addEventListener("change", () => {
  state.schedule = $("schedule").value;
  state.sparams = settings(SCHEDULES[state.schedule].params);
  buildScheduleControls();
  changed({ all: true });
});

for (const radio of document.querySelectorAll("input[name=view]")) {
  radio.checked = radio.value === state.view;
  radio.addEventListener("change", () => {
    state.view = radio.value;
    showView();
    saveUrl();
  });
}
$("show-arrows").checked = state.arrows;
$("show-arrows").addEventListener("change", () => {
  state.arrows = $("show-arrows").checked;
  invalidate("bg");
  saveUrl();
});
// the side plots: smoothing and log y, kept in the link
const sideControls = curveControls({
  smoothing: state.smoothing,
  log: state.logy,
  label: "side plots",
  onChange({ smoothing, log }) {
    state.smoothing = smoothing;
    state.logy = log;
    invalidate("side");
    saveUrl();
  },
});
$("side-controls").replaceChildren(sideControls);

// a replay from the tools: the way back to the view it came from
if (state.back) {
  $("back-link").href = state.back;
  $("back-link").hidden = false;
}

$("show-vectors").checked = state.vectors;
$("show-vectors").addEventListener("change", () => {
  state.vectors = $("show-vectors").checked;
  invalidate("fg");
  saveUrl();
});

// --- changes, streams and errors ---------------------------------------------------------------------

let pendingIds = new Set();
let pendingAll = false;
let lastInput = performance.now();
// When the user acted, for the redraw measure: a slider, select or box acts on `input`; a text field
// when its value is committed.
const isText = (el) => el.matches?.("input[type=text]");
document.addEventListener("input", (e) => isText(e.target) || (lastInput = performance.now()), true);
document.addEventListener("change", (e) => isText(e.target) && (lastInput = performance.now()), true);
document.addEventListener("keydown", (e) => e.key === "Enter" && isText(e.target) && (lastInput = performance.now()), true);

/** Something changed: re-stream the racers it affects (all for a global setting), save the URL. */
function changed({ racers: ids = [], all = false, surface = false, start = false }) {
  app.dataset.status = "pending";
  if (surface) fetchSurface();
  if (start || surface) fetchStability();
  if (start) invalidate("fg", "d3");
  for (const id of ids) pendingIds.add(id);
  pendingAll ||= all;
  supersede ||= surface;
  restreamSoon();
  saveUrl();
}

// A change starts its stream at once (after the current task, so changes made together go out
// together). While a racer's stream is in flight, a new change to it waits for that stream to end
// and then goes out with every change made meanwhile: a dragged slider or start point gets one
// stream in flight at a time, each drawn as it ends, instead of streams cut off before they show
// anything. A new landscape does not wait: the paths in flight are of the old one.
let flushQueued = false;
let waiting = false; // changes wait for a stream in flight
let supersede = false;

function restreamSoon() {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(flush);
}

function flush() {
  flushQueued = false;
  const ids = pendingAll ? racers.map((r) => r.id) : [...pendingIds];
  if (!supersede && [...jobs].some((job) => ids.some((id) => job.ids.has(id)))) {
    waiting = true; // finish() flushes again
    return;
  }
  waiting = false;
  supersede = false;
  pendingIds = new Set();
  pendingAll = false;
  restream(ids);
}

const jobs = new Set(); // {ids: Set, controller, order: [id]}

function requestBody(list) {
  const body = {
    landscape: state.landscape,
    landscape_params: { ...state.lparams },
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

function restream(ids) {
  const want = new Set(ids);
  for (const job of [...jobs]) {
    if ([...job.ids].some((id) => want.has(id))) {
      job.controller.abort();
      jobs.delete(job);
      for (const id of job.ids) want.add(id);
    }
  }
  const list = racers.filter((r) => want.has(r.id));
  if (!list.length) {
    awaitingDrawn = true;
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
    landscape: state.landscape,
    input: lastInput, // the user's action this stream answers
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
        showOutcome(r);
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
  jobs.delete(job);
  for (const r of job.list) {
    // no new path came (an error): the old one stays, dimmed
    if (job.fresh.has(r.id) || !job.ids.has(r.id)) continue;
    r.stale = true;
    if (r.status.textContent === "running…") r.status.textContent = "";
  }
  clearTimeout(streamTimer);
  streamTimer = null;
  unmeasured.push(job.input);
  invalidate("fg", "side", "table", "d3");
  awaitingDrawn = true;
  setStatus();
  if (waiting) restreamSoon();
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
let streamTimer = null;
let awaitingDrawn = false;
function streamed() {
  streamTimer ??= setTimeout(() => {
    streamTimer = null;
    invalidate("fg", "side", "table", "d3");
  }, 250);
}

/** The card's verdict, from the outcome and the path it ended (both of the same stream). */
function verdict(outcome, data) {
  const ls = LANDSCAPES[data.landscape];
  const m = ls.minima[outcome.minimum];
  const which = m ? (m.is_global ? "the global minimum" : "a local minimum") : "a minimum";
  const f = data.loss.at(-1);
  const fstar = Math.min(...ls.minima.map((q) => q.value));
  switch (outcome.status) {
    case "diverged":
      return `✕ ${outcome.message}. Try a smaller learning rate.`;
    case "converged":
      return `✓ ${outcome.message}, at ${which}`;
    case "left":
      return `⚠ ${outcome.message}; f = ${fmt(f, 4)} at its end${f < fstar ? ", below every minimum: the landscape falls away outside its domain" : ""}`;
    default:
      // Rastrigin and Ackley list their global minimum only: a path may rest in one of many others
      return ls.many_minima
        ? `${outcome.message}; ${fmt(outcome.distance, 3)} from the global minimum (one of many local minima may hold it)`
        : `${outcome.message}; ${fmt(outcome.distance, 3)} from ${which}`;
  }
}

function showOutcome(r) {
  r.card.dataset.outcome = r.outcome?.status ?? "";
  r.status.textContent = r.outcome ? verdict(r.outcome, r.data) : "";
  showTarget(r);
}

/**
 * A replay's target, by the tools' rule: reached at the first step whose loss is at most it; a
 * success only if the path never falls below f* − (target − f*) (it left the domain) nor diverges.
 */
function showTarget(r) {
  const target = state.target;
  r.target.hidden = target === null || !r.outcome;
  if (r.target.hidden) return;
  const d = r.data;
  const fstar = Math.min(...LANDSCAPES[d.landscape].minima.map((m) => m.value));
  const i = d.loss.findIndex((f) => f <= target);
  const out = d.loss.findIndex((f) => f < 2 * fstar - target);
  const what = `target f ≤ ${fmt(target, 4)}`;
  const reached = i >= 0 ? `reached at step ${d.step[i]}` : "not reached";
  let text = `◎ ${what} ${reached}`;
  if (out >= 0) text += `, but the path fell below f* at step ${d.step[out]} (it left the domain): no success`;
  else if (r.outcome.status === "diverged") text += `, but the path diverged at step ${r.outcome.step}: no success`;
  else if (i < 0) text += r.outcome.status === "converged" ? ` before the path stopped at step ${r.outcome.step}` : ` in ${d.step.at(-1)} steps`;
  r.target.dataset.reached = String(i >= 0 && out < 0 && r.outcome.status !== "diverged");
  r.target.textContent = text;
}

function clearErrors() {
  for (const el of document.querySelectorAll(".group > .field-error, .racer > .field-error")) el.textContent = "";
  for (const c of [...Object.values(landscapeControls), ...Object.values(noiseControls), ...Object.values(scheduleControls), stepsControl]) {
    c?.setError("");
  }
  banner(null);
}

/** Each 422 message next to the control it is about. */
function showErrors(err, order) {
  for (const d of err.detail) {
    const loc = d.loc[0] === "body" ? d.loc.slice(1) : d.loc;
    const msg = d.msg.replace(/^Value error, /, "");
    const racer = loc[0] === "racers" && Number.isInteger(loc[1]) ? racers.find((r) => r.id === order[loc[1]]) : null;
    if (racer) {
      racer.error.textContent = msg;
      racer.outcome = null; // the verdict was about settings that are gone
      showOutcome(racer);
      continue;
    }
    const where =
      {
        landscape: "landscape-error",
        landscape_params: "landscape-error",
        start: "start-error",
        noise: "noise-error",
        seed: "noise-error",
        schedule: "schedule-error",
        schedule_params: "schedule-error",
      }[loc[0]] ??
      (/landscape|kappa/.test(msg)
        ? "landscape-error"
        : /start/.test(msg)
          ? "start-error"
          : /schedule/.test(msg)
            ? "schedule-error"
            : /batch_size|dataset_size|sigma/.test(msg)
              ? "noise-error"
              : null);
    if (loc[0] === "steps") stepsControl.setError(msg);
    else if (where) $(where).textContent = msg;
    else banner(msg);
  }
}

function banner(msg) {
  $("banner").hidden = !msg;
  $("banner").textContent = msg ?? "";
}

function setStatus() {
  const busy = jobs.size > 0;
  $("status").textContent = busy ? "computing…" : "";
  if (busy) app.dataset.status = "streaming";
}

/** No stream or surface in flight, and what they brought is drawn: tell tests and benchmarks. */
function settle() {
  if (jobs.size || surfaceJob || awaitingDrawn) return;
  app.dataset.status = "ready";
}

// --- surface and stability ---------------------------------------------------------------------------

let surface = null;
let surfaceJob = null;
let uirevision = 0;

async function fetchSurface() {
  surfaceJob?.abort();
  const job = (surfaceJob = new AbortController());
  app.dataset.status = "loading";
  try {
    const s = await postJSON(
      "/api/surface",
      { landscape: state.landscape, landscape_params: { ...state.lparams }, resolution: 120, arrows: 20 },
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
    s.name = state.landscape;
    surface = s;
    $("landscape-error").textContent = "";
    awaitingDrawn = true;
    invalidate("bg", "fg", "d3");
  } catch (err) {
    if (err.name === "AbortError") return;
    $("landscape-error").textContent = err instanceof HttpError ? err.message.replace(/Value error, /g, "") : String(err);
  } finally {
    if (surfaceJob === job) surfaceJob = null;
    settle();
  }
}

let stabilityJob = null;
let lrLimit = null;

const fetchStability = debounce(async () => {
  stabilityJob?.abort();
  const job = (stabilityJob = new AbortController());
  try {
    const s = await postJSON(
      "/api/stability",
      { landscape: state.landscape, landscape_params: { ...state.lparams }, x: state.start[0], y: state.start[1] },
      { signal: job.signal },
    );
    lrLimit = s.lr_limit;
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

function updateStabilityMarks() {
  for (const r of racers) {
    const gd = r.optimizer === "sgd" && lrLimit !== null;
    r.controls.lr.setMarker(gd ? lrLimit : null, gd ? `2/λmax = ${fmt(lrLimit, 3)}` : "");
    r.stability.hidden = !gd;
    if (gd) {
      const over = r.hyper.lr > lrLimit;
      r.stability.classList.toggle("over", over);
      r.stability.textContent = `▲ 2/λmax = ${fmt(lrLimit, 3)} at the start: above this, GD oscillates or diverges here.${over ? " η is above it." : ""}`;
      r.stability.title = r.stability.textContent;
    }
  }
}

// --- figures and the render loop ---------------------------------------------------------------------

const figs = { bg: $("surface"), fg: $("paths"), side: $("side"), d3: $("surface3d") };
const trails = $("trails"); // the racers and the start, on a canvas between bg and fg
const CONFIG = { responsive: false, displaylogo: false, showTips: false, doubleClick: "reset", modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage", "autoScale2d"] };
const created = new Set();
let dirty = new Set();
let frame = null;
let rendering = false;

function invalidate(...parts) {
  for (const p of parts) dirty.add(p);
  if (!frame && !rendering) frame = requestAnimationFrame(render);
}

const timings = {}; // ms of each figure's last draw, for benchmarks

async function draw(name, figure, config = CONFIG) {
  const gd = figs[name];
  const t0 = performance.now();
  if (!created.has(name)) {
    created.add(name);
    await Plotly.newPlot(gd, figure.data, figure.layout, config);
    hookFigure(name, gd);
  } else {
    await Plotly.react(gd, figure.data, figure.layout, config);
  }
  timings[name] = performance.now() - t0;
}

/** What every figure needs about a racer at the cursor: its rows and the row index j shown. */
function racerViews() {
  return racers.map((r) => {
    const n = r.data.x.length;
    const j = n ? Math.min(cursor.follow ? n - 1 : cursor.k, n - 1) : -1;
    const is3d = state.view === "3d" && surface;
    return {
      label: labelOf(r),
      color: r.color,
      stale: r.stale,
      rows: r.data,
      j,
      outcome: r.outcome,
      get series() {
        return series(r); // only when the side plots are drawn
      },
      heights: is3d ? heights(r) : null,
    };
  });
}

let sideDeferred = false;
const SIDE_EVERY = 200; // ms between side-plot redraws while streams are in flight
let sideDrawnAt = -Infinity;
let sideTimer = null;
let markersKey = ""; // what the markers figure shows: redrawn only when it changes
let marks = []; // the racers as the canvas last drew them (racerMarks)
const unmeasured = []; // when the user acted, for each stream that ended and is not yet drawn
const SIDE_CONFIG = { ...CONFIG, responsive: true, doubleClick: "autosize" };
const CONFIG_3D = { ...CONFIG, responsive: true, modeBarButtonsToRemove: ["toImage"] };

/** The racers and the start on the canvas, through the markers figure's axes. */
function drawMap(views) {
  const t0 = performance.now();
  const view = zoom ?? surface.domain;
  marks = racerMarks(views, { vectors: state.vectors, view });
  drawTrails(trails, { frame: plotFrame(figs.fg), width: figs.fg.clientWidth, height: figs.fg.clientHeight, marks, start: state.start });
  timings.trails = performance.now() - t0;
}

/**
 * Draw what is dirty, once per animation frame. When the map and the side plots both need a redraw,
 * the map goes first and the side plots follow a frame later: the race is on screen sooner. A user's
 * action is measured ("descent:redraw") to the frame that draws its paths on the map; "ready" waits
 * for the side plots too.
 */
async function render() {
  frame = null;
  rendering = true;
  const parts = dirty;
  dirty = new Set();
  // this frame draws the last stream's (or the surface's) final data
  const completes = awaitingDrawn && !jobs.size && !surfaceJob && surface !== null;
  const is3d = state.view === "3d";
  const map = is3d ? parts.has("d3") || parts.has("fg") : parts.has("fg");
  let sideDrawn = !parts.has("side");
  try {
    const views = racerViews();
    const work = [];
    if (surface && surface.name === state.landscape) {
      const ls = landscape();
      const common = { landscape: ls, start: state.start, racers: views, uirevision };
      if (!is3d && parts.has("bg")) {
        const figure = surfaceFigure(surface, { view: state.view, arrows: state.arrows, ranges: zoom, uirevision, target: state.target });
        work.push(draw("bg", figure));
      }
      if (!is3d && parts.has("fg")) {
        const view = zoom ?? surface.domain;
        const key = JSON.stringify([ls.name, view, uirevision]);
        if (key !== markersKey || !created.has("fg")) {
          markersKey = key;
          await draw("fg", markersFigure({ landscape: ls, view, uirevision }));
        }
        drawMap(views);
      }
      if (is3d && map) work.push(draw("d3", surface3dFigure({ ...common, surface, height: height3d, caption: caption() }), CONFIG_3D));
    }
    if (parts.has("side") && map && !sideDeferred) {
      dirty.add("side"); // next frame (once: during playback the map is redrawn every frame)
      sideDeferred = true;
    } else if (parts.has("side") && (jobs.size || waiting) && performance.now() < sideDrawnAt + SIDE_EVERY) {
      // while streams follow a drag, the side plots (a Plotly redraw, 20–40 ms) keep to a few frames
      // a second, leaving the main thread to the map; the last stream's end draws them at once
      sideDeferred = false;
      sideTimer ??= setTimeout(() => {
        sideTimer = null;
        invalidate("side");
      }, sideDrawnAt + SIDE_EVERY - performance.now());
    } else if (parts.has("side")) {
      sideDeferred = false;
      sideDrawnAt = performance.now();
      const look = { log: state.logy, smoothing: state.smoothing, target: state.target };
      work.push(draw("side", sideFigure({ racers: views, steps: lastStep(), cursor: cursorStep(), uirevision, ...look }), SIDE_CONFIG));
      sideDrawn = true;
    } else if (parts.has("cursor") && created.has("side")) {
      const c = cursorShape(cursorStep());
      work.push(Plotly.relayout(figs.side, { "shapes[0].x0": c.x0, "shapes[0].x1": c.x1, "shapes[0].visible": c.visible }));
    }
    if (parts.has("table") || parts.has("fg")) {
      renderTable($("readout"), views, cursor.follow ? lastStep() : cursor.k);
      cueOverflow();
    }
    syncScrubber();
    await Promise.all(work);
  } catch (err) {
    banner(`Drawing failed: ${err.message}`);
  } finally {
    rendering = false;
    const now = performance.now();
    if (map && surface) {
      for (const input of unmeasured.splice(0)) performance.measure("descent:redraw", { start: input, end: now });
    }
    if (completes && awaitingDrawn && !jobs.size && !surfaceJob && sideDrawn && !dirty.has("side")) {
      // every stream has ended and everything it brought is drawn, the side plots included
      awaitingDrawn = false;
      performance.measure("descent:drawn", { start: lastInput, end: now });
      app.dataset.draws = String(Number(app.dataset.draws ?? 0) + 1);
      settle();
    }
    if (dirty.size) frame = requestAnimationFrame(render);
  }
}

/** What is derived from a path, computed once per chunk that arrived and kept with the path. */
function derived(d, key, compute) {
  const hit = d.derived[key];
  if (hit && hit.version === d.version) return hit.value;
  const value = compute();
  d.derived[key] = { version: d.version, value };
  return value;
}

/** The readout's columns past its right edge (8 racers do not fit): a shadow there says so. */
const readoutBox = document.querySelector(".readout");
function cueOverflow() {
  const more = readoutBox.scrollLeft + readoutBox.clientWidth < readoutBox.scrollWidth - 1;
  readoutBox.classList.toggle("more-right", more);
  readoutBox.title = more ? "Scroll sideways for the other racers" : "";
}
readoutBox.addEventListener("scroll", cueOverflow, { passive: true });

// Side-plot series: f − f*, distance to the nearest minimum, η, each thinned for drawing (with its
// smoothed values, when smoothing is on, taken over every step). A value a log axis cannot show
// (f − f* ≤ 0: the path is outside the domain, below every minimum) is kept as it is; the figure
// leaves it out of a log curve and marks where it happened.
const series = (r) =>
  derived(r.data, `series:${state.smoothing}`, () => {
    const d = r.data;
    const ms = LANDSCAPES[d.landscape].minima;
    const fstar = Math.min(...ms.map((m) => m.value));
    const gap = d.loss.map((f) => f - fstar);
    const dist = d.x.map((x, i) => Math.min(...ms.map((m) => Math.hypot(x - m.x, d.y[i] - m.y))));
    const out = { below: belowRuns(d.step, gap), fstar };
    for (const [key, ys] of Object.entries({ gap, dist, lr: d.lr })) out[key] = thin(d.step, ys, state.smoothing);
    return out;
  });

/** [first, last] step of each run of steps where f − f* ≤ 0. */
function belowRuns(steps, gap) {
  const runs = [];
  for (let i = 0; i < gap.length; i++) {
    if (!(gap[i] <= 0)) continue;
    if (runs.length && runs.at(-1)[1] === steps[i - 1]) runs.at(-1)[1] = steps[i];
    else runs.push([steps[i], steps[i]]);
  }
  return runs;
}

/** A point of the map, rounded to a thousandth of the domain's width (a start a link can hold). */
function mapPoint(x, y) {
  const [[x0, x1], [y0, y1]] = landscape().domain;
  const digits = (w) => Math.max(0, 3 - Math.floor(Math.log10(w)));
  return [Number(x.toFixed(digits(x1 - x0))), Number(y.toFixed(digits(y1 - y0)))];
}

function hookFigure(name, gd) {
  if (name === "fg") {
    gd.on("plotly_click", (ev) => {
      const x = ev.xvals?.[0] ?? ev.points?.[0]?.x;
      const y = ev.yvals?.[0] ?? ev.points?.[0]?.y;
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      lastInput = performance.now();
      moveStart(mapPoint(x, y));
    });
    gd.on("plotly_hover", (ev) => {
      const x = ev.xvals?.[0];
      const y = ev.yvals?.[0];
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      $("cursor-readout").hidden = false;
      $("cursor-readout").textContent = hoverText(x, y, ev.event);
    });
    gd.on("plotly_unhover", () => ($("cursor-readout").hidden = true));
    gd.addEventListener("mouseleave", () => ($("cursor-readout").hidden = true));
    gd.on("plotly_relayout", (ev) => syncZoom(ev));
  }
}

/** The map's read-out under the mouse: the racer point there if any (the paths are on a canvas), else f. */
function hoverText(x, y, event) {
  const frame = plotFrame(figs.fg);
  const box = figs.fg.getBoundingClientRect();
  const near = frame && event ? nearestPoint(marks, frame, event.clientX - box.left, event.clientY - box.top) : null;
  if (near) {
    const { mark, i } = near;
    const r = racers.find((q) => labelOf(q) === mark.label);
    const f = r?.data.loss[i];
    return `${mark.label}   step ${i}   (${fmt(mark.path.x[i], 4)}, ${fmt(mark.path.y[i], 4)})   f = ${f === undefined ? "–" : fmt(f, 4)}`;
  }
  const f = interpolate(x, y);
  return `x ${fmt(x, 3)}   y ${fmt(y, 3)}   f ≈ ${f === null ? "–" : fmt(f, 4)}   · click to start here`;
}

// Dragging the start: the paths follow while it moves (one stream in flight, each drawn as it ends).
// The press is taken before Plotly sees it, so a drag that begins on the start does not zoom.
let dragging = false;
function nearStart(event) {
  const frame = plotFrame(figs.fg);
  if (!frame || state.view === "3d") return false;
  const box = figs.fg.getBoundingClientRect();
  const dx = frame.px(state.start[0]) - (event.clientX - box.left);
  const dy = frame.py(state.start[1]) - (event.clientY - box.top);
  return dx * dx + dy * dy <= 12 * 12;
}
function dragTo(event) {
  const frame = plotFrame(figs.fg);
  const box = figs.fg.getBoundingClientRect();
  const [x, y] = mapPoint(frame.x(event.clientX - box.left), frame.y(event.clientY - box.top));
  if (x === state.start[0] && y === state.start[1]) return;
  lastInput = performance.now();
  moveStart([x, y]);
}
figs.fg.addEventListener(
  "pointerdown",
  (event) => {
    if (event.button !== 0 || !nearStart(event)) return;
    event.preventDefault(); // no mousedown follows: Plotly starts no zoom box
    event.stopPropagation();
    dragging = true;
    figs.fg.classList.add("dragging");
    figs.fg.setPointerCapture(event.pointerId);
  },
  { capture: true },
);
figs.fg.addEventListener("pointermove", (event) => {
  if (dragging) dragTo(event);
  else figs.fg.classList.toggle("over-start", nearStart(event));
});
for (const type of ["pointerup", "pointercancel"]) {
  figs.fg.addEventListener(type, (event) => {
    if (!dragging) return;
    dragging = false;
    figs.fg.classList.remove("dragging");
    figs.fg.releasePointerCapture(event.pointerId);
    if (type === "pointerup") dragTo(event);
  });
}

// A grid value between grid points (bilinear): f for the hover read-out anywhere on the map, and
// the surface's height under each 3D path point (null outside the grid, or its edge with `clamped`).
function interpolate(x, y, grid = surface?.z, clamped = false) {
  if (!surface) return null;
  const { x: xs, y: ys } = surface;
  let fi = ((x - xs[0]) / (xs[xs.length - 1] - xs[0])) * (xs.length - 1);
  let fj = ((y - ys[0]) / (ys[ys.length - 1] - ys[0])) * (ys.length - 1);
  if (clamped) {
    fi = clamp(fi, 0, xs.length - 1);
    fj = clamp(fj, 0, ys.length - 1);
  }
  if (!(fi >= 0 && fj >= 0 && fi <= xs.length - 1 && fj <= ys.length - 1)) return null;
  const i = Math.min(Math.floor(fi), xs.length - 2);
  const j = Math.min(Math.floor(fj), ys.length - 2);
  const u = fi - i;
  const v = fj - j;
  const z = grid;
  return (1 - v) * ((1 - u) * z[j][i] + u * z[j][i + 1]) + v * ((1 - u) * z[j + 1][i] + u * z[j + 1][i + 1]);
}

/** Height of the drawn 3D surface at (x, y): paths are drawn on it, not inside it. */
const height3d = (x, y) => interpolate(x, y, surface.log_scale ? surface.color : surface.z, true);

function heights(r) {
  const d = r.data;
  const hit = d.derived.heights;
  if (hit && hit.version === d.version && hit.surface === surface) return hit.value;
  const value = d.x.map((x, i) => height3d(x, d.y[i]));
  d.derived.heights = { version: d.version, surface, value };
  return value;
}

// The surface follows the paths figure's zoom (the paths figure takes the mouse).
let zoom = null;
function syncZoom(ev) {
  const full = figs.fg._fullLayout;
  if (!full || !("xaxis.range[0]" in ev || "xaxis.range" in ev || "xaxis.autorange" in ev || "yaxis.range[0]" in ev)) return;
  zoom = [full.xaxis.range.slice(), full.yaxis.range.slice()];
  if (created.has("bg")) Plotly.relayout(figs.bg, { "xaxis.range": zoom[0], "yaxis.range": zoom[1] });
  invalidate("fg");
}

function resetZoom() {
  zoom = null;
  uirevision++;
}

/** Size the two map figures to the landscape's aspect (x and y share a scale), centred. */
let fitted = "";
function fitMap() {
  const stack = $("map-stack");
  const W = stack.clientWidth;
  const H = stack.clientHeight;
  if (!W || !H || state.view === "3d") return;
  const [[x0, x1], [y0, y1]] = landscape().domain;
  const plotH = H - MARGIN.t - MARGIN.b;
  const width = Math.round(Math.min(W, plotH * ((x1 - x0) / (y1 - y0)) + MARGIN.l + MARGIN.r));
  const key = `${W}x${H}:${width}:${created.size}`;
  if (key === fitted) return; // a resize replots both figures: only when the size changed
  fitted = key;
  for (const gd of [figs.bg, figs.fg, trails]) {
    gd.style.width = `${width}px`;
    gd.style.left = `${Math.floor((W - width) / 2)}px`;
  }
  const resized = ["bg", "fg"].filter((name) => created.has(name)).map((name) => Plotly.Plots.resize(figs[name]));
  Promise.all(resized).then(() => invalidate("fg")); // the canvas follows the figure's new size
}
new ResizeObserver(() => fitMap()).observe($("map-stack"));

function showView() {
  const is3d = state.view === "3d";
  figs.bg.hidden = is3d;
  figs.fg.hidden = is3d;
  trails.hidden = is3d;
  figs.d3.hidden = !is3d;
  $("map-hint").hidden = is3d; // in 3D a drag turns the view
  $("map-key").hidden = is3d; // the 3D view has a legend of its own
  $("show-arrows").disabled = is3d;
  $("show-vectors").disabled = is3d;
  for (const radio of document.querySelectorAll("input[name=view]")) radio.checked = radio.value === state.view;
  if (!is3d) fitMap();
  else if (created.has("d3")) {
    Plotly.Plots.resize(figs.d3);
  }
  invalidate("bg", "fg", "d3");
}

// --- playback ----------------------------------------------------------------------------------------

const cursor = { k: 0, follow: true, playing: false, exact: 0, last: 0 };
const lastStep = () => Math.max(0, ...racers.map((r) => r.data.x.length - 1));
const cursorStep = () => (cursor.follow ? null : cursor.k);

function syncScrubber() {
  const s = $("scrubber");
  s.max = String(state.steps);
  const k = cursor.follow ? lastStep() : cursor.k;
  if (document.activeElement !== s) s.value = String(k);
  $("step-label").textContent = `step ${k.toLocaleString("en")} of ${state.steps.toLocaleString("en")}`;
  $("play").querySelector("span").textContent = cursor.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(cursor.playing));
  app.dataset.playing = String(cursor.playing);
}

function seek(k) {
  cursor.k = clamp(Math.round(k), 0, state.steps);
  cursor.exact = cursor.k;
  cursor.follow = false;
  invalidate("fg", "cursor", "table", "d3");
}

function play() {
  if (cursor.playing) return;
  if (cursor.follow || cursor.k >= lastStep()) seek(0);
  cursor.playing = true;
  cursor.last = performance.now();
  requestAnimationFrame(tick);
  syncScrubber();
}

function pause() {
  cursor.playing = false;
  syncScrubber();
}

function tick(now) {
  if (!cursor.playing) return;
  const dt = Math.min(100, now - cursor.last);
  cursor.last = now;
  cursor.exact += (Number($("speed").value) * dt) / 1000;
  const end = lastStep();
  if (cursor.exact >= end && !jobs.size) {
    cursor.playing = false;
    cursor.follow = true;
    cursor.k = end;
  } else {
    cursor.k = Math.min(Math.floor(cursor.exact), end);
    cursor.exact = Math.min(cursor.exact, Math.max(end, cursor.k));
  }
  invalidate("fg", "cursor", "table", "d3");
  if (cursor.playing) requestAnimationFrame(tick);
  else syncScrubber();
}

$("play").addEventListener("click", () => (cursor.playing ? pause() : play()));
$("reset").addEventListener("click", () => {
  pause();
  seek(0);
});
$("back").addEventListener("click", () => stepBy(-1));
$("forward").addEventListener("click", () => stepBy(1));
$("to-end").addEventListener("click", () => {
  pause();
  cursor.follow = true;
  invalidate("fg", "cursor", "table", "d3");
});
$("scrubber").addEventListener("input", () => {
  pause();
  seek(Number($("scrubber").value));
});

function stepBy(n) {
  pause();
  seek((cursor.follow ? lastStep() : cursor.k) + n);
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  const typing = t.matches?.("input:not([type=radio]):not([type=checkbox]), select, textarea, [contenteditable]");
  if (typing) return;
  if (e.key === " ") {
    e.preventDefault();
    cursor.playing ? pause() : play();
  } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
    e.preventDefault();
    stepBy((e.key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1));
  }
});

// --- share and download ------------------------------------------------------------------------------

function note(msg) {
  $("share-status").textContent = msg;
}

$("copy-link").addEventListener("click", async () => {
  saveUrl({ now: true });
  note((await copyText(location.href)) ? "Link copied: it reproduces these paths exactly." : `Copy this link: ${location.href}`);
});

async function download(format) {
  note(`Preparing ${format.toUpperCase()}…`);
  try {
    const response = await fetch("/api/paths/export", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...requestBody(racers), format }),
    });
    if (!response.ok) throw new HttpError(response.status, (await response.json()).detail);
    saveBlob(await response.blob(), `descent-${state.landscape}.${format}`);
    note(`Saved descent-${state.landscape}.${format}`);
  } catch (err) {
    note(`Export failed: ${err.message}`);
  }
}
$("tune").addEventListener("click", () => {
  saveUrl({ now: true });
  location.assign(`/tools${location.search}`); // the tools page reads this page's link: first racer, start, noise
});
$("download-csv").addEventListener("click", () => download("csv"));
$("download-json").addEventListener("click", () => download("json"));
$("download-png").addEventListener("click", async () => {
  const filename = `descent-${state.landscape}`;
  try {
    if (state.view === "3d") {
      await Plotly.downloadImage(figs.d3, { format: "png", filename, scale: 2 }); // legend and caption included
    } else {
      // one figure of the surface and everything drawn over it, at the current zoom, with a legend
      // of the racers and the settings as a caption below
      const { width, height } = figs.fg.getBoundingClientRect();
      const full = figs.fg._fullLayout;
      const view = [full.xaxis.range.slice(), full.yaxis.range.slice()];
      const base = figs.bg.layout;
      const paths = pathsFigure({ landscape: landscape(), start: state.start, racers: racerViews(), vectors: state.vectors, view });
      const below = 64;
      const layout = {
        ...base,
        xaxis: { ...base.xaxis, range: view[0] },
        yaxis: { ...base.yaxis, range: view[1] },
        width,
        height: height + below,
        margin: { ...base.margin, b: base.margin.b + below },
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 0, yref: "container", yanchor: "bottom", font: { size: 11 } },
        annotations: [captionAnnotation(-(base.margin.b + 4) / (height - base.margin.t - base.margin.b))],
      };
      const figure = { data: [...figs.bg.data, ...paths.data], layout };
      await Plotly.downloadImage(figure, { format: "png", filename, width, height: height + below, scale: 2 });
    }
    note(`Saved ${filename}.png`);
  } catch (err) {
    note(`PNG failed: ${err.message}`);
  }
});

/** Everything that decides the paths, in two lines: for the exported image and the 3D view. */
function caption() {
  const ls = landscape();
  const noise = state.noise
    ? `noisy gradients: σ = (${state.sigma_x}, ${state.sigma_y}), batch ${state.batch_size} of ${state.dataset_size}, seed ${state.seed}`
    : "exact gradients";
  const schedule = state.schedule === "constant" ? "" : `; schedule ${SCHEDULES[state.schedule].label}`;
  const who = racers.map((r) => `${labelOf(r)} ${Object.entries(r.hyper).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  return `${ls.label} from (${state.start.join(", ")}), ${state.steps} steps, ${noise}${schedule}<br>${who.join(" · ")}`;
}

const captionAnnotation = (y) => ({
  text: caption(),
  xref: "paper",
  yref: "paper",
  x: 0,
  y,
  xanchor: "left",
  yanchor: "top",
  align: "left",
  showarrow: false,
  font: { size: 10, color: "#374151" },
});

// --- start -------------------------------------------------------------------------------------------

buildLandscapeControls();
buildNoiseControls();
buildScheduleControls();
syncNoiseUi();
syncStartUi();
for (const r of state.racers) addRacer(r.optimizer, r.hyper);
refreshRacerChrome();
$("speed").value = "500";
showView();
saveUrl();
fetchSurface();
fetchStability();
restream(racers.map((r) => r.id));
// interactive by default: the race plays as soon as the paths are in (unless motion is unwelcome)
if (!matchMedia("(prefers-reduced-motion: reduce)").matches) play();

// For tests and benchmarks: the page's own view of what it drew.
window.descent = { state, racers, cursor, timings, get surface() { return surface; }, get marks() { return marks; } };
