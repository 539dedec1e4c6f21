// Two maps of measured runs: the hyperparameter map (η against a second setting, one run per cell)
// and the start-point maps (one run per start, coloured by the minimum it reached). A click on a
// cell or a start opens its replay on the landscape page.

import { fmt, h, postJSON } from "./common.js";
import { OPTIMIZERS, REG, hyperFor, shortLabel } from "./landscape_state.js";
import { field, pair, setOptimizer, setTool } from "./tools_controls.js";
import {
  BATCH,
  DIVERGED_COLOR,
  GONE_COLOR,
  LEFT_FILL,
  MIN_COLORS,
  NONE_COLOR,
  axisOf,
  cellOutcome,
  mapFigure,
  ramp,
  startsFigure,
} from "./tools_figures.js";
import { buildToolSettings, changed, fetchSurface, plot, run, setError } from "./tools_run.js";
import { $, LIMITS, fStar, landscape, landscapeUrl, nearest, page, requestBase, saveUrl, spec, state, stepsFor, yChoices, yDefaults, yParam } from "./tools_state.js";

const swatch = (color) => h("span.swatch", { style: `background:${color}` });

// --- the hyperparameter map --------------------------------------------------------------------------

function mapCost() {
  const batch = state.mY === BATCH;
  return [state.mNx * state.mNy, batch ? state.mNy : 1];
}

function runMap() {
  if (!state.mY) {
    setError("map", "This optimizer has no second setting to map: turn on noise to map the batch size.");
    return null;
  }
  const body = { ...requestBase(), start: state.start, lr_min: state.mLo, lr_max: state.mHi, nx: state.mNx, y: state.mY, y_min: state.mYlo, y_max: state.mYhi, ny: state.mNy, steps: stepsFor(...mapCost()) };
  return run("map", "/api/tools/hyper-map", body, drawMap);
}

async function drawMap(d, body, result) {
  const y = yChoices().find((q) => q.name === d.y_name) ?? { name: d.y_name };
  const current = { lr: state.hyper.lr, y: d.y_name === BATCH ? state.batch_size : state.hyper[d.y_name] };
  await plot("map-plot", mapFigure(d, { fStar: fStar(), steps: body.steps, yParam: y, colorBy: state.mColor, current }));
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
    const r = page.results.map;
    if (!pt || !r || pt.data.type !== "heatmap") return;
    const j = nearest(r.data.lr.map(Math.log10), pt.x);
    const ya = axisOf(yChoices().find((q) => q.name === r.data.y_name) ?? { name: r.data.y_name });
    const i = nearest(r.data.y.map(ya.to), pt.y);
    location.assign(cellUrl(r, i, j));
  });
}

function mapSettings() {
  const lr = spec().params[0];
  const lrBounds = { low: lr.low, high: lr.high };
  const grid = { low: 2, high: LIMITS.max_grid, integer: true };
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
    const r = page.results.map;
    if (r) drawMap(r.data, r.body, r);
  });
  $("map-settings").replaceChildren(
    ...pair("η", state.mLo, state.mHi, lrBounds, (mLo, mHi) => setTool({ mLo, mHi })),
    field("×", state.mNx, grid, (mNx) => setTool({ mNx })),
    h("label.field", {}, h("span", {}, "against"), ys.length ? ySelect : h("span.muted", {}, "nothing: turn on noise")),
    ...(yp ? pair("", state.mYlo, state.mYhi, { low: yp.low, high: yp.high, integer: yp.integer }, (mYlo, mYhi) => setTool({ mYlo, mYhi })) : []),
    field("×", state.mNy, grid, (mNy) => setTool({ mNy })),
    h("label.field", {}, h("span", {}, "colour"), colorBy),
  );
}

export const mapTool = { run: runMap, settings: mapSettings, hook: hookMapClicks };

// --- start-point maps --------------------------------------------------------------------------------

/** Every optimizer's map, the selected one first: its map draws, the others fill the table. */
async function runStarts() {
  const round = ++page.startsRound;
  const rows = page.startRows;
  const order = [state.optimizer, ...REG.optimizers.map((o) => o.name).filter((n) => n !== state.optimizer)];
  for (const k of Object.keys(rows)) delete rows[k];
  startsTable();
  const steps = stepsFor(state.sN * state.sN);
  const base = { ...requestBase(), nx: state.sN, ny: state.sN, steps };
  await fetchSurface().catch(() => null);
  await run("starts", "/api/tools/start-map", base, drawStarts);
  $("tool-starts").dataset.table = "filling";
  for (const name of order.slice(1)) {
    if (round !== page.startsRound) return;
    const body = { ...base, optimizer: name, hyper: hyperFor(OPTIMIZERS[name], landscape()) };
    try {
      const d = await postJSON("/api/tools/start-map", body);
      if (round !== page.startsRound) return;
      rows[name] = shares(d);
      startsTable();
    } catch {
      rows[name] = null;
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
    const s = page.startRows[o.name];
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
  page.startRows[state.optimizer] = shares(d);
  startsTable();
  await plot("starts-plot", startsFigure(d, { landscape: landscape(), steps: body.steps, surface: page.surface }));
  const ms = landscape().minima;
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
    const r = page.results.starts;
    if (!pt || !r || pt.data.type !== "heatmap") return;
    const j = nearest(r.data.x, pt.x);
    const i = nearest(r.data.y, pt.y);
    location.assign(landscapeUrl({ start: [r.data.x[j], r.data.y[i]] }, startTarget(r.data, i, j), r));
  });
}

function startsSettings() {
  const grid = { low: 2, high: LIMITS.max_grid, integer: true };
  $("starts-settings").replaceChildren(field("starts per side", state.sN, grid, (sN) => setTool({ sN })), h("span.muted", {}, "a square grid over the whole map, edges included"));
}

export const startsTool = { run: runStarts, settings: startsSettings, hook: hookStartClicks };
