// Tuning tools: a learning-rate range test, hyperparameter maps, start-point maps and seed bands, each
// a few measured runs from /api/tools/*. One picker (landscape, optimizer, start, steps, noise) serves
// all four; the page's state is its link (FIELDS below, in the landscape page's own terms where they
// overlap, so a link from there opens here). The first racer of that link is the one tuned; the others
// ride along, so a link back keeps the whole race. Every run drawn links to its replay on the landscape
// page, with the target the tool measured (`target`) and a link back to this very view (`back`).

import { curveControls } from "./charts.js";
import { HttpError, PALETTE, T, UrlState, clamp, debounce, exact, fmt, h, paramControl, postJSON } from "./common.js";
import {
  FIELDS as PLAYGROUND,
  LANDSCAPES,
  NOISE,
  OPTIMIZERS,
  REG,
  farOutside,
  hyperFor,
  normalize as normalizePlayground,
  settings,
  shortLabel,
  suggestedLr,
} from "./landscape_state.js";
import {
  AVERAGES,
  BATCH,
  DECAYS,
  DIVERGED_COLOR,
  GONE_COLOR,
  LEFT_COLOR,
  LEFT_FILL,
  MIN_COLORS,
  NONE_COLOR,
  ORANGE,
  RED,
  axisOf,
  bandFigure,
  baseLayout,
  cellOutcome,
  seedOutcome,
  fanFigure,
  mapFigure,
  ramp,
  rangeFigure,
  startsFigure,
  tradeoffFigure,
} from "./tools_figures.js";

const $ = (id) => document.getElementById(id);
const app = $("app");
const LIMITS = JSON.parse($("limits").textContent);
const TOOLS = ["range", "map", "starts", "seeds"];
const CONFIG = { responsive: true, displaylogo: false, showTips: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] };

const num = (key, name) => ({ name, key, type: T.number, when: (s) => s[name] !== null });
const int = (key, name) => ({ name, key, type: T.int });

/** The link: shared settings under the landscape page's keys, then each tool's own. */
const FIELDS = new UrlState([
  { name: "tool", key: "tool", type: T.string },
  { name: "landscape", key: "landscape", type: T.string },
  { name: "lparams", key: "lp", type: T.dict, when: (s) => Object.keys(s.lparams).length > 0 },
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

// --- state -------------------------------------------------------------------------------------------

const landscape = () => LANDSCAPES[state.landscape];
const spec = () => OPTIMIZERS[state.optimizer];
const fStar = () => Math.min(...landscape().minima.filter((m) => m.is_global).map((m) => m.value));

/** The y-axis choices of a map: the optimizer's settings besides η, and the batch size with noise. */
function yChoices() {
  const own = spec().params.filter((p) => p.name !== "lr");
  const batch = state.noise ? [{ name: BATCH, label: "batch size b", low: 1, high: state.dataset_size, log: true, integer: true }] : [];
  return [...own, ...batch];
}
const yParam = () => yChoices().find((p) => p.name === state.mY);

function defaultY() {
  const names = yChoices().map((p) => p.name);
  return DECAYS.find((n) => names.includes(n)) ?? (state.noise ? BATCH : names[0] ?? null);
}

/** Learning-rate ranges around the landscape's suggested rate, inside the optimizer's own range. */
function lrDefaults() {
  const p = spec().params[0];
  const lr = suggestedLr(landscape(), spec());
  const within = (v) => clamp(Number(v.toPrecision(2)), p.low, p.high);
  return { rLo: Math.max(p.low, 1e-6), rHi: p.high, mLo: within(lr / 100), mHi: within(lr * 100), tLo: within(lr / 10), tHi: within(lr * 10) };
}

function yDefaults() {
  const p = yParam();
  if (!p) return { mYlo: null, mYhi: null };
  return { mYlo: p.low, mYhi: AVERAGES.includes(p.name) ? Math.min(p.high, DECAYS.includes(p.name) ? 0.999 : 0.9999) : p.high };
}

function normalize(raw) {
  const base = normalizePlayground({ ...raw, racers: raw.racers?.length ? raw.racers : [{ optimizer: "momentum", hyper: {} }] });
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

const state = {};
normalize(FIELDS.deserialize(location.search));

/** The racers of the link: the tuned one (this page's optimizer and settings) first, then the others. */
const racers = () => [{ optimizer: state.optimizer, hyper: { ...state.hyper } }, ...state.others];

/** This page's link as it stands (with `tool` on screen). */
const toolsQuery = (tool = state.tool) => FIELDS.serialize({ ...state, tool, racers: racers() });

let urlTimer = null;
function saveUrl() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => history.replaceState(null, "", `${location.pathname}?${toolsQuery()}`), 150);
}

/**
 * The landscape page running what `result` (a tool's answer) measured, `over` changed: its one racer
 * (or `over.racers`), the target drawn there and reached by the same rule as here (the first step
 * whose loss is at most `target`), and `back`, the link to this page as it was when it asked.
 */
function landscapeUrl(over, target, result) {
  const { body } = result;
  const raw = {
    landscape: body.landscape,
    lparams: body.landscape_params,
    start: over.start ?? body.start,
    steps: over.steps ?? body.steps,
    racers: over.racers ?? [{ optimizer: body.optimizer, hyper: { ...body.hyper, ...over.hyper } }],
    noise: body.noise !== null,
    ...body.noise,
    ...(over.batch_size === undefined ? {} : { batch_size: over.batch_size }),
    seed: over.seed ?? body.seed,
  };
  const back = `/tools?${result.query}`;
  return `/?${PLAYGROUND.serialize(normalizePlayground(raw))}&target=${String(target)}&back=${encodeURIComponent(back)}`;
}


// --- requests ----------------------------------------------------------------------------------------

/** The most steps a tool may run for `paths` paths in `calls` run_many calls (the server's rule). */
const stepsFor = (paths, calls = 1) => Math.max(1, Math.min(state.steps, Math.floor(LIMITS.max_work / (paths + LIMITS.call_cost * calls))));

function common() {
  const body = {
    landscape: state.landscape,
    landscape_params: { ...state.lparams },
    optimizer: state.optimizer,
    hyper: { ...state.hyper },
    noise: state.noise ? Object.fromEntries(NOISE.map((p) => [p.name, state[p.name]])) : null,
    seed: state.seed,
  };
  if (state.tol !== null) body.tolerance = state.tol;
  return body;
}

const jobs = {}; // name -> {controller, tool}
const results = {}; // name -> {body, data} of the last answer drawn
const errors = {}; // name -> message

/**
 * POST for one of a tool's figures (`name`: the tool, or "tradeoff" within the seed tab); the newest
 * request wins. The tool's panel is "loading" while any of its requests runs; errors show in its toolbar.
 */
async function run(name, url, body, draw, tool = name) {
  jobs[name]?.controller.abort();
  const job = (jobs[name] = { controller: new AbortController(), tool });
  const query = toolsQuery(tool); // the link that asks for this very request again
  settle();
  try {
    const data = await postJSON(url, body, { signal: job.controller.signal });
    if (job.controller.signal.aborted) return;
    results[name] = { body, data, query };
    errors[name] = "";
    await draw(data, body, results[name]);
  } catch (err) {
    if (err.name === "AbortError") return;
    errors[name] = err instanceof HttpError ? err.detail.map((d) => `${d.loc.length ? `${d.loc.at(-1)}: ` : ""}${d.msg.replace("Value error, ", "")}`).join("; ") : String(err);
  } finally {
    if (jobs[name] === job) delete jobs[name];
    showErrors(tool);
    settle();
  }
}

/** Each panel: "loading" while one of its requests runs, else "error" or "ready"; the page: its tab's. */
function settle() {
  for (const t of TOOLS) {
    const busy = Object.values(jobs).some((j) => j.tool === t);
    const failed = Object.entries(errors).some(([name, msg]) => msg && (name === t || (t === "seeds" && name === "tradeoff")));
    if (busy) $(`tool-${t}`).dataset.status = "loading";
    else if ($(`tool-${t}`).dataset.status !== "idle" || failed) $(`tool-${t}`).dataset.status = failed ? "error" : "ready";
  }
  app.dataset.status = $(`tool-${state.tool}`).dataset.status === "loading" ? "loading" : "ready";
}

function setError(tool, msg) {
  errors[tool] = msg;
  showErrors(tool);
  settle();
}

function showErrors(tool) {
  const bar = $(`${tool}-settings`);
  let el = bar.querySelector(".field-error");
  if (!el) el = bar.appendChild(h("div.field-error", { role: "alert" }));
  el.textContent = [errors[tool], tool === "seeds" ? errors.tradeoff : ""].filter(Boolean).join("; ");
}

let surface = null; // f on a grid, for the contour lines under the start map and the seed fan

async function fetchSurface() {
  const key = `${state.landscape}:${JSON.stringify(state.lparams)}`;
  if (surface?.key === key) return surface;
  const s = await postJSON("/api/surface", { landscape: state.landscape, landscape_params: { ...state.lparams }, resolution: 90, arrows: 0 });
  surface = { ...s, key };
  return surface;
}

// --- figures -----------------------------------------------------------------------------------------

/** Draw into the figure `id` at its container's size (a figure made in a hidden tab has none). */
async function plot(id, { data, layout }) {
  const gd = $(id);
  await Plotly.react(gd, data, { ...layout, width: gd.clientWidth || undefined, height: gd.clientHeight || undefined }, CONFIG);
}

const resized = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    if (target.clientWidth && target.clientHeight && target._fullLayout) {
      Plotly.relayout(target, { width: target.clientWidth, height: target.clientHeight });
    }
  }
});

// --- 1. learning-rate range test ---------------------------------------------------------------------

function runRange() {
  const body = { ...common(), start: state.start, lr_min: state.rLo, lr_max: state.rHi, points: state.rN, steps: stepsFor(state.rN) };
  return run("range", "/api/tools/lr-range", body, drawRange);
}

async function drawRange(d, body, result) {
  await plot("range-plot", rangeFigure(d, { fStar: fStar(), steps: body.steps }));
  rangeInfo(d, body, result);
}

/** Why the run of rate i failed, in a few words. */
function failure(d, i) {
  if (d.diverged_at[i] > 0 && !(d.escaped_at[i] >= 0 && d.escaped_at[i] < d.diverged_at[i])) return `diverges at step ${d.diverged_at[i]}`;
  if (d.escaped_at[i] >= 0) return `leaves the domain at step ${d.escaped_at[i]} (f falls below f*)`;
  return "ends above its start";
}

function rangeInfo(d, body, result) {
  const replay = (i) => landscapeUrl({ hyper: { lr: d.lr[i] }, steps: body.steps }, d.target, result);
  const link = (i, text) => h("a", { href: replay(i), title: "Replay this run on the Landscapes page" }, text);
  const verdict = $("range-verdict");
  if (d.suggested < 0) {
    verdict.replaceChildren(h("p.bad", {}, `Even the smallest rate ${failure(d, 0)}: lower the range.`));
  } else {
    const i = d.suggested;
    const tuned = [{ optimizer: body.optimizer, hyper: { ...body.hyper, lr: d.suggested_lr } }, ...state.others];
    const where = tuned.length > 1 ? `, with the other ${tuned.length - 1} racer${tuned.length > 2 ? "s" : ""}` : "";
    const use = h("a.button.primary", { id: "use-rate", href: landscapeUrl({ racers: tuned, steps: state.steps }, d.target, result), title: `Race ${shortLabel(spec())} with this η on the Landscapes page${where}` }, "Use this rate on the Landscapes page →");
    const here = h("button.small", { id: "set-rate", type: "button", title: "Set the optimizer's η on this page (the maps and bands follow)" }, "Set η here");
    here.addEventListener("click", () => setHyper("lr", d.suggested_lr));
    const next = i + 1 === d.divergence ? ` The next rate tried, η = ${fmt(d.lr[d.divergence], 3)}, ${failure(d, d.divergence)}: a small change of start or noise may tip this one over too.` : "";
    const why = d.reaches
      ? `reaches the target in ${d.steps_to_target[i]} steps, the fastest of the ${d.lr.length} rates tried.${next}`
      : `No rate tried reaches the target within ${body.steps} steps; this one ends closest to it, at f − f* = ${fmt(d.loss[i] - fStar(), 3)}.`;
    verdict.replaceChildren(
      h("p.label", {}, d.reaches ? "Suggested learning rate" : "Closest to the target"),
      h("p.big", {}, link(i, `η = ${fmt(d.suggested_lr, 3)}`)),
      h("p.note", { id: "range-why" }, why),
      h("div.buttons", {}, use, here),
    );
  }
  const items = [
    [d.steepest, "steepest fall"],
    [d.best, "lowest loss"],
    [d.divergence, "fails from"],
  ].filter(([i]) => i >= 0);
  $("range-marks").replaceChildren(
    ...items.map(([i, label]) => h("li", {}, h("span", {}, label), link(i, `η = ${fmt(d.lr[i], 3)} ↗`))),
    ...(d.divergence < 0 ? [h("li", {}, h("span", {}, "fails"), h("span.muted", {}, "not within this range"))] : []),
  );
}

// --- 2. hyperparameter map ---------------------------------------------------------------------------

function mapCost() {
  const batch = state.mY === BATCH;
  return [state.mNx * state.mNy, batch ? state.mNy : 1];
}

function runMap() {
  if (!state.mY) {
    setError("map", "This optimizer has no second setting to map: turn on noise to map the batch size.");
    return null;
  }
  const body = { ...common(), start: state.start, lr_min: state.mLo, lr_max: state.mHi, nx: state.mNx, y: state.mY, y_min: state.mYlo, y_max: state.mYhi, ny: state.mNy, steps: stepsFor(...mapCost()) };
  return run("map", "/api/tools/hyper-map", body, drawMap);
}

async function drawMap(d, body, result) {
  const yParam = yChoices().find((q) => q.name === d.y_name) ?? { name: d.y_name };
  const current = { lr: state.hyper.lr, y: d.y_name === BATCH ? state.batch_size : state.hyper[d.y_name] };
  await plot("map-plot", mapFigure(d, { fStar: fStar(), steps: body.steps, yParam, colorBy: state.mColor, current }));
  mapInfo(d, body, result);
}

/** The replay of cell (row i, column j) of a map. */
function cellUrl(result, i, j) {
  const d = result.data;
  const over = { hyper: { lr: d.lr[j] }, steps: result.body.steps };
  if (d.y_name === BATCH) over.batch_size = d.y[i];
  else over.hyper[d.y_name] = d.y[i];
  return landscapeUrl(over, d.target, result);
}

function mapInfo(d, body, result) {
  const count = { reached: 0, none: 0, left: 0, diverged: 0 };
  let fastest = null;
  d.y.forEach((_, i) =>
    d.lr.forEach((_, j) => {
      const outcome = cellOutcome(d, i, j);
      count[outcome]++;
      if (outcome === "reached" && (!fastest || d.steps_to_target[i][j] < d.steps_to_target[fastest[0]][fastest[1]])) fastest = [i, j];
    }),
  );
  const n = d.y.length * d.lr.length;
  const pct = (k) => `${Math.round((100 * k) / n)}%`;
  const p = yChoices().find((q) => q.name === d.y_name);
  $("map-verdict").replaceChildren(
    h("p.label", {}, `${d.y.length} × ${d.lr.length} runs of ${body.steps} steps`),
    fastest
      ? h("p", {}, "Fastest: ", h("a", { id: "fastest", href: cellUrl(result, ...fastest) }, `η = ${fmt(d.lr[fastest[1]], 3)}, ${p?.label ?? d.y_name} = ${fmt(d.y[fastest[0]], 3)} ↗`), ` in ${d.steps_to_target[fastest[0]][fastest[1]]} steps`)
      : h("p", {}, "No cell reaches the target: more steps, or another range."),
  );
  const swatch = (color) => h("span.swatch", { style: `background:${color}` });
  $("map-legend").replaceChildren(
    h("li", {}, swatch("linear-gradient(90deg,#440154,#21918c,#fde725)"), `reached the target: ${pct(count.reached)}`),
    h("li", {}, swatch(NONE_COLOR), `not within ${body.steps} steps: ${pct(count.none)}`),
    ...(count.left ? [h("li", {}, swatch(LEFT_FILL), `left the domain (f fell below f*): ${pct(count.left)}`)] : []),
    h("li", {}, swatch(DIVERGED_COLOR), `diverged: ${pct(count.diverged)}`),
  );
  $("map-batch-note").hidden = d.y_name !== BATCH;
}

function hookMapClicks() {
  $("map-plot").on("plotly_click", (ev) => {
    const pt = ev.points?.[0];
    const r = results.map;
    if (!pt || !r || pt.data.type !== "heatmap") return;
    const j = nearest(r.data.lr.map(Math.log10), pt.x);
    const ya = axisOf(yChoices().find((q) => q.name === r.data.y_name) ?? { name: r.data.y_name });
    const i = nearest(r.data.y.map(ya.to), pt.y);
    location.assign(cellUrl(r, i, j));
  });
}

const nearest = (list, v) => list.reduce((best, x, k) => (Math.abs(x - v) < Math.abs(list[best] - v) ? k : best), 0);

// --- 3. start-point maps -----------------------------------------------------------------------------

const startRows = {}; // optimizer -> {global, local, none, diverged} shares (of the last run)
let startsRound = 0;

/** Every optimizer's map, the selected one first: its map draws, the others fill the table. */
async function runStarts() {
  const round = ++startsRound;
  const order = [state.optimizer, ...REG.optimizers.map((o) => o.name).filter((n) => n !== state.optimizer)];
  for (const k of Object.keys(startRows)) delete startRows[k];
  startsTable();
  const steps = stepsFor(state.sN * state.sN);
  const base = { ...common(), nx: state.sN, ny: state.sN, steps };
  await fetchSurface().catch(() => null);
  await run("starts", "/api/tools/start-map", base, drawStarts);
  $("tool-starts").dataset.table = "filling";
  for (const name of order.slice(1)) {
    if (round !== startsRound) return;
    const body = { ...base, optimizer: name, hyper: hyperFor(OPTIMIZERS[name], landscape()) };
    try {
      const d = await postJSON("/api/tools/start-map", body);
      if (round !== startsRound) return;
      startRows[name] = shares(d);
      startsTable();
    } catch {
      startRows[name] = null;
    }
  }
  $("tool-starts").dataset.table = "done";
}

function shares(d) {
  const all = d.minimum.flat();
  const n = all.length;
  const global = new Set(landscape().minima.flatMap((m, i) => (m.is_global ? [i] : [])));
  const count = (test) => all.filter(test).length / n;
  return { global: count((v) => global.has(v)), local: count((v) => v >= 0 && !global.has(v)), none: count((v) => v === -1), diverged: count((v) => v === -2) };
}

function startsTable() {
  const pct = (v) => (v === undefined ? "…" : `${Math.round(100 * v)}%`);
  const rows = REG.optimizers.map((o) => {
    const s = startRows[o.name];
    const row = h(
      "tr",
      { dataset: { optimizer: o.name }, class: o.name === state.optimizer ? "selected" : "", title: `Map ${o.label}` },
      h("th", { scope: "row" }, shortLabel(o)),
      h("td.global", {}, pct(s?.global)),
      h("td", {}, pct(s?.local)),
      h("td", {}, pct(s?.none)),
      h("td", {}, pct(s?.diverged)),
    );
    row.addEventListener("click", () => setOptimizer(o.name));
    return row;
  });
  $("starts-table").tBodies[0].replaceChildren(...rows);
}

async function drawStarts(d, body) {
  startRows[state.optimizer] = shares(d);
  startsTable();
  await plot("starts-plot", startsFigure(d, { landscape: landscape(), steps: body.steps, surface }));
  const ms = landscape().minima;
  const swatch = (color) => h("span.swatch", { style: `background:${color}` });
  const gradient = (k) => `linear-gradient(90deg,${ramp(MIN_COLORS[k % MIN_COLORS.length]).map(([, c]) => c).join(",")})`;
  $("starts-legend").replaceChildren(
    ...ms.map((m, k) => h("li", {}, swatch(gradient(k)), `${m.is_global ? "★ global" : "◇ local"} (${fmt(m.x, 3)}, ${fmt(m.y, 3)})`)),
    h("li", {}, swatch(NONE_COLOR), "no known minimum"),
    h("li", {}, swatch(GONE_COLOR), "diverged"),
    h("li.muted", {}, `${d.x.length} × ${d.y.length} starts · ${body.steps} steps · darker: sooner`),
  );
}

/** The target of start (row i, column j): that of the minimum it reached, else the global minimum's. */
function startTarget(d, i, j) {
  const m = d.minimum[i][j];
  return m >= 0 ? d.targets[m] : Math.min(...d.targets.filter((_, k) => landscape().minima[k].is_global));
}

function hookStartClicks() {
  $("starts-plot").on("plotly_click", (ev) => {
    const pt = ev.points?.[0];
    const r = results.starts;
    if (!pt || !r || pt.data.type !== "heatmap") return;
    const j = nearest(r.data.x, pt.x);
    const i = nearest(r.data.y, pt.y);
    location.assign(landscapeUrl({ start: [r.data.x[j], r.data.y[i]] }, startTarget(r.data, i, j), r));
  });
}

// --- 4. seed bands -----------------------------------------------------------------------------------

function runSeeds() {
  $("seeds-off").hidden = state.noise;
  $("seeds-body").hidden = !state.noise;
  if (!state.noise) {
    $("tool-seeds").dataset.status = "ready";
    errors.seeds = errors.tradeoff = "";
    showErrors("seeds");
    settle();
    return null;
  }
  const band = { ...common(), start: state.start, seeds: state.bN, steps: stepsFor(state.bN) };
  const nx = 6;
  const ny = 6;
  const trade = { ...common(), start: state.start, lr_min: state.tLo, lr_max: state.tHi, nx, batch_min: 1, batch_max: state.dataset_size, ny, seeds: state.tN, steps: stepsFor(nx * ny * state.tN, ny) };
  return Promise.all([
    fetchSurface().catch(() => null).then(() => run("seeds", "/api/tools/seed-band", band, drawSeeds)),
    run("tradeoff", "/api/tools/batch-tradeoff", trade, drawTradeoff, "seeds"),
  ]);
}

// the band's curves: the mean smoothed on request, log or linear f − f*
let lastBand = null;
const bandView = curveControls({
  smoothing: 0,
  log: true,
  label: "Seed band",
  onChange: (v) => lastBand && plot("band-plot", bandFigure(lastBand[0], { fStar: fStar(), steps: lastBand[1].steps, ...v })),
});
document.getElementById("band-plot").before(bandView);

async function drawSeeds(d, body) {
  await plot("fan-plot", fanFigure(d, { landscape: landscape(), start: body.start, surface }));
  lastBand = [d, body];
  await plot("band-plot", bandFigure(d, { fStar: fStar(), steps: body.steps, ...bandView.value }));
  const outcomes = d.seeds.map((_, j) => seedOutcome(d, j));
  const hits = d.steps_to_target.filter((_, j) => outcomes[j] === "reached");
  const gone = outcomes.filter((o) => o === "diverged").length;
  const left = outcomes.filter((o) => o === "left").length;
  const mean = hits.length ? hits.reduce((a, b) => a + b, 0) / hits.length : null;
  const key = (color, text) => h("span.outcome-key", { style: `color:${color}` }, text);
  const n = d.seeds.length;
  $("seeds-stats").replaceChildren(
    h("p.big", {}, `${Math.round(100 * d.success)}%`),
    h("p", {}, `of ${n} seeds reach the target${mean === null ? "" : `, in ${fmt(mean, 3)} steps on average`}`, gone ? `; ${gone} diverged` : ""),
    ...(left ? [h("p.warn", { id: "seeds-left" }, `${left} of ${n} seeds left the domain (f fell below f*; outside the domain it has no lower bound). The mean and band count them out from that step, like diverged runs.`)] : []),
    h(
      "p.note",
      {},
      `η = ${fmt(body.hyper.lr, 3)}, batch b = ${body.noise.batch_size} of N = ${body.noise.dataset_size}, seeds ${d.seeds[0]}–${d.seeds.at(-1)}. Paths: `,
      key(PALETTE[0], "reached"),
      " · ",
      key(ORANGE, "not within the steps"),
      " · ",
      ...(left ? [key(LEFT_COLOR, "left the domain"), " · "] : []),
      key(RED, "diverged"),
      ". Click one to replay it.",
    ),
  );
}

async function drawTradeoff(d, body) {
  await plot("tradeoff-plot", tradeoffFigure(d, { steps: body.steps, current: { lr: state.hyper.lr, batch: state.batch_size } }));
}

function hookSeedClicks() {
  $("fan-plot").on("plotly_click", (ev) => {
    const seed = ev.points?.[0]?.data.meta;
    const r = results.seeds;
    if (seed === undefined || !r) return;
    location.assign(landscapeUrl({ seed }, r.data.target, r));
  });
  $("tradeoff-plot").on("plotly_click", (ev) => {
    const pt = ev.points?.[0];
    const r = results.tradeoff;
    if (!pt || !r || pt.data.type !== "heatmap") return;
    const j = nearest(r.data.lr.map(Math.log10), pt.x);
    const i = nearest(r.data.batch_size.map(Math.log10), pt.y);
    state.hyper.lr = r.data.lr[j];
    hyperControls.lr.set(state.hyper.lr);
    setNoise(BATCH, r.data.batch_size[i]);
  });
}

// --- the picker --------------------------------------------------------------------------------------

const RUNNERS = { range: runRange, map: runMap, starts: runStarts, seeds: runSeeds };
const stale = new Set(TOOLS);

/** Something changed: every tool is out of date; the one on screen runs again soon. */
const refresh = debounce(() => {
  const tool = state.tool;
  if (!stale.has(tool)) return;
  stale.delete(tool);
  RUNNERS[tool]();
}, 250);

function changed() {
  for (const t of TOOLS) stale.add(t);
  app.dataset.status = "loading"; // until the tool on screen has run again
  saveUrl();
  refresh();
}

let hyperControls = {};
let landscapeControls = {};
let stepsControl = null;
const noiseControls = {};

function buildLandscape() {
  const ls = landscape();
  $("landscape").value = ls.name;
  $("formula").textContent = `f(x, y) = ${ls.formula}`;
  landscapeControls = {};
  $("landscape-params").replaceChildren(
    ...ls.params.map((p) => {
      landscapeControls[p.name] = paramControl(p, state.lparams[p.name], (v) => {
        state.lparams[p.name] = v;
        changed();
      });
      return landscapeControls[p.name].el;
    }),
  );
}

function buildOptimizer() {
  const o = spec();
  $("optimizer").value = o.name;
  $("optimizer").title = o.label;
  $("rule").textContent = o.rule;
  $("rule").title = o.reference;
  hyperControls = {};
  $("hyper").replaceChildren(
    ...o.params.map((p) => {
      hyperControls[p.name] = paramControl(p, state.hyper[p.name], (v) => {
        state.hyper[p.name] = v;
        changed();
      });
      return hyperControls[p.name].el;
    }),
  );
}

function buildNoise() {
  $("noise-params").replaceChildren(
    ...NOISE.map((p) => {
      noiseControls[p.name] = paramControl(p, state[p.name], (v) => setNoise(p.name, v, { fromControl: true }));
      return noiseControls[p.name].el;
    }),
  );
  stepsControl = paramControl({ name: "steps", label: "steps", default: 500, low: 1, high: LIMITS.max_steps, log: true, integer: true, help: "steps of every run (a tool runs fewer where its grid needs it)" }, state.steps, (v) => {
    state.steps = v;
    changed();
  });
  $("steps-control").replaceChildren(stepsControl.el);
}

function setNoise(name, v, { fromControl = false } = {}) {
  state[name] = v;
  if (name === "dataset_size" && state.batch_size > v) setNoise(BATCH, v);
  if (name === BATCH && v > state.dataset_size) v = state.batch_size = state.dataset_size;
  if (!fromControl || v !== noiseControls[name].value) noiseControls[name].set(v);
  if (state.mY === BATCH && name === "dataset_size") {
    Object.assign(state, yDefaults());
    buildToolSettings();
  }
  changed();
}

function setHyper(name, v) {
  state.hyper[name] = v;
  hyperControls[name]?.set(v);
  changed();
}

function setOptimizer(name) {
  if (name === state.optimizer || !OPTIMIZERS[name]) return;
  state.optimizer = name;
  state.hyper = hyperFor(OPTIMIZERS[name], landscape());
  Object.assign(state, lrDefaults());
  state.mY = defaultY();
  Object.assign(state, yDefaults());
  buildOptimizer();
  buildToolSettings();
  changed();
}

function syncNoise() {
  $("noise-on").checked = state.noise;
  $("noise-off").checked = !state.noise;
  $("noise-settings").hidden = !state.noise;
  $("seed").value = String(state.seed);
}

function syncStart() {
  for (const [i, id] of ["start-x", "start-y"].entries()) if (document.activeElement !== $(id)) $(id).value = String(state.start[i]);
}

$("landscape").addEventListener("change", () => {
  const ls = LANDSCAPES[$("landscape").value];
  state.landscape = ls.name;
  state.lparams = settings(ls.params);
  state.start = [...ls.start];
  state.hyper.lr = suggestedLr(ls, spec());
  hyperControls.lr.set(state.hyper.lr);
  Object.assign(state, lrDefaults());
  buildLandscape();
  buildToolSettings();
  syncStart();
  changed();
});
$("optimizer").addEventListener("change", () => setOptimizer($("optimizer").value));

for (const id of ["start-x", "start-y"]) {
  $(id).addEventListener("change", () => {
    const p = [Number($("start-x").value), Number($("start-y").value)];
    const bad = !p.every(Number.isFinite) || $("start-x").value.trim() === "" || $("start-y").value.trim() === "";
    $("start-error").textContent = bad ? "x and y must be numbers" : farOutside(p, landscape()) ? "more than ten domain widths outside the map" : "";
    if ($("start-error").textContent) return;
    state.start = p;
    changed();
  });
}
$("start-reset").addEventListener("click", () => {
  state.start = [...landscape().start];
  syncStart();
  changed();
});

for (const radio of document.querySelectorAll("input[name=noise]")) {
  radio.addEventListener("change", () => {
    state.noise = radio.value === "1";
    if (!state.noise && state.mY === BATCH) state.mY = defaultY();
    if (!state.mY) state.mY = defaultY();
    Object.assign(state, yDefaults());
    syncNoise();
    buildToolSettings();
    changed();
  });
}
$("seeds-noise-on").addEventListener("click", () => $("noise-on").click());

$("seed").addEventListener("change", () => {
  const v = Number($("seed").value);
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 32 - 1) {
    $("seed").classList.add("invalid");
    return;
  }
  $("seed").classList.remove("invalid");
  state.seed = v;
  changed();
});

$("tol").addEventListener("change", () => {
  const text = $("tol").value.trim();
  const v = Number(text);
  const ok = text === "" || (Number.isFinite(v) && v >= 1e-12 && v <= 1e6);
  $("tol").classList.toggle("invalid", !ok);
  $("tol-error").textContent = ok ? "" : "a number in [1e-12, 1e6], or blank for the default";
  if (!ok) return;
  state.tol = text === "" ? null : v;
  changed();
});

// --- each tool's own settings ------------------------------------------------------------------------

/** A labelled text field for a number; `onChange(value)` when a valid one is committed. */
function field(label, value, { low, high, integer = false, title = "" }, onChange) {
  const input = h(integer ? "input.num.short" : "input.num", { type: "text", inputmode: "decimal", value: exact(value), autocomplete: "off", spellcheck: "false", "aria-label": label });
  input.addEventListener("change", () => {
    const v = Number(input.value.trim());
    const ok = input.value.trim() !== "" && Number.isFinite(v) && v >= low && v <= high && (!integer || Number.isInteger(v));
    input.classList.toggle("invalid", !ok);
    input.title = ok ? title : `${integer ? "a whole number" : "a number"} in [${fmt(low)}, ${fmt(high)}]`;
    if (ok) onChange(v);
  });
  return h("label.field", { title }, h("span", {}, label), input);
}

function pair(label, lo, hi, bounds, onChange) {
  // from/to: the second must stay above the first
  let a = lo;
  let b = hi;
  return [
    field(`${label} from`, lo, bounds, (v) => (v < b ? onChange((a = v), b) : null)),
    field("to", hi, bounds, (v) => (v > a ? onChange(a, (b = v)) : null)),
  ];
}

function set(values) {
  Object.assign(state, values);
  changed();
}

function buildToolSettings() {
  const lr = spec().params[0];
  const lrBounds = { low: lr.low, high: lr.high };
  const grid = { low: 2, high: LIMITS.max_grid, integer: true };
  $("range-settings").replaceChildren(
    ...pair("η", state.rLo, state.rHi, lrBounds, (rLo, rHi) => set({ rLo, rHi })),
    field("rates", state.rN, grid, (rN) => set({ rN })),
  );

  const ys = yChoices();
  const ySelect = h("select", { id: "map-y", "aria-label": "Second axis" }, ys.map((p) => h("option", { value: p.name, selected: p.name === state.mY }, p.label)));
  ySelect.addEventListener("change", () => {
    state.mY = ySelect.value;
    Object.assign(state, yDefaults());
    buildToolSettings();
    changed();
  });
  const yp = yParam();
  const colorBy = h("select", { id: "map-color", "aria-label": "Colour cells by" }, h("option", { value: "steps", selected: state.mColor === "steps" }, "steps to target"), h("option", { value: "loss", selected: state.mColor === "loss" }, "final loss"));
  colorBy.addEventListener("change", () => {
    state.mColor = colorBy.value;
    saveUrl();
    if (results.map) drawMap(results.map.data, results.map.body, results.map);
  });
  $("map-settings").replaceChildren(
    ...pair("η", state.mLo, state.mHi, lrBounds, (mLo, mHi) => set({ mLo, mHi })),
    field("×", state.mNx, grid, (mNx) => set({ mNx })),
    h("label.field", {}, h("span", {}, "against"), ys.length ? ySelect : h("span.muted", {}, "nothing: turn on noise")),
    ...(yp ? pair("", state.mYlo, state.mYhi, { low: yp.low, high: yp.high, integer: yp.integer }, (mYlo, mYhi) => set({ mYlo, mYhi })) : []),
    field("×", state.mNy, grid, (mNy) => set({ mNy })),
    h("label.field", {}, h("span", {}, "colour"), colorBy),
  );

  $("starts-settings").replaceChildren(field("starts per side", state.sN, grid, (sN) => set({ sN })), h("span.muted", {}, "a square grid over the whole map, edges included"));

  $("seeds-settings").replaceChildren(
    field("seeds", state.bN, { low: 1, high: LIMITS.max_seeds, integer: true }, (bN) => set({ bN })),
    h("span.sep"),
    h("span.muted", {}, "trade-off:"),
    ...pair("η", state.tLo, state.tHi, lrBounds, (tLo, tHi) => set({ tLo, tHi })),
    field("seeds per cell", state.tN, { low: 1, high: LIMITS.max_tradeoff_seeds, integer: true }, (tN) => set({ tN })),
  );
}

// --- tabs --------------------------------------------------------------------------------------------

function showTool(tool) {
  state.tool = tool;
  for (const t of TOOLS) {
    $(`tab-${t}`).setAttribute("aria-selected", String(t === tool));
    $(`tab-${t}`).tabIndex = t === tool ? 0 : -1;
    $(`tool-${t}`).hidden = t !== tool;
  }
  saveUrl();
  if (stale.has(tool)) {
    stale.delete(tool);
    RUNNERS[tool]();
  }
  settle();
}

for (const t of TOOLS) $(`tab-${t}`).addEventListener("click", () => showTool(t));

// --- start -------------------------------------------------------------------------------------------

for (const option of $("optimizer").options) option.textContent = shortLabel(OPTIMIZERS[option.value]);
buildLandscape();
buildOptimizer();
buildNoise();
syncNoise();
syncStart();
buildToolSettings();
$("tol").value = state.tol === null ? "" : String(state.tol);
for (const id of ["range-plot", "map-plot", "starts-plot", "fan-plot", "band-plot", "tradeoff-plot"]) {
  Plotly.newPlot($(id), [], baseLayout({ xaxis: { visible: false }, yaxis: { visible: false }, margin: { l: 0, r: 0, t: 0, b: 0 } }), CONFIG);
  resized.observe($(id));
}
hookMapClicks();
hookStartClicks();
hookSeedClicks();
showTool(state.tool);

// For tests: the page's state and the last answer of each tool.
window.tools = { state, results, landscapeUrl };
