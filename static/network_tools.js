// Network tools: an LR range test, hyperparameter maps and seed bands for small networks. Each tool
// submits a list of job specs to /api/jobs (run on the server's process pool) and polls for results,
// drawing them as they come. The configuration and every tool setting live in the URL.

import { fmt, h, paramControl, pct, readEmbedded, select, T, UrlState } from "./common.js";
import { curveControls } from "./charts.js";
import { JobRunner } from "./jobs.js";
import { grid, mapFigure, meanStd, rangeFigure, seedFigures } from "./network_tools_figures.js";
import { normalizeConfig, readPage, recipe, settings, trainBody } from "./run_config.js";
import { ConfigForm } from "./run_form.js";
import { CONFIG, keepSized } from "./run_figures.js";

const cat = readPage();
const LIMITS = readEmbedded("page").limits;
const $ = (id) => document.getElementById(id);
const app = $("app");

// The sweep caps bound the form (the server checks them again).
cat.maxLayers = Math.min(cat.maxLayers, LIMITS.max_layers);
cat.maxWidth = Math.min(cat.maxWidth, LIMITS.max_width);
cat.maxEpochs = Math.min(cat.maxEpochs, LIMITS.max_epochs);

/** Where a sweep starts on 2D points and on images: the training schema's recipes for the tools. */
const TOY_DEFAULTS = recipe(cat, "tools_points");
const IMAGE_DEFAULTS = recipe(cat, "tools_images");
const isImages = (name) => cat.datasets[name]?.kind === "images";
const defaultsFor = (name) => (isImages(name) ? { ...IMAGE_DEFAULTS, dataset: name } : TOY_DEFAULTS);
/** An image set's parameters, capped for sweeps; a subset by default. */
function dataParams(name) {
  const ds = cat.datasets[name];
  if (!isImages(name)) return ds.params;
  const cap = { train_size: [LIMITS.max_image_train, 2000], test_size: [LIMITS.max_image_test, 500] };
  return ds.params.map((p) => (cap[p.name] ? { ...p, high: cap[p.name][0], default: cap[p.name][1] } : p));
}
const dataDefaults = (name) => settings(dataParams(name));

// --- tool settings: one typed field list with the configuration --------------------------------------------

const P = (name, label, low, high, value, extra = {}) => ({ name, label, low, high, default: value, log: false, integer: false, help: "", ...extra });
const RANGE_PARAMS = [
  P("lr_min", "first rate", 1e-7, 10, 1e-5, { log: true }),
  P("lr_max", "last rate", 1e-7, 10, 10, { log: true }),
  P("range_steps", "steps (whole epochs)", 20, LIMITS.max_range_steps, 300, { log: true, integer: true }),
];
const MAP_PARAMS = [
  P("x_min", "lowest η", 1e-7, 10, 1e-3, { log: true }),
  P("x_max", "highest η", 1e-7, 10, 1, { log: true }),
  P("nx", "η values", 2, 8, 5, { integer: true }),
  P("ny", "values of the second axis", 2, 8, 4, { integer: true }),
];
const TARGET = P("target", "target test accuracy", 0.5, 1, 0.9, { help: "steps to target: the first evaluation at or above it" });
const SEEDS = P("seeds", "seeds", 2, 32, 8, { integer: true });
const METRICS = [
  { name: "test_loss", label: "final test loss" },
  { name: "accuracy", label: "final test accuracy" },
  { name: "steps_to_target", label: "steps to the target accuracy" },
];
const TOOLS = ["range", "map", "seeds"];

const FIELDS = new UrlState([
  ...cat.fields,
  { name: "tool", key: "tool", type: T.string },
  ...[...RANGE_PARAMS, ...MAP_PARAMS, TARGET, SEEDS].map((p) => ({ name: p.name, key: p.name, type: p.integer ? T.int : T.number })),
  { name: "y", key: "y", type: T.string },
  { name: "y_min", key: "y_min", type: T.number },
  { name: "y_max", key: "y_max", type: T.number },
  { name: "metric", key: "metric", type: T.string },
]);

/** A link from the network playground brings its configuration along (same-origin referrer). */
function initialQuery() {
  if (location.search.length > 1) return location.search;
  try {
    const from = new URL(document.referrer);
    return from.origin === location.origin && from.pathname === "/playground" ? from.search : "";
  } catch {
    return "";
  }
}

const raw = FIELDS.deserialize(initialQuery());
const state = normalizeConfig(raw, defaultsFor(raw.dataset), cat, dataDefaults);
Object.assign(state, settings([...RANGE_PARAMS, ...MAP_PARAMS, TARGET, SEEDS], raw));
state.tool = TOOLS.includes(raw.tool) ? raw.tool : "range";
state.metric = METRICS.some((m) => m.name === raw.metric) ? raw.metric : "accuracy";
Object.assign(state, { y: raw.y, y_min: raw.y_min, y_max: raw.y_max });
fixAxis();

const saveUrl = FIELDS.autosave(state);
const playgroundUrl = (s) => `${isImages(s.dataset) ? "/mnist" : "/playground"}?${new UrlState(cat.fields).serialize(s)}`;

// --- the map's second axis: an optimizer hyperparameter or the batch size --------------------------------

function axisChoices() {
  const hyper = cat.optimizers[state.optimizer].params.filter((p) => p.name !== "lr");
  const train = state.data.samples ? state.data.samples - Math.round(state.data.samples * state.data.test_fraction) : state.data.train_size;
  const batch = { name: "batch_size", label: "batch size", low: 1, high: Math.min(512, train), log: true, integer: true, default: 16 };
  return [...hyper, batch];
}

/** A valid second axis for the current optimizer, with a range inside the parameter's bounds. */
function fixAxis() {
  const choices = axisChoices();
  const current = choices.find((c) => c.name === state.y);
  const spec = current ?? choices.find((c) => ["gamma", "b1"].includes(c.name)) ?? choices.at(-1);
  const [low, high] = axisDefaults(spec);
  if (!current) state.y = spec.name;
  const ok = (v) => Number.isFinite(v) && v >= spec.low && v <= spec.high;
  if (!current || !ok(state.y_min)) state.y_min = low;
  if (!current || !ok(state.y_max)) state.y_max = high;
  return spec;
}

/** A first range for a second axis: batch sizes 4 to 128, momenta 0 to 0.99, else low to default. */
function axisDefaults(spec) {
  if (spec.name === "batch_size") return [Math.min(4, spec.high), Math.min(128, spec.high)];
  if (spec.name === "gamma" || spec.name === "b1") return [0, 0.99];
  return [spec.low, spec.default];
}

const runners = {};
for (const tool of TOOLS) {
  const update = (r) => {
    app.dataset[tool] = r.status;
    if (r.pool) showPool(r.pool);
    renderTabBar(tool);
    if (tool === state.tool) renderProgress();
    DRAW[tool](r);
  };
  runners[tool] = new JobRunner(tool, { onProgress: update, onEnd: update });
}

// --- where jobs run -----------------------------------------------------------------------------------------

let pool = LIMITS.pool;

/** The pool line: where jobs run, and whether that pool is starting or could not start. */
function showPool(next) {
  pool = next;
  const line = $("pool-status");
  const place = pool.where.startsWith("local pool") ? `the ${pool.where}` : pool.where;
  line.dataset.state = pool.state;
  line.textContent = {
    idle: `Jobs run on ${place}.`,
    ready: `Jobs run on ${place}.`,
    starting: `Starting ${place}: jobs wait in the queue until it is ready.`,
    failed: `${place[0].toUpperCase()}${place.slice(1)} could not start (${pool.error}); the next job tries again.`,
  }[pool.state];
}

/** Ask until the pool is no longer starting (a Dask cluster takes a few seconds). */
async function watchPool() {
  while (pool.state === "starting") {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      const response = await fetch("/api/jobs/pool");
      if (response.ok) showPool(await response.json());
    } catch {
      return;
    }
  }
}

/** The thin bar under a tool's tab: its job's progress, whichever tool is shown. */
function renderTabBar(tool) {
  const runner = runners[tool];
  const bar = document.querySelector(`#tab-${tool} .tab-progress`);
  bar.dataset.state = runner.status;
  bar.firstElementChild.style.transform = `scaleX(${runner.total ? runner.results.length / runner.total : 0})`;
}

/** The TrainIn body of the configuration, with overrides (hyper values, batch size, seed). */
function configBody(overrides = {}) {
  const { hyper, ...rest } = overrides;
  const body = trainBody(cat, state, { eval_train_size: isImages(state.dataset) ? 1000 : 0, ...rest });
  if (hyper) body.hyper = { ...body.hyper, ...hyper };
  return body;
}

const SPECS = {
  range: () => [{ kind: "lr_range", config: configBody(), lr_min: state.lr_min, lr_max: state.lr_max, steps: state.range_steps }],
  map: () => mapCells().map((c) => ({ kind: "train", config: configBody(c.overrides), target: state.target, points: 50 })),
  seeds: () => Array.from({ length: state.seeds }, (_, i) => ({ kind: "train", config: configBody({ seed: state.seed + i }), target: state.target, points: 100 })),
};

function mapCells() {
  const spec = fixAxis();
  const xs = grid(state.x_min, state.x_max, state.nx, true, false);
  const batch = spec.name === "batch_size";
  const ys = grid(state.y_min, state.y_max, state.ny, spec.log || batch, spec.integer, batch);
  const cells = [];
  for (const [j, y] of ys.entries()) {
    for (const [i, x] of xs.entries()) {
      const overrides = spec.name === "batch_size" ? { hyper: { lr: x }, batch_size: y } : { hyper: { lr: x, [spec.name]: y } };
      cells.push({ i, j, x, y, overrides });
    }
  }
  return cells;
}

function run() {
  hideError();
  const tool = state.tool;
  DRAW[tool](null);
  mapLayout = tool === "map" ? { cells: mapCells(), spec: fixAxis(), metric: state.metric, target: state.target } : mapLayout;
  seedsTarget = tool === "seeds" ? state.target : seedsTarget;
  runners[tool].start(SPECS[tool]());
}

// --- drawing ------------------------------------------------------------------------------------------------

const plots = { range: $("range-plot"), map: $("map-plot"), seedsLoss: $("seeds-loss-plot"), seedsAcc: $("seeds-accuracy-plot") };
Object.values(plots).forEach(keepSized);
let mapLayout = null; // the cells, axis and metric of the map last run
let selectedCell = null;
let seedsTarget = null; // the target of the band last run

function drawRange(runner) {
  const result = runner?.results[0]?.result;
  $("range-empty").hidden = Boolean(result) || runner?.status === "running";
  if (result) {
    const { data, layout } = rangeFigure(result);
    Plotly.react(plots.range, data, layout, CONFIG);
  } else Plotly.purge(plots.range);
  showResult("range", runner);
}

function drawMap(runner) {
  $("map-empty").hidden = Boolean(runner);
  if (!runner || !mapLayout) {
    Plotly.purge(plots.map);
    selectedCell = null;
    showResult("map", runner);
    return;
  }
  const got = new Map(runner.results.map((r) => [r.index, r]));
  const metricLabel = METRICS.find((m) => m.name === mapLayout.metric).label;
  const { data, layout } = mapFigure({ ...mapLayout, metricLabel }, got, selectedCell);
  Plotly.react(plots.map, data, layout, CONFIG);
  if (!plots.map.dataset.clicks) {
    plots.map.dataset.clicks = "1";
    plots.map.on("plotly_click", (event) => {
      const point = event.points[0];
      const cell = mapLayout.cells.find((c) => fmt(c.x, 3) === point.x && fmt(c.y, 3) === point.y);
      if (cell) selectCell(cell);
    });
  }
  app.dataset.mapCells = String(got.size);
  showResult("map", runner);
}

function selectCell(cell) {
  selectedCell = cell;
  drawMap(runners.map);
}

function drawSeeds(runner) {
  const results = (runner?.results ?? []).filter((r) => r.result).map((r) => r.result);
  $("seeds-empty").hidden = Boolean(runner);
  if (results.length) {
    const { loss, accuracy } = seedFigures(results, seedsTarget ?? state.target, seedsView.value);
    Plotly.react(plots.seedsLoss, loss.data, loss.layout, CONFIG);
    Plotly.react(plots.seedsAcc, accuracy.data, accuracy.layout, CONFIG);
  } else {
    Plotly.purge(plots.seedsLoss);
    Plotly.purge(plots.seedsAcc);
  }
  showResult("seeds", runner);
}

// the seed band's loss: its mean smoothed on request, log or linear
const seedsView = curveControls({ smoothing: 0, log: false, label: "Seed band loss", onChange: () => drawSeeds(runners.seeds) });
plots.seedsLoss.before(seedsView);

const DRAW = { range: drawRange, map: drawMap, seeds: drawSeeds };

// --- the side panel: settings, progress, results ---------------------------------------------------------

const row = (label, value) => h("div.kv", {}, h("span", {}, label), h("b", {}, value));

function showResult(tool, runner) {
  if (tool !== state.tool) return;
  const box = $("tool-result");
  if (!runner) {
    box.replaceChildren();
    if (tool === "map") renderCell(null);
    return;
  }
  if (tool === "range") {
    const result = runner.results[0]?.result;
    const error = runner.results[0]?.error;
    if (error) return showError(error);
    if (!result) return box.replaceChildren();
    const s = { ...state, hyper: { ...state.hyper, lr: result.suggestion } };
    box.replaceChildren(
      h("h2", {}, "Result"),
      row("steps", `${result.steps} of ${result.planned_steps}${result.status === "diverged" ? " (stopped: diverged)" : ""}`),
      result.steepest ? row("steepest descent", `η = ${fmt(result.steepest.lr, 3)}`) : null,
      result.minimum ? row("lowest smoothed loss", `η = ${fmt(result.minimum.lr, 3)}`) : null,
      result.divergence ? row("diverges from", `η = ${fmt(result.divergence.lr, 3)}`) : row("diverges from", "not within the range"),
      result.suggestion
        ? h(
            "div.suggestion",
            {},
            h("p", {}, "Suggested learning rate: ", h("b", {}, fmt(result.suggestion, 3)), h("span.note", {}, " (the steepest descent)")),
            h("a.button.primary", { id: "use-in-playground", href: playgroundUrl(s) }, `Train with η = ${fmt(result.suggestion, 3)} in the ${isImages(state.dataset) ? "MNIST page" : "network playground"} →`),
            h("button.small", { type: "button", id: "use-here", onclick: () => useLr(result.suggestion) }, "Use it for the map and seed band"),
          )
        : h("p.note", {}, "No clear descent before the loss rose: try a wider range or more steps."),
    );
  } else if (tool === "map") {
    const layout = mapLayout;
    const done = runner.results.filter((r) => r.result);
    const diverged = done.filter((r) => r.result.status === "diverged").length;
    const best = done.filter((r) => r.result.status !== "diverged" && r.result.accuracy !== null).sort((a, b) => b.result.accuracy - a.result.accuracy || a.result.test_loss - b.result.test_loss)[0];
    const items = [h("h2", {}, "Result"), row("cells", `${runner.results.length} of ${runner.total}`), row("diverged", String(diverged))];
    if (best) {
      const c = layout.cells[best.index];
      items.push(row("best accuracy", `${pct(best.result.accuracy)} at η = ${fmt(c.x, 3)}, ${layout.spec.label} = ${fmt(c.y, 3)}`));
    }
    box.replaceChildren(...items);
    renderCell(runner);
  } else {
    const done = runner.results.filter((r) => r.result).map((r) => r.result);
    if (!done.length) return box.replaceChildren();
    const target = seedsTarget ?? state.target;
    const reached = done.filter((r) => r.steps_to_target !== null);
    const acc = meanStd([done.map((r) => r.accuracy ?? 0)])[0];
    const steps = reached.map((r) => r.steps_to_target).sort((a, b) => a - b);
    box.replaceChildren(
      h("h2", {}, "Result"),
      row("seeds", `${done.length} of ${runner.total}`),
      row(`reached ${pct(target, 0)}`, `${reached.length} of ${done.length} (${pct(reached.length / done.length, 0)})`),
      steps.length ? row("median steps to it", String(steps[Math.floor(steps.length / 2)])) : null,
      row("final test accuracy", `${pct(acc.mean)} ± ${pct(acc.sd)}`),
      row("diverged", String(done.filter((r) => r.status === "diverged").length)),
    );
  }
}

/** The clicked cell, under the map: its numbers and a link that replays it in the network playground. */
function renderCell(runner) {
  const layout = mapLayout;
  const cell = selectedCell;
  const strip = $("cell-detail");
  if (!cell || !runner) {
    strip.replaceChildren(h("span.note", {}, runner?.results.length ? "Click a cell to see it and replay it in the network playground." : ""));
    return;
  }
  const entry = runner.results.find((r) => r.index === layout.cells.indexOf(cell));
  const r = entry?.result;
  const facts = r
    ? [
        r.status,
        `test accuracy ${pct(r.accuracy)} (best ${pct(r.best_accuracy)})`,
        `test loss ${fmt(r.test_loss, 3)}`,
        r.steps_to_target === null ? `${pct(layout.target, 0)} not reached` : `${pct(layout.target, 0)} after ${r.steps_to_target} steps`,
      ].join(" · ")
    : entry?.error ?? "not finished yet";
  strip.replaceChildren(
    h("b", {}, `η = ${fmt(cell.x, 3)}, ${layout.spec.label} = ${fmt(cell.y, 3)}`),
    h("span", {}, facts),
    h("a.button.primary", { id: "replay", href: playgroundUrl(cellState(cell)) }, `Replay in the ${isImages(state.dataset) ? "MNIST page" : "network playground"} →`),
  );
}

function cellState(cell) {
  const s = { ...state, hyper: { ...state.hyper } };
  if (mapLayout.spec.name === "batch_size") s.batch_size = cell.y;
  else s.hyper[mapLayout.spec.name] = cell.y;
  s.hyper.lr = cell.x;
  return s;
}

function useLr(lr) {
  state.hyper.lr = lr;
  form.controls.lr?.set(lr);
  saveUrl();
}

function renderProgress() {
  const runner = runners[state.tool];
  const running = runner.status === "running";
  $("run").disabled = running;
  $("cancel").disabled = !running;
  const done = runner.results.length;
  $("progress-bar").style.transform = `scaleX(${runner.total ? done / runner.total : 0})`;
  $("progress").dataset.state = runner.status;
  const noun = { range: "run", map: "cells", seeds: "seeds" }[state.tool];
  const time = runner.seconds ? ` · ${runner.seconds < 1 ? `${Math.round(1000 * runner.seconds)} ms` : `${runner.seconds.toFixed(1)} s`}` : "";
  const queued = runner.waiting === runner.total && pool.state === "starting";
  $("tool-status").textContent = {
    idle: "",
    running: queued ? `waiting for the pool to start${time}` : state.tool === "range" ? `running…${time}` : `${done} of ${runner.total} ${noun}${time}`,
    done: `done: ${done} ${state.tool === "range" ? "run" : noun}${time}`,
    failed: `failed: ${done} of ${runner.total}`,
    cancelled: `cancelled after ${done} of ${runner.total}`,
    error: "",
  }[runner.status];
  if (runner.status === "error" || runner.status === "failed") showError(runner.error);
}

function showError(message) {
  $("tool-error").hidden = false;
  $("tool-error").textContent = message;
}
function hideError() {
  $("tool-error").hidden = true;
}

function renderSettings() {
  const tool = state.tool;
  const control = (p) =>
    paramControl(p, state[p.name], (v) => {
      state[p.name] = v;
      saveUrl();
    }).el;
  let items;
  if (tool === "range") {
    items = [h("h2", {}, "LR range test"), h("p.note", {}, "η grows by the same factor every step, from the first rate to the last; the run stops once the loss (a running average) is four times its lowest."), ...RANGE_PARAMS.map(control)];
  } else if (tool === "map") {
    const spec = fixAxis();
    const choose = select(axisChoices(), state.y, (name) => {
      state.y = name;
      [state.y_min, state.y_max] = axisDefaults(axisChoices().find((c) => c.name === name));
      renderSettings();
      saveUrl();
    }, { id: "map-y", "aria-label": "Second axis" });
    const yParam = (name, label) => ({ ...spec, name, label, default: state[name] });
    const metric = select(METRICS, state.metric, (name) => {
      state.metric = name;
      if (mapLayout) mapLayout.metric = name;
      drawMap(runners.map.status === "idle" ? null : runners.map);
      saveUrl();
    }, { id: "map-metric", "aria-label": "Colour by" });
    items = [
      h("h2", {}, "Hyperparameter map"),
      h("p.note", {}, `Each cell: ${state.epochs} epoch${state.epochs > 1 ? "s" : ""} of the configuration on the left, up to ${LIMITS.max_specs} cells.`),
      ...MAP_PARAMS.slice(0, 3).map(control),
      h("label.field", {}, h("span.field-label", {}, "second axis"), choose),
      control(yParam("y_min", `lowest ${spec.label}`)),
      control(yParam("y_max", `highest ${spec.label}`)),
      control(MAP_PARAMS[3]),
      h("label.field", {}, h("span.field-label", {}, "colour by"), metric),
      control(TARGET),
    ];
  } else {
    items = [h("h2", {}, "Seed band"), h("p.note", {}, `Seeds ${state.seed} to ${state.seed + state.seeds - 1} of the configuration on the left.`), control(SEEDS), control(TARGET)];
  }
  $("tool-settings").replaceChildren(...items);
}

function showTool(tool) {
  state.tool = tool;
  for (const button of document.querySelectorAll(".tool-tabs button")) button.setAttribute("aria-selected", String(button.dataset.tool === tool));
  for (const panel of document.querySelectorAll(".tool-plots")) panel.classList.toggle("active", panel.dataset.tool === tool);
  hideError();
  renderSettings();
  renderProgress();
  const runner = runners[tool];
  showResult(tool, runner.status === "idle" ? null : runner);
  saveUrl();
}

// --- the configuration form ------------------------------------------------------------------------------

const form = new ConfigForm(cat, state, {
  onRestart: () => configChanged(),
  onLive: () => configChanged(),
  trainingParams: ["batch_size", "epochs", "seed"],
});

function configChanged() {
  // the form's notes speak of live runs; here every change applies to the next job
  for (const hint of document.querySelectorAll("#optimizer-group .hint, #regularization-group .hint")) hint.remove();
  fixAxis();
  if (state.tool !== "range") renderSettings();
  saveUrl();
}

let dataControls = {};
function buildData() {
  const available = cat.datasetList.filter((d) => d.kind === "points" || d.available);
  $("dataset").replaceChildren(...available.map((d) => h("option", { value: d.name, selected: d.name === state.dataset }, d.label + (d.kind === "images" ? " (subset)" : ""))));
  const ds = cat.datasets[state.dataset];
  $("dataset-note").textContent = `${ds.description}; ${ds.classes.length} classes`;
  dataControls = {};
  $("data-params").replaceChildren(
    ...dataParams(state.dataset).map((p) => {
      const param = p.name === "seed" ? { ...p, label: "data seed", high: 1e6 } : p;
      dataControls[p.name] = paramControl(param, state.data[p.name], (v) => {
        state.data[p.name] = v;
        form.training($("training-group"));
        state.batch_size = form.controls.batch_size.value;
        configChanged();
      });
      return dataControls[p.name].el;
    }),
  );
}

$("dataset").addEventListener("change", () => {
  const name = $("dataset").value;
  const next = normalizeConfig({ ...state, dataset: name, data: {}, hidden: isImages(name) === isImages(state.dataset) ? state.hidden : undefined }, defaultsFor(name), cat, dataDefaults);
  Object.assign(state, next);
  buildForm();
  configChanged();
});

function buildForm() {
  buildData();
  form.network($("network-group"));
  form.optimizer($("optimizer-group"));
  form.regularization($("regularization-group"));
  form.training($("training-group"));
  for (const hint of document.querySelectorAll("#optimizer-group .hint, #regularization-group .hint")) hint.remove();
}

// --- start -------------------------------------------------------------------------------------------------

for (const button of document.querySelectorAll(".tool-tabs button")) button.addEventListener("click", () => showTool(button.dataset.tool));
$("run").addEventListener("click", run);
$("cancel").addEventListener("click", () => runners[state.tool].cancel());
buildForm();
showTool(state.tool);
showPool(pool);
watchPool();
app.dataset.status = "ready";
