// The network playground's decision surfaces: the class probabilities a network gives over the plane,
// drawn as an image (colour: the predicted class, strength: its probability) or a 3D surface, with
// the data points on top.

import { PALETTE } from "./common.js";
import { FONT, axis } from "./run_figures.js";

/** A regression's colours (target and prediction on one scale): Plotly's Viridis. */
const TARGET_SCALE = "Viridis";

const IMAGE = 240; // pixels per side of the drawn surface (bilinear between the grid's points)

/**
 * The decision surface as an image: at each pixel the class probabilities are interpolated
 * (bilinear) from the grid, the colour is the predicted class's, and its strength the confidence
 * (white where the classes tie, full colour at probability 1).
 */
function surfaceImage(surface) {
  const probs = surface.probabilities;
  const K = probs.length;
  const nx = surface.x.length;
  const ny = surface.y.length;
  const rgb = PALETTE.slice(0, K).map((hex) => {
    const n = Number.parseInt(hex.slice(1), 16);
    return [n >> 16, (n >> 8) & 255, n & 255];
  });
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = IMAGE;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(IMAGE, IMAGE);
  const p = new Float64Array(K);
  for (let py = 0; py < IMAGE; py++) {
    const fy = ((IMAGE - 1 - py) / (IMAGE - 1)) * (ny - 1); // row 0 is the top: the largest y
    const i0 = Math.min(ny - 2, Math.floor(fy));
    const ty = fy - i0;
    for (let px = 0; px < IMAGE; px++) {
      const fx = (px / (IMAGE - 1)) * (nx - 1);
      const j0 = Math.min(nx - 2, Math.floor(fx));
      const tx = fx - j0;
      let best = 0;
      for (let k = 0; k < K; k++) {
        const g = probs[k];
        const top = g[i0][j0] * (1 - tx) + g[i0][j0 + 1] * tx;
        const bottom = g[i0 + 1][j0] * (1 - tx) + g[i0 + 1][j0 + 1] * tx;
        p[k] = top * (1 - ty) + bottom * ty;
        if (p[k] > p[best]) best = k;
      }
      // outputs other than softmax (linear, tanh, …) are no probabilities: clamp what shows
      const confidence = Math.min(1, Math.max(0, (p[best] - 1 / K) / (1 - 1 / K)));
      const a = 0.06 + 0.64 * confidence;
      const o = 4 * (py * IMAGE + px);
      image.data[o] = 255 + (rgb[best][0] - 255) * a;
      image.data[o + 1] = 255 + (rgb[best][1] - 255) * a;
      image.data[o + 2] = 255 + (rgb[best][2] - 255) * a;
      image.data[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  const [x0, x1, y0, y1] = [surface.x[0], surface.x.at(-1), surface.y[0], surface.y.at(-1)];
  return { source: canvas.toDataURL("image/png"), xref: "x", yref: "y", x: x0, y: y1, sizex: x1 - x0, sizey: y1 - y0, sizing: "stretch", xanchor: "left", yanchor: "top", layer: "below" };
}

let pointCache = { key: null, traces: [] };

/** The data as scatter traces, one per class and split (cached: the same objects keep Plotly from redrawing them). */
function pointTraces(points, is3d, showTest, K) {
  if (!points) return [];
  if (points.regression) return targetTraces(points, is3d);
  const key = `${is3d}|${showTest}|${K}`;
  if (pointCache.points === points && pointCache.key === key) return pointCache.traces;
  pointCache = { points, key, traces: buildPointTraces(points, is3d, showTest, K) };
  return pointCache.traces;
}

function buildPointTraces(points, is3d, showTest, K) {
  const traces = [];
  const sets = [["train", points.x_train, points.y_train]];
  if (showTest) sets.push(["test", points.x_test, points.y_test]);
  for (const [kind, xs, ys] of sets) {
    for (let k = 0; k < points.classes.length; k++) {
      const x = [];
      const y = [];
      for (let i = 0; i < ys.length; i++) {
        if (ys[i] !== k) continue;
        x.push(xs[i][0]);
        y.push(xs[i][1]);
      }
      const marker = {
        color: PALETTE[k],
        size: is3d ? 2.5 : kind === "train" ? 5.5 : 6.5,
        line: kind === "train" ? { color: "#fff", width: 0.7 } : { color: "#111827", width: 1.4 },
      };
      const name = `${points.classes[k]} (${kind})`;
      if (is3d) {
        const z = new Array(x.length).fill(K === 2 ? k : 1);
        traces.push({ type: "scatter3d", mode: "markers", x, y, z, name, marker: { ...marker, line: undefined, opacity: kind === "train" ? 0.9 : 0.6 }, hoverinfo: "name" });
      } else {
        traces.push({ type: "scatter", mode: "markers", x, y, name, marker, hovertemplate: `${name}<br>x %{x:.2f}, y %{y:.2f}<extra></extra>` });
      }
    }
  }
  return traces;
}

/** [lowest, highest] target of a regression's points (the colour scale of points and prediction alike). */
function targetRange(points) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of points.y_train) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return lo < hi ? [lo, hi] : [lo - 1, lo + 1];
}

/** A regression's points, coloured by their target. */
function targetTraces(points, is3d) {
  const [cmin, cmax] = targetRange(points);
  const x = points.x_train.map((p) => p[0]);
  const y = points.x_train.map((p) => p[1]);
  const marker = { color: points.y_train, colorscale: TARGET_SCALE, cmin, cmax, size: is3d ? 2.5 : 6, line: { color: "#fff", width: 0.7 } };
  if (is3d) return [{ type: "scatter3d", mode: "markers", x, y, z: points.y_train, name: "target", marker: { ...marker, line: undefined }, hovertemplate: "target %{z:.4g}<extra></extra>" }];
  return [{ type: "scatter", mode: "markers", x, y, name: "target", marker, hovertemplate: "x %{x:.2f}, y %{y:.2f}: target %{marker.color:.4g}<extra></extra>" }];
}

/** A regression's prediction over the plane: a heat map (or a 3D surface) on the targets' colour scale. */
function predictionTrace(surface, points, is3d) {
  const [zmin, zmax] = points?.regression ? targetRange(points) : [undefined, undefined];
  const common = { x: surface.x, y: surface.y, z: surface.values, colorscale: TARGET_SCALE, showscale: true, colorbar: { thickness: 10, len: 0.8, tickfont: { size: 9 } } };
  if (is3d) return { type: "surface", ...common, cmin: zmin, cmax: zmax, opacity: 0.9, hovertemplate: "prediction %{z:.4g}<extra></extra>" };
  return { type: "heatmap", ...common, zmin, zmax, zsmooth: "best", opacity: 0.8, hovertemplate: "x %{x:.2f}, y %{y:.2f}: prediction %{z:.4g}<extra></extra>" };
}

function bounds(points) {
  const all = points && points.x_train.length + points.x_test.length ? [...points.x_train, ...points.x_test] : [[-1, -1], [1, 1]];
  const lo = [Math.min(...all.map((p) => p[0])), Math.min(...all.map((p) => p[1]))];
  const hi = [Math.max(...all.map((p) => p[0])), Math.max(...all.map((p) => p[1]))];
  const pad = [(hi[0] - lo[0]) / 10, (hi[1] - lo[1]) / 10];
  return [
    [lo[0] - pad[0], hi[0] + pad[0]],
    [lo[1] - pad[1], hi[1] + pad[1]],
  ];
}

/** Whether the outputs lie in [0, 1] (softmax, sigmoid); a linear or tanh output may not. */
function probabilityLike(surface) {
  return !surface?.probabilities || surface.probabilities.every((g) => g.every((row) => row.every((v) => v >= 0 && v <= 1)));
}

function surface3d(surface, points) {
  const K = surface.probabilities.length;
  const ny = surface.y.length;
  const nx = surface.x.length;
  if (K === 2) {
    return {
      type: "surface",
      x: surface.x,
      y: surface.y,
      z: surface.probabilities[1],
      cmin: 0,
      cmax: 1,
      colorscale: [
        [0, PALETTE[0]],
        [0.5, "#ffffff"],
        [1, PALETTE[1]],
      ],
      showscale: false,
      opacity: 0.92,
      hovertemplate: `P(${points?.classes[1] ?? "class 2"}) = %{z:.1%}<extra></extra>`,
    };
  }
  const z = [];
  const color = [];
  for (let i = 0; i < ny; i++) {
    z.push([]);
    color.push([]);
    for (let j = 0; j < nx; j++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (surface.probabilities[k][i][j] > surface.probabilities[best][i][j]) best = k;
      z[i].push(surface.probabilities[best][i][j]);
      color[i].push(best);
    }
  }
  const scale = [];
  for (let k = 0; k < K; k++) scale.push([k / K, PALETTE[k]], [(k + 1) / K, PALETTE[k]]);
  return { type: "surface", x: surface.x, y: surface.y, z, surfacecolor: color, cmin: 0, cmax: K, colorscale: scale, showscale: false, opacity: 0.92, hovertemplate: "max probability %{z:.1%}<extra></extra>" };
}

/**
 * The figure of one decision surface ([traces, layout]): the latest evaluation's `surface` (null before
 * the first) under the data `points` (null while they load), as a 2D image or (`is3d`) a 3D surface.
 * A regression's surface ({x, y, values}) is its prediction, as a heat map. `range`: [[x0, x1], [y0, y1]]
 * to show (else the surface's, else the points').
 */
export function surfaceFigure(surface, points, { is3d, showTest, range = null }) {
  const K = points?.classes.length || 2;
  const [xr, yr] = range ?? (surface ? [[surface.x[0], surface.x.at(-1)], [surface.y[0], surface.y.at(-1)]] : bounds(points));
  const predicted = surface?.values ? surface : null; // a regression's
  if (predicted) surface = null;
  if (is3d) {
    const under = predicted ? [predictionTrace(predicted, points, true)] : surface ? [surface3d(surface, points)] : [];
    const traces = [...under, ...pointTraces(points, true, showTest, K)];
    const layout = {
      font: FONT,
      margin: { l: 0, r: 0, t: 0, b: 0 },
      showlegend: false,
      uirevision: "3d",
      scene: {
        xaxis: { title: { text: "x" }, range: xr },
        yaxis: { title: { text: "y" }, range: yr },
        zaxis: { title: { text: predicted ? "prediction" : K === 2 ? `P(${points?.classes[1] ?? "class 2"})` : "max P" }, ...(!predicted && probabilityLike(surface) ? { range: [0, 1.05] } : {}) },
        aspectmode: "manual",
        aspectratio: { x: 1, y: 1, z: 0.6 },
        camera: { eye: { x: -1.3, y: -1.5, z: 1.0 } },
      },
    };
    return [traces, layout];
  }
  const layout = {
    images: surface ? [surfaceImage(surface)] : [],
    font: FONT,
    margin: { l: 34, r: 8, t: 6, b: 26 },
    showlegend: false,
    uirevision: "2d",
    hovermode: "closest",
    xaxis: axis("", { range: xr, zeroline: false, showgrid: false, ticks: "outside", ticklen: 3 }),
    yaxis: axis("", { range: yr, zeroline: false, showgrid: false, ticks: "outside", ticklen: 3, scaleanchor: "x", scaleratio: 1, constrain: "domain" }),
    plot_bgcolor: "#fff",
  };
  layout.xaxis.constrain = "domain";
  return [[...(predicted ? [predictionTrace(predicted, points, false)] : []), ...pointTraces(points, false, showTest, K)], layout];
}
