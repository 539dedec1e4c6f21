// The network lab: two to six optimizers race on one network (same data, same initial weights, same
// batches) on the server. Their loss and accuracy, their sharpness against each one's stability
// threshold, the loss between the initial weights and theirs, and their paths over the loss in a plane
// of weight space update live; each racer's η changes while it races.

import { curveControls, lossAndAccuracyControls } from "./charts.js";
import { debounce, fmt, h, hideBanner, HttpError, messageOf, readEmbedded, showBanner, throttled } from "./common.js";
import { CONFIG, keepSized } from "./run_figures.js";
import { cat, configLink, FIELDS, fromRequest, initialState, normalize, presetState, raceBody, racerName } from "./lab_state.js";
import { RaceSession } from "./lab_race.js";
import { LabForm } from "./lab_form.js";
import { RacerCards } from "./lab_racers.js";
import { SURFACE_KINDS } from "./lab_url.js";
import { OWN } from "./data_upload.js";
import { contourFigure, curveFigures, emptyContour, interpolationFigure, racerColor, sharpnessFigure } from "./lab_figures.js";

const $ = (id) => document.getElementById(id);
const app = $("app");
const state = initialState(location.search);

// --- the race ----------------------------------------------------------------------------------------

const dirty = { curves: true, sharpness: true, surface: true };
const dirtyAll = () => Object.assign(dirty, { curves: true, sharpness: true, surface: true });

function onEvent(type, event, racer) {
  if (type === "race") syncFromRace(event);
  if (type === "error" && !racer) showBanner(event.message);
  if (type === "surface_error") showBanner(`Loss surface: ${event.message}`);
  if (["surface", "surface_error", "surface_progress", "point", "race"].includes(type)) dirty.surface = true;
  if (["sharpness", "eval", "history", "start", "control", "race"].includes(type)) dirty.sharpness = true;
  if (racer || type === "race") dirty.curves = true;
  render();
}
const session = new RaceSession({ onEvent, onChange: () => renderStatus() });

/** The settings without the racers' hyperparameters: a race's link names it while these stay its own. */
const raceKey = (s) => configLink({ ...s, racers: s.racers.map((r) => ({ optimizer: r.optimizer, hyper: {} })) });
let raceSettings = null; // raceKey of the race shown

const saveUrl = FIELDS.autosave(() => Object.assign(state, { race: session.id && raceKey(state) === raceSettings ? session.id : null }));

/** The race's own settings (a link that re-attaches, another tab's race): shown in the form. */
function syncFromRace(event) {
  const s = normalize(fromRequest({ training: event.config, racers: event.racers, surface: event.surface }));
  raceSettings = raceKey(s);
  if (configLink(s) !== configLink(state)) {
    Object.assign(state, s);
    form.build();
    cards.render();
  }
  saveUrl();
}

async function startRace() {
  hideBanner();
  cards.render(); // clears the cards' errors
  await stopRace();
  raceSettings = raceKey(state);
  try {
    await session.create(raceBody(state));
  } catch (e) {
    showStartError(e);
  }
  saveUrl();
  dirtyAll();
  render();
}

/** A refused race: the server's message above the figures, and on the card of a racer it names. */
function showStartError(e) {
  showBanner(`Could not start the race: ${messageOf(e)}`);
  if (!(e instanceof HttpError)) return;
  for (const d of e.detail) {
    const [, where, k, ...rest] = d.loc ?? [];
    if (where === "racers" && Number.isInteger(k)) cards.setError(k, rest.filter((x) => typeof x === "string"), d.msg);
  }
}

/** Stop the race shown, if it runs, and stop watching it. */
async function stopRace() {
  const live = session.live;
  const id = session.id;
  session.detach();
  if (live) await fetch(`/api/races/${encodeURIComponent(id)}/stop`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => {});
}

async function controlAll(action) {
  hideBanner();
  try {
    await session.control(action);
  } catch (e) {
    showBanner(`${action}: ${messageOf(e)}`);
  }
}

$("play").addEventListener("click", () => {
  if (session.live && session.status === "paused") controlAll("resume");
  else if (!session.live && session.status !== "starting") startRace();
});
$("pause").addEventListener("click", () => controlAll("pause"));
$("step").addEventListener("click", () => controlAll("step"));
$("stop").addEventListener("click", () => controlAll("stop"));
$("recompute").addEventListener("click", async () => {
  hideBanner();
  try {
    await session.recompute(state.plane, state.resolution);
  } catch (e) {
    showBanner(`Could not recompute the surface: ${messageOf(e)}`);
  }
  dirty.surface = true;
  render();
});

// --- settings ------------------------------------------------------------------------------------------

function configChanged() {
  saveUrl();
  form.showPreset();
  if (!session.id) dirty.curves = true; // the empty accuracy figure says R² on a regression table
  render();
}

const form = new LabForm(state, {
  onChange: configChanged,
  onLive: (values) => {
    configChanged();
    if (session.live) session.racers.forEach((r) => sendLive(r.k, values));
  },
  onPreset: (name) => {
    Object.assign(state, presetState(name, state));
    form.build();
    cards.render();
    saveUrl();
    startRace();
  },
});

// a racer's hyperparameters and the shared live settings reach the racers live (gathered for 120 ms,
// then posted); a refused value's message shows next to its control
const pending = new Map(); // racer -> values
const postLive = debounce(() => {
  const batch = [...pending];
  pending.clear();
  for (const [k, values] of batch) {
    session.setHyper(k, values).catch((e) => {
      const names = Object.keys(values);
      const shared = names.filter((name) => cat.live.includes(name));
      form.config.setError(shared, messageOf(e));
      if (shared.length < names.length) cards.setError(k, names.filter((name) => !shared.includes(name)), messageOf(e));
    });
  }
}, 120);
function sendLive(k, values) {
  pending.set(k, { ...(pending.get(k) ?? {}), ...values });
  postLive();
}

const cards = new RacerCards(state, {
  onConfig: configChanged,
  onHyper: (k, values) => {
    configChanged();
    if (session.live) sendLive(k, values);
  },
});

// --- figures -------------------------------------------------------------------------------------------

const { loss: lossView, accuracy: accuracyView } = lossAndAccuracyControls(state, saveUrl, () => {
  dirty.curves = true;
  render();
});
const sharpnessView = curveControls({
  smoothing: 0,
  log: true, // thresholds differ by orders of magnitude between rules
  label: "Sharpness",
  onChange: () => {
    dirty.sharpness = true;
    render();
  },
});
$("loss-controls").replaceWith(lossView);
$("accuracy-controls").replaceWith(accuracyView);
$("sharpness-controls").replaceWith(sharpnessView);
$("interpolation-log").addEventListener("change", () => {
  dirty.surface = true;
  render();
});

/** The racers as the figures draw them. */
const figureRacers = () =>
  session.racers.map((r, k) => ({ k, name: racerName(k, r.optimizer), color: racerColor(k), data: r.data, probes: r.probes, preconditioned: r.preconditioned }));

/** Whether the race shown (or, before one, the table chosen) has a regression target: R², not accuracy. */
const isRegression = () => (session.id ? session.racers.some((r) => r.data.start?.regression) : state.dataset === OWN && Boolean(form.own.info?.regression));

function drawCurves() {
  const regression = isRegression();
  $("accuracy-card").querySelector("h2").textContent = regression ? "R²" : "Accuracy";
  accuracyView.setLogAllowed(!regression, "R² may be 0 or below: no log scale");
  const view = {
    regression,
    smoothing: state.smoothing,
    logY: state.logY,
    accuracySmoothing: accuracyView.value.smoothing,
    accuracyLog: accuracyView.value.log && !regression,
    epochs: state.epochs,
    uirevision: session.id ?? "",
  };
  const { loss, accuracy } = curveFigures(figureRacers(), view);
  if (!session.id) for (const fig of [loss, accuracy]) fig[1].annotations = [{ text: "Press Race", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { size: 11, color: "#6b7280" } }];
  Plotly.react($("loss-plot"), ...loss, CONFIG);
  Plotly.react($("accuracy-plot"), ...accuracy, CONFIG);
}

function drawSharpness() {
  const racers = figureRacers();
  const every = session.config?.sharpness_every ?? state.sharpness_every;
  const { smoothing, log } = sharpnessView.value;
  Plotly.react($("sharpness-plot"), ...sharpnessFigure(racers, { log, smoothing, every, uirevision: session.id ?? "" }), CONFIG);
  const preconditioned = racers.some((r) => r.preconditioned);
  $("sharpness-caption").textContent = every ? `λmax every ${every} steps · dashed: threshold` : "off: set “sharpness every” on the left";
  $("sharpness-caption").title = every
    ? `λmax, the largest eigenvalue of the training loss's Hessian${preconditioned ? " (for Adam, RMSprop and the like: of P⁻¹H, the preconditioned Hessian their threshold bounds)" : ""}, against each racer's stability threshold at its η`
    : "";
}

/** What the empty loss-surface plot says (lines split with <br>: Plotly does not wrap). */
function surfaceNote() {
  if (!session.id) return "Press Race: the loss over a plane in weight space<br>through the initial weights, with each racer's path";
  if (session.computing) return "Computing the loss surface…";
  const every = session.surfaceSettings?.every ?? state.surfaceEvery;
  if (session.ended) return "No loss surface: press Recompute now";
  return every ? `The first surface comes after ${every} epoch${every === 1 ? "" : "s"},<br>or press Recompute now` : "Press Recompute now to draw the loss surface";
}

function drawSurface() {
  const racers = figureRacers();
  const surface = session.surface;
  const uirevision = `${session.id}:${surface?.kind}`;
  Plotly.react($("contour-plot"), ...(surface ? contourFigure(surface, racers, { uirevision }) : emptyContour(surfaceNote())), { ...CONFIG, displayModeBar: "hover" });
  Plotly.react($("interpolation-plot"), ...interpolationFigure(surface, racers, { log: $("interpolation-log").checked, uirevision }), CONFIG);
  $("interpolation-log").disabled = !surface;
  const kind = SURFACE_KINDS.find((k) => k.name === (surface?.kind ?? session.surfaceSettings?.kind ?? state.plane));
  const steps = surface ? Math.max(0, ...surface.paths.map((p) => p.step.at(-1) ?? 0)) : null;
  const n = surface ? `${surface.a.length}×${surface.b.length}` : "";
  $("surface-caption").textContent = surface ? `${kind.label} · ${n} · to step ${steps.toLocaleString("en-US")}` : `${kind.label} plane`;
  $("surface-caption").title = surface ? `${kind.title}; a ${n} grid; the paths as far as step ${steps.toLocaleString("en-US")}` : kind.title;
  if (surface?.note) $("surface-caption").textContent += " (too early for PCA)"; // the server fell back to a random plane
  if (surface?.note) $("surface-caption").title += `; ${surface.note}`;
}

const draws = {
  curves: throttled(() => {
    dirty.curves = false;
    drawCurves();
  }, 200),
  sharpness: throttled(() => {
    dirty.sharpness = false;
    drawSharpness();
  }, 250),
  surface: throttled(() => {
    dirty.surface = false;
    drawSurface();
  }, 150),
};

function render() {
  for (const name of Object.keys(draws)) if (dirty[name]) draws[name]();
  renderStatus();
}

// --- status --------------------------------------------------------------------------------------------

const STATUS_TEXT = { idle: "", starting: "starting…", running: "racing", paused: "paused", error: "error" };

/** "done", or how the racers ended: "2 done, 1 diverged". */
function endText() {
  const counts = {};
  for (const r of session.racers) counts[r.data.status] = (counts[r.data.status] ?? 0) + 1;
  const names = { done: "done", stopped: "stopped", early_stopped: "stopped early", diverged: "diverged", error: "failed" };
  const parts = Object.entries(counts).map(([s, n]) => `${n} ${names[s] ?? s}`);
  return parts.length === 1 ? `${names[Object.keys(counts)[0]] ?? ""}` : parts.join(", ");
}

function renderKey() {
  const racers = session.racers.length ? session.racers : state.racers;
  $("race-key").replaceChildren(
    ...racers.map((r, k) =>
      h("span.key-racer", { style: `--racer: ${racerColor(k)}`, title: r.optimizer }, h("span.swatch"), racerName(k, r.optimizer), h("span.key-lr", {}, ` η ${fmt(r.hyper.lr, 3)}`)),
    ),
    h("span.key-lines", { title: "Loss and accuracy: train solid, test dashed. Sharpness: λmax solid, its threshold dashed" }, h("span.line"), "train ", h("span.line.dash"), "test, threshold"),
  );
}

function renderStatus() {
  const s = session.status;
  app.dataset.status = s;
  const live = session.live;
  const problem = live ? "" : form.problem;
  $("play").disabled = s === "starting" || s === "running" || Boolean(problem);
  $("play").title = problem || "Start a race with these settings, or resume a paused one";
  $("no-data").hidden = !problem || s === "running";
  $("no-data").textContent = problem && form.problemShort;
  $("no-data").title = problem;
  $("play").querySelector("span").textContent = s === "paused" ? "Resume" : session.ended && raceKey(state) === raceSettings ? "Race again" : "Race";
  $("pause").disabled = s !== "running";
  $("step").disabled = s !== "paused";
  $("stop").disabled = !live;
  form.setLocked(live || s === "starting");
  cards.setLocked(live || s === "starting");
  cards.update(session.id ? session : null);
  renderKey();

  const leader = session.racers.map((r) => r.data).filter((d) => d.start).sort((a, b) => b.stepsDone - a.stepsDone)[0];
  if (leader) {
    const per = leader.start.steps_per_epoch;
    const epoch = leader.stepsDone / per;
    $("epoch").textContent = `epoch ${epoch >= 10 || Number.isInteger(epoch) ? Math.floor(epoch) : epoch.toFixed(1)} / ${leader.start.config.epochs} · step ${leader.stepsDone.toLocaleString("en-US")}`;
  } else {
    $("epoch").textContent = `epoch 0 / ${state.epochs}`;
  }
  const paused = session.racers.filter((r) => r.data.status === "paused").length;
  const racing = session.racers.filter((r) => !r.data.ended).length;
  const partly = s === "running" && paused > 0 ? `${paused} of ${racing} paused` : null; // each racer pauses before its next step
  const text = s === "ended" ? endText() : session.lost ? session.lost.message : partly ?? STATUS_TEXT[s] ?? s;
  $("run-status").textContent = text;
  $("run-status").title = text;
  $("run-status").dataset.state = s === "ended" ? "done" : s;

  const computing = session.computing;
  const moved = session.racers.some((r) => r.data.evals.length >= 2); // a surface needs two snapshots (one per evaluation)
  $("recompute").disabled = !moved || computing || Boolean(session.lost);
  $("recompute").title = !session.id
    ? "Start a race first"
    : !moved
      ? "Once the racers have moved: a surface needs two weight snapshots"
      : computing
        ? "A surface is being computed"
        : "Compute the loss surface again now, in the plane and at the resolution set on the left";
  $("surface-progress").hidden = !computing;
  const { done, total } = session.progress;
  $("surface-progress").querySelector(".progress-bar").style.transform = `scaleX(${total ? done / total : 0})`;
  $("surface-progress").querySelector(".progress").setAttribute("aria-valuenow", String(done));
  $("surface-progress").querySelector(".progress").setAttribute("aria-valuemax", String(total));
  $("surface-count").textContent = total ? `${done}/${total}` : "";
  $("surface-count").title = "grid rows computed";
  $("surface-caption").hidden = computing;
}

// --- start ---------------------------------------------------------------------------------------------

for (const id of ["contour-plot", "interpolation-plot", "loss-plot", "accuracy-plot", "sharpness-plot"]) keepSized($(id));
form.build();
cards.render();
if (state.race) reattach(state.race);
saveUrl();
render();

/** A link with a race: watch it while the server keeps it; else its settings are all there is. */
async function reattach(id) {
  const known = readEmbedded("page").race?.[id] != null; // the server said whether it still has it
  const response = known ? await fetch(`/api/races/${encodeURIComponent(id)}`) : null;
  if (session.id || session.status === "starting") return;
  if (!response?.ok) {
    state.race = null;
    saveUrl();
    showBanner("The race in this link is no longer on the server (races live in its memory): its settings are here, press Race to run it again.");
    return;
  }
  raceSettings = raceKey(state);
  session.attach(id, await response.json());
  dirtyAll();
  render();
}

window.descent = {
  state,
  session,
  form,
  own: form.own,
  cards,
  body: () => raceBody(state),
  /** Every figure shows the data as it is now (no redraw pending). */
  drawn: () => !dirty.curves && !dirty.sharpness && !dirty.surface,
};
