// The network playground: a small network learns a 2D toy dataset on the server; its decision surface,
// curves and diagnostics update live. One run (the network in the editor), or the seed's comparison:
// a linear model beside it, on the same data with the same training settings.

import { clamp, debounce, h, hideBanner, messageOf, PALETTE, paramControl, pct, postJSON, showBanner, T, throttled, UrlState } from "./common.js";
import { configFromStart, describeNetwork, normalizeConfig, readPage, recipe, settings, trainBody, trainSize } from "./run_config.js";
import { ConfigForm, liveSender } from "./run_form.js";
import { RunSession } from "./run_stream.js";
import { CONFIG, keepSized } from "./run_figures.js";
import { curveControls, lossAndAccuracyControls } from "./charts.js";
import { curveFigures, diagnosticsFigures } from "./playground_figures.js";
import { surfaceFigure } from "./playground_surface.js";
import { OWN, OwnData } from "./playground_own.js";

const cat = readPage();
const $ = (id) => document.getElementById(id);
const app = $("app");
const SURFACE = 50; // decision-surface grid points per axis
const THROTTLE = 0.01; // least seconds between evaluations: a toy network trains hundreds of epochs a second
const VIEWS = ["heatmap", "3d"];

/** The page's start: moons, 2-16-16-2 with ReLU, Adam η 0.01 (the training schema's playground recipe). */
const DEFAULTS = recipe(cat, "playground");
/** The seed's comparison: moons, a ReLU-then-sigmoid network against a linear one, plain SGD. */
const SEED_COMPARISON = recipe(cat, "seed_moons");

// own points are used as given (not standardized): the surface the network draws lies over them
const dataDefaults = (name) => settings(cat.datasets[name].params, name === OWN ? { standardize: 0 } : {});
const HIDDEN_DATA_PARAMS = { [OWN]: ["standardize"] };

const FIELDS = new UrlState([
  ...cat.fields.filter((f) => f.name !== "eval_train_size"),
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
  const changedData = c.dataset !== state.dataset || c.data_id !== state.data_id || JSON.stringify(c.data) !== JSON.stringify(state.data);
  const ownData = c.dataset === OWN && c.data_id !== own.info?.id;
  Object.assign(state, normalizeConfig(c, DEFAULTS, cat, dataDefaults));
  buildForm();
  if (ownData) own.restore(state.data_id);
  else if (changedData) loadPoints();
  saveUrl();
}

async function startRuns() {
  hideBanner();
  if (state.dataset === OWN) {
    if (!(await own.ensureStored())) return renderStatus(); // it says why
    fitBatchSize();
    saveUrl();
  }
  await stopRuns();
  const body = trainBody(cat, state, { surface: SURFACE, throttle: THROTTLE, ...(state.dataset === OWN ? { data_id: state.data_id } : {}) });
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

const own = new OwnData(cat, state, {
  changed: (resized) => {
    if (state.dataset !== OWN) return;
    if (resized) fitBatchSize();
    if (own.drawMode && state.view === "3d") {
      state.view = "heatmap";
      for (const card of cards) Plotly.purge(card.plot);
    }
    saveUrl();
    loadPoints();
    renderStatus();
  },
  train: () => startRuns(),
  stored: saveUrl,
  datasetPoints: (name) => postJSON("/api/datasets/points", { dataset: name, data: dataDefaults(name) }),
});

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

function onLive(values) {
  saveUrl();
  if (main.live) sendLive(values);
}

const form = new ConfigForm(cat, state, {
  onRestart: () => {
    own.render(); // a regression needs loss MSE
    restart();
  },
  onLive,
  trainingParams: ["batch_size", "epochs", "patience", "seed"],
});
const sendLive = liveSender(form, sessions);

let dataControls = {};
function buildDataControls() {
  const ds = cat.datasets[state.dataset];
  $("dataset").value = ds.name;
  $("dataset-note").textContent = ds.name === OWN ? "Draw points on the plot, start from a built-in set, or upload a CSV." : `${ds.description}; ${ds.classes.length} classes`;
  own.render();
  dataControls = {};
  const hidden = HIDDEN_DATA_PARAMS[ds.name] ?? [];
  $("data-params").replaceChildren(
    ...ds.params.filter((p) => !hidden.includes(p.name)).map((p) => {
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

/** The batch size may not exceed the training set. */
function fitBatchSize() {
  state.batch_size = clamp(state.batch_size, 1, trainSize(cat, state.dataset, state.data));
  form.training($("training-group"));
}

function dataChanged() {
  fitBatchSize();
  loadPointsSoon();
  restart();
}

$("dataset").addEventListener("change", () => {
  state.dataset = $("dataset").value;
  state.data = dataDefaults(state.dataset);
  state.data_id = state.dataset === OWN ? (own.info?.id ?? null) : null;
  if (state.dataset !== OWN) own.setDrawMode(false);
  buildDataControls();
  dataChanged();
});

// The comparison sets the user's own settings and run aside (paused, still watched) and gives them
// back as they were. Clicks while it switches only change where it ends up: one switch at a time.
let setAside = null; // {config, session, wasRunning}
let wantCompare = state.compare;
let switching = false;

const configOf = (s) => structuredClone(Object.fromEntries(cat.fields.map((f) => [f.name, s[f.name]])));

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
  const drawing = state.dataset === OWN && own.drawMode;
  for (const radio of document.querySelectorAll("input[name=view]")) {
    radio.checked = radio.value === state.view;
    radio.disabled = drawing && radio.value === "3d";
    radio.parentElement.title = radio.disabled ? "Points are drawn on the heatmap" : "";
  }
  $("show-test").checked = state.showTest;
  $("show-test").disabled = state.dataset === OWN;
  $("show-test").parentElement.title = state.dataset === OWN ? "Your points are shown whole: the server splits them (test fraction, seed) when it trains" : "";
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
  if (state.dataset === OWN) {
    pointsRequest = null;
    points = own.points();
    renderClassKey();
    dirty.surfaces = true;
    render();
    return;
  }
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
  if (points?.regression) {
    $("class-key").replaceChildren(h("span.shade", {}, "colour: the target (points) and the network's prediction (surface), on one scale"));
    return;
  }
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

function drawCard(card) {
  const data = card.session.data;
  const surface = data.latest?.surface ?? null;
  card.empty.hidden = Boolean(surface) || card.session.status !== "idle";
  card.empty.textContent = card.session.logged
    ? "From the run log: its curves only (its weights were not kept). Press Train to train this network again."
    : "Press Train: the surface shows the predicted class, its shade the probability.";
  const drawing = state.dataset === OWN && card.key === "main";
  if (drawing) card.empty.hidden ||= own.drawMode || Boolean(points?.x_train.length);
  const range = drawing && (own.drawMode || !surface) ? own.box : null;
  const [traces, layout] = surfaceFigure(surface, points, { is3d: state.view === "3d", showTest: state.showTest && !drawing, range });
  if (drawing && own.drawMode) layout.dragmode = false;
  Plotly.react(card.plot, traces, layout, { ...CONFIG, displayModeBar: false });
  if (drawing) own.attach(card.plot);
  card.plot.classList.toggle("drawing", drawing && own.drawMode);
  card.drawn = data.latest?.step ?? null;
}

function renderSurfaces() {
  for (const card of cards) {
    drawCard(card);
    const data = card.session.data;
    const latest = data.evals.at(-1);
    const r2 = Boolean(data.start?.regression);
    const score = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));
    card.metrics.textContent = !latest ? "" : r2 ? `R² train ${score(latest.train_r2)} · test ${score(latest.test_r2)}` : `train ${pct(latest.train_accuracy)} · test ${pct(latest.test_accuracy)}`;
    card.metrics.title = r2 ? "R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² at the latest evaluation" : "accuracy at the latest evaluation";
    const s = card.key === "linear" ? { ...state, hidden: [] } : state;
    const regression = r2 || Boolean(points?.regression);
    const classes = points?.classes.length || cat.datasets[state.dataset].classes.length;
    card.network.textContent = describeNetwork(cat, regression ? { ...s, output: "linear" } : s, 2, regression ? 1 : classes);
  }
}

// --- curves ------------------------------------------------------------------------------------------------

function renderCurves() {
  const runs = state.compare
    ? [
        [linear, "linear", "linear"],
        [main, "main", "nonlinear"],
      ]
    : [[main, "main", ""]];
  const regression = Boolean(main.data.start?.regression ?? points?.regression);
  const view = { smoothing: state.smoothing, logY: state.logY, accuracySmoothing: accuracyView.value.smoothing, accuracyLog: accuracyView.value.log, epochs: state.epochs, regression };
  const { loss, accuracy } = curveFigures(runs, main, view);
  Plotly.react($("loss-plot"), ...loss, CONFIG);
  Plotly.react($("accuracy-plot"), ...accuracy, CONFIG);
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

function renderDiagnostics() {
  if (!$("diagnostics-panel").offsetParent) return; // not shown: drawn when its tab opens
  const data = main.data;
  const hidden = data.start?.config.hidden.length ?? state.hidden.length;
  const figures = diagnosticsFigures(data, hidden, cat.activations, gradView.value, deadView.value);
  for (const name of ["grad", "dead", "weights", "activations"]) Plotly.react($(`${name}-plot`), ...figures[name], CONFIG);
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
  const ownReady = state.dataset !== OWN || main.live || own.readiness().ok;
  $("play").disabled = s === "starting" || s === "running" || !ownReady;
  $("play").title = ownReady ? "Start a run, or resume a paused one" : own.readiness().reason;
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
if (state.dataset === OWN) own.restore(state.data_id);
else loadPoints();
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
  const perEpoch = (c) => Math.ceil(trainSize(cat, c.dataset, { ...dataDefaults(c.dataset), ...c.data }) / c.batch_size);
  const shown = await main.openLogged(id, (name) => Boolean(cat.datasets[name]), perEpoch);
  if (shown === null) return;
  if (!shown) showBanner(`Run #${id} is not in the run log (any more): here are its settings from the link. Press Train to train it.`);
  saveUrl();
  if (!shown) return;
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
  own,
};
