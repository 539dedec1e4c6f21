// The network playground's curves and diagnostics, as Plotly [traces, layout] pairs: the loss and
// accuracy of one run or of the seed's comparison, and per-layer gradient norms, dead ReLUs, weights
// and activations of the run shown.

import { MUTED, PALETTE } from "./common.js";
import { changeMarks, smooth, smoothedPair, valueAxis } from "./charts.js";
import { axis, endMarks, epochRange, histogramTrace, smallLayout } from "./run_figures.js";

const RUN_COLORS = { main: "#0072B2", linear: "#D55E00" };

/** Indices of every k-th point, so that at most ~max remain (the last one always kept). */
function every(n, max) {
  const k = Math.max(1, Math.ceil(n / max));
  const out = [];
  for (let i = 0; i < n; i += k) out.push(i);
  if (n && out.at(-1) !== n - 1) out.push(n - 1);
  return out;
}

/** One run's loss and accuracy traces; `label` names it in a comparison ("" alone). */
function curveTraces(session, key, label, { smoothing: w, accuracySmoothing: a, regression }) {
  const data = session.data;
  const color = RUN_COLORS[key];
  const testColor = label ? color : "#D55E00";
  const per = data.start?.steps_per_epoch ?? 1;
  const evals = data.evals;
  const epoch = evals.map((e) => e.epoch);
  const prefix = label ? `${label}: ` : "";
  const mode = evals.length < 30 ? "lines+markers" : "lines"; // a lone point shows too
  // the per-step batch loss: smoothed whole, then thinned to about 1,500 points
  const smoothed = smooth(data.loss, w);
  const keep = every(data.step.length, 1500);
  const sx = keep.map((i) => data.step[i] / per);
  const batch = { name: `${prefix}batch`, line: { color, width: 1 }, opacity: 0.5, showlegend: !label, hovertemplate: `${prefix}batch %{y:.4g}<extra></extra>` };
  const logged = Boolean(session.logged);
  const trainLoss = evals.map((e) => e.train_loss);
  const testLoss = evals.map((e) => e.test_loss);
  // a regression's R² (as it is), else the accuracy in %
  const acc = (k) => {
    const [name, times] = regression ? [k.replace("accuracy", "r2"), 1] : [k, 100];
    return evals.map((e) => (e[name] === null || e[name] === undefined ? null : times * e[name]));
  };
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

/** A plot's title at its top left, above the legend. */
const plotTitle = (text) => ({ text, x: 0.01, xanchor: "left", y: 0.985, yref: "container", yanchor: "top", font: { size: 12 } });
const shown = (traces) => traces.filter((t) => t.meta !== "raw").flatMap((t) => t.y);

/**
 * The loss and accuracy figures ({loss, accuracy}, each [traces, layout]) of `runs`
 * ([session, key, label]); live changes are marked from `shownRun`'s record (they reach every run of a
 * comparison alike). `view`: {smoothing, logY, accuracySmoothing, accuracyLog, epochs}.
 */
export function curveFigures(runs, shownRun, view) {
  const loss = [];
  const accuracy = [];
  const shapes = [];
  const annotations = [];
  for (const [session, key, label] of runs) {
    const t = curveTraces(session, key, label, view);
    loss.push(...t.loss);
    accuracy.push(...t.accuracy);
    const per = session.data.start?.steps_per_epoch ?? 1;
    const marks = endMarks(session.data, (at) => at.epoch ?? at.step / per);
    shapes.push(...marks.shapes);
    annotations.push(...marks.annotations);
  }
  const per = shownRun.data.start?.steps_per_epoch ?? 1;
  const changes = changeMarks(shownRun.data.controls, (step) => step / per);
  shapes.push(...changes.shapes);
  annotations.push(...changes.annotations);
  const ranges = runs.map(([session]) => epochRange(session.data, view.epochs)[1]);
  const x = axis("epoch", { range: [0, Math.max(...ranges)] });
  const lossY = valueAxis(shown(loss), { log: view.logY, maxLabels: 4 });
  const accuracies = shown(accuracy).filter(Number.isFinite);
  const lowest = accuracies.length ? Math.min(100, ...accuracies) : 0; // empty: the whole 0–100 scale
  let accuracyY = view.accuracyLog ? valueAxis(accuracies, { log: true, robust: false, maxLabels: 4 }) : { range: [Math.max(0, Math.floor(lowest / 10) * 10), 100.5] };
  if (view.regression) accuracyY = { range: [Math.max(-1, Math.min(0, ...accuracies.filter((v) => v > -1e9))) - 0.02, 1.02] }; // R² ≤ 1; far below 0 is off the plot
  const [accuracyTitle, accuracyAxis] = view.regression ? ["R²", "R²"] : ["Accuracy", "accuracy (%)"];
  const margin = { l: 44, r: 10, t: 50, b: 34 };
  return {
    loss: [loss, smallLayout({ xaxis: x, yaxis: axis(view.logY ? "loss (log scale)" : "loss", lossY), shapes, annotations, title: plotTitle("Loss"), margin })],
    accuracy: [accuracy, smallLayout({ xaxis: x, yaxis: axis(accuracyAxis, accuracyY), shapes, annotations, title: plotTitle(accuracyTitle), margin })],
  };
}

/**
 * The core's layer names in the editor's terms: dense0 → "layer 1", the last dense → "output";
 * `hidden` is the number of hidden layers, `activations` the registry's.
 */
function layerLabel(name, hidden, activations) {
  const [, kind, index] = name.match(/^([a-z_]+?)(\d+)(?:\.W)?$/) ?? [null, name, ""];
  const i = Number(index);
  if (kind === "dense") return i >= hidden ? "output" : `layer ${i + 1}`;
  if (kind.endsWith("norm")) return `norm ${i + 1}`;
  const act = activations.find((a) => a.name === kind);
  return act ? `${act.label.replace(/ \(.*\)$/, "")} ${i + 1}` : name;
}

/**
 * The diagnostics of a run's `data` ({grad, dead, weights, activations}, each [traces, layout]):
 * gradient norm and dead ReLUs per layer over time (`gradView`, `deadView`: the plots' smoothing and
 * log settings), and the latest evaluation's weight and activation histograms.
 */
export function diagnosticsFigures(data, hidden, activations, gradView, deadView) {
  const label = (name) => layerLabel(name, hidden, activations);
  const activationNames = new Set(activations.map((a) => a.name));
  const isActivationLayer = (name) => activationNames.has(name.replace(/\d+$/, ""));
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
    return [...series.entries()].map(([name, s], i) => ({ x: s.x, y: s.y, trace: { name: label(name), line: { color: PALETTE[i % PALETTE.length], width: 1.6 } } }));
  };
  // each layer's curve, smoothed over its faint raw curve when the plot's smoothing is on
  const curves = (series, view) => series.flatMap(({ x, y, trace }) => smoothedPair(x, y, view.smoothing, trace));
  const layout = (title, yaxis, xtitle = "epoch") =>
    smallLayout({
      title: plotTitle(title),
      margin: { l: 44, r: 8, t: 50, b: 30 },
      xaxis: axis(xtitle),
      yaxis,
      legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", font: { size: 9 } },
    });
  const gradSeries = byLayer("grad_norm");
  const gradY = valueAxis(gradSeries.flatMap((t) => t.y), { log: gradView.log, robust: false, maxLabels: 4 });
  const grad = [curves(gradSeries, gradView), layout("Gradient norm per layer", axis(gradView.log ? "‖∇W‖ (log)" : "‖∇W‖", gradY))];
  const deadSeries = byLayer("dead_fraction");
  const dead = curves(deadSeries, deadView);
  const deadY = deadView.log ? valueAxis(deadSeries.flatMap((t) => t.y), { log: true, robust: false, maxLabels: 4 }) : { range: [0, 100] };
  const deadLayout = layout("Dead ReLUs", axis(deadView.log ? "dead units (%, log)" : "dead units (%)", deadY));
  if (!dead.length) {
    deadLayout.annotations = [{ text: "no ReLU layer", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: MUTED } }];
    deadLayout.xaxis.visible = false;
  }
  const diag = data.latest?.diagnostics;
  const histograms = (entries) => entries.map(([name, hist], i) => histogramTrace(hist, label(name), PALETTE[i % PALETTE.length]));
  const histLayout = (title, xtitle) => ({ ...layout(title, axis("share", { tickformat: ".0%" }), xtitle), hovermode: "closest" });
  const acts = Object.entries(diag?.activations ?? {}).filter(([name]) => isActivationLayer(name));
  const drawn = acts.length ? acts : Object.entries(diag?.activations ?? {}).filter(([name]) => name.startsWith("dense"));
  return {
    grad,
    dead: [dead, deadLayout],
    weights: [histograms(Object.entries(diag?.weights ?? {})), histLayout("Weights", "weight value")],
    activations: [histograms(drawn), histLayout("Activations", "output value")],
  };
}
