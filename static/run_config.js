// A training configuration on the network pages (/playground, /mnist, /network-tools): what the page
// route embeds, the configuration's URL fields and defaults from the training schema, its
// normalization against the registries, and the request body a run is created with.

import { T, clamp, readEmbedded } from "./common.js";
import { HASH, OWN } from "./data_upload.js";

/**
 * The JSON the page route embeds ({registry: {optimizers, schedules}, networks, runs: {id: status|null}})
 * in the terms the pages use. `config` is the training schema by field name (label, default, bounds,
 * live, link key), `fields` its URL fields, `live` the settings a running job takes (optimizer
 * hyperparameters aside), `recipes` the named configurations.
 */
export function readPage() {
  const page = readEmbedded("page");
  const byName = (list) => Object.fromEntries(list.map((x) => [x.name, x]));
  const net = page.networks;
  return {
    runs: page.runs,
    datasets: byName(net.datasets),
    datasetList: net.datasets,
    activations: net.activations,
    hiddenActivations: net.activations.filter((a) => !a.output_only),
    losses: net.losses,
    inits: net.inits,
    norms: net.norms,
    config: byName(net.config),
    fields: configFields(net.config),
    live: net.config.filter((f) => f.live && f.kind === "number").map((f) => f.name),
    recipes: net.recipes,
    optimizers: byName(page.registry.optimizers),
    optimizerList: page.registry.optimizers,
    schedules: byName(page.registry.schedules),
    scheduleList: page.registry.schedules,
    maxLayers: net.max_layers,
    maxWidth: net.max_width,
    maxEpochs: net.max_epochs,
  };
}

// --- the configuration and its URL ----------------------------------------------------------------

/** Hidden layers [{width, activation}] as "16:relu,16:tanh" ("" is no hidden layer). */
export const LAYERS = {
  encode: (layers) => layers.map((l) => `${l.width}:${l.activation}`).join(","),
  decode: (s) => {
    const out = [];
    for (const part of s.split(",").filter(Boolean)) {
      const [w, activation] = part.split(":");
      const width = Number(w);
      if (!Number.isInteger(width) || !activation) return undefined;
      out.push({ width, activation });
    }
    return out;
  },
};

/** How each kind of schema field travels in a link. */
const LINK_TYPES = { choice: T.string, settings: T.dict, layers: LAYERS, bool: T.bool, text: T.string };
const linkType = (f) => (f.kind === "number" ? (f.integer ? T.int : T.number) : LINK_TYPES[f.kind]);

/**
 * URL fields of a training configuration, from the training schema (GET /api/networks `config`):
 * every field with a link key, in the schema's order; a group of settings left empty stays out.
 */
export function configFields(config) {
  return config
    .filter((f) => f.key && linkType(f))
    .map((f) => ({ name: f.name, key: f.key, type: linkType(f), ...(f.kind === "settings" ? { when: (s) => Object.keys(s[f.name] ?? {}).length > 0 } : {}) }));
}

/**
 * A complete configuration: the schema's defaults, then the named recipe's fields (`over` last). The
 * data parameters a recipe names are in its `data`; normalizeConfig takes a page's own.
 */
export function recipe(cat, name, over = {}) {
  const defaults = Object.fromEntries(Object.values(cat.config).map((f) => [f.name, structuredClone(f.default)]));
  const c = { ...defaults, ...structuredClone(cat.recipes[name].config), ...over };
  c.norm ??= "none";
  return c;
}

const clampParam = (p, v) => (Number.isFinite(v) ? clamp(p.integer ? Math.round(v) : v, p.low, p.high) : p.default);
export const settings = (params, given = {}) => Object.fromEntries(params.map((p) => [p.name, clampParam(p, given[p.name])]));

/** A number of the training schema with the server's request bounds (a page's epoch cap too). */
export function trainingParam(cat, name, overrides = {}) {
  const p = { ...cat.config[name] };
  if (name === "epochs") p.high = Math.min(p.high, cat.maxEpochs);
  return { ...p, ...overrides };
}

/** Training examples of a dataset with these parameters (what bounds the batch size). */
export function trainSize(cat, dataset, data) {
  if (dataset === OWN) return cat.ownTrainSize?.(data) ?? 1; // the page knows what was uploaded
  if (cat.datasets[dataset].kind === "images") return data.train_size;
  return data.samples - Math.round(data.samples * data.test_fraction);
}

/**
 * A complete, valid configuration from what a link holds: anything missing, unknown or out of range
 * takes the page's default. `defaults` is a full configuration; `dataDefaults(dataset)` the data
 * parameters a page starts a dataset with.
 */
export function normalizeConfig(raw, defaults, cat, dataDefaults) {
  const kind = cat.datasets[defaults.dataset].kind;
  const known = (value, list) => (list.some((x) => x.name === value) ? value : undefined);
  // users' own data (when this server takes it) on either page; `data_id` names it
  const own = raw.dataset === OWN && cat.datasets[OWN] && typeof raw.data_id === "string" && HASH.test(raw.data_id);
  const dataset = own || (raw.dataset !== OWN && cat.datasets[raw.dataset]?.kind === kind) ? raw.dataset : defaults.dataset;
  const ds = cat.datasets[dataset];
  const s = { dataset, data_id: own ? raw.data_id : null };
  s.data = settings(ds.params, { ...dataDefaults(dataset), ...(raw.data ?? {}) });
  const hiddenNames = cat.hiddenActivations.map((a) => a.name);
  s.hidden = (raw.hidden ?? defaults.hidden).slice(0, cat.maxLayers).map((l) => ({
    width: clamp(Math.round(l.width), 1, cat.maxWidth),
    activation: hiddenNames.includes(l.activation) ? l.activation : "relu",
  }));
  s.output = known(raw.output, cat.activations) ?? defaults.output;
  s.loss = known(raw.loss, cat.losses) ?? defaults.loss;
  s.init = known(raw.init, cat.inits) ?? defaults.init;
  s.output_init = known(raw.output_init, cat.inits) ?? defaults.output_init;
  s.norm = raw.norm === "none" || known(raw.norm, cat.norms) ? raw.norm : defaults.norm;
  s.optimizer = cat.optimizers[raw.optimizer] ? raw.optimizer : defaults.optimizer;
  const given = raw.optimizer === s.optimizer ? raw.hyper : s.optimizer === defaults.optimizer ? defaults.hyper : {};
  s.hyper = settings(cat.optimizers[s.optimizer].params, given ?? {});
  s.schedule = cat.schedules[raw.schedule] ? raw.schedule : defaults.schedule;
  s.schedule_params = settings(cat.schedules[s.schedule].params, raw.schedule_params ?? {});
  // every number of the schema a link carries: dropout, batch size, epochs, the live ones, …
  for (const f of cat.fields) {
    if (cat.config[f.name].kind === "number") s[f.name] = clampParam(trainingParam(cat, f.name), raw[f.name] ?? defaults[f.name]);
  }
  s.batch_size = clamp(s.batch_size, 1, trainSize(cat, dataset, s.data));
  return s;
}

/** The POST /api/runs body (TrainIn) for a configuration; `extra` overrides fields (e.g. surface). */
export function trainBody(cat, s, extra = {}) {
  const body = {};
  for (const f of cat.fields) body[f.name] = s[f.name];
  body.hidden = s.hidden.map((l) => ({ width: l.width, activation: l.activation }));
  body.norm = s.norm === "none" ? null : s.norm;
  return { ...body, ...extra };
}

/** The configuration a run reports in its `start` event, in the page's terms. */
export function configFromStart(start) {
  const c = start.config;
  return {
    ...c,
    hidden: c.hidden.map(([width, activation]) => ({ width, activation })),
    norm: c.norm ?? "none",
    hyper: { ...start.hyper },
  };
}

/** "2 → 16 ReLU → 16 ReLU → 2 Softmax" */
export function describeNetwork(cat, s, inputs, classes) {
  const label = (name) => cat.activations.find((a) => a.name === name)?.label.replace(/ \(.*\)$/, "") ?? name;
  return [String(inputs), ...s.hidden.map((l) => `${l.width} ${label(l.activation)}`), `${classes} ${label(s.output)}`].join(" → ");
}
