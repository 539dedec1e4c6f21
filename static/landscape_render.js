// The landscape page's drawing: the figures, and a render loop that draws what is dirty at most once
// per animation frame.
//
// A user's action is measured ("descent:redraw") to the frame that draws its paths on the map;
// "descent:drawn" waits for the side plots too, and only then is the page "ready".

import { clamp, plotConfig } from "./common.js";
import { cursorShape, markersFigure, racerMarks, sideFigure, surface3dFigure, surfaceFigure } from "./landscape_figures.js";
import { $, app, banner, currentKey, cursorStep, labelOf, landscape, lastStep, page, settle } from "./landscape_page.js";
import { renderTable, series } from "./landscape_readout.js";
import { CUSTOM, SCHEDULES } from "./landscape_state.js";
import { drawTrails, plotFrame } from "./landscape_trails.js";

export const figs = { bg: $("surface"), fg: $("paths"), side: $("side"), d3: $("surface3d") };
export const trails = $("trails"); // the racers and the start, on a canvas between bg and fg
// the map figures are sized by fitMap; the exported image is the page's own (no toImage button)
const CONFIG = plotConfig({ responsive: false, showTips: false, doubleClick: "reset", modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage", "autoScale2d"] });
const SIDE_CONFIG = { ...CONFIG, responsive: true, doubleClick: "autosize" };
const CONFIG_3D = { ...CONFIG, responsive: true, modeBarButtonsToRemove: ["toImage"] };
const SIDE_EVERY = 200; // ms between side-plot redraws while streams are in flight

export function invalidate(...parts) {
  const d = page.draw;
  for (const p of parts) d.dirty.add(p);
  if (!d.frame && !d.rendering) d.frame = requestAnimationFrame(render);
}

const onCreate = {}; // figure name -> what hooks its Plotly events, once it exists

/** Hook the figure `name` once Plotly has made it (its events exist from then on). */
export function whenCreated(name, hook) {
  onCreate[name] = hook;
}

async function draw(name, figure, config = CONFIG) {
  const gd = figs[name];
  const t0 = performance.now();
  if (!page.draw.created.has(name)) {
    page.draw.created.add(name);
    await Plotly.newPlot(gd, figure.data, figure.layout, config);
    onCreate[name]?.(gd);
  } else {
    await Plotly.react(gd, figure.data, figure.layout, config);
  }
  page.draw.timings[name] = performance.now() - t0;
}

/** What every figure needs about a racer at the cursor: its rows and the row index j shown. */
export function racerViews() {
  const { cursor, state } = page;
  return page.racers.map((r) => {
    const n = r.data.x.length;
    const j = n ? Math.min(cursor.follow ? n - 1 : cursor.k, n - 1) : -1;
    const is3d = state.view === "3d" && page.surface;
    return {
      label: labelOf(r),
      color: r.color,
      stale: r.stale,
      rows: r.data,
      j,
      outcome: r.outcome,
      get series() {
        return series(r.data, state.smoothing); // only when the side plots are drawn
      },
      heights: is3d ? heights(r) : null,
    };
  });
}

/** The racers and the start on the canvas, through the markers figure's axes. */
function drawMap(views) {
  const t0 = performance.now();
  const view = page.draw.zoom ?? page.surface.domain;
  page.draw.marks = racerMarks(views, { vectors: page.state.vectors, view });
  drawTrails(trails, { frame: plotFrame(figs.fg), width: figs.fg.clientWidth, height: figs.fg.clientHeight, marks: page.draw.marks, start: page.state.start });
  page.draw.timings.trails = performance.now() - t0;
}

/**
 * Draw what is dirty, once per animation frame. When the map and the side plots both need a redraw,
 * the map goes first and the side plots follow a frame later: the race is on screen sooner. A user's
 * action is measured ("descent:redraw") to the frame that draws its paths on the map; "ready" waits
 * for the side plots too.
 */
async function render() {
  const d = page.draw;
  const { state } = page;
  const { jobs } = page.streams;
  d.frame = null;
  d.rendering = true;
  const parts = d.dirty;
  d.dirty = new Set();
  // this frame draws the last stream's (or the surface's) final data
  const completes = d.awaitingDrawn && !jobs.size && !page.streams.surface && page.surface !== null;
  const is3d = state.view === "3d";
  const map = is3d ? parts.has("d3") || parts.has("fg") : parts.has("fg");
  let sideDrawn = !parts.has("side");
  try {
    const views = racerViews();
    const work = [];
    if (page.surface && page.surface.name === currentKey()) {
      const ls = landscape();
      const common = { landscape: ls, start: state.start, racers: views, uirevision: d.uirevision };
      if (!is3d && parts.has("bg")) {
        const figure = surfaceFigure(page.surface, { view: state.view, arrows: state.arrows, ranges: d.zoom, uirevision: d.uirevision, target: state.target });
        work.push(draw("bg", figure));
      }
      if (!is3d && parts.has("fg")) {
        const view = d.zoom ?? page.surface.domain;
        const key = JSON.stringify([currentKey(), view, d.uirevision]);
        if (key !== d.markersKey || !d.created.has("fg")) {
          d.markersKey = key;
          await draw("fg", markersFigure({ landscape: ls, view, uirevision: d.uirevision }));
        }
        drawMap(views);
      }
      if (is3d && map) work.push(draw("d3", surface3dFigure({ ...common, surface: page.surface, height: height3d, caption: caption() }), CONFIG_3D));
    }
    if (parts.has("side") && map && !d.sideDeferred) {
      d.dirty.add("side"); // next frame (once: during playback the map is redrawn every frame)
      d.sideDeferred = true;
    } else if (parts.has("side") && (jobs.size || page.streams.waiting) && performance.now() < d.sideDrawnAt + SIDE_EVERY) {
      // while streams follow a drag, the side plots (a Plotly redraw, 20–40 ms) keep to a few frames
      // a second, leaving the main thread to the map; the last stream's end draws them at once
      d.sideDeferred = false;
      d.sideTimer ??= setTimeout(() => {
        d.sideTimer = null;
        invalidate("side");
      }, d.sideDrawnAt + SIDE_EVERY - performance.now());
    } else if (parts.has("side")) {
      d.sideDeferred = false;
      d.sideDrawnAt = performance.now();
      const look = { log: state.logy, smoothing: state.smoothing, target: state.target };
      work.push(draw("side", sideFigure({ racers: views, steps: lastStep(), cursor: cursorStep(), uirevision: d.uirevision, ...look }), SIDE_CONFIG));
      sideDrawn = true;
    } else if (parts.has("cursor") && d.created.has("side")) {
      const c = cursorShape(cursorStep());
      work.push(Plotly.relayout(figs.side, { "shapes[0].x0": c.x0, "shapes[0].x1": c.x1, "shapes[0].visible": c.visible }));
    }
    if (parts.has("table") || parts.has("fg")) {
      renderTable($("readout"), views, page.cursor.follow ? lastStep() : page.cursor.k);
      cueOverflow();
    }
    syncScrubber();
    await Promise.all(work);
  } catch (err) {
    banner(`Drawing failed: ${err.message}`);
  } finally {
    d.rendering = false;
    const now = performance.now();
    if (map && page.surface) {
      for (const input of d.unmeasured.splice(0)) performance.measure("descent:redraw", { start: input, end: now });
    }
    if (completes && d.awaitingDrawn && !jobs.size && !page.streams.surface && sideDrawn && !d.dirty.has("side")) {
      // every stream has ended and everything it brought is drawn, the side plots included
      d.awaitingDrawn = false;
      performance.measure("descent:drawn", { start: page.lastInput, end: now });
      app.dataset.draws = String(Number(app.dataset.draws ?? 0) + 1);
      settle();
    }
    if (d.dirty.size) d.frame = requestAnimationFrame(render);
  }
}

/** The scrubber, its step label and the play button, at the cursor. */
export function syncScrubber() {
  const { cursor, state } = page;
  const s = $("scrubber");
  s.max = String(state.steps);
  const k = cursor.follow ? lastStep() : cursor.k;
  if (document.activeElement !== s) s.value = String(k);
  $("step-label").textContent = `step ${k.toLocaleString("en")} of ${state.steps.toLocaleString("en")}`;
  $("play").querySelector("span").textContent = cursor.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(cursor.playing));
  app.dataset.playing = String(cursor.playing);
}

/** The readout's columns past its right edge (8 racers do not fit): a shadow there says so. */
const readoutBox = document.querySelector(".readout");
function cueOverflow() {
  const more = readoutBox.scrollLeft + readoutBox.clientWidth < readoutBox.scrollWidth - 1;
  readoutBox.classList.toggle("more-right", more);
  readoutBox.title = more ? "Scroll sideways for the other racers" : "";
}
readoutBox.addEventListener("scroll", cueOverflow, { passive: true });

// A grid value between grid points (bilinear): f for the hover read-out anywhere on the map, and
// the surface's height under each 3D path point (null outside the grid, or its edge with `clamped`).
export function interpolate(x, y, grid = page.surface?.z, clamped = false) {
  const surface = page.surface;
  if (!surface) return null;
  const { x: xs, y: ys } = surface;
  let fi = ((x - xs[0]) / (xs[xs.length - 1] - xs[0])) * (xs.length - 1);
  let fj = ((y - ys[0]) / (ys[ys.length - 1] - ys[0])) * (ys.length - 1);
  if (clamped) {
    fi = clamp(fi, 0, xs.length - 1);
    fj = clamp(fj, 0, ys.length - 1);
  }
  if (!(fi >= 0 && fj >= 0 && fi <= xs.length - 1 && fj <= ys.length - 1)) return null;
  const i = Math.min(Math.floor(fi), xs.length - 2);
  const j = Math.min(Math.floor(fj), ys.length - 2);
  const u = fi - i;
  const v = fj - j;
  const z = grid;
  return (1 - v) * ((1 - u) * z[j][i] + u * z[j][i + 1]) + v * ((1 - u) * z[j + 1][i] + u * z[j + 1][i + 1]);
}

/** Height of the drawn 3D surface at (x, y): paths are drawn on it, not inside it. */
const height3d = (x, y) => interpolate(x, y, page.surface.log_scale ? page.surface.color : page.surface.z, true);

function heights(r) {
  const d = r.data;
  const surface = page.surface;
  const hit = d.derived.heights;
  if (hit && hit.version === d.version && hit.surface === surface) return hit.value;
  const value = d.x.map((x, i) => height3d(x, d.y[i]));
  d.derived.heights = { version: d.version, surface, value };
  return value;
}

/** Everything that decides the paths, in two lines: for the exported image and the 3D view. */
export function caption() {
  const { state } = page;
  const ls = landscape();
  const noise = state.noise
    ? `noisy gradients: σ = (${state.sigma_x}, ${state.sigma_y}), batch ${state.batch_size} of ${state.dataset_size}, seed ${state.seed}`
    : "exact gradients";
  const schedule = state.schedule === "constant" ? "" : `; schedule ${SCHEDULES[state.schedule].label}`;
  const who = page.racers.map((r) => `${labelOf(r)} ${Object.entries(r.hyper).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  const [[x0, x1], [y0, y1]] = ls.domain;
  const name = state.landscape === CUSTOM ? `f(x, y) = ${ls.formula} on [${x0}, ${x1}]×[${y0}, ${y1}]` : ls.label;
  return `${name} from (${state.start.join(", ")}), ${state.steps} steps, ${noise}${schedule}<br>${who.join(" · ")}`;
}
