// The tools page's state: its link (FIELDS, in the landscape page's own terms where they overlap, so
// a link from there opens here), the rules that make any link valid, the links back to the landscape
// page, and one object with the rest of the page's state.

import { T, UrlState, clamp, readEmbedded } from "./common.js";
import {
  CUSTOM,
  DOMAIN,
  FIELDS as LANDSCAPE_FIELDS,
  LANDSCAPES,
  NOISE,
  OPTIMIZERS,
  landscapeBody,
  loadCustom,
  normalize as normalizeLandscape,
  suggestedLr,
} from "./landscape_state.js";
import { AVERAGES, BATCH, DECAYS } from "./tools_figures.js";

export const $ = (id) => document.getElementById(id);
export const app = $("app");
export const LIMITS = readEmbedded("limits");
export const TOOLS = ["range", "map", "starts", "seeds"];

const num = (key, name) => ({ name, key, type: T.number, when: (s) => s[name] !== null });
const int = (key, name) => ({ name, key, type: T.int });

/** The link: shared settings under the landscape page's keys, then each tool's own. */
const FIELDS = new UrlState([
  { name: "tool", key: "tool", type: T.string },
  { name: "landscape", key: "landscape", type: T.string },
  { name: "lparams", key: "lp", type: T.dict, when: (s) => Object.keys(s.lparams).length > 0 },
  { name: "expr", key: "expr", type: T.string, when: (s) => s.landscape === CUSTOM },
  { name: "domain", key: "domain", type: DOMAIN, when: (s) => s.landscape === CUSTOM && s.domain !== null },
  { name: "racers", key: "racers", type: T.racers },
  { name: "start", key: "start", type: T.point },
  { name: "steps", key: "steps", type: T.int },
  { name: "noise", key: "noise", type: T.bool },
  ...NOISE.map((p) => ({ name: p.name, key: p.name, type: p.integer ? T.int : T.number, when: (s) => s.noise })),
  { name: "seed", key: "seed", type: T.int },
  num("tol", "tol"),
  num("r_lo", "rLo"),
  num("r_hi", "rHi"),
  int("r_n", "rN"),
  { name: "mY", key: "m_y", type: T.string },
  num("m_lo", "mLo"),
  num("m_hi", "mHi"),
  int("m_nx", "mNx"),
  num("m_ylo", "mYlo"),
  num("m_yhi", "mYhi"),
  int("m_ny", "mNy"),
  { name: "mColor", key: "m_color", type: T.string },
  int("s_n", "sN"),
  int("b_n", "bN"),
  num("t_lo", "tLo"),
  num("t_hi", "tHi"),
  int("t_n", "tN"),
]);

/** What the link holds: the tool on screen, the tuned optimizer, the shared settings, each tool's own. */
export const state = {};

/** The rest of the page's state: requests, their answers, and the controls built from the state. */
export const page = {
  jobs: {}, // name -> {controller, tool}: the request in flight for one of a tool's figures
  results: {}, // name -> {body, data, query} of the last answer drawn
  errors: {}, // name -> message
  stale: new Set(TOOLS), // tools whose figures are of settings changed since
  surface: null, // f on a grid, for the contour lines under the start map and the seed fan
  band: null, // [answer, body] of the seed band drawn, redrawn when its curve controls change
  startRows: {}, // optimizer -> {global, local, none, diverged} shares of its start map (the last run)
  startsRound: 0, // start maps of other optimizers still coming belong to this round
  controls: { hyper: {}, landscape: {}, noise: {}, steps: null }, // paramControls of the picker
  draft: null, // {expr, domain, error} of a link's typed formula the server refused
};

export const landscape = () => LANDSCAPES[state.landscape];
export const spec = () => OPTIMIZERS[state.optimizer];
export const fStar = () => Math.min(...landscape().minima.filter((m) => m.is_global).map((m) => m.value));

/** The y-axis choices of a map: the optimizer's settings besides η, and the batch size with noise. */
export function yChoices() {
  const own = spec().params.filter((p) => p.name !== "lr");
  const batch = state.noise ? [{ name: BATCH, label: "batch size b", low: 1, high: state.dataset_size, log: true, integer: true }] : [];
  return [...own, ...batch];
}
export const yParam = () => yChoices().find((p) => p.name === state.mY);

export function defaultY() {
  const names = yChoices().map((p) => p.name);
  return DECAYS.find((n) => names.includes(n)) ?? (state.noise ? BATCH : names[0] ?? null);
}

/** Learning-rate ranges around the landscape's suggested rate, inside the optimizer's own range. */
export function lrDefaults() {
  const p = spec().params[0];
  const lr = suggestedLr(landscape(), spec());
  const within = (v) => clamp(Number(v.toPrecision(2)), p.low, p.high);
  return { rLo: Math.max(p.low, 1e-6), rHi: p.high, mLo: within(lr / 100), mHi: within(lr * 100), tLo: within(lr / 10), tHi: within(lr * 10) };
}

export function yDefaults() {
  const p = yParam();
  if (!p) return { mYlo: null, mYhi: null };
  return { mYlo: p.low, mYhi: AVERAGES.includes(p.name) ? Math.min(p.high, DECAYS.includes(p.name) ? 0.999 : 0.9999) : p.high };
}

function normalize(raw) {
  const base = normalizeLandscape({ ...raw, racers: raw.racers?.length ? raw.racers : [{ optimizer: "momentum", hyper: {} }] });
  const s = { ...base, tool: TOOLS.includes(raw.tool) ? raw.tool : "range" };
  s.optimizer = base.racers[0].optimizer;
  s.hyper = base.racers[0].hyper;
  s.others = base.racers.slice(1); // the landscape page's other racers, kept for the links back
  s.steps = clamp(raw.steps ?? Math.min(LANDSCAPES[s.landscape].steps, 500), 1, LIMITS.max_steps);
  s.tol = Number.isFinite(raw.tol) && raw.tol >= 1e-12 && raw.tol <= 1e6 ? raw.tol : null;
  Object.assign(state, s);
  const lr = lrDefaults();
  const p = spec().params[0];
  const inLr = (v, d) => (Number.isFinite(v) && v >= p.low && v <= p.high ? v : d);
  for (const k of ["rLo", "rHi", "mLo", "mHi", "tLo", "tHi"]) state[k] = inLr(raw[k], lr[k]);
  for (const [lo, hi] of [["rLo", "rHi"], ["mLo", "mHi"], ["tLo", "tHi"]]) {
    if (!(state[lo] < state[hi])) Object.assign(state, { [lo]: lr[lo], [hi]: lr[hi] });
  }
  state.rN = clamp(raw.rN ?? 80, 2, LIMITS.max_grid);
  state.mY = yChoices().some((q) => q.name === raw.mY) ? raw.mY : defaultY();
  const y = yDefaults();
  const yp = yParam();
  const inY = (v, d) => (yp && Number.isFinite(v) && v >= yp.low && v <= yp.high ? v : d);
  state.mYlo = inY(raw.mYlo, y.mYlo);
  state.mYhi = inY(raw.mYhi, y.mYhi);
  if (!(state.mYlo < state.mYhi)) Object.assign(state, y);
  state.mNx = clamp(raw.mNx ?? 60, 2, LIMITS.max_grid);
  state.mNy = clamp(raw.mNy ?? 40, 2, LIMITS.max_grid);
  state.mColor = raw.mColor === "loss" ? "loss" : "steps";
  state.sN = clamp(raw.sN ?? 40, 2, LIMITS.max_grid);
  state.bN = clamp(raw.bN ?? 40, 1, LIMITS.max_seeds);
  state.tN = clamp(raw.tN ?? 16, 1, LIMITS.max_tradeoff_seeds);
}

// A link to a typed formula: its landscape comes from the server first; one it refuses leaves the page
// on the default landscape, the formula in its box with the reason (page.draft).
const raw = FIELDS.deserialize(location.search);
if (raw.landscape === CUSTOM) {
  try {
    await loadCustom(raw.expr ?? "", raw.domain ?? null);
  } catch (err) {
    page.draft = { expr: raw.expr ?? "", domain: raw.domain ?? null, error: err.message.replace(/Value error, /g, "") };
    delete raw.landscape;
  }
}
normalize(raw);

/** The racers of the link: the tuned one (this page's optimizer and settings) first, then the others. */
const racers = () => [{ optimizer: state.optimizer, hyper: { ...state.hyper } }, ...state.others];

/** This page's link as it stands (with `tool` on screen). */
export const toolsQuery = (tool = state.tool) => FIELDS.serialize({ ...state, tool, racers: racers() });

/** The link follows every change, once changes pause for 150 ms. */
export const saveUrl = FIELDS.autosave(() => ({ ...state, racers: racers() }), { debounce: 150 });

/**
 * The landscape page running what `result` (a tool's answer) measured, `over` changed: its one racer
 * (or `over.racers`), the target drawn there and reached by the same rule as here (the first step
 * whose loss is at most `target`), and `back`, the link to this page as it was when it asked.
 */
export function landscapeUrl(over, target, result) {
  const { body } = result;
  const raw = {
    landscape: body.landscape,
    lparams: body.landscape_params,
    expr: body.expression ?? undefined,
    domain: body.domain ?? undefined,
    start: over.start ?? body.start,
    steps: over.steps ?? body.steps,
    racers: over.racers ?? [{ optimizer: body.optimizer, hyper: { ...body.hyper, ...over.hyper } }],
    noise: body.noise !== null,
    ...body.noise,
    ...(over.batch_size === undefined ? {} : { batch_size: over.batch_size }),
    seed: over.seed ?? body.seed,
  };
  const back = `/tools?${result.query}`;
  return `/?${LANDSCAPE_FIELDS.serialize(normalizeLandscape(raw))}&target=${String(target)}&back=${encodeURIComponent(back)}`;
}

/** The most steps a tool may run for `paths` paths in `calls` run_many calls (the server's rule). */
export const stepsFor = (paths, calls = 1) => Math.max(1, Math.min(state.steps, Math.floor(LIMITS.max_work / (paths + LIMITS.call_cost * calls))));

/** What every tool's request shares: the landscape, the tuned optimizer, noise, seed, tolerance. */
export function requestBase() {
  const body = {
    ...landscapeBody(state),
    optimizer: state.optimizer,
    hyper: { ...state.hyper },
    noise: state.noise ? Object.fromEntries(NOISE.map((p) => [p.name, state[p.name]])) : null,
    seed: state.seed,
  };
  if (state.tol !== null) body.tolerance = state.tol;
  return body;
}

/** The index of the entry of `list` nearest to `v`. */
export const nearest = (list, v) => list.reduce((best, x, k) => (Math.abs(x - v) < Math.abs(list[best] - v) ? k : best), 0);
