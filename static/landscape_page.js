// The landscape page's one state object: what its link holds, the racers with their paths, the
// streams in flight, what is drawn and the playback cursor. Every module of the page reads and
// writes it here; nothing else of the page's state lives at a module's top level.

import { CUSTOM, FIELDS, LANDSCAPES, OPTIMIZERS, landscapeKey, loadCustom, normalize, shortLabel } from "./landscape_state.js";

export const $ = (id) => document.getElementById(id);
export const app = $("app");

// A link to a typed formula: its landscape (minima found numerically) comes from the server first. One the
// server refuses leaves the page on the default landscape, the formula in its box with the reason.
const raw = FIELDS.deserialize(location.search);
let draft = null; // {expr, domain, error} of a typed formula not (yet) in use
if (raw.landscape === CUSTOM) {
  try {
    await loadCustom(raw.expr ?? "", raw.domain ?? null);
  } catch (err) {
    draft = { expr: raw.expr ?? "", domain: raw.domain ?? null, error: err.message.replace(/Value error, /g, "") };
    delete raw.landscape;
  }
}

export const page = {
  state: normalize(raw), // what the link holds (FIELDS)
  draft,
  racers: [], // {id, optimizer, hyper, color, data, outcome, stale, card, controls, ...}, in card order
  nextId: 0,
  // the global parameter controls (paramControl), rebuilt with their landscape or schedule
  controls: { landscape: {}, schedule: {}, noise: {}, steps: null },
  surface: null, // f on the map's grid, with its ranges (null until the first arrives)
  lrLimit: null, // plain GD's stable step size at the start, 2/λmax (null: no limit there)
  lastInput: performance.now(), // when the user last acted: the redraw measures start there
  dragging: false, // the start point follows the pointer
  streams: {
    jobs: new Set(), // in flight: {ids: Set, controller, order: [id], list, landscape, input, fresh}
    pendingIds: new Set(), // racers changed since their last stream went out
    pendingAll: false, // a global setting changed: every racer
    queued: false, // a flush is queued for the end of this task
    waiting: false, // changes wait for a stream in flight
    supersede: false, // the next flush aborts what is in flight (a new landscape)
    timer: null, // a long stream's next redraw
    surface: null, // AbortController of the surface request in flight
    stability: null, // AbortController of the stability request in flight
  },
  draw: {
    dirty: new Set(), // parts to redraw: bg, fg, side, cursor, table, d3
    frame: null, // the animation frame requested
    rendering: false,
    created: new Set(), // figures drawn once (the next draw reacts)
    awaitingDrawn: false, // a stream or surface ended: its final data is not drawn yet
    unmeasured: [], // when the user acted, for each stream that ended and is not yet drawn
    timings: {}, // ms of each figure's last draw, for benchmarks
    uirevision: 0,
    zoom: null, // [[x0, x1], [y0, y1]] of the map's zoom, or null: the whole domain
    fitted: "", // the size the map figures were last fitted to
    markersKey: "", // what the markers figure shows: redrawn only when it changes
    marks: [], // the racers as the canvas last drew them (racerMarks)
    sideDeferred: false, // the side plots wait a frame for the map
    sideDrawnAt: -Infinity,
    sideTimer: null,
  },
  cursor: { k: 0, follow: true, playing: false, exact: 0, last: 0 },
};

export const landscape = () => LANDSCAPES[page.state.landscape];
/** The landscape as drawn: a typed formula's surface is of its formula and domain, not of its name. */
export const currentKey = () => landscapeKey(page.state);

/** The racer's name on its card and in legends: "Adam", or "Adam 2" when two race. */
export function labelOf(r) {
  const same = page.racers.filter((o) => o.optimizer === r.optimizer);
  const name = shortLabel(OPTIMIZERS[r.optimizer]);
  return same.length > 1 ? `${name} ${same.indexOf(r) + 1}` : name;
}

// One object per streamed path: whatever is derived from it (side-plot series, 3D heights) is cached
// on the object itself, so a new path can never be drawn with an old path's series.
export const emptyData = (name = page.state.landscape) => ({
  landscape: name, // the landscape the path ran on
  step: [], x: [], y: [], loss: [], lr: [], gx: [], gy: [], grad_norm: [], state: {},
  version: 0, // chunks appended so far
  derived: {},
});

export const lastStep = () => Math.max(0, ...page.racers.map((r) => r.data.x.length - 1));
export const cursorStep = () => (page.cursor.follow ? null : page.cursor.k);

// The link follows every change, at most every 200 ms (browsers throttle a flood of replaceState);
// saveUrl({now: true}) writes it at once.
export const saveUrl = FIELDS.autosave(
  () => {
    page.state.racers = page.racers.map((r) => ({ optimizer: r.optimizer, hyper: { ...r.hyper } }));
    return page.state;
  },
  { throttle: 200 },
);

export function banner(msg) {
  $("banner").hidden = !msg;
  $("banner").textContent = msg ?? "";
}

/** No stream or surface in flight, and what they brought is drawn: tell tests and benchmarks. */
export function settle() {
  if (page.streams.jobs.size || page.streams.surface || page.draw.awaitingDrawn) return;
  app.dataset.status = "ready";
}
