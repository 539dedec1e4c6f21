// The building blocks page's figures, as Plotly [data, layout] pairs built from the server's answers:
// pure functions, drawn by blocks.js in the shared theme.

import { INK, MUTED, PALETTE, axisTitle, fmt, plotAxis } from "./common.js";

const BAND = "rgba(213, 94, 0, 0.12)"; // the vanishing region, PALETTE[1] faint
const axis = (extra = {}) => plotAxis(null, extra);
const title = axisTitle;
const color = (i) => PALETTE[i % PALETTE.length];

/** A bold heading over a subplot (`xref` "x domain", "x2 domain", …) or the plot ("paper"). */
const heading = (xref, text, extra = {}) => ({ text, xref, yref: "paper", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 11 }, ...extra });

/** One activation: f and f′ over z, the region where |f′| falls below the threshold shaded. */
export function activationFigure(a) {
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
  return [
    data,
    {
      margin: { l: 36, r: 8, t: 6, b: 28 },
      xaxis: axis({ range: [a.z[0], a.z.at(-1)], title: title("z") }),
      yaxis: axis({}),
      shapes,
    },
  ];
}

/** The input z and softmax(z) as bars side by side; `names` label the components. */
export function softmaxFigure(doc, names) {
  const bar = (y, axes, fill, text) => ({ type: "bar", x: names, y, xaxis: axes[0], yaxis: axes[1], marker: { color: fill }, text, textposition: "outside", cliponaxis: false, textfont: { size: 10 }, hovertemplate: "%{x}: %{y:.6g}<extra></extra>" });
  return [
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
      annotations: [heading("x domain", "<b>input z</b>"), heading("x2 domain", "<b>softmax(z)</b> — sums to 1")],
    },
  ];
}

/** Each loss and its gradient over the prediction ŷ, on a linear or (`log`) logarithmic sweep. */
export function lossesFigure(doc, log) {
  const data = [];
  doc.losses.forEach((l, i) => {
    const line = () => ({ color: color(i), width: 2 });
    const grad = log ? l.grad.map((g) => (g === 0 ? null : Math.abs(g))) : l.grad;
    data.push(
      { type: "scatter", mode: "lines", x: doc.pred, y: l.value, name: l.label, line: line(), hovertemplate: `${l.label}<br>ŷ = %{x:.4g}<br>L = %{y:.5g}<extra></extra>` },
      { type: "scatter", mode: "lines", x: doc.pred, y: grad, name: l.label, xaxis: "x2", yaxis: "y2", line: line(), connectgaps: false, hovertemplate: `${l.label}<br>ŷ = %{x:.4g}<br>${log ? "|∂L/∂ŷ|" : "∂L/∂ŷ"} = %{y:.5g}<extra></extra>` },
    );
  });
  const xaxis = axis(log ? { type: "log", exponentformat: "power", dtick: 5, title: title("prediction ŷ (log scale)") } : { range: [0, 1], title: title("prediction ŷ") });
  // a linear sweep starts at ŷ = 1/n, where −y/ŷ is huge: hold the gradient axis to a readable window
  const grads = doc.losses.flatMap((l) => l.grad);
  const gradRange = log ? undefined : [Math.max(Math.min(...grads), -12) - 0.5, Math.max(...grads, 0) + 0.5];
  const clipLine = (ax) => ({ type: "line", xref: ax, yref: "paper", x0: doc.clip, x1: doc.clip, y0: 0, y1: 1, line: { color: MUTED, width: 1, dash: "dot" } });
  const annotations = [heading("x domain", `<b>loss L(y, ŷ)</b>, y = ${fmt(doc.target)}`), heading("x2 domain", log ? "<b>|∂L/∂ŷ|</b> (log; 0 not drawn)" : "<b>gradient ∂L/∂ŷ</b>")];
  if (log) {
    const clipNote = (xref) => ({ text: "clip 10⁻¹⁵", x: Math.log10(doc.clip), y: 0.5, xref, yref: "paper", showarrow: false, textangle: -90, xanchor: "right", font: { size: 10, color: MUTED } });
    annotations.push(clipNote("x"), clipNote("x2"));
  } else if (Math.min(...grads) < -12) {
    annotations.push({ text: "cross-entropy's gradient continues below the axis (−y/ŷ)", xref: "x2 domain", yref: "y2 domain", x: 0.98, y: 0.02, xanchor: "right", yanchor: "bottom", showarrow: false, font: { size: 10, color: MUTED } });
  }
  return [
    data,
    {
      margin: { l: 48, r: 10, t: 24, b: 40 },
      grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.12 },
      xaxis,
      xaxis2: { ...xaxis },
      yaxis: axis({ rangemode: "tozero" }),
      yaxis2: axis(log ? { type: "log", exponentformat: "power" } : { range: gradRange }),
      shapes: log ? [clipLine("x"), clipLine("x2")] : [],
      annotations,
    },
  ];
}

/** One histogram per initialization, side by side. */
export function initsFigure(doc) {
  const data = doc.inits.map((s, i) => {
    const centers = s.counts.map((_, k) => (s.edges[k] + s.edges[k + 1]) / 2);
    const width = s.edges[1] - s.edges[0] || 1;
    const ax = i ? String(i + 1) : "";
    return { type: "bar", x: centers, y: s.counts, width, xaxis: `x${ax}`, yaxis: `y${ax}`, marker: { color: color(i), line: { width: 0 } }, hovertemplate: `${s.label}<br>w ≈ %{x:.4g}<br>%{y} weights<extra></extra>` };
  });
  const layout = {
    margin: { l: 46, r: 10, t: 24, b: 30 },
    grid: { rows: 1, columns: doc.inits.length, pattern: "independent", xgap: 0.1 },
    bargap: 0,
    annotations: doc.inits.map((s, i) => heading(`x${i ? i + 1 : ""} domain`, `<b>${s.label}</b>`, { font: { size: 11, color: color(i) } })),
  };
  doc.inits.forEach((_, i) => {
    layout[`xaxis${i ? i + 1 : ""}`] = axis({ exponentformat: "none", nticks: 6 });
    layout[`yaxis${i ? i + 1 : ""}`] = axis({ nticks: 5, title: i ? undefined : title("weights per bin") });
  });
  return [data, layout];
}

/** Xavier's limit √(6/(m+n)) over the layer size `curve`, this layer's limit and this draw's largest |w|. */
export function xavierFigure(doc, curve) {
  const xavier = doc.inits.find((s) => s.name === "xavier");
  const size = doc.inputs + doc.neurons;
  const data = [
    { type: "scatter", mode: "lines", x: curve.sizes, y: curve.limits, line: { color: PALETTE[1], width: 2 }, hovertemplate: "m + n = %{x}<br>limit %{y:.4f}<extra></extra>" },
    { type: "scatter", mode: "markers", x: [size], y: [doc.xavier_limit], marker: { color: "#fff", size: 10, line: { color: PALETTE[1], width: 2 } }, hovertemplate: `this layer: m + n = ${size}<br>limit √(6/(m+n)) = %{y:.4f}<extra></extra>` },
  ];
  if (xavier) {
    const reach = Math.max(-xavier.min, xavier.max);
    data.push({ type: "scatter", mode: "markers", x: [size], y: [reach], marker: { color: INK, size: 6, symbol: "x-thin", line: { color: INK, width: 2 } }, hovertemplate: "this draw: largest |w| = %{y:.4f}<extra></extra>" });
  }
  return [
    data,
    {
      margin: { l: 50, r: 10, t: 24, b: 38 },
      xaxis: axis({ type: "log", dtick: 1, exponentformat: "none", title: title("layer size m + n (log)") }),
      yaxis: axis({ type: "log", dtick: 1, exponentformat: "none", title: title("limit √(6/(m+n)) (log)") }),
      annotations: [heading("paper", `<b>Xavier's range ±√(6/(m+n)) shrinks as layers grow</b> · ○ this layer: ±${doc.xavier_limit.toFixed(4)}`)],
    },
  ];
}

/** The batch before and after normalization: each group's values spread out, its mean ± σ beside them. */
export function normFigure(doc) {
  const labels = doc.labels;
  const tick = labels.map((l) => l.replace(" · ", "<br>"));
  const data = [];
  const spread = (values, k) => values.map((_, j) => k + (values.length > 1 ? (j / (values.length - 1) - 0.5) * 0.36 : 0));
  labels.forEach((label, k) => {
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
        marker: { color: color(k), size: 7, opacity: 0.85, line: { color: "#fff", width: 0.5 } },
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
  return [
    data,
    {
      margin: { l: 40, r: 10, t: 24, b: 10 },
      grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.1 },
      xaxis: xcat,
      xaxis2: { ...xcat },
      yaxis: axis({}),
      yaxis2: axis({}),
      annotations: [heading("x domain", "<b>before</b>: x, grouped by shared μ, σ²  (— μ, bar ±σ)"), heading("x2 domain", "<b>after</b>: each group at mean 0, variance ≈ 1")],
    },
  ];
}
