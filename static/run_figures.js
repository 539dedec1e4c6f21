// The figures both network pages draw: small curve plots in the shared theme, the marks where a run
// stopped or diverged, histograms, and long series thinned to what a plot can show.

import { MUTED, RULE, plotAxis, plotConfig, plotFont, plotLayout } from "./common.js";

// --- series ------------------------------------------------------------------------------------------

/** At most ~max points of (x, y): every point if few, else each bucket's minimum and maximum (the envelope). */
export function envelope(x, y, max = 4000) {
  const n = x.length;
  if (n <= max) return { x, y };
  const buckets = Math.floor(max / 2);
  const size = n / buckets;
  const ox = [];
  const oy = [];
  for (let b = 0; b < buckets; b++) {
    const i0 = Math.floor(b * size);
    const i1 = Math.min(n, Math.floor((b + 1) * size));
    let lo = i0;
    let hi = i0;
    for (let i = i0; i < i1; i++) {
      if (y[i] < y[lo]) lo = i;
      if (y[i] > y[hi]) hi = i;
    }
    for (const i of lo <= hi ? [lo, hi] : [hi, lo]) {
      ox.push(x[i]);
      oy.push(y[i]);
    }
  }
  return { x: ox, y: oy };
}

/** Every k-th point so that at most ~max remain (the last one always kept). */
export function thin(x, y, max = 2000) {
  const n = x.length;
  if (n <= max) return { x, y };
  const k = Math.ceil(n / max);
  const ox = [];
  const oy = [];
  for (let i = 0; i < n; i += k) {
    ox.push(x[i]);
    oy.push(y[i]);
  }
  if ((n - 1) % k) {
    ox.push(x[n - 1]);
    oy.push(y[n - 1]);
  }
  return { x: ox, y: oy };
}

// --- figures -----------------------------------------------------------------------------------------

// --- figures -----------------------------------------------------------------------------------------

const sizer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const el = entry.target;
    if (el._fullLayout && entry.contentRect.width > 0 && entry.contentRect.height > 0) Plotly.Plots.resize(el);
  }
});

/** Redraw a plot at its box's size whenever the box changes (not only when the window does). */
export const keepSized = (el) => sizer.observe(el);

/** The small plots' font (a size below the theme's figures). */
export const FONT = plotFont(11);
export const CONFIG = plotConfig();

/** An axis in the shared theme, its line drawn: axis("epoch", {range: [0, 10]}). */
export const axis = (title, extra = {}) => plotAxis(title, { linecolor: RULE, ...extra });

/** A small plot's layout: a legend on top, tight margins, one hover box for the x under the cursor. */
export function smallLayout(extra = {}) {
  return plotLayout({
    font: FONT,
    margin: { l: 44, r: 10, t: 24, b: 34 },
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 }, bgcolor: "rgba(0,0,0,0)" },
    hovermode: "x unified",
    hoverlabel: { font: { size: 11 } },
    ...extra,
  });
}

/** A vertical marker line with a label, as a layout shape and annotation. */
export function vline(x, label, color = MUTED, dash = "dot", y = 1, side = "left") {
  return {
    shape: { type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color, width: 1.5, dash } },
    annotation: { xref: "x", yref: "paper", x, y, yanchor: "top", xanchor: side, text: label, showarrow: false, font: { size: 10, color }, bgcolor: "rgba(255,255,255,0.85)" },
  };
}

/** Markers where a run stopped early (best and stopped epoch) or diverged, as {shapes, annotations}. */
export function endMarks(data, toX) {
  const marks = [];
  if (data.earlyStop) {
    const { best_epoch: best, stopped_epoch: stopped } = data.earlyStop;
    marks.push(vline(toX({ epoch: best }), `best: epoch ${best}`, "#007a5a", "dash", 1));
    marks.push(vline(toX({ epoch: stopped }), `stopped: epoch ${stopped}`, MUTED, "dot", 0.86, "right"));
  }
  if (data.diverged) marks.push(vline(toX({ step: data.diverged.step }), `diverged at step ${data.diverged.step}`, "#b91c1c", "dot", 1, "right"));
  return { shapes: marks.map((m) => m.shape), annotations: marks.map((m) => m.annotation) };
}

/** The x range of a run's curves: all planned epochs while it trains, what it ran once it ended early. */
export function epochRange(data, planned) {
  const per = data.start?.steps_per_epoch;
  const total = data.start?.config.epochs ?? planned;
  if (!data.ended || !per) return [0, Math.max(1, total)];
  const reached = Math.max(data.stepsDone, data.diverged?.step ?? 0) / per;
  return [0, Math.max(reached < total ? reached * 1.04 : total, 1e-3)];
}

/** Histogram {counts, edges} as a step line of the fraction of values per bin. */
export function histogramTrace(hist, name, color) {
  const total = hist.counts.reduce((a, b) => a + b, 0) || 1;
  const x = [];
  const y = [];
  for (let i = 0; i < hist.counts.length; i++) {
    x.push(hist.edges[i], hist.edges[i + 1]);
    y.push(hist.counts[i] / total, hist.counts[i] / total);
  }
  return { type: "scatter", mode: "lines", x, y, name, line: { color, width: 1.5, shape: "linear" }, fill: "tozeroy", fillcolor: `${color}22`, hovertemplate: `${name}: %{y:.1%}<extra></extra>` };
}
