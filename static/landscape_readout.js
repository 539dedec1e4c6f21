// The landscape page's numbers: the readout table at the cursor, and the side plots' curves.

import { smooth } from "./charts.js";
import { fmt, h } from "./common.js";

const pair = (a, b) => `(${fmt(a, 3)}, ${fmt(b, 3)})`;

/**
 * Fill `table` (a header row, then one row per quantity: (x, y), f, g, Δθ, η, state) with one column
 * per racer at step k. `views`: [{label, color, rows, j, outcome}], j the row shown (< k once a path
 * has ended). Cells are only touched when their text changes: this runs every animation frame.
 */
export function renderTable(table, views, k) {
  const head = table.tHead.rows[0];
  const rows = [...table.tBodies[0].rows];
  head.cells[0].textContent = `step ${k.toLocaleString("en")}`;
  const columns = views.length + 1;
  for (const row of [head, ...rows]) {
    while (row.cells.length > columns) row.deleteCell(-1);
    while (row.cells.length < columns) row.append(h(row === head ? "th" : "td", row === head ? { scope: "col" } : {}));
  }
  const set = (cell, text, title = "") => {
    if (cell.textContent !== text) cell.textContent = text;
    if (cell.title !== title) cell.title = title;
  };
  // tall enough for every row, the most state buffers included: set when racers change, not per frame
  const streamed = views.filter((v) => v.rows.x.length);
  if (streamed.length) {
    const lines = Math.max(1, ...streamed.map((v) => Object.keys(v.rows.state).reduce((n, name) => n + (name.length > 5 ? 2 : 1), 0)));
    const height = `${44 + 17 * (5 + lines) + 12}px`;
    const box = table.parentElement;
    if (box.style.getPropertyValue("--readout-height") !== height) box.style.setProperty("--readout-height", height);
  }
  views.forEach((v, i) => {
    const d = v.rows;
    const j = v.j;
    const c = i + 1;
    // at the path's last row, its verdict: the step of its outcome (a diverged path's last row is
    // the step before the one that left)
    const ended = j >= 0 && j === d.x.length - 1 && v.outcome ? v.outcome : null;
    const mark = { diverged: "✕", converged: "✓", left: "⚠" }[ended?.status];
    head.cells[c].style.setProperty("--racer", v.color);
    head.cells[c].dataset.outcome = mark ? ended.status : "";
    set(head.cells[c], mark ? `${v.label}\n${mark} step ${ended.step}` : `${v.label}\n `, ended?.message ?? "");
    if (j < 0) {
      for (const row of rows) set(row.cells[c], "…");
      return;
    }
    const dx = j > 0 ? d.x[j] - d.x[j - 1] : 0;
    const dy = j > 0 ? d.y[j] - d.y[j - 1] : 0;
    const names = Object.keys(d.state);
    set(rows[0].cells[c], pair(d.x[j], d.y[j]));
    set(rows[1].cells[c], fmt(d.loss[j]));
    set(rows[2].cells[c], j ? pair(d.gx[j], d.gy[j]) : "–", j ? `|g| = ${fmt(d.grad_norm[j], 4)}` : "");
    set(rows[3].cells[c], j ? pair(dx, dy) : "–", j ? `|Δθ| = ${fmt(Math.hypot(dx, dy), 4)}` : "");
    set(rows[4].cells[c], fmt(d.lr[j], 3));
    const buffer = (n) => `${n}${n.length > 5 ? "\n" : " "}${pair(d.state[n][j][0], d.state[n][j][1])}`;
    set(rows[5].cells[c], names.length ? names.map(buffer).join("\n") : "none");
  });
}

const SIDE_POINTS = 400;

/**
 * At most SIDE_POINTS points of a curve for the side plots: each bucket of steps keeps its lowest and
 * its highest point, so spikes and the envelope survive (a 10,000-step curve draws as fast as 400).
 * With `smoothing` > 0, `smooth` holds the smoothed curve (over every step) at the same points.
 */
export function thin(xs, ys, smoothing = 0) {
  const n = xs.length;
  let keep = null; // indices kept; null: all
  if (n > SIDE_POINTS) {
    keep = [];
    const size = Math.ceil(n / (SIDE_POINTS / 2));
    for (let start = 0; start < n; start += size) {
      const end = Math.min(n, start + size);
      let lo = start;
      let hi = start;
      for (let i = start + 1; i < end; i++) {
        if (ys[i] < ys[lo]) lo = i;
        if (ys[i] > ys[hi]) hi = i;
      }
      for (const i of lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]) keep.push(i);
    }
    if (keep.at(-1) !== n - 1) keep.push(n - 1);
  }
  const pick = (values) => (keep ? keep.map((i) => values[i]) : values.slice());
  const out = { x: pick(xs), y: pick(ys) };
  if (smoothing > 0) out.smooth = pick(smooth(ys, smoothing));
  return out;
}
