// The MNIST page's images: the misclassified test images of the latest evaluation, and the first
// layer's weights as 28×28 pictures, both fetched from the run on the server.

import { count, h, throttled } from "./common.js";

const SIDE = 28;
const FILTERS = 64; // first-layer units shown

/** Paint 784 grey values (0..1, ink dark on white) onto a new 28×28 canvas. */
export function greyCanvas(values, label) {
  const canvas = h("canvas", { width: SIDE, height: SIDE, "aria-label": label });
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = 255 - Math.round(255 * Math.min(1, Math.max(0, values[i])));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** Weights as a diverging image: blue negative, white zero, orange positive, scaled by the largest |w|. */
export function weightCanvas(values, label) {
  const canvas = h("canvas", { width: SIDE, height: SIDE, "aria-label": label });
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SIDE, SIDE);
  let top = 1e-12;
  for (const v of values) top = Math.max(top, Math.abs(v));
  const neg = [0, 114, 178];
  const pos = [213, 94, 0];
  for (let i = 0; i < SIDE * SIDE; i++) {
    const t = values[i] / top;
    const c = t < 0 ? neg : pos;
    const a = Math.abs(t);
    img.data.set([255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/**
 * The gallery (#gallery, #wrong-note) and the first layer's weights (#filters, #filters-note) of
 * `main`'s run, whose classes `classNames()` names. renderGallery() after an evaluation,
 * fetchFilters() now, filtersSoon() at most every 5 s; clear() forgets the images cached, reset()
 * empties both views too.
 */
export function imageViews(main, classNames) {
  const $ = (id) => document.getElementById(id);
  const images = new Map(); // test index -> 784 values

  let galleryFor = null;
  async function renderGallery() {
    const latest = main.data.latest;
    const id = main.id;
    const wrong = latest?.misclassified ?? [];
    if (!latest) {
      $("gallery").replaceChildren(h("p.empty-note", {}, "Appears after the first evaluation."));
      return;
    }
    if (galleryFor === latest) return;
    galleryFor = latest;
    const missing = wrong.map((w) => w.index).filter((i) => !images.has(i));
    if (missing.length && id) {
      try {
        const response = await fetch(`/api/runs/${encodeURIComponent(id)}/images?indices=${missing.join(",")}`);
        if (!response.ok || main.id !== id) return;
        const body = await response.json();
        missing.forEach((index, k) => images.set(index, body.images[k]));
      } catch {
        return; // a later evaluation tries again
      }
    }
    if (galleryFor !== latest) return;
    const names = classNames();
    const tiles = wrong.map((w) => {
      const title = `test image ${w.index}: true ${names[w.true]}, predicted ${names[w.predicted]}`;
      const caption = h("figcaption", {}, h("span.true", {}, names[w.true]), " → ", h("b", {}, names[w.predicted]));
      return h("figure.tile", { title, class: names[w.true].length > 2 ? "tile long" : "tile" }, greyCanvas(images.get(w.index) ?? [], title), caption);
    });
    const n = main.data.start?.test_size ?? 0;
    const accuracy = latest.test_accuracy;
    $("wrong-note").textContent = wrong.length
      ? `test images, latest evaluation: true → predicted (first ${wrong.length} of ${count(Math.round((1 - accuracy) * n))})`
      : "test images, latest evaluation";
    $("gallery").replaceChildren(...(tiles.length ? tiles : [h("p.empty-note", {}, "No misclassified test image.")]));
  }

  let filtersBusy = false;
  async function fetchFilters() {
    const id = main.id;
    if (!id || filtersBusy) return;
    filtersBusy = true;
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(id)}/filters?count=${FILTERS}`);
      if (!response.ok || main.id !== id) return;
      const body = await response.json();
      const units = main.data.start?.config.hidden[0]?.[0] ?? body.units.length;
      $("filters-note").textContent = `first ${body.units.length} of ${units} units; blue < 0 < orange, each scaled to its largest |w|`;
      $("filters").replaceChildren(...body.images.map((w, i) => weightCanvas(w, `unit ${body.units[i]}`)));
    } catch {
      // the next evaluation fetches again
    } finally {
      filtersBusy = false;
    }
  }

  // 64 × 784 weights are 50,000 numbers for the server to serialize while it trains: now and then
  const filtersSoon = throttled(fetchFilters, 5000);
  const clear = () => images.clear();
  function reset() {
    images.clear();
    $("gallery").replaceChildren();
    $("filters").replaceChildren(h("p.empty-note", {}, "Appears after the first evaluation."));
  }
  return { renderGallery, fetchFilters, filtersSoon, clear, reset };
}
