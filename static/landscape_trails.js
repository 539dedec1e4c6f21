// The racers and the start, drawn on a canvas between the surface and the markers figure.
//
// Plotly redraws a figure in 15–25 ms whatever changed in it; a canvas draws five 1,000-step paths in
// about a millisecond. So a slider or a dragged start redraws the map within a frame. The geometry is
// racerMarks' (landscape_figures.js), the same the exported image is made of; the pixel mapping is
// the markers figure's own axes, so the canvas follows its zoom exactly.

import { INK } from "./common.js";

const DASH = [[], [5, 4], [1.5, 3]]; // update Δθ, −g, −state
const WIDTH = [2.6, 1.8, 1.8];

/**
 * The plot area of a Plotly figure `gd` (its axes' pixel offsets and ranges), as a mapping from data
 * to CSS pixels of `gd`: {left, top, width, height, px(x), py(y)}. null before the figure is drawn.
 */
export function plotFrame(gd) {
  const full = gd._fullLayout;
  if (!full?.xaxis?._length) return null;
  const xa = full.xaxis;
  const ya = full.yaxis;
  const [x0, x1] = xa.range;
  const [y0, y1] = ya.range;
  const frame = { left: xa._offset, top: ya._offset, width: xa._length, height: ya._length };
  frame.px = (x) => frame.left + ((x - x0) / (x1 - x0)) * frame.width;
  frame.py = (y) => frame.top + ((y1 - y) / (y1 - y0)) * frame.height;
  frame.x = (px) => x0 + ((px - frame.left) / frame.width) * (x1 - x0);
  frame.y = (py) => y1 - ((py - frame.top) / frame.height) * (y1 - y0);
  return frame;
}

/** Size `canvas` to its box at the screen's pixel density; returns its 2D context in CSS pixels. */
function context2d(canvas, width, height) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(width * dpr);
  const h = Math.round(height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

/** A polyline through xs, ys (null: a break), mapped by `frame`. */
function polyline(ctx, frame, xs, ys) {
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === null || ys[i] === null) {
      pen = false;
      continue;
    }
    const x = frame.px(xs[i]);
    const y = frame.py(ys[i]);
    if (pen) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    pen = true;
  }
  ctx.stroke();
}

/**
 * Draw `marks` (racerMarks) and the start point on `canvas`, sized to `width` × `height` CSS pixels,
 * through `frame` (plotFrame of the markers figure). Paths are clipped to the plot area; the start's
 * ring and label, and the arrow heads at the map's edge, are not.
 */
export function drawTrails(canvas, { frame, width, height, marks, start }) {
  const ctx = context2d(canvas, width, height);
  if (!frame) return;
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  ctx.save();
  ctx.beginPath();
  ctx.rect(frame.left, frame.top, frame.width, frame.height);
  ctx.clip();
  for (const m of marks) {
    ctx.globalAlpha = m.opacity;
    ctx.strokeStyle = m.color;
    ctx.lineWidth = 2.2;
    ctx.setLineDash([]);
    polyline(ctx, frame, m.path.x, m.path.y);
    m.vectors?.forEach((v, i) => {
      ctx.lineWidth = WIDTH[i];
      ctx.setLineDash(DASH[i]);
      polyline(ctx, frame, v.x, v.y);
    });
    if (m.escape?.segment) {
      ctx.globalAlpha = 1;
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1.6;
      ctx.setLineDash([1.5, 3.5]);
      polyline(ctx, frame, m.escape.segment.x, m.escape.segment.y);
    }
  }
  ctx.restore();
  for (const m of marks) {
    if (m.head) {
      ctx.globalAlpha = m.opacity;
      ctx.beginPath();
      ctx.arc(frame.px(m.head.x), frame.py(m.head.y), 5, 0, 2 * Math.PI);
      ctx.fillStyle = m.color;
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "#ffffff";
      ctx.setLineDash([]);
      ctx.stroke();
    }
    if (m.escape) {
      // an arrow head at the map's edge, pointing where the step went
      const { x, y, angle } = m.escape.end;
      ctx.globalAlpha = 1;
      ctx.save();
      ctx.translate(frame.px(x), frame.py(y));
      ctx.rotate((angle * Math.PI) / 180);
      ctx.beginPath();
      ctx.moveTo(0, -9);
      ctx.lineTo(6, 5);
      ctx.lineTo(0, 2);
      ctx.lineTo(-6, 5);
      ctx.closePath();
      ctx.fillStyle = m.color;
      ctx.fill();
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.restore();
    }
  }
  // the start: a ring and its label
  ctx.globalAlpha = 1;
  const sx = frame.px(start[0]);
  const sy = frame.py(start[1]);
  ctx.setLineDash([]);
  ctx.beginPath();
  ctx.arc(sx, sy, 6.5, 0, 2 * Math.PI);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = INK;
  ctx.stroke();
  ctx.font = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  ctx.fillStyle = INK;
  ctx.fillText("start", sx + 8, sy - 8);
}

/**
 * The racer point nearest the pixel (px, py) within `radius` pixels: {mark, i} (i its row), or null.
 * For the map's hover read-out: the paths are on a canvas, which Plotly's hover does not see.
 */
export function nearestPoint(marks, frame, px, py, radius = 8) {
  let best = null;
  let bestD = radius * radius;
  for (const m of marks) {
    const { x, y } = m.path;
    for (let i = 0; i < x.length; i++) {
      const dx = frame.px(x[i]) - px;
      const dy = frame.py(y[i]) - py;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = { mark: m, i };
      }
    }
  }
  return best;
}
