// The network lab's state: what the page route embeds (registries, training schema, race options),
// the one typed field list that is its link, the rules that turn any link or preset into a valid
// race, and the POST /api/races body it makes.

import { clamp, readEmbedded, T, UrlState } from "./common.js";
import { normalizeConfig, readPage, settings, trainBody } from "./run_config.js";
import { labFields, SURFACE_KINDS } from "./lab_url.js";

export const cat = readPage();
// the batch size a link asks for on a table of one's own is kept until the page has read the table
// (the table's panel then bounds it by its training rows)
cat.ownTrainSize = () => cat.config.batch_size.high;
/** {min_racers, max_racers, presets: {name: {label, description, request}}, resolution, surface_every} */
export const RACES = readEmbedded("page").races;
export const PRESETS = RACES.presets;
const DEFAULT_PRESET = PRESETS.moons ? "moons" : Object.keys(PRESETS)[0];
// Least seconds between a racer's evaluations. None on 2D points: every epoch is evaluated (and its
// weights kept for the paths), so a replay draws the very same curves; images evaluate at most 20 times
// a second (an evaluation costs about what a step does), and so do uploaded tables (of any size).
const THROTTLE = { points: 0, images: 0.05, upload: 0.05 };
const SMOOTHING = 0.6; // TensorBoard's default

export const FIELDS = new UrlState([
  ...labFields([...Object.values(cat.config)]),
  { name: "race", key: "race", type: T.string, when: (s) => Boolean(s.race) },
  { name: "smoothing", key: "smooth", type: T.number, when: (s) => s.smoothing !== SMOOTHING },
  { name: "logY", key: "logy", type: T.bool, when: (s) => !s.logY },
]);

/** "SGD (batch, mini-batch, stochastic)" → "SGD" */
export const shortLabel = (name) => cat.optimizers[name]?.label.replace(/ \(.*\)$/, "") ?? name;

/** A racer's name in legends and hover boxes: "#2 Momentum". */
export const racerName = (k, optimizer) => `#${k + 1} ${shortLabel(optimizer)}`;

/** A preset's request in the page's terms: {...training, racers, plane, resolution, surfaceEvery}. */
export function fromRequest(request) {
  const t = request.training;
  return {
    ...t,
    hidden: (t.hidden ?? []).map((l) => (Array.isArray(l) ? { width: l[0], activation: l[1] } : { ...l })),
    norm: t.norm ?? "none",
    racers: request.racers.map((r) => ({ optimizer: r.optimizer, hyper: { ...(r.hyper ?? {}) } })),
    plane: request.surface?.kind,
    resolution: request.surface?.resolution,
    surfaceEvery: request.surface?.every,
  };
}

/** The schema's defaults under a preset's request (optimizer fields: normalizeConfig needs some). */
function presetConfig(name) {
  const defaults = Object.fromEntries(Object.values(cat.config).map((f) => [f.name, structuredClone(f.default)]));
  const p = fromRequest(PRESETS[name].request);
  return { ...defaults, ...p, norm: p.norm ?? "none", optimizer: p.racers[0].optimizer, hyper: p.racers[0].hyper };
}

/**
 * What a dataset kind starts from: the first preset on a dataset of that kind, else the default
 * preset on the kind's first dataset (images: the MNIST page's subset, which trains in seconds).
 */
function presetFor(kind) {
  const name = Object.keys(PRESETS).find((n) => cat.datasets[PRESETS[n].request.training.dataset]?.kind === kind);
  if (name) return presetConfig(name);
  const base = presetConfig(DEFAULT_PRESET);
  const dataset = cat.datasetList.find((d) => d.kind === kind).name;
  return { ...base, dataset, data: kind === "images" ? { ...(cat.recipes.mnist_page?.config.data ?? {}) } : {} };
}

/** The data parameters a dataset starts with: its kind's start's (an image subset, not 60,000 images). */
export function dataDefaults(name) {
  const ds = cat.datasets[name];
  const start = presetFor(ds.kind);
  return settings(ds.params, start.dataset === name || ds.kind === "images" ? start.data ?? {} : {});
}

/** A racer with known settings: its hyperparameters within their ranges, defaults for the rest. */
export function racer(optimizer, hyper = {}) {
  return { optimizer, hyper: settings(cat.optimizers[optimizer].params, hyper) };
}

const boundedInt = (range, v) => (Number.isFinite(v) ? clamp(Math.round(v), range.low, range.high) : range.default);

/** A complete, valid state from what a link (or a preset) holds: anything missing or unknown takes a default. */
export function normalize(raw) {
  const kind = cat.datasets[raw.dataset]?.kind ?? cat.datasets[presetConfig(DEFAULT_PRESET).dataset].kind;
  const defaults = presetFor(kind);
  const s = normalizeConfig(raw, defaults, cat, dataDefaults);
  delete s.optimizer;
  delete s.hyper;
  const given = (raw.racers ?? []).filter((r) => cat.optimizers[r.optimizer]).slice(0, RACES.max_racers);
  const racers = given.length >= RACES.min_racers ? given : defaults.racers;
  s.racers = racers.map((r) => racer(r.optimizer, r.hyper));
  s.plane = SURFACE_KINDS.some((k) => k.name === raw.plane) ? raw.plane : defaults.plane ?? "pca";
  const n = boundedInt(RACES.resolution, raw.resolution ?? defaults.resolution);
  s.resolution = n % 2 ? n : n + 1 <= RACES.resolution.high ? n + 1 : n - 1; // odd: the centre is a grid point
  s.surfaceEvery = boundedInt(RACES.surface_every, raw.surfaceEvery ?? defaults.surfaceEvery);
  return s;
}

/** The page's state from its link, with the view settings. */
export function initialState(search) {
  const raw = FIELDS.deserialize(search);
  const fromLink = Object.keys(raw).some((k) => !["smoothing", "logY", "race"].includes(k));
  const s = normalize(fromLink ? raw : presetConfig(DEFAULT_PRESET));
  return Object.assign(s, {
    race: raw.race ?? null,
    smoothing: raw.smoothing >= 0 && raw.smoothing < 1 ? raw.smoothing : SMOOTHING,
    logY: raw.logY ?? true,
  });
}

/** The POST /api/races body (RaceIn) for a state. */
export function raceBody(s) {
  const training = trainBody(cat, s, { throttle: THROTTLE[cat.datasets[s.dataset].kind] });
  delete training.optimizer;
  delete training.hyper;
  return {
    training,
    racers: s.racers.map((r) => ({ optimizer: r.optimizer, hyper: { ...r.hyper } })),
    surface: { kind: s.plane, resolution: s.resolution, every: s.surfaceEvery },
  };
}

/** The link's text for the configuration alone (no race id, no view): equal links, equal races. */
export const configLink = (s) => FIELDS.serialize({ ...s, race: null, smoothing: SMOOTHING, logY: true });

/** The preset whose configuration `s` is, or null. */
export function presetOf(s) {
  const link = configLink(s);
  return Object.keys(PRESETS).find((name) => configLink(normalize(presetConfig(name))) === link) ?? null;
}

/** A preset's state (the view settings of `s` kept). */
export const presetState = (name, s) => ({ ...normalize(presetConfig(name)), race: null, smoothing: s.smoothing, logY: s.logY });
