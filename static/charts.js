// Curve plots as TensorBoard draws them, shared by every page with a loss or accuracy curve.
//
//   smooth(ys, weight)             debiased exponential moving average; gaps (null, NaN) stay gaps
//   robustRange(values, options)   [lo, hi] from percentiles (default 1st–99th): one spike cannot flatten the rest
//   decadeAxis(lo, hi, options)    Plotly props for a log axis that labels decades only, never colliding
//   valueAxis(values, options)     the y axis of a curve plot: log or linear, robust or all values
//   smoothedPair(x, y, options)    the raw curve (faint) and its smoothed curve, as two Plotly traces
//   changeMarks(controls, toX)     a vertical line + label where a live setting changed ("η → 0.3")
//   curveControls(options)         a smoothing slider and a log-y toggle (and "all values"), labelled
//   lossAndAccuracyControls(...)   the two curve plots of a training page, the loss's kept in its link
//
// Pure functions first (tested in the browser against hand-computed values), then the DOM pieces.

/**
 * TensorBoard's smoothing: last ← w·last + (1 − w)·y over the finite values, each divided by
 * 1 − w^n (n: finite values so far), so the start is not pulled towards 0. weight in [0, 1):
 * 0 returns the values unchanged. Non-finite values (null, NaN, ±Infinity) are kept where they are
 * and do not move the average.
 */
export function smooth(ys, weight) {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  const out = new Array(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      out[i] = y ?? null;
      continue;
    }
    last = weight * last + (1 - weight) * y;
    n += 1;
    out[i] = weight === 0 ? y : last / (1 - weight ** n);
  }
  return out;
}

/** The q-quantile (0..1) of sorted numbers, linear between neighbours (numpy's default). */
function quantile(sorted, q) {
  const at = q * (sorted.length - 1);
  const i = Math.floor(at);
  const t = at - i;
  return i + 1 < sorted.length ? sorted[i] + t * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/**
 * [lo, hi]: the `low` and `high` quantiles (default 1st and 99th percentile) of the finite values;
 * with `positive`, of the values above 0 only (for a log axis). null when there is no such value.
 */
export function robustRange(values, { low = 0.01, high = 0.99, positive = false } = {}) {
  const kept = values.filter((v) => v !== null && Number.isFinite(v) && (!positive || v > 0));
  if (!kept.length) return null;
  const sorted = Float64Array.from(kept).sort();
  return [quantile(sorted, low), quantile(sorted, high)];
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** "0.01", "1", "1000", or "10⁻⁵" / "10⁶" beyond that. */
export function decadeLabel(k) {
  if (k >= -2 && k <= 3) return String(10 ** k);
  return `10${String(k).replace(/./g, (c) => SUPERSCRIPT[c])}`;
}

const STEPS = [1, 2, 3, 5, 10, 20, 50, 100];

/**
 * Plotly axis props for a log axis over [lo, hi] (data units, both > 0) that labels decades only:
 * every `step`-th decade, the step chosen so that at most `maxLabels` labels show. A range of less
 * than two decades labels 1, 2 and 5 times each decade instead; one too narrow even for that
 * leaves the ticks to Plotly (a few plain values). Hover shows values to 4 significant digits.
 */
export function decadeAxis(lo, hi, { maxLabels = 5 } = {}) {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  const props = { type: "log", range: [a, b], hoverformat: ".4~g", exponentformat: "power" };
  const first = Math.ceil(a - 1e-9);
  const last = Math.floor(b + 1e-9);
  if (last - first + 1 >= 2) {
    const step = STEPS.find((s) => Math.floor((last - first) / s) + 1 <= maxLabels) ?? Math.ceil((last - first + 1) / maxLabels);
    const start = Math.ceil(first / step) * step; // multiples of the step: 10⁰ stays a label when shown
    const ks = [];
    for (let k = start; k <= last; k += step) ks.push(k);
    return { ...props, tickmode: "array", tickvals: ks.map((k) => 10 ** k), ticktext: ks.map(decadeLabel) };
  }
  const vals = [];
  for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** k;
      if (Math.log10(v) >= a - 1e-9 && Math.log10(v) <= b + 1e-9) vals.push(v);
    }
  }
  if (vals.length >= 2 && vals.length <= maxLabels + 1) {
    return { ...props, tickmode: "array", tickvals: vals, ticktext: vals.map((v) => String(Number(v.toPrecision(1)))) };
  }
  return { ...props, tickmode: "auto", nticks: maxLabels };
}

/**
 * The y axis of a curve plot from the values it shows: `log` (values ≤ 0 left out) or linear,
 * `robust` (1st–99th percentile, the default) or every value, padded a little. Returns Plotly axis
 * props ({} when there is nothing to show: Plotly's own range).
 */
export function valueAxis(values, { log = false, robust = true, maxLabels = 5 } = {}) {
  const range = robust ? robustRange(values, { positive: log }) : robustRange(values, { low: 0, high: 1, positive: log });
  if (!range) return log ? { type: "log", exponentformat: "power" } : { type: "linear" };
  let [lo, hi] = range;
  if (log) {
    const pad = Math.max(0.05 * Math.log10(hi / lo), 0.05);
    return decadeAxis(lo / 10 ** pad, hi * 10 ** pad, { maxLabels });
  }
  const pad = hi > lo ? 0.05 * (hi - lo) : Math.abs(hi) * 0.1 || 1;
  [lo, hi] = [lo - pad, hi + pad];
  return { type: "linear", range: [lo, hi], hoverformat: ".4~g", nticks: maxLabels + 1 };
}

/**
 * The raw curve, faint, behind its smoothed curve (TensorBoard's look). `trace` holds what both
 * share (name, line colour, …); with weight 0 only the raw curve is drawn, at full strength.
 * `smoothed` may be given when y was thinned after smoothing the whole series.
 */
export function smoothedPair(x, y, weight, trace, smoothed = weight ? smooth(y, weight) : y) {
  const color = trace.line?.color;
  const solid = { type: "scatter", mode: "lines", x, ...trace, line: { width: 1.8, ...trace.line } };
  if (!weight) return [{ ...solid, y }];
  const faint = 0.25 * (trace.opacity ?? 1);
  return [
    { ...solid, y, mode: "lines", line: { color, width: 1 }, opacity: faint, hoverinfo: "skip", showlegend: false, name: `${trace.name} (raw)`, meta: "raw" },
    { ...solid, y: smoothed, meta: "smoothed" },
  ];
}

/** Short names of live settings, for marker labels. */
export const SETTING_LABELS = { lr: "η", gamma: "γ", beta1: "β₁", beta2: "β₂", beta: "β", rho: "ρ", eps: "ε", l1: "L1", l2: "L2", max_norm: "max-norm", clip_norm: "clip-norm", weight_decay: "λ" };

const short = (v) => (typeof v === "number" ? String(Number(v.toPrecision(3))) : String(v));

/**
 * Markers where a live setting changed, from the run's own record of it: control events
 * {action: "set", step, values}, `step` being the step the change took effect before. toX(step)
 * maps a step onto the plot's x axis. Returns {shapes, annotations}.
 */
export function changeMarks(controls, toX, { color = "#7c3aed" } = {}) {
  const shapes = [];
  const annotations = [];
  const sets = controls.filter((c) => c.action === "set" && Number.isFinite(c.step));
  sets.forEach((c, i) => {
    const x = toX(c.step);
    const text = Object.entries(c.values).map(([k, v]) => `${SETTING_LABELS[k] ?? k} → ${short(v)}`).join(", ");
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color, width: 1, dash: "dashdot" } });
    annotations.push({
      xref: "x", yref: "paper", x, y: 0.02 + 0.1 * (i % 3), yanchor: "bottom", xanchor: "left",
      text: `${text} here`, hovertext: `step ${c.step}: ${text}`, showarrow: false,
      font: { size: 10, color }, bgcolor: "rgba(255,255,255,0.85)",
    });
  });
  return { shapes, annotations };
}

/**
 * Controls for a curve plot: a smoothing slider (0 = raw, up to 0.99), a log-y toggle and, when
 * `robust` is given, an "all values" toggle (off: the y range leaves out the outer 1% at each end).
 * onChange({smoothing, log, robust}) after each change. Returns the element; `el.set({...})` shows
 * new values without calling onChange, `el.setLogAllowed(ok, why)` disables the log toggle.
 */
export function curveControls({ smoothing = 0.6, log = true, robust, onChange, label = "curve" }) {
  const value = { smoothing, log, robust };
  const el = document.createElement("div");
  el.className = "curve-controls";
  el.setAttribute("role", "group");
  el.setAttribute("aria-label", `${label} display`);
  el.innerHTML = `
    <label class="cc-smooth" title="TensorBoard's smoothing: an exponential moving average, corrected at the start; the raw curve stays faint behind">
      <span>smoothing</span><input type="range" min="0" max="0.99" step="0.01" aria-label="${label} smoothing"><output></output></label>
    <label class="cc-check"><input type="checkbox" class="cc-log" aria-label="${label} log scale"> log y</label>
    ${robust === undefined ? "" : `<label class="cc-check" title="Off: the y range leaves out the lowest and highest 1% of the values (spikes), on: every value"><input type="checkbox" class="cc-all" aria-label="${label} all values"> all values</label>`}`;
  const slider = el.querySelector("input[type=range]");
  const out = el.querySelector("output");
  const logBox = el.querySelector(".cc-log");
  const allBox = el.querySelector(".cc-all");
  const show = () => {
    slider.value = String(value.smoothing);
    out.textContent = value.smoothing.toFixed(2);
    logBox.checked = value.log;
    if (allBox) allBox.checked = !value.robust;
  };
  const changed = () => onChange?.({ ...value });
  slider.addEventListener("input", () => {
    value.smoothing = Math.min(0.99, Math.max(0, Number(slider.value)));
    out.textContent = value.smoothing.toFixed(2);
    changed();
  });
  logBox.addEventListener("change", () => {
    value.log = logBox.checked;
    changed();
  });
  allBox?.addEventListener("change", () => {
    value.robust = !allBox.checked;
    changed();
  });
  el.set = (values) => {
    Object.assign(value, values);
    show();
  };
  el.setLogAllowed = (ok, why = "") => {
    logBox.disabled = !ok;
    logBox.parentElement.title = ok ? "" : why;
  };
  Object.defineProperty(el, "value", { get: () => ({ ...value }) });
  show();
  return el;
}

/**
 * The controls of a page's loss and accuracy plots: the loss's smoothing and log y kept in `state`
 * (`smoothing`, `logY`: the page's link, saved by `saveUrl`), the accuracy's for the view only.
 * redraw("loss" | "accuracy") after each change. Returns {loss, accuracy} elements.
 */
export function lossAndAccuracyControls(state, saveUrl, redraw) {
  const loss = curveControls({
    smoothing: state.smoothing,
    log: state.logY,
    label: "Loss",
    onChange: (v) => {
      state.smoothing = v.smoothing;
      state.logY = v.log;
      saveUrl();
      redraw("loss");
    },
  });
  const accuracy = curveControls({ smoothing: 0, log: false, label: "Accuracy", onChange: () => redraw("accuracy") });
  return { loss, accuracy };
}
