// The network playground: a small network learns a 2D toy dataset on the server; its decision surface,
// curves and diagnostics update live. One run (the network in the editor), or the seed's comparison:
// a linear model beside it, on the same data with the same training settings.

import {
  debounce,
  h,
  hideBanner,
  messageOf,
  MUTED,
  PALETTE,
  paramControl,
  pct,
  postJSON,
  showBanner,
  T,
  throttled,
  UrlState,
} from "./common.js";
import {
  CONFIG_FIELDS,
  configFromStart,
  describeNetwork,
  normalizeConfig,
  readPage,
  settings,
  trainBody,
  trainSize,
} from "./run_config.js";
import { ConfigForm } from "./run_form.js";
import { RunSession } from "./run_stream.js";
import {
  axis,
  CONFIG,
  endMarks,
  epochRange,
  FONT,
  histogramTrace,
  keepSized,
  smallLayout,
} from "./run_figures.js";
import { changeMarks, curveControls, lossAndAccuracyControls, smooth, smoothedPair, valueAxis } from "./charts.js";

const cat = readPage();
const $ = (id) => document.getElementById(id);
const app = $("app");
const SURFACE = 50; // decision-surface grid points per axis
const THROTTLE = 0.01; // least seconds between evaluations: a toy network trains hundreds of epochs a second
const VIEWS = ["heatmap", "3d"];

const DEFAULTS = {
  dataset: "moons",
  hidden: [
    { width: 16, activation: "relu" },
    { width: 16, activation: "relu" },
  ],
  output: "softmax",
  loss: "cross_entropy",
  init: "he",
  output_init: "xavier",
  norm: "none",
  dropout: 0,
  optimizer: "adam",
  hyper: { lr: 0.01 },
  schedule: "constant",
  batch_size: 16,
  epochs: 200,
  l1: 0,
  l2: 0,
  max_norm: 0,
  patience: 0,
  eval_every: 0,
  eval_train_size: 0,
  seed: 0,
};

/** The seed's comparison: moons, a ReLU-then-sigmoid network against a linear one, plain SGD. */
const SEED_COMPARISON = {
  dataset: "moons",
  hidden: [
    { width: 16, activation: "relu" },
    { width: 16, activation: "sigmoid" },
  ],
  output: "softmax",
  loss: "cross_entropy",
  init: "he",
  output_init: "xavier",
  norm: "none",
  dropout: 0,
  optimizer: "sgd",
  hyper: { lr: 0.1 },
  schedule: "constant",
  batch_size: 16,
  epochs: 200,
  l1: 0,
  l2: 0,
  max_norm: 0,
  patience: 0,
};

const dataDefaults = (name) => settings(cat.datasets[name].params);

const FIELDS = new UrlState([
  ...CONFIG_FIELDS.filter((f) => f.name !== "eval_train_size"),
  { name: "showTest", key: "test", type: T.bool },
  { name: "view", key: "view", type: T.string },
  { name: "compare", key: "cmp", type: T.bool },
  { name: "run", key: "run", type: T.string },
  { name: "run2", key: "run2", type: T.string, when: (s) => s.compare },
  { name: "logged", key: "log", type: T.int, when: (s) => Boolean(s.logged) },
  { name: "smoothing", key: "smooth", type: T.number, when: (s) => s.smoothing !== SMOOTHING },
  { name: "logY", key: "logy", type: T.bool, when: (s) => !s.logY },
]);
const SMOOTHING = 0.6; // TensorBoard's default

const raw = FIELDS.deserialize(location.search);
const state = normalizeConfig(raw, DEFAULTS, cat, dataDefaults);
Object.assign(state, {
  showTest: raw.showTest ?? true,
  view: VIEWS.includes(raw.view) ? raw.view : "heatmap",
  compare: raw.compare ?? false,
  run: null,
  run2: null,
  logged: null,
  smoothing: raw.smoothing >= 0 && raw.smoothing < 1 ? raw.smoothing : SMOOTHING,
  logY: raw.logY ?? true,
});

/** The link: this configuration, the view and the runs shown. */
const saveUrl = FIELDS.autosave(() => Object.assign(state, { run: main.id, logged: main.logged, run2: state.compare ? linear.id : null }));

// --- runs ------------------------------------------------------------------------------------------------

const dirty = { surfaces: true, curves: true, diagnostics: true };
const onEvent = (session) => (type, event) => {
  if (session !== main && session !== linear) return; // the user's own run, set aside while the comparison shows
  if (type === "start" && session === main) syncFromRun(event);
  if (type === "control" && event.action === "set" && session === main) form.setLive(event.values);
  if (type === "history" && session === main) form.setLive(session.data.settings());
  if (type === "diverged" || type === "error") showBanner(`${session === linear ? "Linear model: " : ""}${event.message}`);
  dirty.surfaces = dirty.curves = dirty.diagnostics = true;
  render();
};
function newSession() {
  const session = new RunSession({ onEvent: (t, e) => onEvent(session)(t, e), onChange: () => renderStatus() });
  return session;
}
let main = newSession(); // the run shown (in the comparison: the nonlinear model)
const linear = newSession();
const sessions = () => (state.compare ? [main, linear] : [main]);

/** A reload, a second tab or a shared link: show the run's own configuration. */
function syncFromRun(start) {
  const c = configFromStart(start);
  const changedData = c.dataset !== state.dataset || JSON.stringify(c.data) !== JSON.stringify(state.data);
  Object.assign(state, normalizeConfig(c, DEFAULTS, cat, dataDefaults));
  buildForm();
  if (changedData) loadPoints();
  saveUrl();
}

async function startRuns() {
  hideBanner();
  await stopRuns();
  const body = trainBody(state, { surface: SURFACE, throttle: THROTTLE });
  try {
    await main.create(body);
    if (state.compare) await linear.create({ ...body, hidden: [] });
  } catch (e) {
    showBanner(`Could not start: ${messageOf(e)}`);
  }
  saveUrl();
  dirty.surfaces = dirty.curves = dirty.diagnostics = true;
  render();
}

/** Stop and forget the page's runs (other tabs watching them see them stop). */
async function stopRuns() {
  const live = [main, linear].filter((s) => s.live);
  const stops = live.map((s) => s.control("stop").catch(() => {}));
  main.detach();
  linear.detach();
  await Promise.all(stops);
}

async function controlAll(action) {
  hideBanner();
  try {
    await Promise.all(sessions().map((s) => s.control(action)));
  } catch (e) {
    showBanner(`${action}: ${messageOf(e)}`);
  }
}

$("play").addEventListener("click", () => {
  if (main.live && main.data.status === "paused") controlAll("resume");
  else if (!main.live && main.status !== "starting") startRuns();
});
$("pause").addEventListener("click", () => controlAll("pause"));
$("step").addEventListener("click", () => controlAll("step"));
$("reset").addEventListener("click", async () => {
  hideBanner();
  await stopRuns();
  saveUrl();
  dirty.surfaces = dirty.curves = dirty.diagnostics = true;
  render();
  renderStatus();
});

// --- settings ----------------------------------------------------------------------------------------------

/** A change that needs a new network: stop the old run; start again if it was training. */
const restart = debounce(async () => {
  const wasTraining = main.status === "running" || main.status === "starting";
  saveUrl();
  if (wasTraining) await startRuns();
  else if (main.id) {
    await stopRuns();
    saveUrl();
    dirty.surfaces = dirty.curves = dirty.diagnostics = true;
    render();
  }
}, 250);

const pendingLive = {};
const sendLive = debounce(async () => {
  const values = { ...pendingLive };
  for (const k of Object.keys(pendingLive)) delete pendingLive[k];
  const names = Object.keys(values);
  form.setError(names, "");
  try {
    await Promise.all(sessions().map((s) => s.setHyper(values)));
  } catch (e) {
    form.setError(names, messageOf(e));
  }
}, 120);

function onLive(values) {
  saveUrl();
  if (!main.live) return;
  Object.assign(pendingLive, values);
  sendLive();
}

const form = new ConfigForm(cat, state, {
  onRestart: () => restart(),
  onLive,
  trainingParams: ["batch_size", "epochs", "patience", "seed"],
});

let dataControls = {};
function buildDataControls() {
  const ds = cat.datasets[state.dataset];
  $("dataset").value = ds.name;
  $("dataset-note").textContent = `${ds.description}; ${ds.classes.length} classes`;
  dataControls = {};
  $("data-params").replaceChildren(
    ...ds.params.map((p) => {
      const param = p.name === "seed" ? { ...p, label: "data seed", high: 1e6 } : p;
      dataControls[p.name] = paramControl(param, state.data[p.name], (v) => {
        state.data[p.name] = v;
        dataChanged();
      });
      return dataControls[p.name].el;
    }),
  );
}

function buildForm() {
  buildDataControls();
  form.network($("network-group"));
  form.optimizer($("optimizer-group"));
  form.regularization($("regularization-group"));
  form.training($("training-group"));
  syncViewControls();
}

function dataChanged() {
  // the batch size may not exceed the training set
  form.training($("training-group"));
  state.batch_size = form.controls.batch_size.value;
  loadPointsSoon();
  restart();
}

$("dataset").addEventListener("change", () => {
  state.dataset = $("dataset").value;
  state.data = dataDefaults(state.dataset);
  buildDataControls();
  dataChanged();
});

// The comparison sets the user's own settings and run aside (paused, still watched) and gives them
// back as they were. Clicks while it switches only change where it ends up: one switch at a time.
let setAside = null; // {config, session, wasRunning}
let wantCompare = state.compare;
let switching = false;

const configOf = (s) => structuredClone(Object.fromEntries(CONFIG_FIELDS.map((f) => [f.name, s[f.name]])));

async function enterComparison() {
  const wasRunning = main.status === "running";
  if (wasRunning) await main.control("pause").catch(() => {});
  setAside = { config: configOf(state), session: main, wasRunning };
  main = newSession();
  Object.assign(state, normalizeConfig({ ...SEED_COMPARISON, data: dataDefaults("moons") }, DEFAULTS, cat, dataDefaults));
  state.compare = true;
  buildForm();
  buildSurfaceCards();
  loadPoints();
  await startRuns();
}

async function leaveComparison() {
  await stopRuns();
  state.compare = false;
  if (setAside) {
    const { config, session, wasRunning } = setAside;
    setAside = null;
    main = session;
    Object.assign(state, config);
    if (wasRunning && main.data.status === "paused") await main.control("resume").catch(() => {});
  }
  buildForm();
  buildSurfaceCards();
  loadPoints();
  saveUrl();
  dirty.surfaces = dirty.curves = dirty.diagnostics = true;
  render();
}

async function switchComparison() {
  if (switching) return;
  switching = true;
  try {
    while (wantCompare !== state.compare) await (wantCompare ? enterComparison() : leaveComparison());
  } finally {
    switching = false;
    renderStatus();
  }
}

$("compare").addEventListener("click", () => {
  wantCompare = !wantCompare;
  syncViewControls();
  switchComparison();
});

function syncViewControls() {
  for (const radio of document.querySelectorAll("input[name=view]")) radio.checked = radio.value === state.view;
  $("show-test").checked = state.showTest;
  $("compare").setAttribute("aria-pressed", String(wantCompare));
  $("compare").textContent = wantCompare ? (setAside ? "Back to my run" : "Back to one run") : "Linear vs nonlinear (seed)";
}

for (const radio of document.querySelectorAll("input[name=view]")) {
  radio.addEventListener("change", () => {
    state.view = radio.value;
    for (const card of cards) Plotly.purge(card.plot);
    saveUrl();
    dirty.surfaces = true;
    render();
  });
}
$("show-test").addEventListener("change", () => {
  state.showTest = $("show-test").checked;
  saveUrl();
  dirty.surfaces = true;
  render();
});

// --- the data points -----------------------------------------------------------------------------------

let points = null; // {x_train, y_train, x_test, y_test, classes} of the current dataset
let pointsRequest = null;

async function loadPoints() {
  const request = { dataset: state.dataset, data: { ...state.data } };
  pointsRequest = request;
  try {
    const answer = await postJSON("/api/datasets/points", request);
    if (pointsRequest !== request) return;
    points = answer;
    renderClassKey();
    dirty.surfaces = true;
    render();
  } catch (e) {
    showBanner(`Could not load the data: ${messageOf(e)}`);
  }
}
const loadPointsSoon = debounce(loadPoints, 200);

function renderClassKey() {
  const names = points?.classes ?? cat.datasets[state.dataset].classes;
  $("class-key").replaceChildren(
    ...names.map((name, k) => h("span.class", {}, h("span.dot", { style: `background:${PALETTE[k]}` }), name)),
    h("span.class", { title: "test points have a dark outline" }, h("span.dot.test"), "test point"),
    h("span.shade", {}, "colour: the predicted class; its strength: the probability"),
  );
}

// --- surfaces ----------------------------------------------------------------------------------------------

let cards = [];

function buildSurfaceCards() {
  for (const card of cards) Plotly.purge(card.plot);
  const specs = state.compare
    ? [
        { session: linear, key: "linear", title: "Linear model (no hidden layer)" },
        { session: main, key: "main", title: "Nonlinear model" },
      ]
    : [{ session: main, key: "main", title: "Decision surface" }];
  cards = specs.map((spec) => {
    const plot = h("div.plot.surface-plot", { id: `surface-${spec.key}` });
    const network = h("span.network");
    const metrics = h("span.metrics", { dataset: { metric: spec.key } });
    const empty = h("p.empty", {}, "Press Train: the surface shows the predicted class, its shade the probability.");
    const el = h("article.panel.surface-card", { dataset: { key: spec.key } }, h("header", {}, h("h2", {}, spec.title), network, metrics), h("div.plot-box", {}, plot, empty));
    return { ...spec, el, plot, network, metrics, empty, drawn: null };
  });
  $("surfaces").replaceChildren(...cards.map((c) => c.el));
  for (const card of cards) keepSized(card.plot);
  $("surfaces").classList.toggle("two", cards.length > 1);
}

const IMAGE = 240; // pixels per side of the drawn surface (bilinear between the grid's points)

/**
 * The decision surface as an image: at each pixel the class probabilities are interpolated
 * (bilinear) from the grid, the colour is the predicted class's, and its strength the confidence
 * (white where the classes tie, full colour at probability 1).
 */
function surfaceImage(surface) {
  const probs = surface.probabilities;
  const K = probs.length;
  const nx = surface.x.length;
  const ny = surface.y.length;
  const rgb = PALETTE.slice(0, K).map((hex) => {
    const n = Number.parseInt(hex.slice(1), 16);
    return [n >> 16, (n >> 8) & 255, n & 255];
  });
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = IMAGE;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(IMAGE, IMAGE);
  const p = new Float64Array(K);
  for (let py = 0; py < IMAGE; py++) {
    const fy = ((IMAGE - 1 - py) / (IMAGE - 1)) * (ny - 1); // row 0 is the top: the largest y
    const i0 = Math.min(ny - 2, Math.floor(fy));
    const ty = fy - i0;
    for (let px = 0; px < IMAGE; px++) {
      const fx = (px / (IMAGE - 1)) * (nx - 1);
      const j0 = Math.min(nx - 2, Math.floor(fx));
      const tx = fx - j0;
      let best = 0;
      for (let k = 0; k < K; k++) {
        const g = probs[k];
        const top = g[i0][j0] * (1 - tx) + g[i0][j0 + 1] * tx;
        const bottom = g[i0 + 1][j0] * (1 - tx) + g[i0 + 1][j0 + 1] * tx;
        p[k] = top * (1 - ty) + bottom * ty;
        if (p[k] > p[best]) best = k;
      }
      // outputs other than softmax (linear, tanh, …) are no probabilities: clamp what shows
      const confidence = Math.min(1, Math.max(0, (p[best] - 1 / K) / (1 - 1 / K)));
      const a = 0.06 + 0.64 * confidence;
      const o = 4 * (py * IMAGE + px);
      image.data[o] = 255 + (rgb[best][0] - 255) * a;
      image.data[o + 1] = 255 + (rgb[best][1] - 255) * a;
      image.data[o + 2] = 255 + (rgb[best][2] - 255) * a;
      image.data[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  const [x0, x1, y0, y1] = [surface.x[0], surface.x.at(-1), surface.y[0], surface.y.at(-1)];
  return { source: canvas.toDataURL("image/png"), xref: "x", yref: "y", x: x0, y: y1, sizex: x1 - x0, sizey: y1 - y0, sizing: "stretch", xanchor: "left", yanchor: "top", layer: "below" };
}

let pointCache = { key: null, traces: [] };

/** The data as scatter traces, one per class and split (cached: the same objects keep Plotly from redrawing them). */
function pointTraces(is3d, K) {
  if (!points) return [];
  const key = `${is3d}|${state.showTest}|${K}`;
  if (pointCache.points === points && pointCache.key === key) return pointCache.traces;
  pointCache = { points, key, traces: buildPointTraces(is3d, K) };
  return pointCache.traces;
}

function buildPointTraces(is3d, K) {
  const traces = [];
  const sets = [["train", points.x_train, points.y_train]];
  if (state.showTest) sets.push(["test", points.x_test, points.y_test]);
  for (const [kind, xs, ys] of sets) {
    for (let k = 0; k < points.classes.length; k++) {
      const x = [];
      const y = [];
      for (let i = 0; i < ys.length; i++) {
        if (ys[i] !== k) continue;
        x.push(xs[i][0]);
        y.push(xs[i][1]);
      }
      const marker = {
        color: PALETTE[k],
        size: is3d ? 2.5 : kind === "train" ? 5.5 : 6.5,
        line: kind === "train" ? { color: "#fff", width: 0.7 } : { color: "#111827", width: 1.4 },
      };
      const name = `${points.classes[k]} (${kind})`;
      if (is3d) {
        const z = new Array(x.length).fill(K === 2 ? k : 1);
        traces.push({ type: "scatter3d", mode: "markers", x, y, z, name, marker: { ...marker, line: undefined, opacity: kind === "train" ? 0.9 : 0.6 }, hoverinfo: "name" });
      } else {
        traces.push({ type: "scatter", mode: "markers", x, y, name, marker, hovertemplate: `${name}<br>x %{x:.2f}, y %{y:.2f}<extra></extra>` });
      }
    }
  }
  return traces;
}

function bounds() {
  const all = points ? [...points.x_train, ...points.x_test] : [[-1, -1], [1, 1]];
  const lo = [Math.min(...all.map((p) => p[0])), Math.min(...all.map((p) => p[1]))];
  const hi = [Math.max(...all.map((p) => p[0])), Math.max(...all.map((p) => p[1]))];
  const pad = [(hi[0] - lo[0]) / 10, (hi[1] - lo[1]) / 10];
  return [
    [lo[0] - pad[0], hi[0] + pad[0]],
    [lo[1] - pad[1], hi[1] + pad[1]],
  ];
}

/** Whether the outputs lie in [0, 1] (softmax, sigmoid); a linear or tanh output may not. */
function probabilityLike(surface) {
  return !surface || surface.probabilities.every((g) => g.every((row) => row.every((v) => v >= 0 && v <= 1)));
}

function surface3d(surface) {
  const K = surface.probabilities.length;
  const ny = surface.y.length;
  const nx = surface.x.length;
  if (K === 2) {
    return {
      type: "surface",
      x: surface.x,
      y: surface.y,
      z: surface.probabilities[1],
      cmin: 0,
      cmax: 1,
      colorscale: [
        [0, PALETTE[0]],
        [0.5, "#ffffff"],
        [1, PALETTE[1]],
      ],
      showscale: false,
      opacity: 0.92,
      hovertemplate: `P(${points?.classes[1] ?? "class 2"}) = %{z:.1%}<extra></extra>`,
    };
  }
  const z = [];
  const color = [];
  for (let i = 0; i < ny; i++) {
    z.push([]);
    color.push([]);
    for (let j = 0; j < nx; j++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (surface.probabilities[k][i][j] > surface.probabilities[best][i][j]) best = k;
      z[i].push(surface.probabilities[best][i][j]);
      color[i].push(best);
    }
  }
  const scale = [];
  for (let k = 0; k < K; k++) scale.push([k / K, PALETTE[k]], [(k + 1) / K, PALETTE[k]]);
  return { type: "surface", x: surface.x, y: surface.y, z, surfacecolor: color, cmin: 0, cmax: K, colorscale: scale, showscale: false, opacity: 0.92, hovertemplate: "max probability %{z:.1%}<extra></extra>" };
}

function drawCard(card) {
  const data = card.session.data;
  const surface = data.latest?.surface ?? null;
  const K = points?.classes.length ?? 2;
  const is3d = state.view === "3d";
  const [xr, yr] = surface ? [[surface.x[0], surface.x.at(-1)], [surface.y[0], surface.y.at(-1)]] : bounds();
  card.empty.hidden = Boolean(surface) || card.session.status !== "idle";
  card.empty.textContent = card.session.logged
    ? "From the run log: its curves only (its weights were not kept). Press Train to train this network again."
    : "Press Train: the surface shows the predicted class, its shade the probability.";
  let traces;
  let layout;
  if (is3d) {
    traces = [...(surface ? [surface3d(surface)] : []), ...pointTraces(true, K)];
    layout = {
      font: FONT,
      margin: { l: 0, r: 0, t: 0, b: 0 },
      showlegend: false,
      uirevision: "3d",
      scene: {
        xaxis: { title: { text: "x" }, range: xr },
        yaxis: { title: { text: "y" }, range: yr },
        zaxis: { title: { text: K === 2 ? `P(${points?.classes[1] ?? "class 2"})` : "max P" }, ...(probabilityLike(surface) ? { range: [0, 1.05] } : {}) },
        aspectmode: "manual",
        aspectratio: { x: 1, y: 1, z: 0.6 },
        camera: { eye: { x: -1.3, y: -1.5, z: 1.0 } },
      },
    };
  } else {
    traces = pointTraces(false, K);
    layout = {
      images: surface ? [surfaceImage(surface)] : [],
      font: FONT,
      margin: { l: 34, r: 8, t: 6, b: 26 },
      showlegend: false,
      uirevision: "2d",
      hovermode: "closest",
      xaxis: axis("", { range: xr, zeroline: false, showgrid: false, ticks: "outside", ticklen: 3 }),
      yaxis: axis("", { range: yr, zeroline: false, showgrid: false, ticks: "outside", ticklen: 3, scaleanchor: "x", scaleratio: 1, constrain: "domain" }),
      plot_bgcolor: "#fff",
    };
    layout.xaxis.constrain = "domain";
  }
  Plotly.react(card.plot, traces, layout, { ...CONFIG, displayModeBar: false });
  card.drawn = data.latest?.step ?? null;
}

function renderSurfaces() {
  for (const card of cards) {
    drawCard(card);
    const data = card.session.data;
    const latest = data.evals.at(-1);
    card.metrics.textContent = latest ? `train ${pct(latest.train_accuracy)} · test ${pct(latest.test_accuracy)}` : "";
    card.metrics.title = "accuracy at the latest evaluation";
    const s = card.key === "linear" ? { ...state, hidden: [] } : state;
    const classes = points?.classes.length ?? cat.datasets[state.dataset].classes.length;
    card.network.textContent = describeNetwork(cat, s, 2, classes);
  }
}

// --- curves ------------------------------------------------------------------------------------------------

const RUN_COLORS = { main: "#0072B2", linear: "#D55E00" };

/** Indices of every k-th point, so that at most ~max remain (the last one always kept). */
function every(n, max) {
  const k = Math.max(1, Math.ceil(n / max));
  const out = [];
  for (let i = 0; i < n; i += k) out.push(i);
  if (n && out.at(-1) !== n - 1) out.push(n - 1);
  return out;
}

function curveTraces(session, key, label) {
  const data = session.data;
  const color = RUN_COLORS[key];
  const testColor = label ? color : "#D55E00";
  const per = data.start?.steps_per_epoch ?? 1;
  const evals = data.evals;
  const epoch = evals.map((e) => e.epoch);
  const prefix = label ? `${label}: ` : "";
  const mode = evals.length < 30 ? "lines+markers" : "lines"; // a lone point shows too
  const w = state.smoothing;
  // the per-step batch loss: smoothed whole, then thinned to about 1,500 points
  const smoothed = smooth(data.loss, w);
  const keep = every(data.step.length, 1500);
  const sx = keep.map((i) => data.step[i] / per);
  const batch = { name: `${prefix}batch`, line: { color, width: 1 }, opacity: 0.5, showlegend: !label, hovertemplate: `${prefix}batch %{y:.4g}<extra></extra>` };
  const logged = Boolean(session.logged);
  const trainLoss = evals.map((e) => e.train_loss);
  const testLoss = evals.map((e) => e.test_loss);
  const acc = (k) => evals.map((e) => (e[k] === null || e[k] === undefined ? null : 100 * e[k]));
  const a = accuracyView.value.smoothing;
  return {
    loss: [
      ...smoothedPair(sx, keep.map((i) => data.loss[i]), w, batch, keep.map((i) => smoothed[i])),
      ...(logged ? [] : smoothedPair(epoch, trainLoss, w, { mode, name: `${prefix}train`, line: { color, width: 2 }, marker: { size: 4 } })),
      ...(logged ? [] : smoothedPair(epoch, testLoss, w, { mode, name: `${prefix}test`, line: { color: testColor, width: 2, dash: "dash" }, marker: { size: 4 } })),
    ],
    accuracy: [
      ...smoothedPair(epoch, acc("train_accuracy"), a, { mode, name: `${prefix}train`, line: { color, width: 2 }, marker: { size: 4 } }),
      ...smoothedPair(epoch, acc("test_accuracy"), a, { mode, name: `${prefix}test`, line: { color: testColor, width: 2, dash: "dash" }, marker: { size: 4 } }),
    ],
  };
}

const curveTitle = (text) => ({ text, x: 0.01, xanchor: "left", y: 0.985, yref: "container", yanchor: "top", font: { size: 12 } });
const shown = (traces) => traces.filter((t) => t.meta !== "raw").flatMap((t) => t.y);

function renderCurves() {
  const runs = state.compare
    ? [
        [linear, "linear", "linear"],
        [main, "main", "nonlinear"],
      ]
    : [[main, "main", ""]];
  const loss = [];
  const accuracy = [];
  const shapes = [];
  const annotations = [];
  for (const [session, key, label] of runs) {
    const t = curveTraces(session, key, label);
    loss.push(...t.loss);
    accuracy.push(...t.accuracy);
    const per = session.data.start?.steps_per_epoch ?? 1;
    const marks = endMarks(session.data, (at) => at.epoch ?? at.step / per);
    shapes.push(...marks.shapes);
    annotations.push(...marks.annotations);
  }
  // live changes reach both runs of a comparison alike: the shown run's record places them
  const per = main.data.start?.steps_per_epoch ?? 1;
  const changes = changeMarks(main.data.controls, (step) => step / per);
  shapes.push(...changes.shapes);
  annotations.push(...changes.annotations);
  const ranges = runs.map(([session]) => epochRange(session.data, state.epochs)[1]);
  const x = axis("epoch", { range: [0, Math.max(...ranges)] });
  const lossY = valueAxis(shown(loss), { log: state.logY, maxLabels: 4 });
  const accuracies = shown(accuracy).filter(Number.isFinite);
  const lowest = accuracies.length ? Math.min(100, ...accuracies) : 0; // empty: the whole 0–100 scale
  const accuracyY = accuracyView.value.log ? valueAxis(accuracies, { log: true, robust: false, maxLabels: 4 }) : { range: [Math.max(0, Math.floor(lowest / 10) * 10), 100.5] };
  const margin = { l: 44, r: 10, t: 50, b: 34 };
  Plotly.react($("loss-plot"), loss, smallLayout({ xaxis: x, yaxis: axis(state.logY ? "loss (log scale)" : "loss", lossY), shapes, annotations, title: curveTitle("Loss"), margin }), CONFIG);
  Plotly.react($("accuracy-plot"), accuracy, smallLayout({ xaxis: x, yaxis: axis("accuracy (%)", accuracyY), shapes, annotations, title: curveTitle("Accuracy"), margin }), CONFIG);
}

const { loss: lossView, accuracy: accuracyView } = lossAndAccuracyControls(state, saveUrl, () => {
  dirty.curves = true;
  render();
});
$("loss-plot").before(lossView);
const gradView = curveControls({ smoothing: 0, log: true, label: "Gradient norm", onChange: () => renderDiagnostics() });
const deadView = curveControls({ smoothing: 0, log: false, label: "Dead ReLUs", onChange: () => renderDiagnostics() });
$("grad-plot").before(gradView);
$("dead-plot").before(deadView);
$("accuracy-plot").before(accuracyView);

// --- diagnostics ---------------------------------------------------------------------------------------

const ACTIVATION_NAMES = new Set(cat.activations.map((a) => a.name));

/** The core's layer names in the editor's terms: dense0 → "layer 1", the last dense → "output". */
function layerLabel(name, hidden) {
  const [, kind, index] = name.match(/^([a-z_]+?)(\d+)(?:\.W)?$/) ?? [null, name, ""];
  const i = Number(index);
  if (kind === "dense") return i >= hidden ? "output" : `layer ${i + 1}`;
  if (kind.endsWith("norm")) return `norm ${i + 1}`;
  const act = cat.activations.find((a) => a.name === kind);
  return act ? `${act.label.replace(/ \(.*\)$/, "")} ${i + 1}` : name;
}
const isActivationLayer = (name) => ACTIVATION_NAMES.has(name.replace(/\d+$/, ""));

function renderDiagnostics() {
  if (!$("diagnostics-panel").offsetParent) return; // not shown: drawn when its tab opens
  const data = main.data;
  const hidden = data.start?.config.hidden.length ?? state.hidden.length;
  const byLayer = (key) => {
    const series = new Map();
    for (const d of data.diagnostics) {
      for (const layer of d.layers) {
        if (layer[key] === undefined) continue;
        if (!series.has(layer.layer)) series.set(layer.layer, { x: [], y: [] });
        const s = series.get(layer.layer);
        s.x.push(d.epoch);
        s.y.push(key === "grad_norm" ? (layer[key] > 0 ? layer[key] : null) : 100 * layer[key]);
      }
    }
    return [...series.entries()].map(([name, s], i) => ({ x: s.x, y: s.y, trace: { name: layerLabel(name, hidden), line: { color: PALETTE[i % PALETTE.length], width: 1.6 } } }));
  };
  // each layer's curve, smoothed over its faint raw curve when the plot's smoothing is on
  const curves = (series, view) => series.flatMap(({ x, y, trace }) => smoothedPair(x, y, view.smoothing, trace));
  const layout = (title, yaxis, xtitle = "epoch") =>
    smallLayout({
      title: { text: title, x: 0.01, xanchor: "left", y: 0.985, yref: "container", yanchor: "top", font: { size: 12 } },
      margin: { l: 44, r: 8, t: 50, b: 30 },
      xaxis: axis(xtitle),
      yaxis,
      legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", font: { size: 9 } },
    });
  const gradSeries = byLayer("grad_norm");
  const gradLog = gradView.value.log;
  const gradY = valueAxis(gradSeries.flatMap((t) => t.y), { log: gradLog, robust: false, maxLabels: 4 });
  const grads = curves(gradSeries, gradView.value);
  Plotly.react($("grad-plot"), grads, layout("Gradient norm per layer", axis(gradLog ? "‖∇W‖ (log)" : "‖∇W‖", gradY)), CONFIG);
  const deadSeries = byLayer("dead_fraction");
  const dead = curves(deadSeries, deadView.value);
  const deadY = deadView.value.log ? valueAxis(deadSeries.flatMap((t) => t.y), { log: true, robust: false, maxLabels: 4 }) : { range: [0, 100] };
  const deadLayout = layout("Dead ReLUs", axis(deadView.value.log ? "dead units (%, log)" : "dead units (%)", deadY));
  if (!dead.length) {
    deadLayout.annotations = [{ text: "no ReLU layer", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: MUTED } }];
    deadLayout.xaxis.visible = false;
  }
  Plotly.react($("dead-plot"), dead, deadLayout, CONFIG);
  const diag = data.latest?.diagnostics;
  const weights = Object.entries(diag?.weights ?? {}).map(([name, hist], i) => histogramTrace(hist, layerLabel(name, hidden), PALETTE[i % PALETTE.length]));
  const hist = { hovermode: "closest" };
  Plotly.react($("weights-plot"), weights, { ...layout("Weights", axis("share", { tickformat: ".0%" }), "weight value"), ...hist }, CONFIG);
  const acts = Object.entries(diag?.activations ?? {}).filter(([name]) => isActivationLayer(name));
  const shown = acts.length ? acts : Object.entries(diag?.activations ?? {}).filter(([name]) => name.startsWith("dense"));
  const actTraces = shown.map(([name, h_], i) => histogramTrace(h_, layerLabel(name, hidden), PALETTE[i % PALETTE.length]));
  Plotly.react($("activations-plot"), actTraces, { ...layout("Activations", axis("share", { tickformat: ".0%" }), "output value"), ...hist }, CONFIG);
}

for (const [tab, panel] of [
  ["tab-curves", "curves-panel"],
  ["tab-diagnostics", "diagnostics-panel"],
]) {
  $(tab).addEventListener("click", () => {
    for (const [t, p] of [
      ["tab-curves", "curves-panel"],
      ["tab-diagnostics", "diagnostics-panel"],
    ]) {
      $(t).setAttribute("aria-selected", String(t === tab));
      $(p).classList.toggle("active", p === panel);
    }
    dirty.curves = dirty.diagnostics = true;
    render();
  });
}

// --- status and rendering ----------------------------------------------------------------------------

const STATUS_TEXT = {
  idle: "",
  starting: "starting…",
  running: "training",
  paused: "paused",
  done: "done",
  stopped: "stopped",
  early_stopped: "stopped early",
  diverged: "diverged",
  error: "error",
};

function renderStatus() {
  const s = main.status;
  app.dataset.status = s;
  app.dataset.runs = String(sessions().filter((x) => x.id).length);
  const paused = s === "paused";
  $("play").disabled = s === "starting" || s === "running";
  $("play").querySelector("span").textContent = paused ? "Resume" : main.live ? "Train" : main.id ? "Train again" : "Train";
  $("pause").disabled = s !== "running";
  $("step").disabled = !paused;
  $("reset").disabled = !main.id && s !== "starting";
  const data = main.data;
  const per = data.start?.steps_per_epoch;
  const total = data.start?.config.epochs ?? state.epochs;
  const epoch = per ? data.stepsDone / per : 0;
  $("epoch").textContent = `epoch ${epoch >= 10 || Number.isInteger(epoch) ? Math.floor(epoch) : epoch.toFixed(1)} / ${total} · step ${data.stepsDone.toLocaleString("en-US")}`;
  let text = STATUS_TEXT[s] ?? s;
  if (main.logged) {
    const steps = data.summary?.steps ?? data.stepsDone;
    $("epoch").textContent = `logged run #${main.logged} · ${(data.summary?.epochs ?? epoch).toLocaleString("en-US")} epochs · ${steps.toLocaleString("en-US")} steps`;
    text = `${STATUS_TEXT[data.status] ?? data.status} (from the run log)`;
  }
  if (data.earlyStop) text = `stopped early at epoch ${data.earlyStop.stopped_epoch} (best: ${data.earlyStop.best_epoch})`;
  if (data.diverged) text = data.diverged.message;
  $("run-status").textContent = text;
  $("run-status").title = text;
  $("run-status").dataset.state = s;
  syncViewControls();
}

const surfaceUpdate = () => {
  dirty.surfaces = false;
  renderSurfaces();
};
const drawSurfaces2d = throttled(surfaceUpdate, 100);
const drawSurfaces3d = throttled(surfaceUpdate, 400); // WebGL redraws cost more
const drawSurfaces = () => (state.view === "3d" ? drawSurfaces3d : drawSurfaces2d)();
const drawCurves = throttled(() => {
  dirty.curves = false;
  renderCurves();
}, 200);
const drawDiagnostics = throttled(() => {
  dirty.diagnostics = false;
  renderDiagnostics();
}, 300);

function render() {
  if (dirty.surfaces) drawSurfaces();
  if (dirty.curves) drawCurves();
  if (dirty.diagnostics) drawDiagnostics();
  renderStatus();
}

// --- start -------------------------------------------------------------------------------------------------

for (const id of ["loss-plot", "accuracy-plot", "grad-plot", "dead-plot", "weights-plot", "activations-plot"]) keepSized($(id));
buildForm();
buildSurfaceCards();
renderClassKey();
loadPoints();
{
  const known = (id) => id && cat.runs[id] !== undefined && cat.runs[id] !== null;
  const gone = [raw.run, state.compare ? raw.run2 : null].filter((id) => id && !known(id));
  if (known(raw.run)) main.attach(raw.run);
  if (state.compare && known(raw.run2)) linear.attach(raw.run2);
  if (gone.length && raw.logged) showLogged(raw.logged);
  else if (gone.length) showBanner("The run in this link is no longer on the server (runs live in its memory). Press Train for a new one.");
  else if (!raw.run && raw.logged) showLogged(raw.logged);
}

/** A finished run from the run log (a link from /log): its curves, drawn from the log's record. */
async function showLogged(id) {
  const response = await fetch(`/api/log/${id}`);
  const entry = response.ok ? await response.json() : null;
  if (main.id || main.status === "starting") return; // a run started meanwhile
  if (!entry || entry.kind !== "training" || !cat.datasets[entry.config.dataset]) {
    showBanner(`Run #${id} is not in the run log (any more): here are its settings from the link. Press Train to train it.`);
    saveUrl();
    return;
  }
  const c = entry.config;
  const per = Math.ceil(trainSize(cat, c.dataset, { ...dataDefaults(c.dataset), ...c.data }) / c.batch_size);
  main.showLogged(entry, per);
  saveUrl();
  dirty.surfaces = dirty.curves = dirty.diagnostics = true;
  render();
}
saveUrl();
render();

window.descent = {
  state,
  linear,
  get main() {
    return main; // the comparison swaps it
  },
  get cards() {
    return cards;
  },
  get points() {
    return points;
  },
};
