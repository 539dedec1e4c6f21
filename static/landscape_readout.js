// The landscape page's numbers: the readout table at the cursor, each racer's verdict, and the side
// plots' curves.

import { smooth } from "./charts.js";
import { fmt, h } from "./common.js";
import { LANDSCAPES } from "./landscape_state.js";

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

/** What is derived from a path, computed once per chunk that arrived and kept with the path. */
function derived(d, key, compute) {
  const hit = d.derived[key];
  if (hit && hit.version === d.version) return hit.value;
  const value = compute();
  d.derived[key] = { version: d.version, value };
  return value;
}

// Side-plot series of a path `d` (emptyData): f − f*, distance to the nearest minimum, η, each thinned
// for drawing (with its smoothed values, when smoothing is on, taken over every step). A value a log
// axis cannot show (f − f* ≤ 0: the path is outside the domain, below every minimum) is kept as it
// is; the figure leaves it out of a log curve and marks where it happened.
export const series = (d, smoothing) =>
  derived(d, `series:${smoothing}`, () => {
    const ms = LANDSCAPES[d.landscape].minima;
    const fstar = Math.min(...ms.map((m) => m.value));
    const gap = d.loss.map((f) => f - fstar);
    const dist = d.x.map((x, i) => Math.min(...ms.map((m) => Math.hypot(x - m.x, d.y[i] - m.y))));
    const out = { below: belowRuns(d.step, gap), fstar };
    for (const [key, ys] of Object.entries({ gap, dist, lr: d.lr })) out[key] = thin(d.step, ys, smoothing);
    return out;
  });

/** [first, last] step of each run of steps where f − f* ≤ 0. */
function belowRuns(steps, gap) {
  const runs = [];
  for (let i = 0; i < gap.length; i++) {
    if (!(gap[i] <= 0)) continue;
    if (runs.length && runs.at(-1)[1] === steps[i - 1]) runs.at(-1)[1] = steps[i];
    else runs.push([steps[i], steps[i]]);
  }
  return runs;
}

// --- verdicts ----------------------------------------------------------------------------------------

/** The card's verdict, from the outcome and the path it ended (both of the same stream). */
function verdict(outcome, data) {
  const ls = LANDSCAPES[data.landscape];
  const m = ls.minima[outcome.minimum];
  const which = m ? (m.is_global ? "the global minimum" : "a local minimum") : "a minimum";
  const f = data.loss.at(-1);
  const fstar = Math.min(...ls.minima.map((q) => q.value));
  switch (outcome.status) {
    case "diverged":
      return `✕ ${outcome.message}. Try a smaller learning rate.`;
    case "converged":
      return `✓ ${outcome.message}, at ${which}`;
    case "left":
      return `⚠ ${outcome.message}; f = ${fmt(f, 4)} at its end${f < fstar ? ", below every minimum: the landscape falls away outside its domain" : ""}`;
    default:
      // Rastrigin and Ackley list their global minimum only: a path may rest in one of many others
      return ls.many_minima
        ? `${outcome.message}; ${fmt(outcome.distance, 3)} from the global minimum (one of many local minima may hold it)`
        : `${outcome.message}; ${fmt(outcome.distance, 3)} from ${which}`;
  }
}

/** The racer `r`'s card: its verdict, and how its path fares against a replay's `target` (or null). */
export function showOutcome(r, target) {
  r.card.dataset.outcome = r.outcome?.status ?? "";
  r.status.textContent = r.outcome ? verdict(r.outcome, r.data) : "";
  showTarget(r, target);
}

/**
 * A replay's target, by the tools' rule: reached at the first step whose loss is at most it; a
 * success only if the path never falls below f* − (target − f*) (it left the domain) nor diverges.
 */
function showTarget(r, target) {
  r.target.hidden = target === null || !r.outcome;
  if (r.target.hidden) return;
  const d = r.data;
  const fstar = Math.min(...LANDSCAPES[d.landscape].minima.map((m) => m.value));
  const i = d.loss.findIndex((f) => f <= target);
  const out = d.loss.findIndex((f) => f < 2 * fstar - target);
  const what = `target f ≤ ${fmt(target, 4)}`;
  const reached = i >= 0 ? `reached at step ${d.step[i]}` : "not reached";
  let text = `◎ ${what} ${reached}`;
  if (out >= 0) text += `, but the path fell below f* at step ${d.step[out]} (it left the domain): no success`;
  else if (r.outcome.status === "diverged") text += `, but the path diverged at step ${r.outcome.step}: no success`;
  else if (i < 0) text += r.outcome.status === "converged" ? ` before the path stopped at step ${r.outcome.step}` : ` in ${d.step.at(-1)} steps`;
  r.target.dataset.reached = String(i >= 0 && out < 0 && r.outcome.status !== "diverged");
  r.target.textContent = text;
}
