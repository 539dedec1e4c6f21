// The landscape page's state: the registries it is built from, the one typed field list that is its
// link (TensorFlow Playground's State.PROPS), and the rules that turn any link into a valid state.

import { T, UrlState, clamp, postJSON, readEmbedded } from "./common.js";

export const REG = readEmbedded("registry");
export const LANDSCAPES = Object.fromEntries(REG.landscapes.map((l) => [l.name, l])); // + custom, once loaded
export const OPTIMIZERS = Object.fromEntries(REG.optimizers.map((o) => [o.name, o]));
export const SCHEDULES = Object.fromEntries(REG.schedules.map((s) => [s.name, s]));
export const NOISE = REG.noise;
export const SLOTS = REG.max_racers;
export const STEPS_PARAM = {
  name: "steps",
  label: "steps",
  default: 500,
  low: 1,
  high: REG.max_steps,
  log: true,
  integer: true,
  help: "",
};
const VIEWS = ["contour", "heatmap", "3d"];

// --- your own function: landscape "custom", a typed f(x, y) on a domain ----------------------------------

export const CUSTOM = "custom";
export const DEFAULT_DOMAIN = [-3, 3, -3, 3];
export const EXAMPLE = "(1 - x)**2 + 100*(y - x**2)**2";

/** [xmin, xmax, ymin, ymax] as "xmin,xmax,ymin,ymax" */
export const DOMAIN = {
  encode: (d) => d.map(String).join(","),
  decode: (s) => {
    const d = s.split(",").map((v) => (v.trim() === "" ? NaN : Number(v)));
    return d.length === 4 && d.every(Number.isFinite) ? d : undefined;
  },
};

const isCustom = (s) => s.landscape === CUSTOM;

/** The landscape fields of a request: a built-in with its parameters, or the typed formula and domain. */
export const landscapeBody = (s) =>
  isCustom(s)
    ? { landscape: CUSTOM, landscape_params: {}, expression: s.expr, domain: s.domain }
    : { landscape: s.landscape, landscape_params: { ...s.lparams } };

/** What a landscape's surface is drawn for: its name, and for a typed one its formula and domain. */
export const landscapeKey = (s) => (isCustom(s) ? JSON.stringify([CUSTOM, s.expr, s.domain]) : `${s.landscape}:${JSON.stringify(s.lparams)}`);

/** Ask the server for the typed formula's landscape (minima found numerically) and make it LANDSCAPES.custom.
 * Rejects with the server's HttpError (its message names the token and position) if it is refused. */
export async function loadCustom(expr, domain, options) {
  const ls = await postJSON("/api/landscape", { landscape: CUSTOM, expression: expr, domain }, options);
  LANDSCAPES[CUSTOM] = ls;
  return ls;
}

/** "xmin,xmax,ymin,ymax" typed in: null for empty (the default domain), four numbers, or an Error. */
export function parseDomain(text) {
  if (!text.trim()) return null;
  const d = DOMAIN.decode(text);
  if (!d) throw new Error("domain: four numbers xmin,xmax,ymin,ymax, such as -3,3,-3,3");
  return d;
}

/** The typed landscape as far as a link can say without the server (a log or tools link to write). */
const provisional = (raw) => {
  const [x0, x1, y0, y1] = raw.domain ?? DEFAULT_DOMAIN;
  return { name: CUSTOM, label: "Custom", formula: raw.expr, domain: [[x0, x1], [y0, y1]], minima: [], start: null, lr: {}, steps: 500, params: [] }; // start null: left out of the link
};
const DEFAULT_RACERS = ["sgd", "momentum", "adam", "rmsprop"];

/** Everything a link holds. serialize() leaves out what a `when` says is off (noise settings while
 * gradients are exact); every other field is written, so a link reproduces the paths exactly. */
export const FIELDS = new UrlState([
  { name: "landscape", key: "landscape", type: T.string },
  { name: "lparams", key: "lp", type: T.dict, when: (s) => Object.keys(s.lparams).length > 0 },
  { name: "expr", key: "expr", type: T.string, when: isCustom },
  { name: "domain", key: "domain", type: DOMAIN, when: (s) => isCustom(s) && s.domain !== null },
  { name: "start", key: "start", type: T.point },
  { name: "steps", key: "steps", type: T.int },
  { name: "racers", key: "racers", type: T.racers },
  { name: "noise", key: "noise", type: T.bool },
  ...NOISE.map((p) => ({ name: p.name, key: p.name, type: p.integer ? T.int : T.number, when: (s) => s.noise })),
  { name: "seed", key: "seed", type: T.int },
  { name: "schedule", key: "schedule", type: T.string },
  { name: "sparams", key: "sp", type: T.dict, when: (s) => Object.keys(s.sparams).length > 0 },
  { name: "view", key: "view", type: T.string },
  { name: "arrows", key: "arrows", type: T.bool },
  { name: "vectors", key: "vectors", type: T.bool },
  { name: "smoothing", key: "smooth", type: T.number, when: (s) => s.smoothing > 0 },
  { name: "logy", key: "logy", type: T.bool, when: (s) => !s.logy },
  // a replay from the tools: the loss its target is, and the link back to the tool's view
  { name: "target", key: "target", type: T.number, when: (s) => s.target !== null },
  { name: "back", key: "back", type: T.string, when: (s) => s.back !== null },
]);

/** A link back to the tools page, or null: anything else (another site, a script) is not followed. */
const toolsLink = (s) => (typeof s === "string" && /^\/tools(\?|$)/.test(s) ? s : null);

const clampParam = (p, v) => (Number.isFinite(v) ? clamp(p.integer ? Math.round(v) : v, p.low, p.high) : p.default);

/** {name: value} for `params`: the given value clamped to its range, or the default. */
export const settings = (params, given = {}) =>
  Object.fromEntries(params.map((p) => [p.name, clampParam(p, given[p.name])]));

/** The landscape's learning rate for the optimizer's family (how its step scales with η). */
export const suggestedLr = (landscape, optimizer) => landscape.lr[optimizer.family] ?? optimizer.params[0].default;

export function hyperFor(optimizer, landscape, given = {}) {
  const hyper = settings(optimizer.params, given);
  if (given.lr === undefined) hyper.lr = suggestedLr(landscape, optimizer);
  return hyper;
}

/** "SGD (batch, mini-batch, stochastic)" → "SGD": the full label goes in tooltips. */
export const shortLabel = (spec) => spec.label.replace(/ \(.*\)$/, "");

/** The server's rule: a start more than ten domain widths outside the plot cannot be raced. */
export function farOutside([x, y], landscape) {
  const [[x0, x1], [y0, y1]] = landscape.domain;
  const wx = 10 * (x1 - x0);
  const wy = 10 * (y1 - y0);
  return x < x0 - wx || x > x1 + wx || y < y0 - wy || y > y1 + wy;
}

/** A complete, valid state from what a link holds (anything missing or unknown takes its default). */
export function normalize(raw) {
  const typed = raw.landscape === CUSTOM && typeof raw.expr === "string" && raw.expr.trim() !== "";
  const ls = typed ? (LANDSCAPES[CUSTOM] ?? provisional(raw)) : (LANDSCAPES[raw.landscape] ?? LANDSCAPES.mccormick ?? REG.landscapes[0]);
  const s = {
    landscape: ls.name,
    lparams: settings(ls.params, raw.lparams),
    expr: typeof raw.expr === "string" ? raw.expr : "",
    domain: typed ? (raw.domain ?? null) : null,
    start: raw.start && !farOutside(raw.start, ls) ? raw.start : ls.start && [...ls.start],
    steps: clampParam(STEPS_PARAM, raw.steps ?? ls.steps),
    noise: raw.noise ?? false,
    seed: clamp(raw.seed ?? 0, 0, 2 ** 32 - 1),
    schedule: SCHEDULES[raw.schedule] ? raw.schedule : "constant",
    view: VIEWS.includes(raw.view) ? raw.view : "contour",
    arrows: raw.arrows ?? true,
    vectors: raw.vectors ?? true,
    smoothing: clamp(raw.smoothing ?? 0, 0, 0.99),
    logy: raw.logy ?? true,
    target: Number.isFinite(raw.target) ? raw.target : null,
    back: toolsLink(raw.back),
  };
  Object.assign(s, settings(NOISE, raw));
  s.batch_size = Math.min(s.batch_size, s.dataset_size);
  s.sparams = settings(SCHEDULES[s.schedule].params, raw.sparams);
  const racers = (raw.racers ?? DEFAULT_RACERS.map((optimizer) => ({ optimizer, hyper: {} })))
    .filter((r) => OPTIMIZERS[r.optimizer])
    .slice(0, SLOTS);
  s.racers = (racers.length ? racers : [{ optimizer: "adam", hyper: {} }]).map((r) => ({
    optimizer: r.optimizer,
    hyper: hyperFor(OPTIMIZERS[r.optimizer], ls, r.hyper),
  }));
  return s;
}
