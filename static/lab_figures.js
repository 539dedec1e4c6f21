// The network lab's figures, as Plotly [traces, layout] pairs of the race's data: every racer in its
// colour on the loss and accuracy curves, its sharpness against its threshold, the loss along the line
// from the initial weights to its own, and its path over the loss in a plane of weight space.

import { fmt, INK, MUTED, PALETTE } from "./common.js";
import { changeMarks, smoothedPair, valueAxis } from "./charts.js";
import { axis, endMarks, epochRange, smallLayout, vline } from "./run_figures.js";
import { COLORSCALE } from "./landscape_figures.js";

/** Racer k's colour (the shared palette's order: blue, vermilion, green, pink, orange, sky). */
export const racerColor = (k) => PALETTE[k % PALETTE.length];

const MARGIN = { l: 46, r: 10, t: 6, b: 34 };
const layout = (extra) => smallLayout({ showlegend: false, hovermode: "closest", margin: MARGIN, ...extra });
const shown = (traces) => traces.filter((t) => t.meta !== "raw").flatMap((t) => t.y);
/** A note in the middle of an empty plot. */
const emptyNote = (text) => [{ text, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { size: 11, color: MUTED } }];

// --- loss and accuracy -----------------------------------------------------------------------------

/**
 * The loss and accuracy figures ({loss, accuracy}) of `racers` [{k, name, color, data}]: per racer,
 * train solid and test dashed against epoch, with its live changes and how it ended marked in its
 * colour. `view`: {smoothing, logY, accuracySmoothing, accuracyLog, epochs, uirevision, regression}:
 * on a regression target (`regression`, or a racer's start says so) the second figure is R², not accuracy.
 */
export function curveFigures(racers, view) {
  const regression = Boolean(view.regression) || racers.some((r) => r.data.start?.regression);
  const loss = [];
  const accuracy = [];
  const shapes = [];
  const annotations = [];
  for (const r of racers) {
    const { data } = r;
    const evals = data.evals;
    const epoch = evals.map((e) => e.epoch);
    const per = data.start?.steps_per_epoch ?? 1;
    const mode = evals.length < 30 ? "lines+markers" : "lines"; // a lone point shows too
    const line = (dash) => ({ color: r.color, width: 2, dash });
    const trace = (what, dash) => ({ mode, name: `${r.name} ${what}`, legendgroup: r.name, line: line(dash), marker: { size: 4 }, hovertemplate: `${r.name} ${what} %{y:.4g}<extra></extra>` });
    // accuracy in %, or a regression's R² as it is
    const [times, rename] = regression ? [1, (key) => key.replace("accuracy", "r2")] : [100, (key) => key];
    const pct = (key) => evals.map((e) => (e[rename(key)] === null || e[rename(key)] === undefined ? null : times * e[rename(key)]));
    loss.push(...smoothedPair(epoch, evals.map((e) => e.train_loss), view.smoothing, trace("train")));
    loss.push(...smoothedPair(epoch, evals.map((e) => e.test_loss), view.smoothing, trace("test", "dash")));
    accuracy.push(...smoothedPair(epoch, pct("train_accuracy"), view.accuracySmoothing, trace("train")));
    accuracy.push(...smoothedPair(epoch, pct("test_accuracy"), view.accuracySmoothing, trace("test", "dash")));
    // how it ended (diverged, stopped early): named, a line lower per racer so that labels stay apart
    const ends = endMarks(data, (at) => at.epoch ?? at.step / per);
    for (const a of ends.annotations) Object.assign(a, { text: `${r.name}: ${a.text}`, y: a.y - 0.09 * r.k, ending: true });
    for (const m of [ends, changeMarks(data.controls, (step) => step / per, { color: r.color })]) {
      shapes.push(...m.shapes);
      annotations.push(...m.annotations);
    }
  }
  const reach = Math.max(1, ...racers.map((r) => epochRange(r.data, view.epochs)[1]));
  for (const a of annotations.filter((a) => a.ending)) {
    a.xanchor = a.x < reach / 2 ? "left" : "right"; // inside the plot
    delete a.ending;
  }
  const x = axis("epoch", { range: [0, reach] });
  const lossY = valueAxis(shown(loss), { log: view.logY, maxLabels: 4 });
  const accuracies = shown(accuracy).filter(Number.isFinite);
  const lowest = accuracies.length ? Math.min(100, ...accuracies) : 0;
  let accuracyY = view.accuracyLog ? valueAxis(accuracies, { log: true, robust: false, maxLabels: 4 }) : { range: [Math.max(0, Math.floor(lowest / 10) * 10), 100.5] };
  if (regression) accuracyY = { range: [Math.max(-1, Math.min(0, ...accuracies)) - 0.02, 1.02] }; // R² ≤ 1; far below 0 is off the plot
  const common = { xaxis: x, shapes, annotations, hovermode: "x unified", uirevision: view.uirevision };
  return {
    loss: [loss, layout({ ...common, yaxis: axis(view.logY ? "loss (log scale)" : "loss", lossY) })],
    accuracy: [accuracy, layout({ ...common, yaxis: axis(regression ? "R²" : "accuracy (%)", accuracyY) })],
  };
}

// --- sharpness -------------------------------------------------------------------------------------

/**
 * Each racer's sharpness against step (λmax of the loss's Hessian; for Adam and RMSprop λmax of P⁻¹H,
 * what their threshold applies to), with its stability threshold as a dashed line in its colour.
 * `racers` [{name, color, probes: [{step, sharpness, threshold, preconditioned?}], preconditioned}].
 */
export function sharpnessFigure(racers, { log = false, smoothing = 0, uirevision, every = 0 } = {}) {
  const traces = [];
  for (const r of racers) {
    const step = r.probes.map((p) => p.step);
    const value = r.probes.map((p) => (r.preconditioned ? p.preconditioned : p.sharpness) ?? null);
    const threshold = r.probes.map((p) => p.threshold ?? null);
    const what = r.preconditioned ? "λmax(P⁻¹H)" : "λmax";
    const mode = step.length < 40 ? "lines+markers" : "lines";
    traces.push(...smoothedPair(step, value, smoothing, { mode, name: `${r.name} ${what}`, line: { color: r.color, width: 2 }, marker: { size: 4 }, hovertemplate: `${r.name} ${what} %{y:.4g}<extra></extra>` }));
    if (threshold.some((t) => t !== null)) {
      traces.push({ type: "scatter", mode: "lines", x: step, y: threshold, name: `${r.name} threshold`, line: { color: r.color, width: 1.5, dash: "dash", shape: "hv" }, opacity: 0.9, hovertemplate: `${r.name} threshold %{y:.4g}<extra></extra>` });
    }
  }
  const values = shown(traces);
  const empty = !values.some((v) => v !== null);
  return [
    traces,
    layout({
      xaxis: axis("step", empty ? { range: [0, 1], showticklabels: false } : { rangemode: "tozero" }),
      yaxis: axis(log ? "λmax (log)" : "λmax", valueAxis(values, { log, robust: false, maxLabels: 4 })),
      hovermode: "x unified",
      annotations: empty ? emptyNote(every ? "No probe yet" : "Sharpness is off: set “sharpness every” to probe it") : [],
      uirevision,
    }),
  ];
}

// --- interpolation ---------------------------------------------------------------------------------

/**
 * The loss along the straight line from the initial weights (α = 0) to each racer's weights when
 * the surface was computed (α = 1): `surface.interpolation` {alpha, loss: a row per racer}.
 */
export function interpolationFigure(surface, racers, { log = true, uirevision } = {}) {
  const interp = surface?.interpolation;
  if (!interp) return [[], layout({ xaxis: axis("α", { range: [-0.5, 1.5] }), yaxis: axis("loss", { showticklabels: false }), annotations: emptyNote("Drawn with the loss surface"), uirevision })];
  const traces = interp.loss.map((row, k) => {
    const r = racers[k] ?? { name: `#${k + 1}`, color: racerColor(k) };
    return { type: "scatter", mode: "lines", x: interp.alpha, y: row, name: r.name, line: { color: r.color, width: 2 }, hovertemplate: `${r.name}: α %{x:.2f}, loss %{y:.4g}<extra></extra>` };
  });
  const marks = [vline(0, "initial", MUTED, "dot", 1, "left"), vline(1, "now", MUTED, "dot", 1, "right")];
  const values = traces.flatMap((t) => t.y);
  const positive = values.every((v) => v === null || v > 0);
  return [
    traces,
    layout({
      xaxis: axis("α: θ₀ + α(θ − θ₀)"),
      yaxis: axis(log && positive ? "loss (log scale)" : "loss", valueAxis(values, { log: log && positive, robust: false, maxLabels: 4 })),
      shapes: marks.map((m) => m.shape),
      annotations: marks.map((m) => m.annotation),
      hovermode: "x unified",
      uirevision,
    }),
  ];
}

// --- the loss surface ------------------------------------------------------------------------------

/** Colour-bar ticks at round loss values, the colours following log₁₀ loss. */
function lossTicks(lo, hi) {
  const vals = [];
  for (let k = Math.floor(lo) - 1; k <= Math.ceil(hi); k++) {
    for (const m of [1, 2, 5]) {
      const t = Math.log10(m * 10 ** k);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) vals.push(t);
    }
  }
  const decades = vals.filter((t) => Math.abs(t - Math.round(t)) < 1e-9);
  const ticks = vals.length > 7 && decades.length >= 2 ? decades : vals;
  return { tickvals: ticks, ticktext: ticks.map((t) => fmt(10 ** t, 2)) };
}

/** The axis titles of a plane: "PC1, 62.1 % of variance" or a random direction. */
export function planeTitles(surface) {
  if (surface.kind === "pca" && surface.explained) {
    return surface.explained.map((r, i) => `PC${i + 1}, ${(100 * r).toFixed(1)} % of variance`);
  }
  return ["random direction 1 (filter-normalized)", "random direction 2 (filter-normalized)"];
}

const span = (values) => {
  const finite = values.filter(Number.isFinite);
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
};

/**
 * The loss over the plane θ₀ + a·d₁ + b·d₂ through the initial weights θ₀ (a contour of log₁₀ loss,
 * hover in plain loss) with every racer's path over it: a marker per weight snapshot, the latest one
 * larger, θ₀ ringed.
 * `surface`: the race's `surface` payload (paths extended by points since); `racers` [{k, name, color}].
 */
export function contourFigure(surface, racers, { uirevision } = {}) {
  const logs = surface.loss.map((row) => row.map((v) => (v > 0 ? Math.log10(v) : null)));
  const [lo, hi] = span(logs.flat());
  const text = surface.loss.map((row) => row.map((v) => fmt(v, 4)));
  const [xTitle, yTitle] = planeTitles(surface);
  const traces = [
    {
      type: "contour",
      x: surface.a,
      y: surface.b,
      z: logs,
      text,
      zmin: lo,
      zmax: hi,
      colorscale: COLORSCALE,
      ncontours: 24,
      contours: { coloring: "fill", showlines: true },
      line: { color: "rgba(31,41,55,0.22)", width: 0.6 },
      colorbar: { title: { text: "loss", side: "right", font: { size: 11 } }, thickness: 10, len: 1, x: 1.01, xpad: 0, ypad: 0, outlinewidth: 0, tickfont: { size: 10 }, ...lossTicks(lo, hi) },
      name: "loss in the plane",
      hovertemplate: "a %{x:.3g}, b %{y:.3g}<br>loss in the plane %{text}<extra></extra>",
    },
  ];
  for (const p of surface.paths) {
    const r = racers[p.racer] ?? { name: `#${p.racer + 1}`, color: racerColor(p.racer) };
    traces.push({
      type: "scatter",
      mode: "lines+markers",
      x: p.a,
      y: p.b,
      customdata: p.step,
      name: `${r.name} path`,
      line: { color: r.color, width: 2 },
      marker: { color: r.color, size: 4 },
      hovertemplate: `${r.name}<br>step %{customdata}: a %{x:.3g}, b %{y:.3g}<extra></extra>`,
    });
    if (p.a.length) {
      traces.push({
        type: "scatter",
        mode: "markers",
        x: [p.a.at(-1)],
        y: [p.b.at(-1)],
        customdata: [p.step.at(-1)],
        name: `${r.name} latest`,
        marker: { color: r.color, size: 12, line: { color: "#ffffff", width: 2 } },
        hovertemplate: `${r.name} latest<br>step %{customdata}: a %{x:.3g}, b %{y:.3g}<extra></extra>`,
      });
    }
  }
  // the plane's centre: the initial weights every racer starts from
  const centre = surface.centre_loss === null || surface.centre_loss === undefined ? "" : `, loss ${fmt(surface.centre_loss, 4)}`;
  traces.push({ type: "scatter", mode: "markers", x: [0], y: [0], name: "initial weights", marker: { symbol: "circle-open", size: 14, color: INK, line: { width: 2.5 } }, hovertemplate: `initial weights θ₀ (every racer's start)${centre}<extra></extra>` });
  // the plane's grid, widened to the paths where they leave it (points that came after the surface)
  const extent = (grid, points) => span([...span(grid), ...points]);
  const ax = extent(surface.a, surface.paths.flatMap((p) => p.a));
  const by = extent(surface.b, surface.paths.flatMap((p) => p.b));
  const margin = (r) => [r[0] - 0.02 * (r[1] - r[0] || 1), r[1] + 0.02 * (r[1] - r[0] || 1)];
  return [
    traces,
    layout({
      margin: { l: 50, r: 58, t: 6, b: 38 },
      xaxis: axis(xTitle, { range: margin(ax), showgrid: false, zeroline: false }),
      yaxis: axis(yTitle, { range: margin(by), showgrid: false, zeroline: false }),
      uirevision,
    }),
  ];
}

/** The contour's empty frame, before any surface: `note` in its middle. */
export const emptyContour = (note) => [[], layout({ xaxis: axis("a", { visible: false }), yaxis: axis("b", { visible: false }), annotations: emptyNote(note) })];
