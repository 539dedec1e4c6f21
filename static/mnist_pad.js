// The MNIST page's drawing pad: draw a digit, see it as the network sees it (28×28, centred as MNIST
// centres its digits) and the class probabilities the current model gives it, also while it trains.

import { count, h, messageOf, postJSON, throttled } from "./common.js";

const SIDE = 28;

/**
 * The drawing as MNIST prepares its digits: the ink's bounding box scaled (area-averaged) to fit
 * 20×20 with its aspect ratio kept, then placed in 28×28 so that its centre of mass is the centre.
 * Returns 784 values in [0, 1] (1 = ink), or null for an empty pad.
 */
export function toMnist(alpha, width, height) {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (alpha[y * width + x] > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale));
  const hgt = Math.max(1, Math.round(bh * scale));
  const sum = new Float64Array(w * hgt);
  const n = new Float64Array(w * hgt);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(hgt - 1, Math.floor((y - y0) * scale));
    for (let x = x0; x <= x1; x++) {
      const tx = Math.min(w - 1, Math.floor((x - x0) * scale));
      sum[ty * w + tx] += alpha[y * width + x] / 255;
      n[ty * w + tx] += 1;
    }
  }
  let mass = 0;
  let mx = 0;
  let my = 0;
  const small = new Float64Array(w * hgt);
  for (let i = 0; i < w * hgt; i++) {
    small[i] = n[i] ? sum[i] / n[i] : 0;
    mass += small[i];
    mx += small[i] * ((i % w) + 0.5);
    my += small[i] * (Math.floor(i / w) + 0.5);
  }
  const dx = Math.round(14 - mx / mass);
  const dy = Math.round(14 - my / mass);
  const out = new Array(SIDE * SIDE).fill(0);
  for (let y = 0; y < hgt; y++) {
    for (let x = 0; x < w; x++) {
      const X = x + dx;
      const Y = y + dy;
      if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) out[Y * SIDE + X] = Math.min(1, small[y * w + x]);
    }
  }
  return out;
}

/**
 * The pad (#pad, #clear, #preview, #bars, #draw-note) for `main`'s run, whose classes `classNames()`
 * names. predictSoon() asks the model again (after a step, an evaluation, a new run); renderBars(null)
 * empties the bars.
 */
export function drawingPad(main, classNames) {
  const $ = (id) => document.getElementById(id);
  const app = $("app");

  const pad = $("pad");
  const padCtx = pad.getContext("2d", { willReadFrequently: true });
  let drawing = false;
  let hasInk = false;
  let last = null;

  function padPoint(event) {
    const box = pad.getBoundingClientRect();
    return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
  }

  function stroke(from, to) {
    padCtx.strokeStyle = "#111827";
    padCtx.fillStyle = "#111827";
    padCtx.lineWidth = 20;
    padCtx.lineCap = "round";
    padCtx.lineJoin = "round";
    padCtx.beginPath();
    padCtx.moveTo(...from);
    padCtx.lineTo(...to);
    padCtx.stroke();
  }

  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    drawing = true;
    last = padPoint(event);
    stroke(last, last);
    hasInk = true;
    predictSoon();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const p = padPoint(event);
    stroke(last, p);
    last = p;
    predictSoon();
  });
  for (const type of ["pointerup", "pointercancel"]) {
    pad.addEventListener(type, () => {
      if (!drawing) return;
      drawing = false;
      predictSoon();
    });
  }
  $("clear").addEventListener("click", () => {
    padCtx.clearRect(0, 0, pad.width, pad.height);
    hasInk = false;
    predictSoon();
  });

  function padInput() {
    if (!hasInk) return null;
    const rgba = padCtx.getImageData(0, 0, pad.width, pad.height).data;
    const alpha = new Uint8ClampedArray(pad.width * pad.height);
    for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3];
    return toMnist(alpha, pad.width, pad.height);
  }

  function renderPreview(input) {
    const ctx = $("preview").getContext("2d");
    const img = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < SIDE * SIDE; i++) {
      const v = 255 - Math.round(255 * (input?.[i] ?? 0));
      img.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
  }

  function renderBars(probabilities) {
    const names = classNames();
    const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    $("bars").replaceChildren(
      ...names.map((name, k) => {
        const p = probabilities?.[k] ?? 0;
        return h(
          "div.bar-row",
          { dataset: { class: k }, class: k === best ? "bar-row best" : "bar-row" },
          h("span.bar-label", { title: name }, name),
          h("span.bar-track", {}, h("span.bar-fill", { style: `width:${(100 * p).toFixed(1)}%` })),
          h("span.bar-value", {}, probabilities ? `${(100 * p).toFixed(p < 0.1 ? 1 : 0)} %` : ""),
        );
      }),
    );
    app.dataset.prediction = probabilities ? String(best) : "";
  }

  /** Which model answers: "the model after 120 steps", "the loaded model (trained 1,250 steps)". */
  function modelText() {
    const step = main.data.stepsDone;
    const steps = (n) => `${count(n)} step${n === 1 ? "" : "s"}`;
    if (!main.loaded) return `the model after ${steps(step)}`;
    const before = main.loaded.trained_steps;
    if (before === null || before === undefined) return step ? `the loaded model, after ${steps(step)} more` : "the loaded model";
    return `the loaded model (trained ${steps(before + step)}${step ? `, ${count(step)} of them here` : ""})`;
  }

  let predicting = false;
  let predictAgain = false;
  async function predict() {
    if (predicting) {
      predictAgain = true;
      return;
    }
    const input = padInput();
    renderPreview(input);
    const id = main.id;
    if (!input || !id) {
      renderBars(null);
      $("draw-note").textContent = !id ? "Start a run or load a model: then the model classifies your drawing." : "Draw a digit in the box.";
      return;
    }
    predicting = true;
    try {
      const answer = await postJSON(`/api/runs/${encodeURIComponent(id)}/predict`, { inputs: [input] });
      if (main.id === id) {
        renderBars(answer.probabilities[0]);
        $("draw-note").textContent = `Probabilities from ${modelText()}.`;
      }
    } catch (e) {
      $("draw-note").textContent = `Could not classify: ${messageOf(e)}`;
    } finally {
      predicting = false;
      if (predictAgain) {
        predictAgain = false;
        predictSoon();
      }
    }
  }

  const predictSoon = throttled(predict, 150);
  return { predictSoon, renderBars };
}
