// Plotly figures of the network tools, as pure functions of the results: the range test's loss against
// the rate, the hyperparameter map, the seed bands. Each returns {data, layout}.

import { fmt, GRID, MUTED, PALETTE, pct } from "./common.js";
import { decadeAxis, smooth, valueAxis } from "./charts.js";
import { axis, smallLayout } from "./run_figures.js";

const GOOD = "#009E73";
const BAD = "#b91c1c";

/** n values from low to high (log-spaced if asked); batch sizes as powers of two within [low, high]. */
export function grid(low, high, n, log, integer, powersOfTwo = false) {
  const values = Array.from({ length: n }, (_, i) => {
    const t = n === 1 ? 0 : i / (n - 1);
    const v = log && low > 0 ? low * (high / low) ** t : low + t * (high - low);
    if (powersOfTwo) return Math.min(Math.max(2 ** Math.round(Math.log2(v)), low), high);
    return integer ? Math.round(v) : Number(v.toPrecision(3));
  });
  return [...new Set(values)];
}

// --- the range test ----------------------------------------------------------------------------------------

/** A dotted vertical line at rate x on the log axis (shapes take the rate, annotations its log). */
function marker(x, label, color) {
  return {
    shape: { type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color, width: 1.5, dash: "dot" } },
    annotation: { xref: "x", yref: "paper", x: Math.log10(x), y: 1, yanchor: "top", xanchor: "left", text: label, showarrow: false, font: { size: 11, color }, bgcolor: "rgba(255,255,255,0.85)" },
  };
}

export function rangeFigure(result) {
  const marks = [
    result.steepest && marker(result.steepest.lr, `steepest descent: η = ${fmt(result.steepest.lr, 3)}`, GOOD),
    result.minimum && marker(result.minimum.lr, `minimum: ${fmt(result.minimum.lr, 3)}`, MUTED),
    result.divergence && marker(result.divergence.lr, `diverges: ${fmt(result.divergence.lr, 3)}`, BAD),
  ].filter(Boolean);
  marks.forEach((m, i) => (m.annotation.y = 1 - 0.07 * i));
  // up to the smoothed minimum and a third above: the blow-up runs off the top instead of flattening the rest
  const upTo = result.minimum ? result.lr.findIndex((x) => x >= result.minimum.lr) + 1 : result.smoothed.length;
  const top = 1.3 * Math.max(...result.smoothed.slice(0, Math.max(upTo, 2)));
  const sorted = result.loss.filter(Number.isFinite).sort((a, b) => a - b);
  const bottom = Math.max(0, sorted[Math.floor(sorted.length * 0.02)] ?? 0);
  const data = [
    { type: "scatter", mode: "lines", x: result.lr, y: result.loss, name: "mini-batch loss", line: { color: "#9fb7d4", width: 1 }, hovertemplate: "η %{x:.3g}: %{y:.4g}<extra></extra>" },
    { type: "scatter", mode: "lines", x: result.lr, y: result.smoothed, name: "smoothed", line: { color: PALETTE[0], width: 2.2 }, hovertemplate: "η %{x:.3g}: %{y:.4g} (smoothed)<extra></extra>" },
  ];
  const layout = smallLayout({
    xaxis: axis("learning rate η (log scale)", result.lr.length ? decadeAxis(result.lr[0], result.lr.at(-1), { maxLabels: 8 }) : { type: "log" }),
    yaxis: axis("training loss", { range: [bottom * 0.95, top] }),
    shapes: marks.map((m) => m.shape),
    annotations: marks.map((m) => m.annotation),
    margin: { l: 52, r: 16, t: 28, b: 40 },
    hovermode: "closest",
  });
  return { data, layout };
}

// --- the hyperparameter map ----------------------------------------------------------------------------------

const cellValue = (result, metric) => (!result || result.status === "diverged" ? null : result[metric]);

/**
 * The map of `cells` [{i, j, x, y}] coloured by `metric` (test_loss on a log scale, accuracy or
 * steps_to_target), with each cell's value written in it; `got`: index -> {result, error};
 * `selected`: the clicked cell or null.
 */
export function mapFigure({ cells, spec, metric, metricLabel, target }, got, selected) {
  const xs = [...new Set(cells.map((c) => c.x))];
  const ys = [...new Set(cells.map((c) => c.y))];
  const z = ys.map(() => xs.map(() => null));
  const text = ys.map(() => xs.map(() => "…"));
  const hover = ys.map(() => xs.map(() => "waiting"));
  const reversed = metric !== "accuracy"; // low loss and few steps are good: the bright end
  cells.forEach((c, index) => {
    const entry = got.get(index);
    if (!entry) return;
    if (entry.error) {
      text[c.j][c.i] = "error";
      hover[c.j][c.i] = entry.error;
      return;
    }
    const result = entry.result;
    const v = cellValue(result, metric);
    z[c.j][c.i] = metric === "test_loss" && v !== null ? Math.log10(Math.max(v, 1e-12)) : v;
    text[c.j][c.i] = result.status === "diverged" ? "✕" : v === null ? "–" : metric === "accuracy" ? pct(v, 0) : metric === "test_loss" ? fmt(v, 2) : String(v);
    hover[c.j][c.i] = `${result.status}; test accuracy ${pct(result.accuracy)}; test loss ${fmt(result.test_loss, 3)}; steps to ${pct(target, 0)}: ${result.steps_to_target ?? "not reached"}`;
  });
  const flat = z.flat().filter((v) => v !== null);
  const colorbar = { thickness: 10, len: 0.9, title: { text: metricLabel, side: "right", font: { size: 11 } }, tickfont: { size: 10 } };
  if (metric === "test_loss") {
    const lo = Math.floor(Math.min(...flat, 0));
    const hi = Math.ceil(Math.max(...flat, -1));
    const ticks = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
    Object.assign(colorbar, { tickvals: ticks, ticktext: ticks.map((t) => fmt(10 ** t, 2)) });
  }
  const [zmin, zmax] = [Math.min(...flat), Math.max(...flat)];
  const dark = (v) => v !== null && zmax > zmin && (reversed ? (zmax - v) / (zmax - zmin) : (v - zmin) / (zmax - zmin)) < 0.45;
  const labels = cells.map((c) => ({
    x: c.i, // positions on a category axis: a label such as "0.01" would be read as a position
    y: c.j,
    text: text[c.j][c.i],
    showarrow: false,
    font: { size: 12, color: dark(z[c.j][c.i]) ? "#ffffff" : "#111827" },
  }));
  const data = [
    {
      type: "heatmap",
      x: xs.map((x) => fmt(x, 3)),
      y: ys.map((y) => fmt(y, 3)),
      z,
      customdata: hover,
      hovertemplate: `η %{x}, ${spec.label} %{y}: %{customdata}<extra></extra>`,
      colorscale: "Viridis",
      reversescale: reversed,
      colorbar,
      hoverongaps: true,
      xgap: 2,
      ygap: 2,
    },
  ];
  if (selected) {
    data.push({ type: "scatter", mode: "markers", x: [fmt(selected.x, 3)], y: [fmt(selected.y, 3)], marker: { symbol: "square-open", size: 40, color: "#111827", line: { width: 3 } }, hoverinfo: "skip", showlegend: false });
  }
  const layout = smallLayout({
    xaxis: axis("learning rate η", { type: "category" }),
    yaxis: axis(spec.label, { type: "category" }),
    annotations: labels,
    margin: { l: 60, r: 10, t: 28, b: 44 },
    showlegend: false,
    hovermode: "closest",
    plot_bgcolor: GRID, // the gaps between cells
  });
  return { data, layout };
}

// --- seed bands ----------------------------------------------------------------------------------------------

/** Mean, sample standard deviation and count of each list of values. */
export function meanStd(lists) {
  return lists.map((values) => {
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
    return { mean, sd, n };
  });
}

/** Curves of several runs on shared x values: per x, the statistics of the runs that got there. */
export function columns(curves) {
  const byStep = new Map();
  for (const c of curves) {
    c.step.forEach((s, k) => {
      if (c.value[k] === null) return;
      if (!byStep.has(s)) byStep.set(s, []);
      byStep.get(s).push(c.value[k]);
    });
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  return { steps, stats: meanStd(steps.map((s) => byStep.get(s))) };
}

function bandTraces(curves, color, name, hover, smoothing = 0) {
  const { steps, stats } = columns(curves);
  const mean = stats.map((s) => s.mean);
  return [
    ...curves.map((c, k) => ({ type: "scatter", mode: "lines", x: c.step, y: c.value, line: { color: "rgba(107,114,128,0.35)", width: 0.8 }, hoverinfo: "skip", showlegend: k === 0, name: "each seed" })),
    { type: "scatter", mode: "lines", x: steps, y: stats.map((s) => s.mean + s.sd), line: { width: 0 }, hoverinfo: "skip", showlegend: false },
    { type: "scatter", mode: "lines", x: steps, y: stats.map((s) => s.mean - s.sd), line: { width: 0 }, fill: "tonexty", fillcolor: `${color}33`, name: "± 1 standard deviation", hoverinfo: "skip" },
    { type: "scatter", mode: "lines", x: steps, y: mean, line: { color, width: 2.2 }, name, customdata: stats.map((s) => [s.sd, s.n]), hovertemplate: hover },
    // smoothed, the mean above stays as it is (TensorBoard: the raw curve kept, the smooth one over it)
    ...(smoothing ? [{ type: "scatter", mode: "lines", x: steps, y: smooth(mean, smoothing), line: { color: "#111827", width: 1.6, dash: "dot" }, name: `${name}, smoothed ${smoothing}`, hoverinfo: "skip", meta: "smoothed" }] : []),
  ];
}

/**
 * {loss, accuracy} figures of the seeds' results: each seed faint, the mean with a ±1 sd band; the
 * loss's mean smoothed on request (`smoothing`), its y axis log or linear (`log`).
 */
export function seedFigures(results, target, { smoothing = 0, log = false } = {}) {
  const loss = results.map((r) => r.curve);
  const { stats } = columns(loss);
  const settled = stats.slice(Math.floor(stats.length / 20)); // the first steps' loss would flatten the rest
  const top = Math.max(...settled.map((x) => x.mean + x.sd)) * 1.15;
  return {
    loss: {
      data: bandTraces(loss, PALETTE[0], "mean loss", "step %{x}: %{y:.4g} ± %{customdata[0]:.2g} (%{customdata[1]} seeds)<extra></extra>", smoothing),
      layout: smallLayout({
        xaxis: axis("step"),
        yaxis: log
          ? axis("mini-batch loss (log)", valueAxis(loss.flatMap((c) => c.value), { log: true, robust: false, maxLabels: 4 }))
          : axis("mini-batch loss", { range: [0, Number.isFinite(top) ? top : undefined] }),
        margin: { l: 52, r: 10, t: 26, b: 34 },
        hovermode: "closest",
      }),
    },
    accuracy: {
      data: bandTraces(results.map((r) => r.accuracy_curve), PALETTE[2], "mean test accuracy", "step %{x}: %{y:.1%} ± %{customdata[0]:.1%}<extra></extra>"),
      layout: smallLayout({
        xaxis: axis("step"),
        yaxis: axis("test accuracy", { tickformat: ".0%" }),
        margin: { l: 52, r: 10, t: 26, b: 34 },
        hovermode: "closest",
        shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: target, y1: target, line: { color: GOOD, dash: "dot", width: 1.5 } }],
        annotations: [{ xref: "paper", x: 1, y: target, xanchor: "right", yanchor: "bottom", text: `target ${pct(target, 0)}`, showarrow: false, font: { size: 10, color: GOOD } }],
      }),
    },
  };
}
