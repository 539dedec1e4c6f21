// A training configuration on the network pages (/playground, /mnist, /network-tools): what the page
// route embeds, the configuration's URL fields, its normalization against the registries, and the
// request body a run is created with.

import { T, clamp, readEmbedded } from "./common.js";

/** The JSON the page route embeds: {registry: {optimizers, schedules}, networks, runs: {id: status|null}}. */
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
    regularization: byName(net.regularization),
    training: byName(net.training),
    optimizers: byName(page.registry.optimizers),
    optimizerList: page.registry.optimizers,
    schedules: byName(page.registry.schedules),
    scheduleList: page.registry.schedules,
    maxLayers: net.max_layers,
    maxWidth: net.max_width,
    maxEpochs: net.max_epochs,
  };
}


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

/** URL fields of a training configuration (the fields of TrainIn, short keys). */
export const CONFIG_FIELDS = [
  { name: "dataset", key: "ds", type: T.string },
  { name: "data", key: "data", type: T.dict },
  { name: "hidden", key: "hidden", type: LAYERS },
  { name: "output", key: "out", type: T.string },
  { name: "loss", key: "loss", type: T.string },
  { name: "init", key: "init", type: T.string },
  { name: "output_init", key: "oinit", type: T.string },
  { name: "norm", key: "norm", type: T.string },
  { name: "dropout", key: "drop", type: T.number },
  { name: "optimizer", key: "opt", type: T.string },
  { name: "hyper", key: "hyper", type: T.dict },
  { name: "schedule", key: "sched", type: T.string },
  { name: "schedule_params", key: "sp", type: T.dict, when: (s) => Object.keys(s.schedule_params).length > 0 },
  { name: "batch_size", key: "bs", type: T.int },
  { name: "epochs", key: "epochs", type: T.int },
  { name: "l1", key: "l1", type: T.number },
  { name: "l2", key: "l2", type: T.number },
  { name: "max_norm", key: "maxnorm", type: T.number },
  { name: "patience", key: "patience", type: T.int },
  { name: "eval_every", key: "every", type: T.int },
  { name: "eval_train_size", key: "evaltrain", type: T.int },
  { name: "seed", key: "seed", type: T.int },
];

/** Regularization a running job accepts (POST hyper). */
export const LIVE = ["l1", "l2", "max_norm"];
const TRAIN_IN_HIGH = { batch_size: 4096, eval_train_size: 60000 }; // TrainIn's bounds, tighter than the core's

const clampParam = (p, v) => (Number.isFinite(v) ? clamp(p.integer ? Math.round(v) : v, p.low, p.high) : p.default);
export const settings = (params, given = {}) => Object.fromEntries(params.map((p) => [p.name, clampParam(p, given[p.name])]));

/** A registry parameter with the server's request bounds. */
export function trainingParam(cat, name, overrides = {}) {
  const p = { ...cat.training[name] };
  if (name === "epochs") p.high = cat.maxEpochs;
  if (TRAIN_IN_HIGH[name]) p.high = Math.min(p.high, TRAIN_IN_HIGH[name]);
  return { ...p, ...overrides };
}

/** Training examples of a dataset with these parameters (what bounds the batch size). */
export function trainSize(cat, dataset, data) {
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
  const dataset = cat.datasets[raw.dataset]?.kind === kind ? raw.dataset : defaults.dataset;
  const ds = cat.datasets[dataset];
  const s = { dataset };
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
  s.dropout = clampParam(cat.regularization.dropout, raw.dropout ?? defaults.dropout);
  s.optimizer = cat.optimizers[raw.optimizer] ? raw.optimizer : defaults.optimizer;
  const given = raw.optimizer === s.optimizer ? raw.hyper : s.optimizer === defaults.optimizer ? defaults.hyper : {};
  s.hyper = settings(cat.optimizers[s.optimizer].params, given ?? {});
  s.schedule = cat.schedules[raw.schedule] ? raw.schedule : defaults.schedule;
  s.schedule_params = settings(cat.schedules[s.schedule].params, raw.schedule_params ?? {});
  for (const name of ["epochs", "patience", "eval_every", "eval_train_size", "seed"]) {
    s[name] = clampParam(trainingParam(cat, name), raw[name] ?? defaults[name]);
  }
  s.batch_size = clamp(clampParam(trainingParam(cat, "batch_size"), raw.batch_size ?? defaults.batch_size), 1, trainSize(cat, dataset, s.data));
  for (const name of LIVE) s[name] = clampParam(cat.regularization[name], raw[name] ?? defaults[name]);
  return s;
}

/** The POST /api/runs body (TrainIn) for a configuration; `extra` overrides fields (e.g. surface). */
export function trainBody(s, extra = {}) {
  const body = {};
  for (const f of CONFIG_FIELDS) body[f.name] = s[f.name];
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
