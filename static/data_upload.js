// Users' own data on the network pages: send a file (or drawn points) to the server's data store,
// read back what it holds, and say what it is. The server answers each bad file with one message
// naming its row and column; the pages show it verbatim next to the control that sent the file.

import { count, fetchOk, h, HttpError, messageOf } from "./common.js";

export const OWN = "upload"; // the dataset's name in a training configuration
export const HASH = /^[0-9a-f]{64}$/;

/**
 * Store `body` (a File, Blob or string) on the server: POST /api/data. `kind` "points" (a CSV
 * x1,x2,label) or "table" (a CSV or .npz with `label` naming its label column). Resolves to what the
 * server keeps (DataOut: {id, kind, filename, rows, features, feature_names, label, regression,
 * classes, class_names}); rejects with the server's message.
 */
export async function storeData(body, { kind, filename, label = null, regression = false }) {
  const query = new URLSearchParams({ kind, filename });
  if (label !== null) query.set("label_column", label);
  if (regression) query.set("regression", "true");
  const response = await fetchOk(`/api/data?${query}`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body,
  });
  return response.json();
}

/** What the server holds under `id` (DataOut), or rejects (a 404 whose message says it is gone). */
export async function dataInfo(id) {
  return (await fetchOk(`/api/data/${encodeURIComponent(id)}`)).json();
}

/** The 2D points stored under `id`: {x: [[x1, x2], ...], y, class_names, regression}. */
export async function dataPoints(id) {
  return (await fetchOk(`/api/data/${encodeURIComponent(id)}/points`)).json();
}

/** Whether an error says that the data is no longer on the server (a 404 or 409 from the data store). */
export const isGone = (e) => e instanceof HttpError && (e.status === 404 || e.status === 409);

/** The server's message for a refused file (a 422 names the row and column), as the page shows it. */
export function uploadMessage(e) {
  if (!(e instanceof HttpError)) return messageOf(e);
  const text = Array.isArray(e.detail) ? e.detail.map((d) => d.msg).join("; ") : String(e.detail);
  return e.status === 413 ? `the file is too large: ${text}` : text;
}

/** The name the data was uploaded under; the server forgets names on a restart (its store is by content). */
export const dataName = (info) => info.filename || "uploaded data";

/** "wine.csv: 178 rows · 13 features · 3 classes (label: class) · data 3fa2c14b90e1" */
export function describeData(info) {
  const what = info.regression ? `a regression target (${info.label})` : `${info.classes} classes (label: ${info.label})`;
  return `${dataName(info)}: ${count(info.rows)} rows · ${info.features} feature${info.features === 1 ? "" : "s"} · ${what}`;
}

/** The data's summary as page elements: the description, the class names and the short hash. */
export function dataSummary(info) {
  const classes = info.regression ? [] : [h("span.class-names", { title: info.class_names.join(", ") }, `classes: ${shortList(info.class_names)}`)];
  return [h("span.data-what", {}, describeData(info)), ...classes, h("code.data-id", { title: `SHA-256 ${info.id}: links and the run log name the data by it` }, info.id.slice(0, 12))];
}

const shortList = (names, max = 6) => (names.length > max ? `${names.slice(0, max).join(", ")}, … (${names.length})` : names.join(", "));

/**
 * Training examples of stored data split with `test_fraction` (what bounds the batch size): the
 * server holds out round(test_fraction · rows) of each class, half up, one row of each kept to train.
 * `counts`: rows per class (a regression: [rows]); without them, the fewest it can be.
 */
export function ownTrainSize(info, testFraction, counts = null) {
  const held = (rows) => Math.min(Math.floor(rows * testFraction + 0.5), Math.max(rows - 1, 0));
  if (counts) return counts.reduce((a, c) => a + c - held(c), 0);
  const k = info.regression ? 1 : info.classes;
  return Math.max(1, info.rows - Math.ceil(info.rows * testFraction + k / 2));
}
