// The building blocks page: activations, softmax, losses, initializations and normalizations, each
// section a few controls that re-query /api/blocks/... (debounced) and Plotly figures of the answer.
//
// The page state lives in the URL (one typed field list); every section keeps its own request in
// flight at most once (a newer one aborts the older) and shows the server's 422 next to its controls.

import { HttpError, PALETTE, T, UrlState, clamp, debounce, fmt, h, paramControl, plotConfig, plotLayout, postJSON, readEmbedded } from "./common.js";
import { arrayText, depth, fixed, parseArray, parseVector, reshape, subscript } from "./blocks_arrays.js";
import { activationFigure, initsFigure, lossesFigure, normFigure, softmaxFigure, xavierFigure } from "./blocks_figures.js";

const REG = readEmbedded("blocks-registry");
const NORMS = Object.fromEntries(REG.norms.map((n) => [n.name, n]));
const $ = (id) => document.getElementById(id);
const app = $("app");

const CONFIG = plotConfig({ showTips: false });

// --- state and its URL -----------------------------------------------------------------------------------

const SEED_Z = [0.2, 0.57, 0.6, 0.12];
const RANK_OF = Object.fromEntries(REG.norms.map((n) => [n.name, depth(n.example)]));

/** A list of numbers as "a,b,c". */
const numbers = {
  encode: (list) => list.map(String).join(","),
  decode: (s) => {
    const out = s.split(",").map(Number);
    return out.length && out.every(Number.isFinite) ? out : undefined;
  },
};

const FIELDS = new UrlState([
  { name: "low", key: "zlo", type: T.number },
  { name: "high", key: "zhi", type: T.number },
  { name: "threshold", key: "thr", type: T.number },
  { name: "z", key: "z", type: numbers },
  { name: "target", key: "y", type: T.number },
  { name: "sweep", key: "sweep", type: T.string },
  { name: "inputs", key: "m", type: T.int },
  { name: "neurons", key: "n", type: T.int },
  { name: "seed", key: "seed", type: T.int },
  { name: "norm", key: "norm", type: T.string },
  ...REG.norms.flatMap((n) => n.params.map((p) => ({ name: p.name, key: p.name, type: p.integer ? T.int : T.number, when: (s) => s.norm === n.name }))),
  { name: "eps", key: "eps", type: T.number },
  // a batch typed in by hand travels as its text; the seed's batches are left out of the link
  ...[2, 4].map((rank) => ({ name: `x${rank}`, key: `x${rank}`, type: T.string, when: (s) => s[`x${rank}`] !== exampleText(rank) })),
]);

const ACT_PARAMS = [
  { name: "low", label: "z from", default: -6, low: -REG.limits.z, high: REG.limits.z, log: false, integer: false, help: "left end of the input range" },
  { name: "high", label: "z to", default: 6, low: -REG.limits.z, high: REG.limits.z, log: false, integer: false, help: "right end of the input range" },
  { ...REG.threshold, label: "shade where |f′(z)| <" },
];
const TARGET = { name: "target", label: "target y", default: 1, low: 0, high: 1, log: false, integer: false, help: "the true value of the single output" };
const FAN = (name, label, value) => ({ name, label, default: value, low: 1, high: REG.limits.fan, log: true, integer: true, help: "" });
const INIT_PARAMS = [FAN("inputs", "fan-in m (inputs)", 512), FAN("neurons", "fan-out n (neurons)", 256)];
const EPS = { ...REG.eps, label: "ε (inside the square root)" };
const NORM_PARAMS = Object.fromEntries(REG.norms.map((n) => [n.name, n.params]));

const ok = (p, v) => Number.isFinite(v) && v >= p.low && v <= p.high && (!p.integer || Number.isInteger(v));
const pick = (p, v) => (ok(p, v) ? v : p.default);

function normalize(raw) {
  const norm = NORMS[raw.norm] ? raw.norm : REG.norms[0].name;
  const s = {
    ...Object.fromEntries(ACT_PARAMS.map((p) => [p.name, pick(p, raw[p.name])])),
    z: raw.z && raw.z.length <= REG.limits.vector ? raw.z : SEED_Z,
    target: pick(TARGET, raw.target),
    sweep: REG.sweeps.some((x) => x.name === raw.sweep) ? raw.sweep : REG.sweeps[0].name,
    ...Object.fromEntries(INIT_PARAMS.map((p) => [p.name, pick(p, raw[p.name])])),
    seed: Number.isInteger(raw.seed) ? clamp(raw.seed, 0, 2 ** 32 - 1) : 0,
    norm,
    eps: pick(EPS, raw.eps),
    x2: raw.x2 ?? exampleText(2),
    x4: raw.x4 ?? exampleText(4),
  };
  for (const p of REG.norms.flatMap((n) => n.params)) s[p.name] = pick(p, raw[p.name]);
  if (s.low >= s.high) [s.low, s.high] = [ACT_PARAMS[0].default, ACT_PARAMS[1].default];
  return s;
}

const state = normalize(FIELDS.deserialize(location.search));
const saveUrl = FIELDS.autosave(state, { debounce: 250, keepHash: true });

// --- requests: one in flight per section ------------------------------------------------------------------

const sections = {};

/**
 * A section: `load()` posts `body()` to `url` and hands the answer to `draw`. A newer load aborts the
 * older one; a 422 goes to `onError` (its messages next to the controls); the section's data-version
 * counts the draws (the browser tests wait on it).
 */
function section(id, url, body, draw, errorBox) {
  const el = $(id);
  let controller = null;
  let version = 0;
  const s = {
    data: null,
    async load() {
      controller?.abort();
      controller = new AbortController();
      const mine = controller;
      el.dataset.status = "loading";
      try {
        const data = await postJSON(url, body(), { signal: mine.signal });
        if (mine !== controller) return;
        s.data = data;
        showError(errorBox, null);
        await draw(data);
        el.dataset.version = String(++version);
        el.dataset.status = "ready";
      } catch (err) {
        if (err.name === "AbortError" || mine !== controller) return;
        el.dataset.status = "error";
        const refused = err instanceof InputError ? `${err.field}: ${err.message}` : null;
        showError(errorBox, err instanceof HttpError ? describe(err) : refused ?? `Could not reach the server: ${err.message}`);
      }
      checkReady();
    },
  };
  s.soon = debounce(() => s.load(), 120);
  sections[id] = s;
  return s;
}

/** A request the page does not send: its `field` cannot be read (shown as the server's 422 would be). */
class InputError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** FastAPI's 422 as lines "field: message", without "body" and the union tag (the norm's name). */
function describe(err) {
  return err.detail
    .map((d) => {
      const loc = (d.loc ?? []).filter((part, i) => !(i === 0 && part === "body"));
      if (loc.length > 1 && NORMS[loc[0]]) loc.shift();
      const where = loc.map((p, i) => (Number.isInteger(p) ? `[${p}]` : i ? `.${p}` : p)).join("");
      return `${where ? `${where}: ` : ""}${d.msg.replace(/^Value error, /, "")}`;
    })
    .join("\n");
}

function showError(box, msg) {
  $(box).textContent = msg ?? "";
}

function checkReady() {
  if (Object.values(sections).every((s) => s.data)) app.dataset.status = "ready";
}

/** Draw a [data, layout] figure into element `id`, in the shared theme. */
async function plot(id, [data, layout]) {
  await Plotly.react($(id), data, plotLayout(layout), CONFIG);
}

// --- activations -------------------------------------------------------------------------------------------

const actControls = {};
for (const p of ACT_PARAMS) {
  actControls[p.name] = paramControl(p, state[p.name], (v) => {
    state[p.name] = v;
    saveUrl();
    acts.soon();
  });
  $("act-controls").append(actControls[p.name].el);
}

const acts = section(
  "activations",
  "/api/blocks/activations",
  () => ({ low: state.low, high: state.high, threshold: state.threshold }),
  drawActivations,
  "act-error",
);

async function drawActivations(doc) {
  for (const el of document.querySelectorAll("[data-threshold]")) el.textContent = fmt(doc.threshold);
  await Promise.all(doc.activations.map((a) => plot(`act-${a.name}`, activationFigure(a))));
}

// --- softmax ---------------------------------------------------------------------------------------------

const zInput = $("softmax-z");
zInput.value = state.z.join(", ");

function setVector(values) {
  state.z = values;
  zInput.value = values.map((v) => String(Number(v.toPrecision(12)))).join(", ");
  saveUrl();
  softmax.load();
}

const readVector = () => {
  const { values, error } = parseVector(zInput.value);
  zInput.classList.toggle("invalid", Boolean(error));
  if (error) {
    showError("softmax-error", error);
    return;
  }
  state.z = values;
  saveUrl();
  softmax.soon();
};
zInput.addEventListener("input", readVector);
$("softmax-seed").addEventListener("click", () => setVector(SEED_Z));
$("softmax-plus").addEventListener("click", () => setVector(state.z.map((v) => v + 1000)));
$("softmax-minus").addEventListener("click", () => setVector(state.z.map((v) => v - 1000)));

const softmax = section("softmax", "/api/blocks/softmax", () => ({ z: state.z }), drawSoftmax, "softmax-error");

function drawSoftmax(doc) {
  zInput.classList.remove("invalid");
  const names = doc.z.map((_, i) => `z${subscript(i + 1)}`);
  const naiveSum = doc.naive.every((v) => v !== null) ? doc.naive.reduce((a, b) => a + b, 0) : null;
  $("softmax-sum").innerHTML = "";
  $("softmax-sum").append(
    h("span", {}, "Σ softmax(z) = ", h("b", {}, String(doc.total))),
    h("br"),
    h("span", { class: doc.overflow ? "bad" : "" }, "naive Σ = ", naiveSum === null ? "NaN (e^z overflowed)" : String(naiveSum)),
  );
  const cell = (v, kind) => (v === null ? h("td.bad", { title: kind === "exp" ? "e^z overflows a float64 (z > 709.78)" : "∞/∞" }, kind === "exp" ? "∞ overflow" : "NaN") : h("td", {}, fmt(v, 6)));
  const rows = [
    ["z", doc.z.map((v) => h("td", {}, fmt(v, 6)))],
    ["e^z (naive)", doc.naive_exp.map((v) => cell(v, "exp"))],
    ["e^z / Σ e^z (naive)", doc.naive.map((v) => cell(v, "div"))],
    ["z − max z", doc.shifted.map((v) => h("td", {}, fmt(v, 6)))],
    ["softmax(z), stable", doc.probs.map((v) => h("td.good", {}, fmt(v, 8)))],
  ];
  $("softmax-table").replaceChildren(
    h("thead", {}, h("tr", {}, h("th", {}, ""), names.map((n) => h("th", {}, n)))),
    h("tbody", {}, rows.map(([label, cells]) => h("tr", {}, h("th", { scope: "row" }, label), cells))),
  );
  return plot("softmax-plot", softmaxFigure(doc, names));
}

// --- losses ----------------------------------------------------------------------------------------------

const targetControl = paramControl(TARGET, state.target, (v) => {
  state.target = v;
  saveUrl();
  losses.soon();
});
$("loss-controls").append(targetControl.el);
for (const input of document.querySelectorAll("input[name=sweep]")) {
  input.checked = input.value === state.sweep;
  input.addEventListener("change", () => {
    state.sweep = input.value;
    saveUrl();
    losses.load();
  });
}
REG.losses.forEach((l, i) => {
  document.querySelector(`#loss-formulas [data-loss="${l.name}"] .key-line`).style.borderColor = PALETTE[i % PALETTE.length];
});

const losses = section("losses", "/api/blocks/losses", () => ({ target: state.target, sweep: state.sweep }), drawLosses, "loss-error");

function drawLosses(doc) {
  return plot("loss-plot", lossesFigure(doc, state.sweep === "log"));
}

// --- initializations -------------------------------------------------------------------------------------

const initControls = {};
for (const p of INIT_PARAMS) {
  initControls[p.name] = paramControl(p, state[p.name], (v) => {
    state[p.name] = v;
    saveUrl();
    inits.soon();
  });
  $("init-controls").append(initControls[p.name].el);
}
const seedInput = $("init-seed");
seedInput.value = String(state.seed);
seedInput.addEventListener("change", () => {
  const v = Number(seedInput.value.trim());
  const good = seedInput.value.trim() !== "" && Number.isInteger(v) && v >= 0 && v <= 2 ** 32 - 1;
  seedInput.classList.toggle("invalid", !good);
  if (!good) {
    showError("init-error", "seed: a whole number in [0, 4294967295]");
    return;
  }
  state.seed = v;
  saveUrl();
  inits.load();
});
$("init-reseed").addEventListener("click", () => {
  state.seed = Math.floor(Math.random() * 1e6);
  seedInput.value = String(state.seed);
  seedInput.classList.remove("invalid");
  saveUrl();
  inits.load();
});
$("init-seed-shape").addEventListener("click", () => {
  state.inputs = 512;
  state.neurons = 256;
  initControls.inputs.set(512);
  initControls.neurons.set(256);
  saveUrl();
  inits.load();
});

let xavierCurve = null;
const inits = section(
  "inits",
  "/api/blocks/inits",
  () => ({ inputs: state.inputs, neurons: state.neurons, seed: state.seed }),
  drawInits,
  "init-error",
);

async function drawInits(doc) {
  xavierCurve ??= await postJSON("/api/blocks/xavier-range", { max_size: 2 * REG.limits.fan });
  const f4 = (v) => v.toFixed(4);
  $("init-table").replaceChildren(
    h("thead", {}, h("tr", {}, ["sampled from", "W ~", "Minimum", "Maximum", "Mean", "SD"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      doc.inits.map((s, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("span.dot", { style: `background:${PALETTE[i % PALETTE.length]}` }), s.label),
          h("td.formula-cell", { title: s.reference }, s.formula.replace(/^W ~ /, "")),
          [s.min, s.max, s.mean, s.std].map((v) => h("td", {}, f4(v))),
        ),
      ),
    ),
    h("caption", {}, `${doc.inputs} × ${doc.neurons} = ${(doc.inputs * doc.neurons).toLocaleString("en")} weights each, seed ${state.seed}`),
  );
  return Promise.all([plot("init-hist", initsFigure(doc)), plot("xavier-plot", xavierFigure(doc, xavierCurve))]);
}

// --- normalization ---------------------------------------------------------------------------------------

function exampleText(rank) {
  const demo = REG.norms.find((n) => depth(n.example) === rank);
  return arrayText(demo.example);
}

const normX = $("norm-x");
const normParamControls = {};
const epsControl = paramControl(EPS, state.eps, (v) => {
  state.eps = v;
  saveUrl();
  norm.soon();
});

function showNorm() {
  const demo = NORMS[state.norm];
  $("norm-formula").textContent = `${demo.formula} · ${demo.reference}`;
  $("norm-layout").textContent = `shape (${demo.layout}); γ = 1, β = 0`;
  normX.value = state[`x${RANK_OF[state.norm]}`];
  normX.rows = RANK_OF[state.norm] === 2 ? 4 : 12;
  showNormParams();
}

// Settings bounded by the channel count C of the batch (G ≤ C): their sliders end at C.
const UP_TO_CHANNELS = new Set(["groups"]);
let channels = null;

/** The chosen normalization's own settings (group norm: G), then ε. */
function showNormParams() {
  const holder = $("norm-params");
  holder.replaceChildren();
  for (const param of NORM_PARAMS[state.norm]) {
    const p = UP_TO_CHANNELS.has(param.name) && channels ? { ...param, high: Math.min(param.high, channels) } : param;
    const key = `${p.name}:${p.high}`;
    if (normParamControls[p.name]?.key !== key) {
      normParamControls[p.name] = paramControl(p, state[p.name], (v) => {
        state[p.name] = v;
        saveUrl();
        norm.soon();
      });
      normParamControls[p.name].key = key;
    }
    holder.append(normParamControls[p.name].el);
  }
  holder.append(epsControl.el);
}

for (const input of document.querySelectorAll("input[name=norm]")) {
  input.checked = input.value === state.norm;
  input.addEventListener("change", () => {
    state.norm = input.value;
    showNorm();
    saveUrl();
    norm.load();
  });
}

function readBatch() {
  state[`x${RANK_OF[state.norm]}`] = normX.value;
  saveUrl();
  norm.soon();
}
normX.addEventListener("input", debounce(readBatch, 300));
$("norm-reset").addEventListener("click", () => {
  normX.value = exampleText(RANK_OF[state.norm]);
  readBatch();
});

/** The request: the batch parsed here (a text that is not an array never leaves the page). */
function normBody() {
  const body = { norm: state.norm, eps: state.eps, x: null };
  for (const p of NORM_PARAMS[state.norm]) body[p.name] = state[p.name];
  try {
    body.x = parseArray(state[`x${RANK_OF[state.norm]}`]);
  } catch (err) {
    throw new InputError("x", err.message);
  }
  return body;
}

const norm = section("norms", "/api/blocks/norm", normBody, drawNorm, "norm-error");

function drawNorm(doc) {
  normX.classList.remove("invalid");
  if (doc.shape.at(-1) !== channels) {
    channels = doc.shape.at(-1);
    showNormParams();
  }
  const labels = doc.labels;

  // statistics: one row per set  // statistics: one row per set of values sharing μ and σ², the seed's printouts side by side
  const sci = (v) => (Math.abs(v) < 1e-4 && v !== 0 ? v.toExponential(2) : fixed(v, 8));
  $("norm-table").replaceChildren(
    h("thead", {}, h("tr", {}, h("th", { rowspan: 2 }, "μ, σ² of"), h("th", { colspan: 2 }, "before"), h("th", { colspan: 2 }, "after")), h("tr", {}, ["mean", "variance", "mean", "variance"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      labels.map((label, k) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("span.dot", { style: `background:${PALETTE[k % PALETTE.length]}` }), label),
          [doc.mean_before[k], doc.var_before[k], doc.mean_after[k], doc.var_after[k]].map((v) => h("td", {}, sci(v))),
        ),
      ),
    ),
  );
  $("norm-shape").textContent = `(${doc.shape.join(", ")})`;
  $("norm-y").textContent = arrayText(reshape(doc.y, doc.shape), 8);
  return plot("norm-plot", normFigure(doc));
}

// --- start -----------------------------------------------------------------------------------------------

showNorm();
for (const s of Object.values(sections)) s.load();

window.blocks = { state, sections, parseArray, parseVector };
