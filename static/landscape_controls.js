// The landscape page's controls: a card per racer (optimizer, η and its other settings), and the
// settings every racer shares (landscape, start, steps, gradient noise, schedule, what the map shows).

import { PALETTE, h, paramControl, select } from "./common.js";
import { curveControls } from "./charts.js";
import { $, emptyData, landscape, page, saveUrl } from "./landscape_page.js";
import { fitMap, moveStart, resetZoom, showView, syncStartUi } from "./landscape_map.js";
import { showOutcome } from "./landscape_readout.js";
import { invalidate } from "./landscape_render.js";
import { landscapeSelect, minimaNote } from "./landscape_custom.js";
import { NOISE, OPTIMIZERS, REG, SCHEDULES, SLOTS, STEPS_PARAM, hyperFor, settings, shortLabel, suggestedLr } from "./landscape_state.js";
import { changed, dropRacer, updateStabilityMarks } from "./landscape_stream.js";

const { state } = page;

// When the user acted, for the redraw measure: a slider, select or box acts on `input`; a text field
// when its value is committed.
const isText = (el) => el.matches?.("input[type=text]");
const acted = () => (page.lastInput = performance.now());
document.addEventListener("input", (e) => isText(e.target) || acted(), true);
document.addEventListener("change", (e) => isText(e.target) && acted(), true);
document.addEventListener("keydown", (e) => e.key === "Enter" && isText(e.target) && acted(), true);

// --- racers ------------------------------------------------------------------------------------------

function freeColor() {
  const used = new Set(page.racers.map((r) => r.color));
  return PALETTE.find((c) => !used.has(c)) ?? PALETTE[page.racers.length % PALETTE.length];
}

export function addRacer(optimizer, hyper) {
  const spec = OPTIMIZERS[optimizer];
  const r = {
    id: page.nextId++,
    optimizer,
    hyper: hyper ?? hyperFor(spec, landscape()),
    color: freeColor(),
    data: emptyData(),
    outcome: null,
    stale: false,
  };
  page.racers.push(r);
  buildCard(r);
  return r;
}

/** A parameter's symbol for the "more" summary: "γ (momentum)" → "γ", "weight decay λ" → "λ". */
const symbol = (p) => (p.label.includes("(") ? p.label.split(" ")[0] : p.label.split(" ").at(-1));

function buildCard(r) {
  const spec = OPTIMIZERS[r.optimizer];
  r.controls = {};
  const onParam = (name) => (v) => {
    r.hyper[name] = v;
    if (name === "lr") updateStabilityMarks();
    changed({ racers: [r.id] });
  };
  // a refused value: the path drawn is of settings the card no longer shows, so it has no verdict
  const onReject = () => {
    r.outcome = null;
    r.stale = true;
    showOutcome(r, state.target);
    invalidate("fg", "table", "side", "d3");
  };
  const [lrParam, ...rest] = spec.params;
  r.controls.lr = paramControl(lrParam, r.hyper.lr, onParam("lr"), { onReject });
  for (const p of rest) r.controls[p.name] = paramControl(p, r.hyper[p.name], onParam(p.name), { onReject });
  r.stability = h("p.stability-note", { hidden: true });
  r.status = h("p.racer-status", { role: "status" });
  r.target = h("p.racer-target", { hidden: true });
  r.error = h("div.field-error", { role: "status" });
  const remove = h("button.icon", { type: "button", title: "Remove this racer", "aria-label": "Remove racer" }, "✕");
  remove.addEventListener("click", () => removeRacer(r));
  const short = REG.optimizers.map((o) => ({ name: o.name, label: shortLabel(o) }));
  const choose = select(short, r.optimizer, (name) => switchOptimizer(r, name), { "aria-label": "Optimizer", title: spec.label });
  const more = rest.length
    ? h("details.more", {}, h("summary", {}, rest.map(symbol).join(", ")), rest.map((p) => r.controls[p.name].el))
    : null;
  const card = h(
    "article.racer",
    { dataset: { id: r.id, optimizer: r.optimizer } },
    h("div.racer-head", {}, h("span.swatch"), choose, remove),
    h("p.rule", { title: `${spec.rule}\n${spec.reference}` }, spec.rule),
    r.controls.lr.el,
    r.stability,
    more,
    r.status,
    r.target,
    r.error,
  );
  card.style.setProperty("--racer", r.color);
  if (r.card) r.card.replaceWith(card);
  else $("racers").append(card);
  r.card = card;
  r.remove = remove;
  updateStabilityMarks();
}

function switchOptimizer(r, name) {
  r.optimizer = name;
  r.hyper = hyperFor(OPTIMIZERS[name], landscape());
  buildCard(r);
  changed({ racers: [r.id] });
  refreshRacerChrome();
}

function removeRacer(r) {
  if (page.racers.length <= 1) return;
  page.racers.splice(page.racers.indexOf(r), 1);
  r.card.remove();
  dropRacer(r.id);
  refreshRacerChrome();
  changed({});
}

export function refreshRacerChrome() {
  $("racer-count").textContent = `${page.racers.length} of ${SLOTS}`;
  $("add-racer").disabled = page.racers.length >= SLOTS;
  for (const r of page.racers) r.remove.disabled = page.racers.length <= 1;
}

$("add-racer").addEventListener("click", () => {
  if (page.racers.length >= SLOTS) return;
  const used = new Set(page.racers.map((r) => r.optimizer));
  const name = REG.optimizers.find((o) => !used.has(o.name))?.name ?? "adam";
  const r = addRacer(name);
  refreshRacerChrome();
  changed({ racers: [r.id] });
  r.card.scrollIntoView({ block: "nearest" });
});

// --- settings every racer shares ---------------------------------------------------------------------

export function buildLandscapeControls() {
  const ls = landscape();
  const controls = (page.controls.landscape = {});
  $("landscape").value = ls.name;
  $("formula").textContent = `f(x, y) = ${ls.formula}`;
  $("landscape-note").textContent = ls.numerical_minima ? minimaNote(ls) : ls.reference;
  $("landscape-params").replaceChildren(
    ...ls.params.map((p) => {
      controls[p.name] = paramControl(p, state.lparams[p.name], (v) => {
        state.lparams[p.name] = v;
        changed({ surface: true, all: true });
      });
      return controls[p.name].el;
    }),
  );
}

export function buildScheduleControls() {
  const spec = SCHEDULES[state.schedule];
  const controls = (page.controls.schedule = {});
  $("schedule").value = spec.name;
  $("schedule-formula").textContent = spec.formula;
  $("schedule-params").replaceChildren(
    ...spec.params.map((p) => {
      controls[p.name] = paramControl(p, state.sparams[p.name], (v) => {
        state.sparams[p.name] = v;
        changed({ all: true });
      });
      return controls[p.name].el;
    }),
  );
}

export function buildNoiseControls() {
  const controls = page.controls.noise;
  $("noise-params").replaceChildren(
    ...NOISE.map((p) => {
      controls[p.name] = paramControl(p, state[p.name], (v) => {
        state[p.name] = v;
        if (p.name === "dataset_size" && state.batch_size > v) setNoise("batch_size", v);
        if (p.name === "batch_size" && v > state.dataset_size) setNoise("batch_size", state.dataset_size);
        changed({ all: true });
      });
      return controls[p.name].el;
    }),
  );
  page.controls.steps = paramControl(STEPS_PARAM, state.steps, (v) => {
    state.steps = v;
    changed({ all: true });
  });
  $("steps-control").replaceChildren(page.controls.steps.el);
}

function setNoise(name, v) {
  state[name] = v;
  page.controls.noise[name].set(v);
}

export function syncNoiseUi() {
  $("noise-on").checked = state.noise;
  $("noise-off").checked = !state.noise;
  $("noise-settings").hidden = !state.noise;
  $("seed").value = String(state.seed);
  const preset = state.batch_size === state.dataset_size ? "batch" : state.batch_size === 1 ? "sgd" : "minibatch";
  for (const b of document.querySelectorAll("[data-preset]")) b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
}

landscapeSelect({ state, draft: page.draft, switchTo: switchLandscape });

/** Race on `ls` (a built-in, or a typed formula just loaded): its start, steps and suggested rates. */
function switchLandscape(ls) {
  state.landscape = ls.name;
  state.lparams = settings(ls.params);
  state.target = null; // a replay's target is a loss on the landscape it came from
  state.start = [...ls.start];
  state.steps = ls.steps;
  page.controls.steps.set(state.steps);
  for (const r of page.racers) {
    r.hyper.lr = suggestedLr(ls, OPTIMIZERS[r.optimizer]);
    r.controls.lr.set(r.hyper.lr);
  }
  buildLandscapeControls();
  syncStartUi();
  resetZoom();
  fitMap();
  changed({ surface: true, all: true, start: true });
}

for (const id of ["start-x", "start-y"]) {
  $(id).addEventListener("change", () => {
    const p = [Number($("start-x").value), Number($("start-y").value)];
    if (!p.every(Number.isFinite) || $("start-x").value.trim() === "" || $("start-y").value.trim() === "") {
      $("start-error").textContent = "x and y must be numbers";
      return;
    }
    moveStart(p);
  });
}
$("start-reset").addEventListener("click", () => moveStart([...landscape().start]));

for (const radio of document.querySelectorAll("input[name=noise]")) {
  radio.addEventListener("change", () => {
    state.noise = $("noise-on").checked;
    syncNoiseUi();
    changed({ all: true });
  });
}
for (const button of document.querySelectorAll("[data-preset]")) {
  button.addEventListener("click", () => {
    const b = { batch: state.dataset_size, sgd: 1, minibatch: Math.min(32, state.dataset_size) }[button.dataset.preset];
    setNoise("batch_size", b);
    syncNoiseUi();
    changed({ all: true });
  });
}
$("seed").addEventListener("change", () => {
  const v = Number($("seed").value);
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 32 - 1) {
    $("noise-error").textContent = "the seed is a whole number from 0 to 4294967295";
    return;
  }
  state.seed = v;
  changed({ all: true });
});
$("seed-new").addEventListener("click", () => {
  state.seed = Math.floor(Math.random() * 1e6);
  syncNoiseUi();
  changed({ all: true });
});
$("schedule").addEventListener("change", () => {
  state.schedule = $("schedule").value;
  state.sparams = settings(SCHEDULES[state.schedule].params);
  buildScheduleControls();
  changed({ all: true });
});

// --- what the map and the side plots show ------------------------------------------------------------

for (const radio of document.querySelectorAll("input[name=view]")) {
  radio.checked = radio.value === state.view;
  radio.addEventListener("change", () => {
    state.view = radio.value;
    showView();
    saveUrl();
  });
}
$("show-arrows").checked = state.arrows;
$("show-arrows").addEventListener("change", () => {
  state.arrows = $("show-arrows").checked;
  invalidate("bg");
  saveUrl();
});
// the side plots: smoothing and log y, kept in the link
const sideControls = curveControls({
  smoothing: state.smoothing,
  log: state.logy,
  label: "side plots",
  onChange({ smoothing, log }) {
    state.smoothing = smoothing;
    state.logy = log;
    invalidate("side");
    saveUrl();
  },
});
$("side-controls").replaceChildren(sideControls);

// a replay from the tools: the way back to the view it came from
if (state.back) {
  $("back-link").href = state.back;
  $("back-link").hidden = false;
}

$("show-vectors").checked = state.vectors;
$("show-vectors").addEventListener("change", () => {
  state.vectors = $("show-vectors").checked;
  invalidate("fg");
  saveUrl();
});
