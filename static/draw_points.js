// Points drawn by hand on the playground: a drawing is {points: [[x, y, k], ...], classes: [names]},
// k the index of its class. Every function here is pure: it returns a new drawing and leaves the one
// it was given alone, so an edit can be compared with (or undone to) what came before.

export const DEFAULT_CLASSES = ["A", "B"];
export const MIN_POINTS = 6; // in all, before a network can train on them
export const MIN_PER_CLASS = 2; // one to train on and one to test with
export const MAX_POINTS = 5000;
const DIGITS = 3; // decimals a coordinate keeps: a click is not finer, and the CSV stays short

/** x rounded to the drawing's precision (-0 made 0). */
export const round = (x) => Number(x.toFixed(DIGITS)) || 0;

/** A drawing with no points, of classes `classes` (two at least). */
export function emptyDrawing(classes = DEFAULT_CLASSES) {
  return { points: [], classes: [...classes] };
}

/** The class after `k` (with two classes: the other one). */
export const otherClass = (drawing, k) => (k + 1) % drawing.classes.length;

/** `drawing` with a point of class `k` at (x, y). */
export function addPoint(drawing, x, y, k) {
  if (!Number.isInteger(k) || k < 0 || k >= drawing.classes.length) throw new RangeError(`class ${k} is not one of 0…${drawing.classes.length - 1}`);
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`a point needs finite coordinates, got (${x}, ${y})`);
  if (drawing.points.length >= MAX_POINTS) return drawing;
  return { ...drawing, points: [...drawing.points, [round(x), round(y), k]] };
}

/** `drawing` with point `i` moved to (x, y), its class kept. */
export function movePoint(drawing, i, x, y) {
  if (!drawing.points[i] || !Number.isFinite(x) || !Number.isFinite(y)) return drawing;
  const points = drawing.points.slice();
  points[i] = [round(x), round(y), points[i][2]];
  return { ...drawing, points };
}

/** `drawing` without point `i`. */
export function deletePoint(drawing, i) {
  if (!drawing.points[i]) return drawing;
  return { ...drawing, points: drawing.points.filter((_, j) => j !== i) };
}

/** Every point gone, the classes kept. */
export const eraseAll = (drawing) => ({ ...drawing, points: [] });

/**
 * The point nearest (x, y) within `radius` pixels, or -1. `scale` = [pixels per unit of x, of y]:
 * the distance is measured as the eye sees it, on the plot. The topmost (last drawn) wins a tie.
 */
export function nearest(drawing, x, y, scale, radius) {
  let best = -1;
  let bestDistance = radius * radius;
  drawing.points.forEach(([px, py], i) => {
    const d = ((px - x) * scale[0]) ** 2 + ((py - y) * scale[1]) ** 2;
    if (d <= bestDistance) {
      best = i;
      bestDistance = d;
    }
  });
  return best;
}

const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The drawing with its classes in the order the server gives them (text by code point), the points'
 * class indices following: the colours a class has here are the ones its run shows.
 */
export function sortClasses(drawing) {
  const classes = [...drawing.classes].sort(byCodePoint);
  const to = drawing.classes.map((name) => classes.indexOf(name));
  return { points: drawing.points.map(([x, y, k]) => [x, y, to[k]]), classes };
}

/** A built-in set's points (POST /api/datasets/points: {x_train, y_train, x_test, y_test, classes}), training and test alike. */
export function fromSplit(answer) {
  const points = [];
  for (const [xs, ys] of [
    [answer.x_train, answer.y_train],
    [answer.x_test, answer.y_test],
  ]) {
    xs.forEach(([x, y], i) => points.push([round(x), round(y), ys[i]]));
  }
  return sortClasses({ points: points.slice(0, MAX_POINTS), classes: [...answer.classes] });
}

/** Uploaded points (GET /api/data/{id}/points: {x, y, class_names, regression}) of a classification. */
export function fromUploaded(answer) {
  if (answer.regression) throw new RangeError("a regression's points have targets, not classes: they cannot be drawn");
  return { points: answer.x.slice(0, MAX_POINTS).map(([x, y], i) => [round(x), round(y), answer.y[i]]), classes: [...answer.class_names] };
}

/** Points per class, in class order. */
export function classCounts(drawing) {
  const counts = drawing.classes.map(() => 0);
  for (const p of drawing.points) counts[p[2]]++;
  return counts;
}

/** {ok, reason}: whether a network can train on the drawing, and if not, what is missing. */
export function readiness(drawing) {
  const n = drawing.points.length;
  const counts = classCounts(drawing);
  const present = counts.filter((c) => c > 0).length;
  if (n === 0) return { ok: false, reason: "Draw some points first: click to place one." };
  if (present < 2) return { ok: false, reason: `Two classes are needed: shift-click places the other class (${drawing.classes.length} classes, ${present} drawn).` };
  if (n < MIN_POINTS) return { ok: false, reason: `At least ${MIN_POINTS} points are needed (${n} drawn).` };
  const few = counts.findIndex((c) => c > 0 && c < MIN_PER_CLASS);
  if (few >= 0) return { ok: false, reason: `Class ${drawing.classes[few]} needs at least ${MIN_PER_CLASS} points: one to train on, one to test with.` };
  return { ok: true, reason: "" };
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
const csvField = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * The drawing as the points CSV the server reads (POST /api/data?kind=points): a header x1,x2,label,
 * then one row per point, its class by name. A class without points is left out (it has no row).
 */
export function toCsv(drawing) {
  const rows = drawing.points.map(([x, y, k]) => `${x},${y},${csvField(drawing.classes[k])}`);
  return ["x1,x2,label", ...rows].join("\n") + "\n";
}

/** The points as a playground points answer ({x_train, y_train, x_test: [], y_test: [], classes}). */
export function asPoints(drawing) {
  return {
    x_train: drawing.points.map(([x, y]) => [x, y]),
    y_train: drawing.points.map((p) => p[2]),
    x_test: [],
    y_test: [],
    classes: drawing.classes,
  };
}

/** [[x0, x1], [y0, y1]]: a square-ish box around the points (at least ±`half` around the origin) to draw in. */
export function drawingBox(drawing, half = 2) {
  let [x0, x1, y0, y1] = [-half, half, -half, half];
  for (const [x, y] of drawing.points) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const pad = Math.max(x1 - x0, y1 - y0) / 12;
  return [
    [round(x0 - pad), round(x1 + pad)],
    [round(y0 - pad), round(y1 + pad)],
  ];
}
