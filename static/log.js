// The run log: a sortable table of every race and training run the server has finished; up to four of
// them overlaid (loss curves, and paths on the landscape's contour map or accuracy curves); links that
// open a run again where it was made, through that page's own URL state.

import { fmt, h, PALETTE, pct, postJSON, readEmbedded, T, UrlState } from "./common.js";
import { FIELDS as LANDSCAPE_FIELDS, LANDSCAPES, normalize } from "./landscape_state.js";
import { COLORSCALE, minimaTraces } from "./landscape_figures.js";
import { minimaNote } from "./landscape_custom.js";
import { configFields } from "./run_config.js";
import { labUrl } from "./lab_url.js";
import { axis, CONFIG, keepSized, smallLayout } from "./run_figures.js";
import { changeMarks, curveControls, smoothedPair, valueAxis } from "./charts.js";

const $ = (id) => document.getElementById(id);
const app = $("app");
const PAGE = readEmbedded("log-page"); // {toy_datasets, training: the training schema's fields}
const LIMIT = 50;
const MAX_SELECTED = 4;

// --- state and its URL ------------------------------------------------------------------------------

const IDS = {
  encode: (ids) => ids.join(","),
  decode: (s) => {
    const ids = s.split(",").filter(Boolean).map(Number);
    return ids.every((i) => Number.isInteger(i) && i > 0) ? ids.slice(0, MAX_SELECTED) : undefined;
  },
};
const FIELDS = new UrlState([
  { name: "kind", key: "kind", type: T.string, when: (s) => s.kind !== "" },
  { name: "sort", key: "sort", type: T.string },
  { name: "order", key: "order", type: T.string },
  { name: "offset", key: "offset", type: T.int, when: (s) => s.offset > 0 },
  { name: "selected", key: "sel", type: IDS, when: (s) => s.selected.length > 0 },
  { name: "logY", key: "logy", type: T.bool },
  { name: "smoothing", key: "smooth", type: T.number, when: (s) => s.smoothing !== SMOOTHING },
  { name: "allValues", key: "all", type: T.bool, when: (s) => s.allValues },
]);
const SMOOTHING = 0.6; // TensorBoard's default

const seconds = (s) => (s === null ? "–" : s < 0.001 ? "<1 ms" : s < 1 ? `${Math.round(1000 * s)} ms` : s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);
const whole = (x) => (x === null || x === undefined ? "–" : x.toLocaleString("en-US"));

/** The table's columns: key (a sortable headline column), heading, cell text, first sort order. */
const COLUMNS = [
  { key: "created", label: "When", cell: (r) => when(r.created), order: "desc" },
  { key: "problem", label: "Problem", cell: (r) => h("span", { title: r.kind === "path" ? "a path on this landscape" : "a network trained on this dataset" }, r.problem, h("span.kind", {}, r.kind === "path" ? " path" : " net")), title: "landscape (a path) or dataset (a network)" },
  { key: "optimizer", label: "Optimizer" },
  { key: "lr", label: "η", cell: (r) => fmt(r.lr, 3), num: true, title: "learning rate" },
  { key: "seed", label: "Seed", num: true },
  { key: "status", label: "Status", cell: (r) => h(`span.status.s-${r.status}`, {}, r.status.replace("_", " ")) },
  { key: "steps", label: "Steps", cell: (r) => whole(r.steps), num: true },
  { key: "steps_to_target", label: "Target",  cell: (r) => whole(r.steps_to_target), num: true, title: "steps to target: the step a path converged at" },
  { key: "final_loss", label: "Loss", title: "final loss (training: on the training set)", cell: (r) => fmt(r.final_loss, 3), num: true },
  { key: "final_accuracy", label: "Acc.", cell: (r) => pct(r.final_accuracy), num: true, order: "desc", title: "training: the last test accuracy" },
  { key: "best_accuracy", label: "Best", cell: (r) => pct(r.best_accuracy), num: true, order: "desc", title: "training: the best test accuracy" },
  { key: "wall_seconds", label: "Time", cell: (r) => seconds(r.wall_seconds), num: true, title: "wall time" },
];
const SORTABLE = COLUMNS.map((c) => c.key);

const raw = FIELDS.deserialize(location.search);
const state = {
  kind: ["", "path", "training"].includes(raw.kind) ? raw.kind : "",
  sort: SORTABLE.includes(raw.sort) ? raw.sort : "created",
  order: raw.order === "asc" ? "asc" : "desc",
  offset: Math.max(0, raw.offset ?? 0),
  selected: raw.selected ?? [],
  logY: raw.logY ?? true,
  smoothing: raw.smoothing >= 0 && raw.smoothing < 1 ? raw.smoothing : SMOOTHING,
  allValues: raw.allValues ?? false,
};
const saveUrl = FIELDS.autosave(state);

function when(created) {
  const date = new Date(created * 1000);
  const today = date.toDateString() === new Date().toDateString();
  const options = today ? { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return h("time", { datetime: date.toISOString(), title: date.toLocaleString() }, date.toLocaleString(undefined, options));
}

// --- links that open a run again -------------------------------------------------------------------------

// The training schema's URL fields write the links that open a training run again.
const TRAINING_FIELDS = new UrlState(configFields(PAGE.training));

/** The landscape page's link for a logged race (`racers`: this racer alone, or the whole race). */
export function landscapeUrl(config, racers) {
  const raw = {
    landscape: config.landscape,
    lparams: config.landscape_params ?? {},
    expr: config.expression ?? undefined, // a typed formula and its domain
    domain: config.domain ?? undefined,
    start: config.start ?? undefined,
    steps: config.steps,
    racers: racers.map((r) => ({ optimizer: r.optimizer, hyper: { ...r.hyper } })),
    noise: Boolean(config.noise),
    ...(config.noise ?? {}),
    seed: config.seed,
    schedule: config.schedule,
    sparams: config.schedule_params ?? {},
  };
  return `/?${LANDSCAPE_FIELDS.serialize(normalize(raw))}`;
}

/**
 * The network playground's (2D data) or the MNIST page's link for a logged training configuration; with the
 * run's log id, that page draws the logged run's curves until a new run starts.
 */
export function trainingUrl(config, logId = null) {
  const s = {
    ...config,
    data: config.data ?? {},
    hidden: config.hidden.map(([width, activation]) => ({ width, activation })),
    norm: config.norm ?? "none",
    hyper: { ...config.hyper },
    schedule_params: config.schedule_params ?? {},
  };
  return `${trainingPage(config)}?${TRAINING_FIELDS.serialize(s)}${logId ? `&log=${logId}` : ""}`;
}

const PAGE_NAMES = { "/playground": "the network playground", "/mnist": "the MNIST page" };

/** Where a training configuration opens: 2D points (a toy set, or uploaded data of two features) on the
 * playground, images and other tables on the MNIST page. */
const trainingPage = (config) => (PAGE.toy_datasets.includes(config.dataset) || config.data_features === 2 ? "/playground" : "/mnist");

function reopenLinks(run) {
  if (run.kind === "training") {
    const page = trainingPage(run.config);
    const links = [h("a.reopen", { href: trainingUrl(run.config, run.id), title: `Open this run (its settings and curves) in ${PAGE_NAMES[page]}` }, "Open")];
    const racers = run.config.race_racers ?? [];
    if (run.race && racers.length > 1) {
      links.push(h("a.reopen.race", { href: labUrl(PAGE.training, run.config, run.config.race_surface), title: `Race its ${racers.length} optimizers again in the network lab (same seed, same race)` }, "open in lab"));
    }
    return links;
  }
  const links = [h("a.reopen", { href: landscapeUrl(run.config, run.config.racers), title: "Open this path on the landscape page" }, "Open")];
  const all = run.config.race_racers ?? [];
  if (all.length > 1) {
    links.push(h("a.reopen.race", { href: landscapeUrl(run.config, all), title: `Open the whole race (${all.length} racers)` }, `race (${all.length})`));
  }
  return links;
}

// --- the table ---------------------------------------------------------------------------------------------

let page = { total: 0, items: [] };
const details = new Map(); // id -> the full run (with curves), fetched once

function renderHead() {
  const cells = COLUMNS.map((c) => {
    const sorted = state.sort === c.key;
    const button = h("button.sort", { type: "button", title: c.title ?? "", dataset: { sort: c.key } }, c.label, h("span.arrow", { "aria-hidden": "true" }, sorted ? (state.order === "asc" ? "▲" : "▼") : ""));
    button.addEventListener("click", () => {
      if (sorted) state.order = state.order === "asc" ? "desc" : "asc";
      else {
        state.sort = c.key;
        state.order = c.order ?? "asc";
      }
      state.offset = 0;
      load();
    });
    return h(`th${c.num ? ".num" : ""}`, { scope: "col", "aria-sort": sorted ? (state.order === "asc" ? "ascending" : "descending") : "none" }, button);
  });
  $("head").replaceChildren(h("th.pick", { scope: "col" }, h("span.visually-hidden", {}, "Compare")), ...cells, h("th", { scope: "col" }, "Open"), h("th", { scope: "col" }, h("span.visually-hidden", {}, "Delete")));
}

function renderRows() {
  const rows = page.items.map((run) => {
    const index = state.selected.indexOf(run.id);
    const box = h("input", { type: "checkbox", checked: index >= 0, "aria-label": `Compare run ${run.id}` });
    box.addEventListener("change", () => toggle(run.id, box.checked));
    const remove = h("button.icon", { type: "button", title: "Delete this run from the log", "aria-label": `Delete run ${run.id}` }, "✕");
    remove.addEventListener("click", () => removeRun(run));
    const cells = COLUMNS.map((c) => h(`td.col-${c.key}${c.num ? ".num" : ""}`, {}, c.cell ? c.cell(run) : String(run[c.key] ?? "–")));
    const row = h(`tr${index >= 0 ? ".selected" : ""}`, { dataset: { id: run.id, kind: run.kind } }, h("td.pick", {}, box), ...cells, h("td.links", {}, reopenLinks(run)), h("td", {}, remove));
    if (index >= 0) row.style.setProperty("--pick", PALETTE[index]);
    return row;
  });
  $("rows").replaceChildren(...rows);
  $("empty").hidden = page.total > 0;
  const first = page.total ? state.offset + 1 : 0;
  $("range").textContent = `${first}–${state.offset + page.items.length} of ${page.total.toLocaleString("en-US")}`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + LIMIT >= page.total;
  const kind = state.kind ? `&kind=${state.kind}` : "";
  $("export-csv").href = `/api/log/export?format=csv${kind}`;
  $("export-json").href = `/api/log/export?format=json${kind}`;
}

async function load() {
  saveUrl();
  renderHead();
  const query = new URLSearchParams({ sort: state.sort, order: state.order, limit: LIMIT, offset: state.offset });
  if (state.kind) query.set("kind", state.kind);
  const response = await fetch(`/api/log?${query}`);
  if (!response.ok) {
    $("range").textContent = `could not read the log (${response.status})`;
    return;
  }
  page = await response.json();
  if (state.offset && !page.items.length && page.total) {
    state.offset = Math.max(0, Math.floor((page.total - 1) / LIMIT) * LIMIT);
    return load();
  }
  renderRows();
  app.dataset.status = "ready";
}

function toggle(id, on) {
  state.selected = state.selected.filter((x) => x !== id);
  if (on) state.selected.push(id);
  if (state.selected.length > MAX_SELECTED) state.selected.shift();
  saveUrl();
  renderRows();
  compare();
}

async function removeRun(run) {
  if (!confirm(`Delete run ${run.id} (${run.optimizer} on ${run.problem}) from the log?`)) return;
  await fetch(`/api/log/${run.id}`, { method: "DELETE" });
  details.delete(run.id);
  if (state.selected.includes(run.id)) toggle(run.id, false);
  load();
}

// --- comparison ------------------------------------------------------------------------------------------

const lossPlot = $("loss-plot");
const secondPlot = $("second-plot");
keepSized(lossPlot);
keepSized(secondPlot);
const surfaces = new Map(); // landscape + parameters -> its surface and description (minima)

async function detail(id) {
  if (!details.has(id)) {
    const response = await fetch(`/api/log/${id}`);
    details.set(id, response.ok ? await response.json() : null);
  }
  return details.get(id);
}

const label = (run) => `#${run.id} ${run.optimizer} η=${fmt(run.lr, 3)} · ${run.problem}`;

let comparing = 0;
async function compare() {
  const token = ++comparing;
  const runs = (await Promise.all(state.selected.map(detail))).map((run, i) => run && { ...run, color: PALETTE[i] }).filter(Boolean);
  if (token !== comparing) return;
  const none = runs.length === 0;
  $("compare-empty").hidden = !none;
  lossPlot.hidden = secondPlot.hidden = lossView.hidden = accuracyView.hidden = none;
  $("compare-hint").textContent = none ? "tick up to four runs" : runs.length === 1 ? "tick another run to compare" : `${runs.length} of up to ${MAX_SELECTED} runs`;
  if (none) {
    $("diff").replaceChildren();
    $("second-note").textContent = "";
    app.dataset.compared = "";
    return;
  }
  drawLoss(runs);
  const paths = runs.filter((r) => r.kind === "path");
  if (runs[0].kind === "path") await drawMap(paths, token);
  else drawAccuracy(runs.filter((r) => r.kind === "training"));
  if (token !== comparing) return;
  renderDiff(runs);
  app.dataset.compared = runs.map((r) => r.id).join(",");
}

/** Live setting changes of a run, where its log kept the step each took effect at. */
function loggedChanges(run) {
  const changed = run.results?.changed_while_training ?? [];
  return changed.filter((c) => Number.isFinite(c?.step) && c.values).map((c) => ({ action: "set", step: c.step, values: c.values }));
}

/** The curves of `runs` (their `key` curve), each raw (faint) and smoothed, with change markers. */
function curveFigure(runs, key, view, { yTitle, percent = false }) {
  const traces = runs
    .filter((r) => r.curves[key])
    .flatMap((r) => {
      const { step, value } = r.curves[key];
      const y = percent ? value.map((v) => (v === null ? null : 100 * v)) : value;
      const mode = value.length < 30 ? "lines+markers" : "lines";
      return smoothedPair(step, y, view.smoothing, { mode, name: label(r), line: { color: r.color, width: 1.6 }, marker: { size: 4 }, hovertemplate: `#${r.id}: %{y:.4g}<extra></extra>` });
    });
  const shown = traces.filter((t) => t.meta !== "raw").flatMap((t) => t.y);
  const positive = shown.every((v) => v === null || v > 0);
  const logY = view.log && positive;
  const marks = runs.map((r) => changeMarks(loggedChanges(r), (s) => s, { color: r.color }));
  const layout = smallLayout({
    xaxis: axis("step"),
    yaxis: axis(yTitle, valueAxis(shown, { log: logY, robust: view.robust, maxLabels: 5 })),
    margin: { l: 52, r: 10, t: 8, b: 34 },
    legend: { orientation: "h", x: 0, y: 1.01, yanchor: "bottom", font: { size: 10 } },
    shapes: marks.flatMap((m) => m.shapes),
    annotations: marks.flatMap((m) => m.annotations),
    uirevision: state.selected.join(",") + logY + view.robust,
  });
  return { traces, layout, positive };
}

function drawLoss(runs) {
  const training = runs.some((r) => r.kind === "training");
  const view = { smoothing: state.smoothing, log: state.logY, robust: !state.allValues };
  const { traces, layout, positive } = curveFigure(runs, "loss", view, { yTitle: training ? "loss (mini-batch)" : "loss" });
  lossView.setLogAllowed(positive, "a loss at or below 0 cannot go on a log scale");
  layout.margin.t = 8 + 18 * runs.length; // the legend above the plot, a run a line
  Plotly.react(lossPlot, traces, layout, CONFIG);
}

function drawAccuracy(runs) {
  $("second-note").textContent = runs.length ? "" : "No training run selected.";
  accuracyView.hidden = false;
  const { traces, layout } = curveFigure(runs, "accuracy", accuracyView.value, { yTitle: "test accuracy (%)", percent: true });
  layout.showlegend = false;
  Plotly.react(secondPlot, traces, layout, CONFIG);
}

async function drawMap(paths, token) {
  accuracyView.hidden = true;
  const first = paths[0].config;
  const where = (c) => ({ landscape: c.landscape, landscape_params: c.landscape_params ?? {}, ...(c.expression ? { expression: c.expression, domain: c.domain ?? null } : {}) });
  const key = JSON.stringify(where(first));
  const same = paths.filter((r) => JSON.stringify(where(r.config)) === key);
  if (!surfaces.has(key)) {
    try {
      const drawn = postJSON("/api/surface", { ...where(first), resolution: 90, arrows: 0 });
      // a typed formula's minima are found by the server; a built-in's come with the page
      const described = first.expression ? postJSON("/api/landscape", where(first)) : LANDSCAPES[first.landscape];
      const [surface, landscape] = await Promise.all([drawn, described]);
      surfaces.set(key, { surface, landscape });
    } catch (err) {
      $("second-note").textContent = `Could not draw the landscape: ${err.message}`;
      return;
    }
  }
  if (token !== comparing) return;
  const { surface, landscape } = surfaces.get(key);
  const skipped = paths.length - same.length;
  const name = first.expression ? `f = ${first.expression}` : (landscape?.label ?? first.landscape);
  $("second-note").textContent = [
    `${name}: ${same.length === 1 ? "the path" : `${same.length} paths`} from their start (○).`,
    landscape?.numerical_minima ? minimaNote(landscape) : "",
    skipped ? `${skipped} path${skipped > 1 ? "s" : ""} on another landscape not drawn.` : "",
  ].join(" ");
  const traces = [
    {
      type: "contour",
      x: surface.x,
      y: surface.y,
      z: surface.color,
      colorscale: COLORSCALE,
      ncontours: 22,
      contours: { coloring: "fill", showlines: true },
      line: { color: "rgba(31,41,55,0.22)", width: 0.6 },
      showscale: false,
      hoverinfo: "skip",
    },
    ...same.flatMap((r) => [
      {
        type: "scatter",
        mode: "lines",
        x: r.path.x,
        y: r.path.y,
        name: label(r),
        line: { color: r.color, width: 2 },
        hovertemplate: `#${r.id} (%{x:.3g}, %{y:.3g})<extra></extra>`,
      },
      {
        type: "scatter",
        mode: "markers",
        x: [r.path.x[0], r.path.x.at(-1)],
        y: [r.path.y[0], r.path.y.at(-1)],
        marker: { symbol: ["circle-open", r.status === "diverged" ? "x" : "circle"], size: [10, 8], color: r.color, line: { width: 2, color: r.color } },
        hoverinfo: "skip",
        showlegend: false,
      },
    ]),
    ...minimaTraces(landscape?.minima ?? []), // over the paths: a path that ends in a minimum hides no mark
  ];
  const [[x0, x1], [y0, y1]] = [[surface.x[0], surface.x.at(-1)], [surface.y[0], surface.y.at(-1)]];
  const layout = smallLayout({
    xaxis: axis("x", { range: [x0, x1], showgrid: false, zeroline: false }),
    yaxis: axis("y", { range: [y0, y1], showgrid: false, zeroline: false, scaleanchor: "x", scaleratio: 1 }),
    margin: { l: 44, r: 10, t: 8, b: 34 },
    showlegend: false,
    hovermode: "closest",
    uirevision: key,
  });
  Plotly.react(secondPlot, traces, layout, CONFIG);
}

/** Settings that differ between the selected runs, flattened to dotted names. */
function flatten(config, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(config)) {
    if (["race_racers", "race_surface", "racer", "chunk", "throttle", "surface"].includes(k)) continue;
    const name = prefix + k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, `${name}.`, out);
    else if (k === "racers" && Array.isArray(v) && v.length === 1) flatten(v[0], "", out);
    else out[name] = Array.isArray(v) ? JSON.stringify(v) : v === null ? "–" : typeof v === "number" ? fmt(v, 4) : String(v);
  }
  return out;
}

function renderDiff(runs) {
  if (runs.length < 2) {
    $("diff").replaceChildren();
    return;
  }
  const flat = runs.map((r) => ({ kind: r.kind, ...flatten(r.config) }));
  const first = ["kind", "landscape", "dataset", "optimizer", "hyper.lr"];
  const rank = (k) => (first.includes(k) ? first.indexOf(k) : first.length);
  const names = [...new Set(flat.flatMap(Object.keys))]
    .filter((k) => new Set(flat.map((f) => f[k] ?? "–")).size > 1)
    .sort((a, b) => rank(a) - rank(b));
  const head = h("tr", {}, h("th", {}, ""), ...runs.map((r) => h("th", { style: `--pick: ${r.color}` }, `#${r.id}`)));
  const rows = names.map((k) => h("tr", {}, h("th", { scope: "row" }, k), ...flat.map((f) => h("td", {}, f[k] ?? "–"))));
  $("diff").replaceChildren(
    h("h2", {}, "Settings that differ"),
    names.length ? h("table", {}, h("thead", {}, head), h("tbody", {}, rows)) : h("p.note", {}, "None: the same settings."),
  );
}

// --- controls ---------------------------------------------------------------------------------------------

for (const input of document.querySelectorAll('input[name="kind"]')) {
  input.checked = input.value === state.kind;
  input.addEventListener("change", () => {
    state.kind = input.value;
    state.offset = 0;
    load();
  });
}
$("prev").addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - LIMIT);
  load();
});
$("next").addEventListener("click", () => {
  state.offset += LIMIT;
  load();
});
const lossView = curveControls({
  smoothing: state.smoothing,
  log: state.logY,
  robust: !state.allValues,
  label: "Loss",
  onChange: (v) => {
    Object.assign(state, { smoothing: v.smoothing, logY: v.log, allValues: !v.robust });
    saveUrl();
    compare();
  },
});
const accuracyView = curveControls({ smoothing: 0, log: false, robust: true, label: "Accuracy", onChange: () => compare() });
lossView.id = "loss-controls";
accuracyView.id = "accuracy-controls";
lossPlot.before(lossView);
secondPlot.before(accuracyView);

load();
compare();
