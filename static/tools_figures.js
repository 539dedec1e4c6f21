// Plotly figures of the tuning tools, as pure functions of an answer from /api/tools/* and a context
// {landscape, fStar, steps, ...}: each returns {data, layout}. Axes that carry learning rates, batch
// sizes or decay rates are laid out in log units (see axisOf), so heatmap cells are evenly sized.

import { smooth } from "./charts.js";
import { INK, MUTED, PALETTE, exact, fmt, plotLayout } from "./common.js";
import { minimaTraces } from "./landscape_figures.js";

export const BATCH = "batch_size";
export const DECAYS = ["gamma", "b1", "rho"]; // the default second axis of a map
export const AVERAGES = [...DECAYS, "b2"]; // mapped on a log scale of 1 − value
export const MIN_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
export const RED = "#b91c1c";
export const ORANGE = "#D55E00";
const GREEN = "#009E73";
export const NONE_COLOR = "#e5e7eb"; // a run that reached nothing
export const DIVERGED_COLOR = "#f3c4c4"; // a diverged cell of a map
export const GONE_COLOR = "#4b5563"; // a diverged start
export const LEFT_COLOR = "#8c564b"; // a run that left the domain: its f fell below f*
export const LEFT_FILL = "#dccbbf"; // a map cell whose run left the domain (LEFT_COLOR, paler)

/** How run j ended: "left" the domain (f below f*) or "diverged", whichever came first; else
 * "reached" the target or "none". `at(name)` reads run j's entry of d[name]. */
function outcome(at) {
  const left = at("escaped_at");
  const gone = at("diverged_at");
  if (left >= 0 && (gone === 0 || left < gone)) return "left";
  if (gone > 0) return "diverged";
  return at("steps_to_target") >= 0 ? "reached" : "none";
}
export const seedOutcome = (d, j) => outcome((name) => d[name][j]);
export const cellOutcome = (d, i, j) => outcome((name) => d[name][i][j]);

// --- axes and shared pieces --------------------------------------------------------------------------

/** Ticks at whole powers of ten between lo and hi (log10 units), at most about eight. */
export function logTicks(lo, hi) {
  const first = Math.ceil(lo - 1e-9);
  const last = Math.floor(hi + 1e-9);
  const every = Math.max(1, Math.ceil((last - first + 1) / 8));
  const tickvals = [];
  for (let t = first; t <= last; t += every) tickvals.push(t);
  return { tickvals, ticktext: tickvals.map((t) => fmt(10 ** t, 2)) };
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const power = (t) => (t === 0 ? "1" : t === 1 ? "10" : `10${[...String(t)].map((c) => SUPERSCRIPT[c]).join("")}`);

/**
 * Labels for a Plotly log axis (type "log") over the positive `values`: decades only, every k-th
 * so that at most `most` show; where the values span less than two decades, 1, 2 and 5 times each
 * decade instead (labelled in full), so an axis never shows fewer than two labels. Hover keeps exact values.
 */
export function decadeTicks(values, most = 6) {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log10);
  if (!logs.length) return {};
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const first = Math.floor(lo);
  const last = Math.ceil(hi);
  if (hi - lo < 1.5) {
    const tickvals = [];
    for (let t = first; t <= last; t++) for (const m of [1, 2, 5]) tickvals.push(m * 10 ** t);
    const ticktext = tickvals.map((v, k) => (k % 3 === 0 ? power(first + k / 3) : `${[1, 2, 5][k % 3]}·${power(first + Math.floor(k / 3))}`));
    return { tickmode: "array", tickvals, ticktext };
  }
  const every = Math.max(1, Math.ceil((last - first + 1) / most));
  const exps = [];
  for (let t = Math.ceil(first / every) * every; t <= last; t += every) exps.push(t);
  return { tickmode: "array", tickvals: exps.map((t) => 10 ** t), ticktext: exps.map(power) };
}

/** How a parameter is laid along an axis: log10 for log scales and batch sizes, −log10(1 − v) for
 * decay rates (so 0.9, 0.99 and 0.999 lie evenly apart), as is otherwise. */
export function axisOf(p) {
  if (p.name === BATCH || (p.log && p.low > 0)) return { to: Math.log10, ticks: logTicks };
  if (AVERAGES.includes(p.name)) {
    return {
      to: (v) => -Math.log10(1 - v),
      ticks: (lo, hi) => {
        const tickvals = [];
        for (let t = Math.ceil(lo); t <= Math.floor(hi + 1e-9); t++) tickvals.push(t);
        return { tickvals, ticktext: tickvals.map((t) => exact(Number((1 - 10 ** -t).toFixed(t)))) };
      },
    };
  }
  return { to: (v) => v, ticks: () => ({}) };
}

function axis(title, extra = {}) {
  return { title: { text: title, standoff: 4, font: { size: 12 } }, zeroline: false, showline: true, linecolor: "#9ca3af", mirror: true, ticks: "outside", ticklen: 4, tickcolor: "#9ca3af", tickfont: { size: 11 }, ...extra };
}

/** The outer edges of a heatmap over centres `c`: half a cell beyond the first and last. */
const edges = (c) => (c.length > 1 ? [c[0] - (c[1] - c[0]) / 2, c.at(-1) + (c.at(-1) - c.at(-2)) / 2] : [c[0] - 0.5, c[0] + 0.5]);

/** `hex` mixed with white (t > 0) or black (t < 0): 0 unchanged, 1 white, −1 black. */
function tint(hex, t) {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${c.map((v) => Math.round(t >= 0 ? v + (255 - v) * t : v * (1 + t))).join(",")})`;
}

/** A minimum's colours by speed: dark where a start got there soonest, pale where it took longest. */
export const ramp = (hex) => [[0, tint(hex, -0.35)], [0.4, hex], [1, tint(hex, 0.8)]];

function contourTrace(surface, color = "rgba(31,41,55,0.18)") {
  return { type: "contour", x: surface.x, y: surface.y, z: surface.color, ncontours: 18, contours: { coloring: "none" }, line: { color, width: 0.7 }, showscale: false, hoverinfo: "skip" };
}

function mapAxes(landscape) {
  const [[x0, x1], [y0, y1]] = landscape.domain;
  return { xaxis: axis("x", { range: [x0, x1], constrain: "domain" }), yaxis: axis("y", { range: [y0, y1], scaleanchor: "x", scaleratio: 1, constrain: "domain" }) };
}

const flat = (color) => ({ colorscale: [[0, color], [1, color]], showscale: false, zmin: 0, zmax: 1 });

// --- 1. learning-rate range test ---------------------------------------------------------------------

/** |f − f*| after the run against η (log-log) with its marks, and the steps to the target below. */
export function rangeFigure(d, { fStar, steps }) {
  const floor = (d.target - fStar) * 1e-3; // |f − f*| below this is drawn at it (rounding), and says so
  const excess = (v) => Math.max(Math.abs(v - fStar), floor);
  const outcomes = d.lr.map((_, i) => seedOutcome(d, i));
  const ok = outcomes.map((o) => o === "reached" || o === "none");
  const ys = d.loss.map((v, i) => (ok[i] ? excess(v) : null));
  const top = Math.max(...ys.filter((v) => v !== null), excess(d.start_loss)) * 3;
  const mark = (i, symbol, color, name, size = 13) =>
    i < 0 ? [] : [{ type: "scatter", mode: "markers", x: [d.lr[i]], y: [ok[i] ? ys[i] : top], marker: { symbol, size, color, line: { color: "#fff", width: 1.2 } }, hovertemplate: `${name}<br>η = ${fmt(d.lr[i])}<extra></extra>` }];
  const across = (y, color, dash) => ({ type: "scatter", mode: "lines", x: [d.lr[0], d.lr.at(-1)], y: [y, y], line: { color, width: 1, dash }, hoverinfo: "skip" });
  const data = [
    across(d.target - fStar, GREEN, "dot"),
    across(excess(d.start_loss), MUTED, "dash"),
    {
      type: "scatter",
      mode: "lines+markers",
      x: d.lr,
      y: ys,
      line: { color: PALETTE[0], width: 2 },
      marker: { size: 4 },
      hovertemplate: d.lr.map(
        (lr, i) =>
          `η = ${fmt(lr)}<br>f − f* = ${fmt(d.loss[i] - fStar)}${Math.abs(d.loss[i] - fStar) < floor ? " (drawn at the floor)" : ""}${d.steps_to_target[i] >= 0 ? `<br>target at step ${d.steps_to_target[i]}` : ""}<extra></extra>`,
      ),
    },
    ...[
      ["diverged", RED, (i) => `diverged at step ${d.diverged_at[i]}`],
      ["left", LEFT_COLOR, (i) => `left the domain at step ${d.escaped_at[i]} (f fell below f*)`],
    ].map(([kind, color, what]) => {
      const at = d.lr.flatMap((_, i) => (outcomes[i] === kind ? [i] : []));
      return { type: "scatter", mode: "markers", x: at.map((i) => d.lr[i]), y: at.map(() => top), marker: { symbol: "x-thin-open", size: 8, color, line: { width: 2 } }, hovertemplate: at.map((i) => `η = ${fmt(d.lr[i])}: ${what(i)}<extra></extra>`) };
    }),
    ...mark(d.steepest, "triangle-down", ORANGE, "steepest fall"),
    ...mark(d.suggested, "star", GREEN, "suggested", 18),
    {
      type: "scatter",
      mode: "lines+markers",
      x: d.lr,
      y: d.steps_to_target.map((k, i) => (k >= 0 && ok[i] ? k : null)),
      line: { color: PALETTE[0], width: 1.5 },
      marker: { size: 4 },
      xaxis: "x2",
      yaxis: "y2",
      hovertemplate: "η = %{x:.3g}<br>target at step %{y}<extra></extra>",
    },
  ];
  const label = (y, text, color) => ({ x: 0, xref: "paper", xanchor: "left", y: Math.log10(y), yref: "y", yanchor: "bottom", text, showarrow: false, font: { size: 11, color } });
  const annotations = [label(d.target - fStar, "target", GREEN), label(excess(d.start_loss), "start", MUTED)];
  const shapes = [];
  const vline = (i, color, dash, text, xanchor) => {
    if (i < 0) return;
    for (const [xref, yref] of [["x", "y"], ["x2", "y2"]]) {
      shapes.push({ type: "line", xref, yref: `${yref} domain`, x0: d.lr[i], x1: d.lr[i], y0: 0, y1: 1, line: { color, width: 1.2, dash } });
    }
    annotations.push({ x: Math.log10(d.lr[i]), y: 1, xref: "x", yref: "y domain", yanchor: "bottom", xanchor, text, showarrow: false, font: { size: 11, color } });
  };
  vline(d.suggested, GREEN, "solid", d.reaches ? "fastest " : "closest ", "right");
  const fails = { diverged: " diverges", left: " leaves the domain" }[outcomes[d.divergence]] ?? " ends above start";
  vline(d.divergence, RED, "dash", fails, "left");
  const xticks = decadeTicks(d.lr, 8);
  const layout = plotLayout({
    margin: { l: 64, r: 16, t: 22, b: 44 },
    xaxis: axis("", { type: "log", ...xticks, showticklabels: false, ticks: "" }),
    xaxis2: axis("learning rate η", { type: "log", ...xticks, matches: "x", anchor: "y2" }),
    yaxis: axis(`|f − f*| after ${steps} steps`, { type: "log", domain: [0.3, 1], ...decadeTicks([...ys, top, d.target - fStar]) }),
    yaxis2: axis("steps to target", { domain: [0, 0.25], rangemode: "tozero", anchor: "x2" }),
    shapes,
    annotations,
  });
  return { data, layout };
}

// --- 2. hyperparameter map ---------------------------------------------------------------------------

/** One cell per run, coloured by steps to the target or by the loss at the end; cells that diverged,
 * left the domain, or (when colouring by steps) never reach the target in flat colours of their own. */
export function mapFigure(d, { fStar, steps, yParam, colorBy, current }) {
  const ya = axisOf(yParam);
  const xs = d.lr.map(Math.log10);
  const ys = d.y.map(ya.to);
  const floor = (d.target - fStar) * 1e-3;
  const cells = (test, value) => d.y.map((_, i) => d.lr.map((_, j) => (test(i, j) ? value(i, j) : null)));
  const is = (kind) => (i, j) => cellOutcome(d, i, j) === kind;
  const kept = (i, j) => is("reached")(i, j) || is("none")(i, j);
  const bySteps = colorBy === "steps";
  const values = bySteps
    ? cells(is("reached"), (i, j) => d.steps_to_target[i][j])
    : cells(kept, (i, j) => Math.log10(Math.max(Math.abs(d.final_loss[i][j] - fStar), floor)));
  const label = yParam.label ?? yParam.name;
  const text = d.y.map((yv, i) =>
    d.lr.map((lr, j) => {
      const head = `η = ${fmt(lr)}, ${label} = ${fmt(yv)}<br>`;
      if (is("diverged")(i, j)) return `${head}diverged at step ${d.diverged_at[i][j]}`;
      if (is("left")(i, j)) return `${head}left the domain at step ${d.escaped_at[i][j]} (f fell below f*)`;
      const end = `f − f* = ${fmt(d.final_loss[i][j] - fStar)} after ${steps} steps`;
      return head + (is("reached")(i, j) ? `target at step ${d.steps_to_target[i][j]}<br>${end}` : `target not reached<br>${end}`);
    }),
  );
  const heat = (z, extra) => ({ type: "heatmap", x: xs, y: ys, z, text, hovertemplate: "%{text}<extra></extra>", ...extra });
  const colorbar = { title: { text: bySteps ? "steps to target" : "log₁₀|f − f*| at the end", side: "right", font: { size: 12 } }, thickness: 12, len: 1, outlinewidth: 0, tickfont: { size: 11 } };
  const data = [
    heat(cells(is("diverged"), () => 1), flat(DIVERGED_COLOR)),
    heat(cells(is("left"), () => 1), flat(LEFT_FILL)),
    heat(cells((i, j) => bySteps && is("none")(i, j), () => 1), flat(NONE_COLOR)),
    heat(values, { colorscale: bySteps ? "Viridis" : "Cividis", colorbar }),
    { type: "scatter", mode: "markers", x: [Math.log10(current.lr)], y: [ya.to(current.y)], marker: { symbol: "circle-open", size: 16, color: "#fff", line: { width: 3 } }, hovertemplate: "the optimizer's current settings<extra></extra>" },
  ];
  const layout = plotLayout({
    margin: { l: 64, r: 10, t: 10, b: 44 },
    xaxis: axis("learning rate η", { ...logTicks(xs[0], xs.at(-1)), range: edges(xs) }),
    yaxis: axis(label, { ...ya.ticks(ys[0], ys.at(-1)), range: edges(ys) }),
  });
  return { data, layout };
}

// --- 3. start-point map ------------------------------------------------------------------------------

/** Each start in the colour of the minimum it reached, darker the sooner; contours and minima over it. */
export function startsFigure(d, { landscape, steps, surface }) {
  const ms = landscape.minima;
  const reached = d.steps.flat().filter((k) => k >= 0);
  const lo = Math.log1p(Math.min(...reached, 0));
  const hi = Math.log1p(Math.max(...reached, 1));
  const shade = (k) => (Math.log1p(k) - lo) / Math.max(hi - lo, 1e-9); // 0: the fastest, 1: the slowest
  const text = d.y.map((y, i) =>
    d.x.map((x, j) => {
      const m = d.minimum[i][j];
      const head = `start (${fmt(x)}, ${fmt(y)})<br>`;
      if (m === -2) return `${head}diverged`;
      if (m === -1) return `${head}no known minimum within ${steps} steps`;
      return `${head}→ ${ms[m].is_global ? "global" : "local"} minimum (${fmt(ms[m].x)}, ${fmt(ms[m].y)}) at step ${d.steps[i][j]}`;
    }),
  );
  const heat = (z, colors) => ({ type: "heatmap", x: d.x, y: d.y, z, text, hovertemplate: "%{text}<extra></extra>", ...colors });
  const where = (test, value = () => 1) => d.y.map((_, i) => d.x.map((_, j) => (test(d.minimum[i][j]) ? value(i, j) : null)));
  const data = [
    heat(where((m) => m === -1), flat(NONE_COLOR)),
    heat(where((m) => m === -2), flat(GONE_COLOR)),
    ...ms.map((_, k) => heat(where((m) => m === k, (i, j) => shade(d.steps[i][j])), { colorscale: ramp(MIN_COLORS[k % MIN_COLORS.length]), zmin: 0, zmax: 1, showscale: false })),
  ];
  if (surface) data.push(contourTrace(surface, "rgba(255,255,255,0.55)"));
  data.push(...minimaTraces(landscape.minima));
  return { data, layout: plotLayout({ margin: { l: 48, r: 12, t: 10, b: 40 }, ...mapAxes(landscape) }) };
}

// --- 4. seed bands -----------------------------------------------------------------------------------

/** Every seed's path over the contours: blue if it reached the target, orange if not, brown if it left
 * the domain, red if it diverged. */
export function fanFigure(d, { landscape, start, surface }) {
  const looks = {
    reached: [PALETTE[0], (j) => `target at step ${d.steps_to_target[j]}`],
    none: [ORANGE, () => "target not reached"],
    left: [LEFT_COLOR, (j) => `left the domain at step ${d.escaped_at[j]} (f fell below f*)`],
    diverged: [RED, (j) => `diverged at step ${d.diverged_at[j]}`],
  };
  const fan = d.seeds.map((seed, j) => {
    const [color, say] = looks[seedOutcome(d, j)];
    const outcome = say(j);
    return {
      type: "scatter",
      mode: "lines",
      x: d.fan.x[j],
      y: d.fan.y[j],
      line: { color, width: 1 },
      opacity: 0.45,
      hovertemplate: `seed ${seed}: ${outcome}<br>click: replay<extra></extra>`,
      meta: seed,
    };
  });
  const data = surface ? [contourTrace(surface)] : [];
  data.push(...fan, ...minimaTraces(landscape.minima), { type: "scatter", mode: "markers", x: [start[0]], y: [start[1]], marker: { symbol: "circle-open", size: 13, color: INK, line: { width: 2.5 } }, hoverinfo: "skip" });
  return { data, layout: plotLayout({ margin: { l: 48, r: 12, t: 10, b: 40 }, ...mapAxes(landscape) }) };
}

/**
 * f − f* over the steps: mean, median and the 10–90% band of the runs still counted (the server counts
 * a run out from the step it diverges or leaves the domain, so no value lies more than the tolerance
 * below f*). Values under a thousandth of the tolerance (rounding, inside the target band) are drawn
 * at that floor; every hover gives the exact value.
 */
export function bandFigure(d, { fStar, steps, smoothing = 0, log = true }) {
  const floor = (d.target - fStar) * 1e-3; // on a log axis only: rounding-size gaps drawn at the floor
  const k = d.mean.map((_, i) => i);
  const shownGap = (v) => (log ? Math.max(v - fStar, floor) : v - fStar);
  const line = (list, name, extra) => ({
    type: "scatter",
    mode: "lines",
    x: k,
    y: list.map(shownGap),
    customdata: list.map((v) => fmt(v - fStar, 3)),
    hovertemplate: `step %{x}: ${name} f − f* = %{customdata}<extra></extra>`,
    ...extra,
  });
  const data = [
    line(d.low, "10%", { line: { width: 0 } }),
    line(d.high, "90%", { fill: "tonexty", fillcolor: "rgba(0,114,178,0.18)", line: { width: 0 } }),
    line(d.median, "median", { line: { color: PALETTE[0], width: 1, dash: "dot" } }),
    ...(smoothing
      ? [
          line(d.mean, "mean", { line: { color: PALETTE[0], width: 1 }, opacity: 0.35, meta: "raw" }),
          line(smooth(d.mean, smoothing), `mean smoothed ${smoothing}`, { line: { color: PALETTE[0], width: 2 }, meta: "smoothed" }),
        ]
      : [line(d.mean, "mean", { line: { color: PALETTE[0], width: 2 } })]),
    { type: "scatter", mode: "lines", x: [0, steps], y: [d.target - fStar, d.target - fStar], line: { color: GREEN, width: 1, dash: "dot" }, hoverinfo: "skip" },
  ];
  const shown = data.flatMap((t) => t.y);
  const layout = plotLayout({
    margin: { l: 56, r: 10, t: 24, b: 36 },
    title: { text: "f − f* over the seeds still in: mean (solid), median (dotted), 10–90% (band)", font: { size: 12 }, x: 0.02, y: 0.98 },
    xaxis: axis("step", { range: [0, steps] }),
    yaxis: log ? axis("f − f*", { type: "log", ...decadeTicks(shown, 5) }) : axis("f − f*", { type: "linear" }),
  });
  return { data, layout };
}

/** Learning rate × batch size, each cell the share of seeds that succeed and their mean steps. */
export function tradeoffFigure(d, { steps, current }) {
  const xs = d.lr.map(Math.log10);
  const ys = d.batch_size.map(Math.log10);
  const share = (i, j) => `${Math.round(100 * d.success[i][j])}%`;
  const mean = (i, j) => d.mean_steps[i][j];
  const text = d.batch_size.map((b, i) => d.lr.map((lr, j) => `${share(i, j)}${mean(i, j) >= 0 ? `<br>${Math.round(mean(i, j))}` : ""}`));
  const hover = d.batch_size.map((b, i) =>
    d.lr.map((lr, j) => `η = ${fmt(lr)}, b = ${b}<br>${share(i, j)} of ${d.seeds} seeds succeed${mean(i, j) >= 0 ? `<br>mean ${fmt(mean(i, j), 3)} steps = ${fmt(mean(i, j) * b, 3)} examples` : ""}<br>click: use these`),
  );
  const data = [
    { type: "heatmap", x: xs, y: ys, z: d.success, zmin: 0, zmax: 1, colorscale: [[0, "#f8fafc"], [1, "#2f9e7a"]], text, texttemplate: "%{text}", textfont: { size: 10 }, customdata: hover, hovertemplate: "%{customdata}<extra></extra>", showscale: false, xgap: 1, ygap: 1 },
    { type: "scatter", mode: "markers", x: [Math.log10(current.lr)], y: [Math.log10(current.batch)], marker: { symbol: "circle-open", size: 14, color: INK, line: { width: 2 } }, hoverinfo: "skip" },
  ];
  const layout = plotLayout({
    margin: { l: 56, r: 10, t: 24, b: 36 },
    title: { text: `success share · mean steps (${d.seeds} seeds, ${steps} steps)`, font: { size: 12 }, x: 0.02, y: 0.98 },
    xaxis: axis("η", { tickvals: xs, ticktext: d.lr.map((v) => fmt(v, 2)), range: edges(xs) }),
    yaxis: axis("batch size b", { tickvals: ys, ticktext: d.batch_size.map(String), range: edges(ys) }),
  });
  return { data, layout };
}
