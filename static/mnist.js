// MNIST / Fashion-MNIST: train the seed's network on the server and watch it learn: progress, the
// per-step loss, accuracy, the confusion matrix, misclassified digits, first-layer weights, and a pad
// to draw a digit for the current model to classify (also while it trains). Save and load models.

import {
  clamp,
  count,
  duration,
  h,
  hideBanner,
  messageOf,
  MUTED,
  paramControl,
  pct,
  plotLayout,
  postJSON,
  showBanner,
  T,
  throttled,
  UrlState,
} from "./common.js";
import {
  configFromStart,
  normalizeConfig,
  readPage,
  recipe,
  settings,
  trainBody,
  trainSize,
} from "./run_config.js";
import { ConfigForm, liveSender } from "./run_form.js";
import { RunSession } from "./run_stream.js";
import {
  axis,
  CONFIG,
  endMarks,
  envelope,
  epochRange,
  FONT,
  keepSized,
  smallLayout,
  thin,
} from "./run_figures.js";
import { changeMarks, lossAndAccuracyControls, smooth, smoothedPair, valueAxis } from "./charts.js";
import { imageViews } from "./mnist_images.js";
import { drawingPad, toMnist } from "./mnist_pad.js";
import { OwnTable } from "./mnist_own.js";
import { dataName, OWN } from "./data_upload.js";

const cat = readPage();
const $ = (id) => document.getElementById(id);
const app = $("app");
const imageSets = cat.datasetList.filter((d) => d.kind === "images");
const SMOOTHING = 0.98; // of the per-step loss: each batch is 16 images, a noisy curve
const firstAvailable = imageSets.find((d) => d.available)?.name ?? "mnist";
/** The page's start: the seed's network and optimizer on a subset (an epoch in seconds on two cores). */
const DEFAULTS = recipe(cat, "mnist_page", { dataset: cat.datasets.mnist?.available ? "mnist" : firstAvailable });
const SUBSET = DEFAULTS.data;
/** The seed's recipe in full: every image (the seed reports 98.03 % test accuracy), evaluated as the page's start is. */
const RECIPE = { ...DEFAULTS, ...cat.recipes.seed_mnist.config };
const dataDefaults = (name) => settings(cat.datasets[name].params, SUBSET);
/** Images (MNIST, Fashion-MNIST): the pad, the gallery and the filters apply; a table of one's own: not. */
const isImages = () => cat.datasets[state.dataset].kind === "images";

const FIELDS = new UrlState([
  ...cat.fields,
  { name: "run", key: "run", type: T.string },
  { name: "logged", key: "log", type: T.int, when: (s) => Boolean(s.logged) },
  { name: "smoothing", key: "smooth", type: T.number, when: (s) => s.smoothing !== SMOOTHING },
  { name: "logY", key: "logy", type: T.bool, when: (s) => !s.logY },
]);
const raw = FIELDS.deserialize(location.search);
const state = normalizeConfig(raw, DEFAULTS, cat, dataDefaults);
Object.assign(state, {
  run: null,
  logged: null,
  smoothing: raw.smoothing >= 0 && raw.smoothing < 1 ? raw.smoothing : SMOOTHING,
  logY: raw.logY ?? true,
});

/** The link: this configuration and the run shown. */
const saveUrl = FIELDS.autosave(() => Object.assign(state, { run: main.id, logged: main.logged }));

// --- the run -------------------------------------------------------------------------------------------

const dirty = { loss: true, accuracy: true, confusion: true, gallery: true };
const rate = []; // [time ms, steps done] over the last few seconds, for steps/s

function onEvent(type, event) {
  const data = main.data;
  if (type === "start") {
    syncFromRun(event);
    rate.length = 0;
    views.clear();
  }
  if (type === "history") form.setLive(data.settings());
  if (type === "steps") {
    rate.push([performance.now(), data.stepsDone]);
    while (rate.length > 2 && rate.at(-1)[0] - rate[0][0] > 4000) rate.shift();
  }
  if (type === "control" && event.action === "set") form.setLive(event.values);
  if (type === "control" && event.action === "pause") {
    rate.length = 0;
    if (isImages()) views.fetchFilters();
  }
  if (type === "eval") {
    dirty.confusion = dirty.gallery = true;
    if (isImages()) {
      views.filtersSoon();
      predictSoon();
    }
  }
  if (type === "diverged" || type === "error") showBanner(event.message);
  if (type === "summary") {
    $("pending-note").hidden = true;
    if (isImages()) {
      views.fetchFilters();
      predictSoon();
    }
  }
  dirty.loss = true;
  if (type !== "steps") dirty.accuracy = true;
  render();
}

const main = new RunSession({ onEvent, onChange: () => statusSoon() });
const views = imageViews(main, () => classNames());
const { predictSoon, renderBars } = drawingPad(main, () => classNames());

/** A reload, another tab or a loaded model: show the run's own configuration. */
function syncFromRun(start) {
  const c = configFromStart(start);
  Object.assign(state, normalizeConfig(c, DEFAULTS, cat, dataDefaults));
  if (state.dataset === OWN && state.data_id !== own.info?.id) own.restore(state.data_id);
  buildForm();
  saveUrl();
}

async function startRun() {
  hideBanner();
  if (state.dataset === OWN && own.problem) return renderStatus(); // it says why
  const old = main.live ? main.id : null;
  if (old) await main.control("stop").catch(() => {});
  try {
    await main.create(trainBody(cat, state));
  } catch (e) {
    showBanner(`Could not start: ${messageOf(e)}`);
  }
  saveUrl();
  resetViews();
}

function resetViews() {
  $("pending-note").hidden = true;
  rate.length = 0;
  views.reset();
  Object.assign(dirty, { loss: true, accuracy: true, confusion: true, gallery: true });
  render();
  if (isImages()) predictSoon();
}

async function control(action) {
  hideBanner();
  try {
    await main.control(action);
  } catch (e) {
    showBanner(`${action}: ${messageOf(e)}`);
  }
}

$("start").addEventListener("click", () => {
  if (main.live && main.data.status === "paused") control("resume");
  else if (!main.live) startRun();
});
$("pause").addEventListener("click", () => control("pause"));
$("stop").addEventListener("click", () => control("stop"));

// --- save and load ---------------------------------------------------------------------------------------

$("load").addEventListener("click", () => $("load-file").click());
$("load-file").addEventListener("change", async () => {
  const file = $("load-file").files[0];
  $("load-file").value = "";
  if (!file) return;
  $("model-error").textContent = "";
  const old = main.live ? main.id : null;
  try {
    await main.upload(file);
    if (old) postJSON(`/api/runs/${encodeURIComponent(old)}/stop`, {}).catch(() => {});
    saveUrl();
    resetViews();
  } catch (e) {
    $("model-error").textContent = `Could not load ${file.name}: ${messageOf(e)}`;
  }
});

// --- settings ----------------------------------------------------------------------------------------------

/** A setting a running job cannot take: say that it waits for the next run. */
function changedForNextRun() {
  saveUrl();
  $("pending-note").hidden = !main.live;
  renderStatus();
}

const own = new OwnTable(cat, state, () => {
  buildForm();
  changedForNextRun();
});

const form = new ConfigForm(cat, state, {
  onRestart: () => {
    own.render(); // a regression needs loss MSE
    changedForNextRun();
  },
  inputs: () => (isImages() ? "784 pixels (28×28)" : own.info ? `${count(own.info.features)} features (${dataName(own.info)})` : "as many as the file's features"),
  onLive: (values) => {
    saveUrl();
    if (main.live) sendLive(values);
  },
  trainingParams: ["batch_size", "epochs", "seed"],
});
const sendLive = liveSender(form, () => [main]);

let dataControls = {};
function buildDataControls() {
  const ds = cat.datasets[state.dataset];
  for (const radio of document.querySelectorAll("input[name=dataset]")) radio.checked = radio.value === ds.name;
  $("dataset-note").textContent = ds.description;
  own.render();
  for (const id of ["draw-card", "wrong-card", "filters-card"]) $(id).hidden = !isImages();
  $("confusion-card").hidden = Boolean(own.active && own.info?.regression);
  state.batch_size = clamp(state.batch_size, 1, trainSize(cat, state.dataset, state.data));
  if (ds.name === OWN) return buildOwnControls(ds);
  $("draw-title").textContent = ds.name === "mnist" ? "Draw a digit" : `Draw (${ds.label})`;
  const missing = $("data-missing");
  missing.hidden = ds.available;
  if (!ds.available) {
    // the remedy names commands in `backticks`: show them as code
    const parts = ds.remedy.split("`").map((text, i) => (i % 2 ? h("code", {}, text) : text));
    missing.replaceChildren(h("strong", {}, `${ds.label} is not on this server.`), " ", ...parts);
  }
  dataControls = {};
  const labels = { train_size: "training images", test_size: "test images", seed: "subset seed" };
  const params = ds.params.map((p) => ({ ...p, label: labels[p.name] ?? p.label, ...(p.name === "seed" ? { high: 1e6 } : {}) }));
  const evalParams = ["eval_every", "eval_train_size"];
  $("data-params").replaceChildren(
    ...params.map((p) => {
      dataControls[p.name] = paramControl(p, state.data[p.name], (v) => {
        state.data[p.name] = v;
        if (p.name === "train_size") {
          form.training($("training-group"));
          state.batch_size = form.controls.batch_size.value;
        }
        changedForNextRun();
      });
      return dataControls[p.name].el;
    }),
    subsetNote(ds),
    h("div", { id: "eval-params" }),
  );
  const evalForm = new ConfigForm(cat, state, { onRestart: changedForNextRun, onLive: () => {}, trainingParams: evalParams });
  evalForm.training($("eval-params"), "Evaluation");
}

/** A table's split: test fraction and seed (sliders), standardization (a checkbox). */
function buildOwnControls(ds) {
  $("data-missing").hidden = true;
  dataControls = {};
  const items = ds.params.map((p) => {
    if (p.name === "standardize") {
      const box = h("input", { type: "checkbox", id: "standardize", checked: Boolean(state.data.standardize) });
      box.addEventListener("change", () => {
        state.data.standardize = box.checked ? 1 : 0;
        changedForNextRun();
      });
      return h("label.check", { title: "each feature scaled to mean 0, standard deviation 1 on the training part" }, box, " standardize the features");
    }
    const param = p.name === "seed" ? { ...p, label: "split seed", high: 1e6 } : p;
    dataControls[p.name] = paramControl(param, state.data[p.name], (v) => {
      state.data[p.name] = v;
      if (p.name === "test_fraction") {
        state.batch_size = clamp(state.batch_size, 1, trainSize(cat, state.dataset, state.data));
        form.training($("training-group"));
      }
      changedForNextRun();
    });
    return dataControls[p.name].el;
  });
  $("data-params").replaceChildren(...items, h("div", { id: "eval-params" }));
  const evalForm = new ConfigForm(cat, state, { onRestart: changedForNextRun, onLive: () => {}, trainingParams: ["eval_every", "eval_train_size"] });
  evalForm.training($("eval-params"), "Evaluation");
}

/** How many images a run uses, said plainly, and one click to the seed's whole recipe. */
function subsetNote(ds) {
  const high = Object.fromEntries(ds.params.map((p) => [p.name, p.high]));
  const { train_size: train, test_size: test } = state.data;
  const full = train === high.train_size && test === high.test_size;
  const sizes = `${count(train)} training / ${count(test)} test images`;
  if (full) return h("p.note.subset-note", { id: "subset-note" }, `${sizes}: all of them, as the seed's recipe trains.`);
  const button = h("button.small", { type: "button", id: "full-recipe", title: `all ${count(high.train_size)} training and ${count(high.test_size)} test images, 784-600-10, SGD η 0.02, batch 16, L2 2e-4, ${RECIPE.epochs} epochs` }, "Use the full recipe");
  button.addEventListener("click", () => {
    const data = { ...state.data, train_size: high.train_size, test_size: high.test_size };
    Object.assign(state, normalizeConfig({ ...RECIPE, dataset: state.dataset, data }, DEFAULTS, cat, dataDefaults));
    buildForm();
    changedForNextRun();
  });
  const needs = ds.name === "mnist" ? "the seed's 98 % test accuracy needs all" : "the seed's recipe uses all";
  return h("p.note.subset-note", { id: "subset-note" }, `${sizes}: a subset, for speed; ${needs} ${count(high.train_size)} for ${RECIPE.epochs} epochs. `, button);
}

function buildForm() {
  buildDataControls();
  form.network($("network-group"));
  form.optimizer($("optimizer-group"));
  form.regularization($("regularization-group"));
  form.training($("training-group"));
  renderStatus();
}

for (const radio of document.querySelectorAll("input[name=dataset]")) {
  radio.addEventListener("change", () => {
    state.dataset = radio.value;
    state.data = dataDefaults(state.dataset);
    state.data_id = state.dataset === OWN ? (own.info?.id ?? null) : null;
    buildForm();
    changedForNextRun();
  });
}

// --- progress and status -------------------------------------------------------------------------------

/** "loaded model: trained 1,250 steps", "loaded model" (a file that does not say), or null. */
function loadedText() {
  const steps = main.loaded?.trained_steps;
  if (!main.loaded) return null;
  return steps === null || steps === undefined ? "loaded model" : `loaded model: trained ${count(steps)} step${steps === 1 ? "" : "s"}`;
}

function stepsPerSecond() {
  if (rate.length < 2) return null;
  const [t0, s0] = rate[0];
  const [t1, s1] = rate.at(-1);
  return t1 > t0 ? ((s1 - s0) * 1000) / (t1 - t0) : null;
}

/** Write only what changed: every DOM write during training costs a frame (style, layout, paint). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

let shownStatus = null;
/** Buttons and progress; at most four times a second, but at once when the status changes. */
function statusSoon() {
  if (main.status !== shownStatus) renderStatus();
  else statusThrottled();
}
const statusThrottled = throttled(() => renderStatus(), 250);

function renderStatus() {
  const s = main.status;
  shownStatus = s;
  const data = main.data;
  const problem = own.active ? own.problem : "";
  const available = cat.datasets[state.dataset].available && !problem;
  setAttr(app, "data-status", s);
  const paused = s === "paused";
  $("start").hidden = !available && !paused;
  $("no-data").hidden = available || paused;
  setText($("no-data"), problem || "No data to train on: see Data on the left.");
  $("start").disabled = s === "starting" || s === "running";
  setText($("start").querySelector("span"), paused ? "Resume" : main.id && !main.live ? "Start again" : "Start");
  $("pause").disabled = s !== "running";
  $("stop").disabled = !main.live;
  const save = $("save");
  if (main.id) setAttr(save, "href", `/api/runs/${encodeURIComponent(main.id)}/model`);
  else save.removeAttribute("href");
  setAttr(save, "aria-disabled", String(!main.id));

  const start = data.start;
  const total = start?.total_steps ?? 0;
  const done = data.stepsDone;
  const share = total ? done / total : 0;
  $("progress-bar").style.transform = `scaleX(${share.toFixed(4)})`; // the compositor moves it: no layout
  setAttr($("progress"), "aria-valuenow", String(Math.round(100 * share)));
  setAttr($("progress"), "data-state", s);
  let text = "not started";
  const loaded = loadedText();
  if (s === "starting") text = "loading the data…";
  else if (main.logged) {
    const steps = data.summary?.steps ?? done;
    text = `logged run #${main.logged}: ${data.status.replace("_", " ")} after ${count(steps)} steps (from the run log: its curves only)`;
  } else if (start) {
    const per = start.steps_per_epoch;
    const epoch = Math.min(start.config.epochs, Math.floor(done / per) + (done < total ? 1 : 0));
    const parts = loaded && done === 0 ? [loaded] : [`epoch ${epoch} / ${start.config.epochs}`, `step ${count(done)} / ${count(total)}`];
    if (loaded && done > 0) parts.push(`from a ${loaded}`);
    const speed = stepsPerSecond();
    if (s === "running" && speed) parts.push(`${count(speed)} steps/s`, `${duration((total - done) / speed)} left`);
    if (s === "paused") parts.push("paused");
    if (data.summary) {
      const verb = { done: "done", stopped: "stopped", early_stopped: "stopped early", diverged: "diverged" }[data.summary.status] ?? data.summary.status;
      parts.push(`${verb} after ${duration(data.summary.seconds)}`);
    }
    if (s === "error") parts.push("error");
    text = parts.join(" · ");
  }
  setText($("progress-text"), text);
}

// --- plots -------------------------------------------------------------------------------------------------

const lossLabel = (name) => (cat.losses.find((l) => l.name === name)?.label ?? name).toLowerCase();

function renderLoss() {
  const data = main.data;
  const w = state.smoothing;
  const per = data.start?.steps_per_epoch ?? 1;
  // the raw curve as each bucket's lowest and highest batch (the envelope), faint; the smoothed
  // curve computed over every step, then thinned
  const raw_ = envelope(data.step, data.loss, 1600);
  const smoothed = w ? thin(data.step, smooth(data.loss, w), 800) : null;
  const name = data.start?.logged ? "batch loss (logged: means of consecutive steps)" : "each batch";
  const traces = smoothed
    ? [
        { type: "scatter", mode: "lines", x: raw_.x, y: raw_.y, name: `${name}, raw`, line: { color: "#0072B2", width: 1 }, opacity: 0.25, hoverinfo: "skip", meta: "raw" },
        { type: "scatter", mode: "lines", x: smoothed.x, y: smoothed.y, name: `smoothed (${w.toFixed(2)})`, line: { color: "#0072B2", width: 2 } },
      ]
    : [{ type: "scatter", mode: "lines", x: raw_.x, y: raw_.y, name, line: { color: "#0072B2", width: 1.2 } }];
  const marks = endMarks(data, (at) => (at.step !== undefined ? at.step : at.epoch * per));
  const changes = changeMarks(data.controls, (step) => step);
  $("smoothing-note").textContent = w ? "raw (faint) and smoothed: a debiased moving average" : "raw, each batch";
  const y = valueAxis((smoothed ?? raw_).y, { log: state.logY, maxLabels: 5 });
  Plotly.react(
    $("loss-plot"),
    traces,
    smallLayout({
      xaxis: axis("step", { range: epochRange(data, state.epochs).map((e) => e * per) }),
      yaxis: axis(`${lossLabel(data.start?.config.loss ?? state.loss)}${state.logY ? " (log scale)" : ""}`, y),
      margin: { l: 48, r: 10, t: 22, b: 34 },
      shapes: [...marks.shapes, ...changes.shapes],
      annotations: [...marks.annotations, ...changes.annotations],
    }),
    CONFIG,
  );
}

function renderAccuracy() {
  const data = main.data;
  const evals = data.evals;
  const x = evals.map((e) => e.epoch);
  const per = data.start?.steps_per_epoch ?? 1;
  const view = accuracyView.value;
  const regression = Boolean(data.start?.regression ?? (own.active && own.info?.regression));
  // a regression's R² (as it is), else the accuracy in %
  const acc = (k) => {
    const [name, times] = regression ? [k.replace("accuracy", "r2"), 1] : [k, 100];
    return evals.map((e) => (e[name] === null || e[name] === undefined ? null : times * e[name]));
  };
  const traces = [
    ...smoothedPair(x, acc("train_accuracy"), view.smoothing, { mode: "lines+markers", name: "train", line: { color: "#0072B2", width: 2 }, marker: { size: 4 } }),
    ...smoothedPair(x, acc("test_accuracy"), view.smoothing, { mode: "lines+markers", name: "test", line: { color: "#D55E00", width: 2, dash: "dash" }, marker: { size: 4 } }),
  ];
  const all = traces.filter((t) => t.meta !== "raw").flatMap((t) => t.y).filter(Number.isFinite);
  const lowest = all.length ? Math.min(...all.slice(Math.min(2, all.length - 1))) : 0;
  let y = view.log ? valueAxis(all, { log: true, robust: false }) : { range: [Math.max(0, Math.floor((lowest - 2) / 5) * 5), 100.5] };
  if (regression) y = { range: [Math.max(-1, Math.min(0, ...all)) - 0.02, 1.02] }; // R² ≤ 1; far below 0 is off the plot
  const marks = endMarks(data, (at) => (at.epoch !== undefined ? at.epoch : at.step / per));
  const changes = changeMarks(data.controls, (step) => step / per);
  Plotly.react(
    $("accuracy-plot"),
    traces,
    smallLayout({
      xaxis: axis("epoch", { range: epochRange(data, state.epochs) }),
      yaxis: axis(regression ? "R²" : "accuracy (%)", y),
      margin: { l: 44, r: 10, t: 22, b: 34 },
      shapes: [...marks.shapes, ...changes.shapes],
      annotations: [...marks.annotations, ...changes.annotations],
    }),
    CONFIG,
  );
  const last = evals.at(-1);
  const score = (v) => (v === null || v === undefined ? "–" : regression ? v.toFixed(3) : pct(v));
  const [test, train] = regression ? [last?.test_r2, last?.train_r2] : [last?.test_accuracy, last?.train_accuracy];
  $("accuracy-card").querySelector("h2").textContent = regression ? "R²" : "Accuracy";
  $("accuracy-now").textContent = last ? `${regression ? "R² " : ""}test ${score(test)} · train ${score(train)}` : "";
  $("accuracy-now").title = last ? `at epoch ${last.epoch.toFixed(2)} (train: ${state.eval_train_size ? count(state.eval_train_size) : "all"} examples scored)` : "";
}

const { loss: lossView, accuracy: accuracyView } = lossAndAccuracyControls(state, saveUrl, (plot) => {
  dirty[plot] = true;
  render();
});
$("loss-card").querySelector(".plot-box").before(lossView);
$("accuracy-card").querySelector(".plot-box").before(accuracyView);

function classNames() {
  return main.data.start?.classes ?? (own.active ? (own.info?.class_names ?? []) : cat.datasets[state.dataset].classes);
}

function renderConfusion() {
  const latest = main.data.latest;
  const names = classNames();
  const short = names.map((n) => (n.length > 7 ? `${n.slice(0, 6)}…` : n));
  const m = latest?.confusion ?? null;
  const share = m ? m.map((row) => row.map((v) => v / Math.max(1, row.reduce((a, b) => a + b, 0)))) : [];
  const traces = m
    ? [
        {
          type: "heatmap",
          z: share,
          x: short,
          y: short,
          text: m,
          customdata: m.map((row, i) => row.map((_, j) => [names[i], names[j]])),
          texttemplate: "%{text}",
          textfont: { size: 9 },
          colorscale: [
            [0, "#ffffff"],
            [0.05, "#e6f0fa"],
            [0.3, "#8cb9e0"],
            [1, "#0b4f8a"],
          ],
          zmin: 0,
          zmax: 1,
          showscale: false,
          xgap: 1,
          ygap: 1,
          hovertemplate: "true %{customdata[0]}, predicted %{customdata[1]}: %{text} (%{z:.1%} of the row)<extra></extra>",
        },
      ]
    : [];
  Plotly.react(
    $("confusion-plot"),
    traces,
    plotLayout({
      font: FONT,
      margin: { l: 48, r: 6, t: 4, b: 40 },
      xaxis: axis("predicted", { type: "category", side: "bottom", tickfont: { size: 9 }, showgrid: false }),
      yaxis: axis("true", { type: "category", autorange: "reversed", tickfont: { size: 9 }, showgrid: false }),
      annotations: m ? [] : [{ text: "appears after the first evaluation", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: MUTED } }],
    }),
    { ...CONFIG, displayModeBar: false },
  );
}

// --- rendering ---------------------------------------------------------------------------------------------

const drawLoss = throttled(() => {
  dirty.loss = false;
  renderLoss();
}, 500);
const drawAccuracy = throttled(() => {
  dirty.accuracy = false;
  renderAccuracy();
}, 500);
const drawConfusion = throttled(() => {
  dirty.confusion = false;
  renderConfusion();
}, 1000);
const drawGallery = throttled(() => {
  dirty.gallery = false;
  if (isImages()) views.renderGallery();
}, 2000);

function render() {
  if (dirty.loss) drawLoss();
  if (dirty.accuracy) drawAccuracy();
  if (dirty.confusion) drawConfusion();
  if (dirty.gallery) drawGallery();
  statusSoon();
}

/** A finished run from the run log (a link from /log): its curves, drawn from the log's record. */
async function showLogged(id) {
  const every = (c) => Object.fromEntries(cat.datasets[c.dataset].params.map((p) => [p.name, p.high])); // no size given: every image
  const perEpoch = (c) => Math.ceil(trainSize(cat, c.dataset, { ...every(c), ...c.data }) / c.batch_size);
  const shown = await main.openLogged(id, (name) => Boolean(cat.datasets[name]), perEpoch);
  if (shown === null) return;
  if (!shown) showBanner(`Run #${id} is not in the run log (any more): here are its settings from the link. Press Start to train it.`);
  saveUrl();
  if (!shown) return;
  Object.assign(dirty, { loss: true, accuracy: true });
  render();
  renderStatus();
}

// --- start -------------------------------------------------------------------------------------------------

for (const id of ["loss-plot", "accuracy-plot", "confusion-plot"]) keepSized($(id));
buildForm();
if (state.dataset === OWN) own.restore(state.data_id);
renderBars(null);
if (raw.run && cat.runs[raw.run]) main.attach(raw.run);
else if (raw.logged) showLogged(raw.logged);
else if (raw.run) showBanner("The run in this link is no longer on the server (runs live in its memory). Press Start for a new one.");
saveUrl();
render();
if (isImages()) predictSoon();
setInterval(() => main.data.status === "running" && renderStatus(), 1000); // steps/s and time left tick on

window.descent = { state, main, toMnist, own };
