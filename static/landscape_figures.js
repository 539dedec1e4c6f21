// Plotly figures of the landscape page, as pure functions of the data: the surface (background),
// the paths and vectors drawn over it (foreground), the side plots and the 3D view.
//
// The map is two stacked figures with identical size, margins and ranges. The surface (a contour
// or heatmap) changes only with the landscape, while the paths change every animation frame; in
// one figure every path update would recompute the contours too (three times the cost).

import { valueAxis } from "./charts.js";
import { GRID, INK, MUTED, fmt, plotFont, plotLayout } from "./common.js";

export const MARGIN = { l: 46, r: 78, t: 8, b: 36, pad: 0, autoexpand: false };

// Light where f is low, so the racers' colours stand out along the valleys they end in.
export const COLORSCALE = [
  [0, "#fbfdff"],
  [0.2, "#e4edf6"],
  [0.45, "#c4d5e8"],
  [0.7, "#9fb7d4"],
  [1, "#7895bd"],
];


// --- surface ---------------------------------------------------------------------------------------

/** Where the colour bar puts its ticks: at f values, even when colours follow log10(f − min + δ). */
function colorbar(surface) {
  const bar = {
    title: { text: surface.log_scale ? "f (log scale)" : "f", side: "right", font: { size: 12 } },
    thickness: 12,
    len: 1,
    x: 1.015,
    xanchor: "left",
    xpad: 0,
    ypad: 0,
    outlinewidth: 0,
    tickfont: { size: 11 },
  };
  if (!surface.log_scale) return bar;
  const [lo, hi] = surface.range;
  const first = Math.ceil(lo);
  const last = Math.floor(hi);
  const every = Math.max(1, Math.ceil((last - first + 1) / 7));
  const tickvals = [];
  for (let t = first; t <= last; t += every) tickvals.push(t);
  return { ...bar, tickvals, ticktext: tickvals.map((t) => fmt(surface.zmin + 10 ** t, 3)) };
}

function quiver(surface, show) {
  // −∇f as short line segments with arrowheads, three traces by gradient size (light to dark)
  const a = surface.arrows;
  const n = a.x.length;
  const side = Math.round(Math.sqrt(n)) || 1;
  const [[x0, x1], [y0, y1]] = surface.domain;
  const len = (0.8 * Math.min(x1 - x0, y1 - y0)) / side;
  const logs = Array.from(a.norm, (v) => Math.log10(v + 1e-300));
  const sorted = logs.filter((v, i) => a.u[i] || a.v[i]).sort((p, q) => p - q);
  const cut = [sorted[Math.floor(sorted.length / 3)], sorted[Math.floor((2 * sorted.length) / 3)]];
  const bins = [0, 1, 2].map(() => ({ x: [], y: [] }));
  for (let i = 0; i < n; i++) {
    if (!a.u[i] && !a.v[i]) continue;
    const b = logs[i] < cut[0] ? 0 : logs[i] < cut[1] ? 1 : 2;
    const cx = a.x[i] - (len / 2) * a.u[i];
    const cy = a.y[i] - (len / 2) * a.v[i];
    arrow(bins[b].x, bins[b].y, cx, cy, a.u[i], a.v[i], len, 0.32);
  }
  return bins.map((bin, b) => ({
    type: "scatter",
    mode: "lines",
    x: bin.x,
    y: bin.y,
    line: { color: `rgba(31, 41, 55, ${[0.22, 0.38, 0.55][b]})`, width: 1 },
    hoverinfo: "skip",
    visible: show,
    showlegend: false,
  }));
}

/**
 * Append one arrow from (x0, y0) along (dx, dy), drawn `length` long, to the segment lists xs, ys.
 * A vector at rounding-noise size (a gradient of 1e-14 at a minimum) has no direction: no arrow.
 */
export function arrow(xs, ys, x0, y0, dx, dy, length, head = 0.28) {
  const n = Math.hypot(dx, dy);
  if (!(n > 1e-10) || !Number.isFinite(n)) return;
  const ux = dx / n;
  const uy = dy / n;
  const x1 = x0 + length * ux;
  const y1 = y0 + length * uy;
  const c = Math.cos(0.45);
  const s = Math.sin(0.45);
  const hl = head * length;
  xs.push(x0, x1, null, x1 + hl * (-ux * c + uy * s), x1, x1 + hl * (-ux * c - uy * s), null);
  ys.push(y0, y1, null, y1 + hl * (-ux * s - uy * c), y1, y1 + hl * (ux * s - uy * c), null);
}

function axes(domain, { labels }) {
  const [[x0, x1], [y0, y1]] = domain;
  const common = {
    showgrid: false,
    zeroline: false,
    automargin: false,
    constrain: "domain",
    showticklabels: labels,
    ticks: labels ? "outside" : "",
    ticklen: 4,
    tickcolor: "#9ca3af",
    showline: labels,
    linecolor: "#9ca3af",
    mirror: labels,
    tickfont: { size: 11 },
  };
  return {
    xaxis: { ...common, range: [x0, x1], title: labels ? { text: "x", standoff: 2, font: { size: 12 } } : undefined },
    yaxis: {
      ...common,
      range: [y0, y1],
      scaleanchor: "x",
      scaleratio: 1,
      title: labels ? { text: "y", standoff: 2, font: { size: 12 } } : undefined,
    },
  };
}

/** The region where f ≤ `target` (a replay's target loss), outlined and lightly filled. */
function targetRegion(surface, target) {
  return {
    type: "contour",
    x: surface.x,
    y: surface.y,
    z: surface.z,
    contours: { type: "constraint", operation: ">", value: target }, // Plotly fills what the constraint leaves out: f ≤ target
    fillcolor: "rgba(0, 158, 115, 0.16)",
    line: { color: "#047857", width: 1.6, dash: "dash" },
    hoverinfo: "skip",
    showscale: false,
    showlegend: false,
  };
}

/** Background figure: the surface as contour or heatmap with the −∇f field (and a replay's target). */
export function surfaceFigure(surface, { view, arrows, ranges, uirevision, target = null }) {
  const heat = view === "heatmap";
  const map = {
    type: heat ? "heatmap" : "contour",
    x: surface.x,
    y: surface.y,
    z: surface.color,
    colorscale: COLORSCALE,
    zmin: surface.range[0],
    zmax: surface.range[1],
    colorbar: colorbar(surface),
    hoverinfo: "skip",
    ...(heat
      ? { zsmooth: "best" }
      : { ncontours: 26, contours: { coloring: "fill", showlines: true }, line: { color: "rgba(31,41,55,0.22)", width: 0.6 } }),
  };
  return {
    data: [map, ...(target === null ? [] : [targetRegion(surface, target)]), ...quiver(surface, arrows)],
    layout: plotLayout({
      margin: MARGIN,
      ...axes(ranges ?? surface.domain, { labels: true }),
      dragmode: false,
      hovermode: false,
      uirevision,
    }),
  };
}

// --- paths ---------------------------------------------------------------------------------------

/**
 * What is drawn of each racer on the map, in data coordinates: its path up to the row shown, the
 * step vectors there (update, −g, −state buffers, as segment lists with null breaks), its head and,
 * once a diverged path is shown whole, the step that left: from the last point towards where it
 * went, cut at the visible rectangle `view`, ending in an arrow head at `end` (angle clockwise from
 * up). One geometry for the live canvas (landscape_trails.js) and the exported figure.
 * `racers`: [{label, color, stale, rows, j, outcome}], rows = the path's columns, j = the row shown.
 */
export function racerMarks(racers, { vectors, view }) {
  const [[vx0, vx1], [vy0, vy1]] = view;
  const vecLen = 0.09 * Math.min(Math.abs(vx1 - vx0), Math.abs(vy1 - vy0));
  return racers.map((r) => {
    const { rows, j } = r;
    const has = Boolean(rows && rows.x.length > 0 && j >= 0);
    const mark = { label: r.label, color: r.color, opacity: r.stale ? 0.35 : 1, path: { x: [], y: [] }, vectors: null, head: null, escape: null };
    if (!has) return mark;
    mark.path = { x: rows.x.slice(0, j + 1), y: rows.y.slice(0, j + 1) };
    mark.head = { x: rows.x[j], y: rows.y[j], text: `${r.label}<br>step ${j}<br>(${fmt(rows.x[j])}, ${fmt(rows.y[j])})` };
    if (vectors && j >= 1) {
      const vec = [0, 1, 2].map(() => ({ x: [], y: [] }));
      const x0 = rows.x[j - 1];
      const y0 = rows.y[j - 1];
      arrow(vec[0].x, vec[0].y, x0, y0, rows.x[j] - x0, rows.y[j] - y0, vecLen);
      arrow(vec[1].x, vec[1].y, x0, y0, -rows.gx[j], -rows.gy[j], vecLen);
      for (const buffer of Object.values(rows.state)) arrow(vec[2].x, vec[2].y, x0, y0, -buffer[j][0], -buffer[j][1], 0.8 * vecLen);
      mark.vectors = vec;
    }
    if (r.outcome?.status === "diverged" && j === rows.x.length - 1) {
      const { heading, escape } = r.outcome;
      const [x0, y0] = [rows.x[j], rows.y[j]];
      const far = 4 * Math.hypot(vx1 - vx0, vy1 - vy0) + Math.hypot(x0 - vx0, y0 - vy0);
      const to = escape ?? [x0 + far * heading[0], y0 + far * heading[1]];
      const cut = clipSegment(x0, y0, to[0], to[1], view);
      const [ex, ey] = cut ? [cut[2], cut[3]] : onMap(x0, y0, view);
      const where = escape ? `(${fmt(escape[0])}, ${fmt(escape[1])})` : "a point too far to represent";
      mark.escape = {
        segment: cut ? { x: [cut[0], cut[2]], y: [cut[1], cut[3]] } : null,
        end: { x: ex, y: ey, angle: (Math.atan2(heading[0], heading[1]) * 180) / Math.PI },
        text: `${r.label}<br>${r.outcome.message}<br>step ${r.outcome.step} went from (${fmt(x0)}, ${fmt(y0)}) to ${where}`,
      };
    }
    return mark;
  });
}

/** Markers of the landscape's minima (global: stars, local: diamonds), two traces; every map draws them so. */
export function minimaTraces(minima) {
  return [true, false].map((global) => {
    const ms = minima.filter((m) => m.is_global === global);
    return {
      type: "scatter",
      mode: "markers",
      x: ms.map((m) => m.x),
      y: ms.map((m) => m.y),
      marker: global
        ? { symbol: "star", size: 15, color: INK, line: { color: "#fff", width: 1.2 } }
        : { symbol: "diamond-open", size: 10, color: INK, line: { width: 1.8 } },
      hovertemplate: ms.map(
        (m) => `${global ? "global" : "local"} minimum<br>(${fmt(m.x)}, ${fmt(m.y)})<br>f = ${fmt(m.value)}<extra></extra>`,
      ),
      showlegend: false,
    };
  });
}

/**
 * The live map's foreground figure: the minima, over a transparent plot that takes the mouse (zoom,
 * clicks, hover). The racers and the start are drawn on a canvas beneath it (landscape_trails.js):
 * this figure changes only with the landscape and the zoom.
 */
export function markersFigure({ landscape, view, uirevision }) {
  return {
    data: minimaTraces(landscape.minima),
    layout: plotLayout({
      margin: MARGIN,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      ...axes(view, { labels: false }),
      hoveranywhere: true,
      clickanywhere: true,
      dragmode: "zoom",
      hoverlabel: { font: { size: 12 } },
      uirevision,
    }),
  };
}

/**
 * The whole map's foreground as Plotly traces (for the exported image): minima, start, and each
 * racer's marks from `racerMarks`, with a legend of the racers.
 */
export function pathsFigure({ landscape, start, racers, vectors, view }) {
  const marks = racerMarks(racers, { vectors, view });
  const data = [...minimaTraces(landscape.minima)];
  data.push({
    type: "scatter",
    mode: "markers+text",
    x: [start[0]],
    y: [start[1]],
    text: ["start"],
    textposition: "top right",
    textfont: { size: 11, color: INK },
    marker: { symbol: "circle-open", size: 14, color: INK, line: { width: 2.5 } },
    hovertemplate: `start<br>(${fmt(start[0])}, ${fmt(start[1])})<extra></extra>`,
    cliponaxis: false,
    showlegend: false,
  });
  const dash = ["solid", "dash", "dot"];
  const width = [2.6, 1.8, 1.8];
  for (const m of marks) {
    data.push({ type: "scatter", mode: "lines", ...m.path, line: { color: m.color, width: 2.2 }, opacity: m.opacity, name: m.label, showlegend: true });
    if (m.vectors) {
      m.vectors.forEach((v, i) => data.push({ type: "scatter", mode: "lines", ...v, line: { color: m.color, width: width[i], dash: dash[i] }, opacity: m.opacity, hoverinfo: "skip", showlegend: false }));
    }
    if (m.head) data.push({ type: "scatter", mode: "markers", x: [m.head.x], y: [m.head.y], marker: { size: 10, color: m.color, opacity: m.opacity, line: { color: "#fff", width: 1.5 } }, showlegend: false });
    if (m.escape) {
      if (m.escape.segment) data.push({ type: "scatter", mode: "lines", ...m.escape.segment, line: { color: INK, width: 1.6, dash: "dot" }, showlegend: false });
      const e = m.escape.end;
      data.push({ type: "scatter", mode: "markers", x: [e.x], y: [e.y], marker: { symbol: "arrow", angle: e.angle, size: 16, color: m.color, line: { color: "#fff", width: 1 } }, cliponaxis: false, showlegend: false });
    }
  }
  return { data };
}

/**
 * The part of the segment (x0, y0) → (x1, y1) inside the visible rectangle (inset 2%), as
 * [x0, y0, x1, y1], or null when none of it is (Liang–Barsky).
 */
export function clipSegment(x0, y0, x1, y1, [[ax, bx], [ay, by]]) {
  [ax, bx] = [Math.min(ax, bx), Math.max(ax, bx)];
  [ay, by] = [Math.min(ay, by), Math.max(ay, by)];
  const mx = 0.02 * (bx - ax);
  const my = 0.02 * (by - ay);
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  const sides = [
    [-dx, x0 - (ax + mx)],
    [dx, bx - mx - x0],
    [-dy, y0 - (ay + my)],
    [dy, by - my - y0],
  ];
  for (const [p, q] of sides) {
    if (p === 0) {
      if (q < 0) return null;
    } else if (p < 0) t0 = Math.max(t0, q / p);
    else t1 = Math.min(t1, q / p);
  }
  if (t0 > t1) return null;
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}

/** (x, y) pulled onto the visible rectangle (inset 2%), and whether it had to move. */
function onMap(x, y, [[x0, x1], [y0, y1]]) {
  const [ax, bx] = [Math.min(x0, x1), Math.max(x0, x1)];
  const [ay, by] = [Math.min(y0, y1), Math.max(y0, y1)];
  const mx = 0.02 * (bx - ax);
  const my = 0.02 * (by - ay);
  const cx = Math.min(bx - mx, Math.max(ax + mx, x));
  const cy = Math.min(by - my, Math.max(ay + my, y));
  return [cx, cy, cx !== x || cy !== y];
}

// --- side plots ------------------------------------------------------------------------------------

const SIDE_ROWS = [
  { key: "gap", title: "f − f*", help: "loss above the minimum" },
  { key: "dist", title: "distance", help: "to the nearest minimum" },
  { key: "lr", title: "η", help: "learning rate" },
];

/**
 * Loss, distance to the nearest minimum and learning rate against the step, one row each: raw
 * values, or with `smoothing` the smoothed curve over the faint raw one; log or linear y. On a log
 * axis a value ≤ 0 is left out (f − f* ≤ 0: outside the domain, shaded instead). `target`: a replay's
 * target loss, drawn as a line on the f − f* row.
 */
export function sideFigure({ racers, steps, cursor, uirevision, log = true, smoothing = 0, target = null }) {
  const empty = racers.every((r) => r.series.gap.x.length === 0);
  const shown = (v) => (log && !(v > 0) ? null : v);
  const data = [];
  const plotted = SIDE_ROWS.map(() => []);
  SIDE_ROWS.forEach((row, i) => {
    for (const r of racers) {
      const { x, y: raw, smooth } = r.series[row.key];
      const y = raw.map(shown);
      for (const v of y) plotted[i].push(v);
      const trace = {
        type: "scatter",
        mode: y.length === 1 ? "markers" : "lines",
        x,
        xaxis: "x",
        yaxis: i ? `y${i + 1}` : "y",
        line: { color: r.color, width: 1.6 },
        marker: { color: r.color, size: 6 },
        opacity: r.stale ? 0.35 : 1,
        name: r.label,
        hovertemplate: `${r.label}<br>step %{x}<br>${row.title} = %{y:.4g}<extra></extra>`,
        showlegend: false,
      };
      // raw first (the trace the racer's index finds), then its smoothed curve over it
      if (smooth) {
        data.push({ ...trace, y, opacity: 0.25 * trace.opacity, line: { color: r.color, width: 1 }, hoverinfo: "skip", hovertemplate: undefined, meta: "raw" });
        data.push({ ...trace, y: smooth.map(shown), name: `${r.label} (smoothed)`, meta: "smoothed" });
      } else {
        data.push({ ...trace, y });
      }
    }
  });
  const shapes = [cursorShape(cursor)];
  const annotations = [];
  // where f − f* ≤ 0 (a path outside the domain, below every minimum): shaded, not drawn as a tiny value
  const below = racers.filter((r) => r.series.below.length);
  for (const r of below) {
    for (const [a, b] of r.series.below) {
      shapes.push({ type: "rect", xref: "x", yref: "y domain", x0: a - 0.5, x1: b + 0.5, y0: 0, y1: 1, fillcolor: r.color, opacity: 0.18, line: { width: 0 }, layer: "below" });
    }
  }
  if (below.length) {
    const who = below.map((r) => r.label).join(", ");
    annotations.push({ text: `shaded: f < f* (${who}, outside the domain)`, xref: "x domain", yref: "y domain", x: 1, y: 0, xanchor: "right", yanchor: "bottom", showarrow: false, font: { size: 10, color: "#92400e" }, bgcolor: "rgba(255,255,255,0.8)" });
  }
  const fstar = racers.find((r) => r.series.fstar !== undefined)?.series.fstar;
  const targetGap = target !== null && fstar !== undefined ? target - fstar : null;
  if (targetGap !== null && (targetGap > 0 || !log)) {
    shapes.push({ type: "line", xref: "x domain", yref: "y", x0: 0, x1: 1, y0: targetGap, y1: targetGap, line: { color: INK, width: 1, dash: "dash" } });
    annotations.push({ text: "target", xref: "x domain", yref: "y", x: 1, y: log ? Math.log10(targetGap) : targetGap, xanchor: "right", yanchor: "bottom", showarrow: false, font: { size: 10, color: INK } });
    plotted[0].push(targetGap);
  }
  const gap = 0.07;
  const h = (1 - 2 * gap) / 3;
  // a log axis spans at least a decade: a constant rate reads "0.01", not five labels 0.0005 apart
  const span = (values) => {
    if (!log) return values;
    const shown = values.filter((v) => v > 0);
    const [lo, hi] = [Math.min(...shown), Math.max(...shown)];
    return hi / lo < 10 ? [...shown, Math.sqrt(lo * hi) / 3.2, Math.sqrt(lo * hi) * 3.2] : shown;
  };
  const yaxis = (i) => ({
    ...valueAxis(span(plotted[i]), { log, robust: false, maxLabels: 4 }),
    domain: [1 - (i + 1) * h - i * gap, 1 - i * h - i * gap],
    tickfont: { size: 10 },
    gridcolor: GRID,
    zeroline: !log,
    automargin: true,
    anchor: "x",
  });
  const scale = log ? "log" : "linear";
  return {
    data,
    layout: plotLayout({
      margin: { l: 54, r: 10, t: 22, b: 34 },
      xaxis: {
        anchor: "y3",
        range: [0, Math.max(1, steps)], // the steps run so far (all of them once every path has ended)
        title: { text: "step", standoff: 2, font: { size: 12 } },
        gridcolor: GRID,
        zeroline: false,
        tickfont: { size: 10 },
      },
      yaxis: yaxis(0),
      yaxis2: yaxis(1),
      yaxis3: yaxis(2),
      annotations: [
        ...(empty ? [{ text: "The racers' curves appear here as their paths stream in.", xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { color: MUTED } }] : []),
        ...SIDE_ROWS.map((row, i) => ({
          text: `<b>${row.title}</b> <span style="color:${MUTED}">${row.help} (${scale}${smoothing ? `, smoothed ${smoothing}` : ""})</span>`,
          xref: "paper",
          yref: "paper",
          x: 0,
          y: 1 - i * (h + gap),
          xanchor: "left",
          yanchor: "bottom",
          showarrow: false,
          font: { size: 11 },
        })),
        ...annotations,
      ],
      shapes,
      uirevision,
    }),
  };
}

export function cursorShape(k) {
  return {
    type: "line",
    xref: "x",
    yref: "paper",
    x0: k ?? 0,
    x1: k ?? 0,
    y0: 0,
    y1: 1,
    line: { color: "#9ca3af", width: 1, dash: "dot" },
    visible: k !== null && k !== undefined,
  };
}

// --- 3D --------------------------------------------------------------------------------------------

/** The surface in 3D (height f, or log10(f − min + δ) where colours are log-scaled) with the paths
 * drawn on it: `height(x, y)` is the drawn surface's height there, racers carry theirs in `heights`. */
export function surface3dFigure({ surface, landscape, start, racers, height, uirevision, caption = "" }) {
  const [lo, hi] = surface.range3d;
  const lift = 0.015 * (hi - lo);
  const [[x0, x1], [y0, y1]] = surface.domain;
  const data = [
    {
      type: "surface",
      x: surface.x,
      y: surface.y,
      z: surface.log_scale ? surface.color : surface.z,
      surfacecolor: surface.color,
      cmin: surface.range[0],
      cmax: surface.range[1],
      colorscale: COLORSCALE,
      showscale: false,
      opacity: 0.85,
      contours: { z: { show: true, usecolormap: false, color: "rgba(31,41,55,0.25)", width: 1 } },
      hoverinfo: "skip",
      lighting: { ambient: 0.75, diffuse: 0.5, specular: 0.05 },
    },
  ];
  const ms = landscape.minima;
  data.push({
    type: "scatter3d",
    mode: "markers",
    x: ms.map((m) => m.x),
    y: ms.map((m) => m.y),
    z: ms.map((m) => height(m.x, m.y) + lift),
    marker: { size: 5, color: ms.map((m) => (m.is_global ? INK : "#ffffff")), line: { color: INK, width: 2 }, symbol: "diamond" },
    hovertemplate: ms.map((m) => `${m.is_global ? "global" : "local"} minimum<br>f = ${fmt(m.value)}<extra></extra>`),
    showlegend: false,
  });
  data.push({
    type: "scatter3d",
    mode: "markers",
    x: [start[0]],
    y: [start[1]],
    z: [height(start[0], start[1]) + lift],
    marker: { size: 6, color: "#ffffff", line: { color: INK, width: 3 } },
    hovertemplate: "start<extra></extra>",
    showlegend: false,
  });
  for (const r of racers) {
    const n = r.j + 1;
    const has = r.rows && r.rows.x.length > 0 && r.j >= 0;
    const z = has ? r.heights.slice(0, n).map((v) => v + lift) : [];
    data.push({
      type: "scatter3d",
      mode: "lines",
      x: has ? r.rows.x.slice(0, n) : [],
      y: has ? r.rows.y.slice(0, n) : [],
      z,
      line: { color: r.color, width: 6 },
      opacity: r.stale ? 0.35 : 1,
      name: r.label,
      customdata: has ? r.rows.loss.slice(0, n) : [],
      hovertemplate: `${r.label}<br>step %{pointNumber}<br>(%{x:.4g}, %{y:.4g})<br>f = %{customdata:.4g}<extra></extra>`,
      showlegend: true,
    });
    const diverged = has && r.outcome?.status === "diverged" && r.j === r.rows.x.length - 1;
    data.push({
      type: "scatter3d",
      mode: "markers",
      x: has ? [r.rows.x[r.j]] : [],
      y: has ? [r.rows.y[r.j]] : [],
      z: has ? [z[z.length - 1]] : [],
      marker: diverged
        ? { size: 7, symbol: "x", color: r.color }
        : { size: 5, color: r.color, line: { color: "#ffffff", width: 1 } },
      hovertemplate: `${r.label}<br>${diverged ? r.outcome.message : `step ${r.j}`}<extra></extra>`,
      showlegend: false,
    });
  }
  const span = Math.max(x1 - x0, y1 - y0);
  return {
    data,
    layout: {
      margin: { l: 0, r: 0, t: 0, b: 0 },
      font: plotFont(),
      paper_bgcolor: "#ffffff",
      scene: {
        xaxis: { title: { text: "x" }, range: [x0, x1] },
        yaxis: { title: { text: "y" }, range: [y0, y1] },
        zaxis: { title: { text: surface.log_scale ? "log₁₀(f − min)" : "f" } },
        aspectmode: "manual",
        aspectratio: { x: (x1 - x0) / span, y: (y1 - y0) / span, z: 0.6 },
        camera: { eye: { x: -1.05, y: -1.25, z: 0.85 } },
      },
      showlegend: true,
      legend: { x: 1, xanchor: "right", y: 1, bgcolor: "rgba(255,255,255,0.85)", font: { size: 11 } },
      annotations: caption
        ? [{ text: caption, xref: "paper", yref: "paper", x: 0, y: 1, xanchor: "left", yanchor: "top", align: "left", showarrow: false, bgcolor: "rgba(255,255,255,0.85)", font: { size: 10, color: "#374151" } }]
        : [],
      uirevision,
    },
  };
}
