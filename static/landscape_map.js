// The landscape page's map: its size and zoom, the read-out under the mouse, and the start point,
// moved by a click, a drag or the x and y boxes.

import { fmt } from "./common.js";
import { MARGIN } from "./landscape_figures.js";
import { $, labelOf, landscape, page } from "./landscape_page.js";
import { figs, interpolate, invalidate, trails, whenCreated } from "./landscape_render.js";
import { farOutside } from "./landscape_state.js";
import { changed } from "./landscape_stream.js";
import { nearestPoint, plotFrame } from "./landscape_trails.js";

/** Move the start to `p` (refused more than ten domain widths outside the map: the server's rule). */
export function moveStart(p) {
  if (farOutside(p, landscape())) {
    $("start-error").textContent = `(${p.join(", ")}) lies more than ten domain widths outside the map`;
    return;
  }
  $("start-error").textContent = "";
  page.state.start = p;
  syncStartUi();
  changed({ all: true, start: true });
}

export function syncStartUi() {
  for (const [i, id] of ["start-x", "start-y"].entries()) {
    if (document.activeElement !== $(id)) $(id).value = String(page.state.start[i]);
  }
}

/** A point of the map, rounded to a thousandth of the domain's width (a start a link can hold). */
function mapPoint(x, y) {
  const [[x0, x1], [y0, y1]] = landscape().domain;
  const digits = (w) => Math.max(0, 3 - Math.floor(Math.log10(w)));
  return [Number(x.toFixed(digits(x1 - x0))), Number(y.toFixed(digits(y1 - y0)))];
}

whenCreated("fg", (gd) => {
  gd.on("plotly_click", (ev) => {
    const x = ev.xvals?.[0] ?? ev.points?.[0]?.x;
    const y = ev.yvals?.[0] ?? ev.points?.[0]?.y;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    page.lastInput = performance.now();
    moveStart(mapPoint(x, y));
  });
  gd.on("plotly_hover", (ev) => {
    const x = ev.xvals?.[0];
    const y = ev.yvals?.[0];
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    $("cursor-readout").hidden = false;
    $("cursor-readout").textContent = hoverText(x, y, ev.event);
  });
  gd.on("plotly_unhover", () => ($("cursor-readout").hidden = true));
  gd.addEventListener("mouseleave", () => ($("cursor-readout").hidden = true));
  gd.on("plotly_relayout", (ev) => syncZoom(ev));
});

/** The map's read-out under the mouse: the racer point there if any (the paths are on a canvas), else f. */
function hoverText(x, y, event) {
  const frame = plotFrame(figs.fg);
  const box = figs.fg.getBoundingClientRect();
  const near = frame && event ? nearestPoint(page.draw.marks, frame, event.clientX - box.left, event.clientY - box.top) : null;
  if (near) {
    const { mark, i } = near;
    const r = page.racers.find((q) => labelOf(q) === mark.label);
    const f = r?.data.loss[i];
    return `${mark.label}   step ${i}   (${fmt(mark.path.x[i], 4)}, ${fmt(mark.path.y[i], 4)})   f = ${f === undefined ? "–" : fmt(f, 4)}`;
  }
  const f = interpolate(x, y);
  return `x ${fmt(x, 3)}   y ${fmt(y, 3)}   f ≈ ${f === null ? "–" : fmt(f, 4)}   · click to start here`;
}

// Dragging the start: the paths follow while it moves (one stream in flight, each drawn as it ends).
// The press is taken before Plotly sees it, so a drag that begins on the start does not zoom.
function nearStart(event) {
  const frame = plotFrame(figs.fg);
  if (!frame || page.state.view === "3d") return false;
  const box = figs.fg.getBoundingClientRect();
  const dx = frame.px(page.state.start[0]) - (event.clientX - box.left);
  const dy = frame.py(page.state.start[1]) - (event.clientY - box.top);
  return dx * dx + dy * dy <= 12 * 12;
}
function dragTo(event) {
  const frame = plotFrame(figs.fg);
  const box = figs.fg.getBoundingClientRect();
  const [x, y] = mapPoint(frame.x(event.clientX - box.left), frame.y(event.clientY - box.top));
  if (x === page.state.start[0] && y === page.state.start[1]) return;
  page.lastInput = performance.now();
  moveStart([x, y]);
}
figs.fg.addEventListener(
  "pointerdown",
  (event) => {
    if (event.button !== 0 || !nearStart(event)) return;
    event.preventDefault(); // no mousedown follows: Plotly starts no zoom box
    event.stopPropagation();
    page.dragging = true;
    figs.fg.classList.add("dragging");
    figs.fg.setPointerCapture(event.pointerId);
  },
  { capture: true },
);
figs.fg.addEventListener("pointermove", (event) => {
  if (page.dragging) dragTo(event);
  else figs.fg.classList.toggle("over-start", nearStart(event));
});
for (const type of ["pointerup", "pointercancel"]) {
  figs.fg.addEventListener(type, (event) => {
    if (!page.dragging) return;
    page.dragging = false;
    figs.fg.classList.remove("dragging");
    figs.fg.releasePointerCapture(event.pointerId);
    if (type === "pointerup") dragTo(event);
  });
}

// The surface follows the paths figure's zoom (the paths figure takes the mouse).
function syncZoom(ev) {
  const full = figs.fg._fullLayout;
  if (!full || !("xaxis.range[0]" in ev || "xaxis.range" in ev || "xaxis.autorange" in ev || "yaxis.range[0]" in ev)) return;
  const zoom = (page.draw.zoom = [full.xaxis.range.slice(), full.yaxis.range.slice()]);
  if (page.draw.created.has("bg")) Plotly.relayout(figs.bg, { "xaxis.range": zoom[0], "yaxis.range": zoom[1] });
  invalidate("fg");
}

export function resetZoom() {
  page.draw.zoom = null;
  page.draw.uirevision++;
}

/** Size the two map figures to the landscape's aspect (x and y share a scale), centred. */
export function fitMap() {
  const stack = $("map-stack");
  const W = stack.clientWidth;
  const H = stack.clientHeight;
  const { created } = page.draw;
  if (!W || !H || page.state.view === "3d") return;
  const [[x0, x1], [y0, y1]] = landscape().domain;
  const plotH = H - MARGIN.t - MARGIN.b;
  const width = Math.round(Math.min(W, plotH * ((x1 - x0) / (y1 - y0)) + MARGIN.l + MARGIN.r));
  const key = `${W}x${H}:${width}:${created.size}`;
  if (key === page.draw.fitted) return; // a resize replots both figures: only when the size changed
  page.draw.fitted = key;
  for (const gd of [figs.bg, figs.fg, trails]) {
    gd.style.width = `${width}px`;
    gd.style.left = `${Math.floor((W - width) / 2)}px`;
  }
  const resized = ["bg", "fg"].filter((name) => created.has(name)).map((name) => Plotly.Plots.resize(figs[name]));
  Promise.all(resized).then(() => invalidate("fg")); // the canvas follows the figure's new size
}
new ResizeObserver(() => fitMap()).observe($("map-stack"));

/** The contour or heatmap map, or the 3D view, as the state says. */
export function showView() {
  const is3d = page.state.view === "3d";
  figs.bg.hidden = is3d;
  figs.fg.hidden = is3d;
  trails.hidden = is3d;
  figs.d3.hidden = !is3d;
  $("map-hint").hidden = is3d; // in 3D a drag turns the view
  $("map-key").hidden = is3d; // the 3D view has a legend of its own
  $("show-arrows").disabled = is3d;
  $("show-vectors").disabled = is3d;
  for (const radio of document.querySelectorAll("input[name=view]")) radio.checked = radio.value === page.state.view;
  if (!is3d) fitMap();
  else if (page.draw.created.has("d3")) {
    Plotly.Plots.resize(figs.d3);
  }
  invalidate("bg", "fg", "d3");
}
