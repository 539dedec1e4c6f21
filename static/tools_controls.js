// The tools page's picker (landscape, optimizer, start, steps, noise, tolerance: what every tool
// measures) and the fields of each tool's own settings bar.

import { exact, fmt, h, paramControl } from "./common.js";
import { landscapeSelect, minimaNote } from "./landscape_custom.js";
import { NOISE, OPTIMIZERS, farOutside, hyperFor, settings, suggestedLr } from "./landscape_state.js";
import { BATCH } from "./tools_figures.js";
import { buildToolSettings, changed } from "./tools_run.js";
import { $, LIMITS, defaultY, landscape, lrDefaults, page, spec, state, yDefaults } from "./tools_state.js";

const { controls } = page;

export function buildLandscape() {
  const ls = landscape();
  $("landscape").value = ls.name;
  $("formula").textContent = `f(x, y) = ${ls.formula}`;
  $("landscape-note").textContent = ls.numerical_minima ? minimaNote(ls) : "";
  $("landscape-note").hidden = !ls.numerical_minima;
  controls.landscape = {};
  $("landscape-params").replaceChildren(
    ...ls.params.map((p) => {
      controls.landscape[p.name] = paramControl(p, state.lparams[p.name], (v) => {
        state.lparams[p.name] = v;
        changed();
      });
      return controls.landscape[p.name].el;
    }),
  );
}

export function buildOptimizer() {
  const o = spec();
  $("optimizer").value = o.name;
  $("optimizer").title = o.label;
  $("rule").textContent = o.rule;
  $("rule").title = o.reference;
  controls.hyper = {};
  $("hyper").replaceChildren(
    ...o.params.map((p) => {
      controls.hyper[p.name] = paramControl(p, state.hyper[p.name], (v) => {
        state.hyper[p.name] = v;
        changed();
      });
      return controls.hyper[p.name].el;
    }),
  );
}

export function buildNoise() {
  $("noise-params").replaceChildren(
    ...NOISE.map((p) => {
      controls.noise[p.name] = paramControl(p, state[p.name], (v) => setNoise(p.name, v, { fromControl: true }));
      return controls.noise[p.name].el;
    }),
  );
  controls.steps = paramControl({ name: "steps", label: "steps", default: 500, low: 1, high: LIMITS.max_steps, log: true, integer: true, help: "steps of every run (a tool runs fewer where its grid needs it)" }, state.steps, (v) => {
    state.steps = v;
    changed();
  });
  $("steps-control").replaceChildren(controls.steps.el);
}

export function setNoise(name, v, { fromControl = false } = {}) {
  state[name] = v;
  if (name === "dataset_size" && state.batch_size > v) setNoise(BATCH, v);
  if (name === BATCH && v > state.dataset_size) v = state.batch_size = state.dataset_size;
  if (!fromControl || v !== controls.noise[name].value) controls.noise[name].set(v);
  if (state.mY === BATCH && name === "dataset_size") {
    Object.assign(state, yDefaults());
    buildToolSettings();
  }
  changed();
}

export function setHyper(name, v) {
  state.hyper[name] = v;
  controls.hyper[name]?.set(v);
  changed();
}

export function setOptimizer(name) {
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

/** A tool's own settings changed (`values`, already valid). */
export function setTool(values) {
  Object.assign(state, values);
  changed();
}

export function syncNoise() {
  $("noise-on").checked = state.noise;
  $("noise-off").checked = !state.noise;
  $("noise-settings").hidden = !state.noise;
  $("seed").value = String(state.seed);
}

export function syncStart() {
  for (const [i, id] of ["start-x", "start-y"].entries()) if (document.activeElement !== $(id)) $(id).value = String(state.start[i]);
}

landscapeSelect({ state, draft: page.draft, switchTo: switchLandscape });

/** Measure on `ls` (a built-in, or a typed formula just loaded): its start and suggested rates. */
function switchLandscape(ls) {
  state.landscape = ls.name;
  state.lparams = settings(ls.params);
  state.start = [...ls.start];
  state.hyper.lr = suggestedLr(ls, spec());
  controls.hyper.lr.set(state.hyper.lr);
  Object.assign(state, lrDefaults());
  buildLandscape();
  buildToolSettings();
  syncStart();
  changed();
}
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

// --- fields of each tool's own settings --------------------------------------------------------------

/** A labelled text field for a number; `onChange(value)` when a valid one is committed. */
export function field(label, value, { low, high, integer = false, title = "" }, onChange) {
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

/** Two fields, from and to; the second must stay above the first. */
export function pair(label, lo, hi, bounds, onChange) {
  let a = lo;
  let b = hi;
  return [
    field(`${label} from`, lo, bounds, (v) => (v < b ? onChange((a = v), b) : null)),
    field("to", hi, bounds, (v) => (v > a ? onChange(a, (b = v)) : null)),
  ];
}
