// The building blocks page: activations, softmax, losses, initializations and normalizations, each
// section a few controls that re-query /api/blocks/... (debounced) and Plotly figures of the answer.
//
// The page state lives in the URL (one typed field list); every section keeps its own request in
// flight at most once (a newer one aborts the older) and shows the server's 422 next to its controls.

import { HttpError, PALETTE, T, UrlState, clamp, debounce, fmt, h, paramControl, postJSON } from "./common.js";

const REG = JSON.parse(document.getElementById("blocks-registry").textContent);
const NORMS = Object.fromEntries(REG.norms.map((n) => [n.name, n]));
const $ = (id) => document.getElementById(id);
const app = $("app");

const INK = "#1f2937";
const MUTED = "#6b7280";
const GRID = "#eef0f3";
const BAND = "rgba(213, 94, 0, 0.12)"; // the vanishing region, PALETTE[1] faint
const FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: INK };
const CONFIG = { responsive: true, displaylogo: false, showTips: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"] };
const axis = (extra = {}) => ({ gridcolor: GRID, zerolinecolor: "#d1d5db", tickfont: { size: 10 }, automargin: true, ...extra });
const title = (text) => ({ text, font: { size: 11, color: MUTED }, standoff: 4 });

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
const saveUrl = debounce(() => history.replaceState(null, "", `${location.pathname}?${FIELDS.serialize(state)}#${location.hash.slice(1)}`.replace(/#$/, "")), 250);

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
        showError(errorBox, err instanceof HttpError ? describe(err) : `Could not reach the server: ${err.message}`);
      }
      checkReady();
    },
  };
  s.soon = debounce(() => s.load(), 120);
  sections[id] = s;
  return s;
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

async function plot(id, data, layout) {
  const el = $(id);
  const full = { font: FONT, paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff", showlegend: false, hovermode: "closest", ...layout };
  await Plotly.react(el, data, full, CONFIG);
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
  await Promise.all(
    doc.activations.map((a) => {
      const shapes = a.vanishing.map(([x0, x1]) => ({
        type: "rect",
        xref: "x",
        yref: "paper",
        x0,
        x1,
        y0: 0,
        y1: 1,
        fillcolor: BAND,
        line: { width: 0 },
        layer: "below",
      }));
      const data = [
        { type: "scatter", mode: "lines", x: a.z, y: a.f, name: "f(z)", line: { color: PALETTE[0], width: 2 }, hovertemplate: "z = %{x:.3g}<br>f = %{y:.4g}<extra></extra>" },
        { type: "scatter", mode: "lines", x: a.z, y: a.df, name: "f′(z)", line: { color: PALETTE[1], width: 2, dash: "dash" }, hovertemplate: "z = %{x:.3g}<br>f′ = %{y:.4g}<extra></extra>" },
      ];
      return plot(`act-${a.name}`, data, {
        margin: { l: 36, r: 8, t: 6, b: 28 },
        xaxis: axis({ range: [a.z[0], a.z.at(-1)], title: title("z") }),
        yaxis: axis({}),
        shapes,
      });
    }),
  );
}

// --- softmax ---------------------------------------------------------------------------------------------

const zInput = $("softmax-z");
zInput.value = state.z.join(", ");

/** The numbers typed, or a message saying what is not a number. */
function parseVector(text) {
  const parts = text.replace(/[[\]()]/g, " ").split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return { error: "type at least one number" };
  const bad = parts.find((p) => !Number.isFinite(Number(p)));
  if (bad !== undefined) return { error: `not a finite number: “${bad}”` };
  return { values: parts.map(Number) };
}

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
  const bar = (y, axes, color, text) => ({ type: "bar", x: names, y, xaxis: axes[0], yaxis: axes[1], marker: { color }, text, textposition: "outside", cliponaxis: false, textfont: { size: 10 }, hovertemplate: "%{x}: %{y:.6g}<extra></extra>" });
  return plot(
    "softmax-plot",
    [
      bar(doc.z, ["x", "y"], PALETTE[5], doc.z.length <= 12 ? doc.z.map((v) => fmt(v, 4)) : undefined),
      bar(doc.probs, ["x2", "y2"], PALETTE[0], doc.z.length <= 12 ? doc.probs.map((v) => fmt(v, 3)) : undefined),
    ],
    {
      margin: { l: 44, r: 10, t: 24, b: 28 },
      grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.16 },
      xaxis: axis({ tickfont: { size: 11 } }),
      xaxis2: axis({ tickfont: { size: 11 } }),
      yaxis: axis({}),
      yaxis2: axis({ range: [0, 1.12] }),
      annotations: [
        { text: "<b>input z</b>", xref: "x domain", yref: "paper", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 11 } },
        { text: "<b>softmax(z)</b> — sums to 1", xref: "x2 domain", yref: "paper", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 11 } },
      ],
    },
  );
}

const subscript = (n) => String(n).replace(/\d/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]);

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
  const log = state.sweep === "log";
  const data = [];
  doc.losses.forEach((l, i) => {
    const color = PALETTE[i % PALETTE.length];
    const grad = log ? l.grad.map((g) => (g === 0 ? null : Math.abs(g))) : l.grad;
    data.push(
      { type: "scatter", mode: "lines", x: doc.pred, y: l.value, name: l.label, line: { color, width: 2 }, hovertemplate: `${l.label}<br>ŷ = %{x:.4g}<br>L = %{y:.5g}<extra></extra>` },
      { type: "scatter", mode: "lines", x: doc.pred, y: grad, name: l.label, xaxis: "x2", yaxis: "y2", line: { color, width: 2 }, connectgaps: false, hovertemplate: `${l.label}<br>ŷ = %{x:.4g}<br>${log ? "|∂L/∂ŷ|" : "∂L/∂ŷ"} = %{y:.5g}<extra></extra>` },
    );
  });
  const xaxis = axis(log ? { type: "log", exponentformat: "power", dtick: 5, title: title("prediction ŷ (log scale)") } : { range: [0, 1], title: title("prediction ŷ") });
  // a linear sweep starts at ŷ = 1/n, where −y/ŷ is huge: hold the gradient axis to a readable window
  const grads = doc.losses.flatMap((l) => l.grad);
  const gradRange = log ? undefined : [Math.max(Math.min(...grads), -12) - 0.5, Math.max(...grads, 0) + 0.5];
  const clipLine = (ax) => ({ type: "line", xref: ax, yref: "paper", x0: doc.clip, x1: doc.clip, y0: 0, y1: 1, line: { color: MUTED, width: 1, dash: "dot" } });
  const note = (xref, text, x, xanchor) => ({ text, xref, yref: "paper", x, y: 1.01, xanchor, yanchor: "bottom", showarrow: false, font: { size: 11 } });
  const heading = (xref, text) => note(xref, text, 0, "left");
  const annotations = [heading("x domain", `<b>loss L(y, ŷ)</b>, y = ${fmt(doc.target)}`), heading("x2 domain", log ? "<b>|∂L/∂ŷ|</b> (log; 0 not drawn)" : "<b>gradient ∂L/∂ŷ</b>")];
  if (log) {
    annotations.push(
      { text: "clip 10⁻¹⁵", x: Math.log10(doc.clip), y: 0.5, xref: "x", yref: "paper", showarrow: false, textangle: -90, xanchor: "right", font: { size: 10, color: MUTED } },
      { text: "clip 10⁻¹⁵", x: Math.log10(doc.clip), y: 0.5, xref: "x2", yref: "paper", showarrow: false, textangle: -90, xanchor: "right", font: { size: 10, color: MUTED } },
    );
  } else if (Math.min(...grads) < -12) {
    annotations.push({ text: "cross-entropy's gradient continues below the axis (−y/ŷ)", xref: "x2 domain", yref: "y2 domain", x: 0.98, y: 0.02, xanchor: "right", yanchor: "bottom", showarrow: false, font: { size: 10, color: MUTED } });
  }
  return plot("loss-plot", data, {
    margin: { l: 48, r: 10, t: 24, b: 40 },
    grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.12 },
    xaxis,
    xaxis2: { ...xaxis },
    yaxis: axis({ rangemode: "tozero" }),
    yaxis2: axis(log ? { type: "log", exponentformat: "power" } : { range: gradRange }),
    shapes: log ? [clipLine("x"), clipLine("x2")] : [],
    annotations,
  });
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
  const n = doc.inits.length;
  const data = doc.inits.map((s, i) => {
    const centers = s.counts.map((_, k) => (s.edges[k] + s.edges[k + 1]) / 2);
    const width = s.edges[1] - s.edges[0] || 1;
    const ax = i ? String(i + 1) : "";
    return { type: "bar", x: centers, y: s.counts, width, xaxis: `x${ax}`, yaxis: `y${ax}`, marker: { color: PALETTE[i % PALETTE.length], line: { width: 0 } }, hovertemplate: `${s.label}<br>w ≈ %{x:.4g}<br>%{y} weights<extra></extra>` };
  });
  const layout = {
    margin: { l: 46, r: 10, t: 24, b: 30 },
    grid: { rows: 1, columns: n, pattern: "independent", xgap: 0.1 },
    bargap: 0,
    annotations: doc.inits.map((s, i) => ({
      text: `<b>${s.label}</b>`,
      xref: `x${i ? i + 1 : ""} domain`,
      yref: "paper",
      x: 0,
      y: 1.01,
      xanchor: "left",
      yanchor: "bottom",
      showarrow: false,
      font: { size: 11, color: PALETTE[i % PALETTE.length] },
    })),
  };
  doc.inits.forEach((_, i) => {
    layout[`xaxis${i ? i + 1 : ""}`] = axis({ exponentformat: "none", nticks: 6 });
    layout[`yaxis${i ? i + 1 : ""}`] = axis({ nticks: 5, title: i ? undefined : title("weights per bin") });
  });

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

  const xavier = doc.inits.find((s) => s.name === "xavier");
  const size = doc.inputs + doc.neurons;
  const c = xavierCurve;
  const range = [
    { type: "scatter", mode: "lines", x: c.sizes, y: c.limits, line: { color: PALETTE[1], width: 2 }, hovertemplate: "m + n = %{x}<br>limit %{y:.4f}<extra></extra>" },
    { type: "scatter", mode: "markers", x: [size], y: [doc.xavier_limit], marker: { color: "#fff", size: 10, line: { color: PALETTE[1], width: 2 } }, hovertemplate: `this layer: m + n = ${size}<br>limit √(6/(m+n)) = %{y:.4f}<extra></extra>` },
  ];
  if (xavier) {
    const reach = Math.max(-xavier.min, xavier.max);
    range.push({ type: "scatter", mode: "markers", x: [size], y: [reach], marker: { color: INK, size: 6, symbol: "x-thin", line: { color: INK, width: 2 } }, hovertemplate: "this draw: largest |w| = %{y:.4f}<extra></extra>" });
  }
  return Promise.all([
    plot("init-hist", data, layout),
    plot("xavier-plot", range, {
      margin: { l: 50, r: 10, t: 24, b: 38 },
      xaxis: axis({ type: "log", dtick: 1, exponentformat: "none", title: title("layer size m + n (log)") }),
      yaxis: axis({ type: "log", dtick: 1, exponentformat: "none", title: title("limit √(6/(m+n)) (log)") }),
      annotations: [
        { text: `<b>Xavier's range ±√(6/(m+n)) shrinks as layers grow</b> · ○ this layer: ±${doc.xavier_limit.toFixed(4)}`, xref: "paper", yref: "paper", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 11 } },
      ],
    }),
  ]);
}

// --- normalization ---------------------------------------------------------------------------------------

function depth(a) {
  let d = 0;
  for (let x = a; Array.isArray(x); x = x[0]) d++;
  return d;
}

/** An array as text the way numpy prints it: one innermost row per line, brackets nesting. */
function arrayText(a, digits = null, indent = 0) {
  if (!Array.isArray(a[0])) return `[${a.map((v) => (digits === null ? String(v) : fixed(v, digits))).join(", ")}]`;
  const pad = " ".repeat(indent + 1);
  const sep = depth(a) > 2 ? ",\n\n" : ",\n";
  return `[${a.map((row, i) => (i ? pad : "") + arrayText(row, digits, indent + 1)).join(sep)}]`;
}
const fixed = (v, digits) => (v < 0 ? "" : " ") + v.toFixed(digits);

function exampleText(rank) {
  const demo = REG.norms.find((n) => depth(n.example) === rank);
  return arrayText(demo.example);
}

/** Nested lists of numbers from text like the seed's literals ("-.2" and "1." included). */
function parseArray(text) {
  const tokens = text.match(/\[|\]|[^\s,[\]]+/g) ?? [];
  let i = 0;
  function value() {
    const t = tokens[i++];
    if (t === undefined) throw new Error("the text ends before its brackets close");
    if (t === "[") {
      const list = [];
      while (tokens[i] !== "]") {
        if (i >= tokens.length) throw new Error("a “[” is never closed");
        list.push(value());
      }
      i++;
      return list;
    }
    if (t === "]") throw new Error("a “]” closes nothing");
    const v = Number(t);
    if (!Number.isFinite(v)) throw new Error(`not a finite number: “${t}”`);
    return v;
  }
  const out = value();
  if (i < tokens.length) throw new Error("text after the last “]”");
  if (!Array.isArray(out)) throw new Error("write the batch in brackets, e.g. [[1, 2], [3, 4]]");
  return out;
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
    throw new HttpError(422, [{ loc: ["body", "x"], msg: err.message }]);
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
  const tick = labels.map((l) => l.replace(" · ", "<br>"));
  const data = [];
  const spread = (values, k) => values.map((_, j) => k + (values.length > 1 ? (j / (values.length - 1) - 0.5) * 0.36 : 0));
  labels.forEach((label, k) => {
    const color = PALETTE[k % PALETTE.length];
    for (const [side, values, mean, variance] of [
      ["before", doc.before[k], doc.mean_before[k], doc.var_before[k]],
      ["after", doc.after[k], doc.mean_after[k], doc.var_after[k]],
    ]) {
      const ax = side === "before" ? ["x", "y"] : ["x2", "y2"];
      data.push({
        type: "scatter",
        mode: "markers",
        x: spread(values, k),
        y: values,
        xaxis: ax[0],
        yaxis: ax[1],
        marker: { color, size: 7, opacity: 0.85, line: { color: "#fff", width: 0.5 } },
        hovertemplate: `${label}<br>${side}: %{y:.6g}<extra></extra>`,
      });
      data.push({
        type: "scatter",
        mode: "markers",
        x: [k + 0.3],
        y: [mean],
        xaxis: ax[0],
        yaxis: ax[1],
        marker: { color: INK, size: 9, symbol: "line-ew-open", line: { width: 2 } },
        error_y: { type: "constant", value: Math.sqrt(variance), color: INK, thickness: 1.2, width: 4 },
        hovertemplate: `${label}<br>μ = ${fmt(mean, 6)}<br>σ² = ${fmt(variance, 8)}<extra></extra>`,
      });
    }
  });
  const xcat = axis({ tickvals: labels.map((_, k) => k), ticktext: tick, range: [-0.6, labels.length - 0.4], tickfont: { size: 10 }, showgrid: false, zeroline: false });
  const heading = (xref, text) => ({ text, xref, yref: "paper", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 11 } });

  // statistics: one row per set of values sharing μ and σ², the seed's printouts side by side
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
  return plot("norm-plot", data, {
    margin: { l: 40, r: 10, t: 24, b: 10 },
    grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.1 },
    xaxis: xcat,
    xaxis2: { ...xcat },
    yaxis: axis({}),
    yaxis2: axis({}),
    annotations: [heading("x domain", "<b>before</b>: x, grouped by shared μ, σ²  (— μ, bar ±σ)"), heading("x2 domain", "<b>after</b>: each group at mean 0, variance ≈ 1")],
  });
}

function reshape(flat, shape) {
  if (shape.length === 1) return flat;
  const size = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => reshape(flat.slice(i * size, (i + 1) * size), shape.slice(1)));
}

// --- start -----------------------------------------------------------------------------------------------

showNorm();
for (const s of Object.values(sections)) s.load();

window.blocks = { state, sections, parseArray, parseVector };
