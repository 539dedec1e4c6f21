// Shared code of the network pages (/playground, /mnist): the training configuration and its URL,
// the settings form built from the registries, a run on the server (create, watch over SSE, control),
// what a page keeps of a run's events, and the curve figures both pages draw.

import { HttpError, PALETTE, T, clamp, fmt, h, paramControl, postJSON, select } from "./common.js";

/** The JSON the page route embeds: {registry: {optimizers, schedules}, networks, runs: {id: status|null}}. */
export function readPage() {
  const page = JSON.parse(document.getElementById("page").textContent);
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

const LIVE = ["l1", "l2", "max_norm"]; // regularization a running job accepts (POST hyper)
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

// --- the settings form --------------------------------------------------------------------------------

/** A labelled row: "label [control]". */
export const field = (label, control, attrs = {}) => h("label.field", attrs, h("span.field-label", {}, label), control);

/**
 * The network, optimizer, training and regularization controls, built from the registries into the
 * given sections. Callbacks: onRestart() for a change that needs a new run, onLive(values) for
 * values a running job can take (optimizer hyperparameters, l1, l2, max-norm).
 */
export class ConfigForm {
  constructor(cat, state, { onRestart, onLive, trainingParams = ["batch_size", "epochs", "patience", "seed"] }) {
    this.cat = cat;
    this.state = state;
    this.onRestart = onRestart;
    this.onLive = onLive;
    this.trainingParams = trainingParams;
    this.controls = {};
  }

  /** Hidden layers (add, remove, width, activation), output activation, loss, inits, norm, dropout. */
  network(section) {
    this.networkSection = section;
    this.renderNetwork();
  }

  renderNetwork() {
    const { cat, state } = this;
    const rows = state.hidden.map((layer, i) => {
      const width = h("input.num.width", {
        type: "text",
        inputmode: "numeric",
        value: String(layer.width),
        "aria-label": `Layer ${i + 1} width`,
        autocomplete: "off",
      });
      const error = h("div.field-error", { role: "status" });
      width.addEventListener("change", () => {
        const v = Number(width.value.trim());
        if (!Number.isInteger(v) || v < 1 || v > cat.maxWidth) {
          width.classList.add("invalid");
          error.textContent = `width: a whole number in [1, ${cat.maxWidth}]`;
          return;
        }
        width.classList.remove("invalid");
        error.textContent = "";
        layer.width = v;
        this.onRestart();
      });
      const act = select(cat.hiddenActivations, layer.activation, (name) => {
        layer.activation = name;
        this.onRestart();
      }, { "aria-label": `Layer ${i + 1} activation`, class: "activation" });
      const remove = h("button.icon", { type: "button", title: "Remove this layer", "aria-label": `Remove layer ${i + 1}` }, "✕");
      remove.addEventListener("click", () => {
        state.hidden.splice(i, 1);
        this.renderNetwork();
        this.onRestart();
      });
      return h("div.layer", { dataset: { layer: i } }, h("span.layer-name", {}, `hidden ${i + 1}`), width, act, remove, error);
    });
    const add = h("button.small", { type: "button", id: "add-layer", disabled: state.hidden.length >= cat.maxLayers }, "+ layer");
    add.addEventListener("click", () => {
      const last = state.hidden.at(-1);
      state.hidden.push({ width: last?.width ?? 8, activation: last?.activation ?? "relu" });
      this.renderNetwork();
      this.onRestart();
    });
    const restart = (name) => (v) => {
      state[name] = v;
      this.onRestart();
    };
    const normChoices = [{ name: "none", label: "none" }, ...cat.norms];
    this.controls.dropout = paramControl(cat.regularization.dropout, state.dropout, restart("dropout"));
    this.networkSection.replaceChildren(
      h("h2", {}, "Network ", h("span.hint", {}, `${state.hidden.length} hidden layer${state.hidden.length === 1 ? "" : "s"}`)),
      h("div.layers", { id: "layers" }, rows.length ? rows : h("p.note", {}, "No hidden layer: a linear model.")),
      h("div.layer-tools", {}, add),
      field("output", select(cat.activations, state.output, restart("output"), { id: "output" })),
      field("loss", select(cat.losses, state.loss, restart("loss"), { id: "loss" })),
      field("init", select(cat.inits, state.init, restart("init"), { id: "init", title: "hidden layers" })),
      field("output init", select(cat.inits, state.output_init, restart("output_init"), { id: "output-init" })),
      field("norm", select(normChoices, state.norm, restart("norm"), { id: "norm", title: "after each hidden dense layer" })),
      this.controls.dropout.el,
    );
  }

  /** Optimizer, its hyperparameters (live), learning-rate schedule. */
  optimizer(section) {
    this.optimizerSection = section;
    this.renderOptimizer();
  }

  renderOptimizer() {
    const { cat, state } = this;
    const spec = cat.optimizers[state.optimizer];
    const choose = select(cat.optimizerList, state.optimizer, (name) => {
      state.optimizer = name;
      state.hyper = settings(cat.optimizers[name].params);
      this.renderOptimizer();
      this.onRestart();
    }, { id: "optimizer", "aria-label": "Optimizer" });
    const hyper = spec.params.map((p) => {
      const c = paramControl(p, state.hyper[p.name], (v) => {
        state.hyper[p.name] = v;
        this.onLive({ [p.name]: v });
      });
      this.controls[p.name] = c;
      return c.el;
    });
    const sched = cat.schedules[state.schedule];
    const chooseSchedule = select(cat.scheduleList, state.schedule, (name) => {
      state.schedule = name;
      state.schedule_params = settings(cat.schedules[name].params);
      this.renderOptimizer();
      this.onRestart();
    }, { id: "schedule", "aria-label": "Learning-rate schedule" });
    const schedParams = sched.params.map((p) =>
      paramControl(p, state.schedule_params[p.name], (v) => {
        state.schedule_params[p.name] = v;
        this.onRestart();
      }).el,
    );
    this.optimizerSection.replaceChildren(
      h("h2", {}, "Optimizer ", h("span.hint", {}, "sliders act on a running job")),
      choose,
      h("p.formula", { title: spec.reference }, spec.rule),
      ...hyper,
      field("schedule", chooseSchedule),
      ...schedParams,
    );
  }

  /** Batch size, epochs, patience, evaluation settings and seed: all need a new run. */
  training(section, title = "Training") {
    const { cat, state } = this;
    const items = this.trainingParams.map((name) => {
      let p = trainingParam(cat, name);
      if (name === "batch_size") p = { ...p, high: Math.min(p.high, trainSize(cat, state.dataset, state.data)) };
      if (name === "seed") p = { ...p, label: "seed (weights, shuffling, dropout)", log: false, high: 1e6 };
      if (name === "eval_every") p = { ...p, label: "evaluate every (steps)", high: 100000, help: "0: at each epoch end" };
      if (name === "eval_train_size") p = { ...p, label: "training examples scored", log: true, low: 0, help: "0: all of them" };
      if (name === "patience") p = { ...p, label: "early-stopping patience (epochs)", high: 100, help: "0: off" };
      const c = paramControl(p, state[name], (v) => {
        state[name] = v;
        this.onRestart();
      });
      this.controls[name] = c;
      return c.el;
    });
    section.replaceChildren(h("h2", {}, title), ...items);
    this.trainingSection = section;
  }

  /** L1, L2, max-norm: live. (Dropout sits with the network: changing it needs a new run.) */
  regularization(section) {
    const { cat, state } = this;
    const items = LIVE.map((name) => {
      const c = paramControl(cat.regularization[name], state[name], (v) => {
        state[name] = v;
        this.onLive({ [name]: v });
      });
      this.controls[name] = c;
      return c.el;
    });
    section.replaceChildren(h("h2", {}, "Regularization ", h("span.hint", {}, "live")), ...items);
  }

  /** Show values a run reports (a reload, another tab's change, a loaded model) without a restart. */
  setLive(values) {
    for (const [name, v] of Object.entries(values)) {
      if (name in this.state.hyper) this.state.hyper[name] = v;
      else if (LIVE.includes(name)) this.state[name] = v;
      this.controls[name]?.set(v);
    }
  }

  /** Show an error next to the controls of these values (null clears). */
  setError(names, message) {
    for (const name of names) this.controls[name]?.setError(message);
  }
}

// --- a run on the server --------------------------------------------------------------------------------

export const EVENT_TYPES = ["start", "history", "steps", "eval", "epoch", "control", "early_stop", "diverged", "error", "summary"];
const ENDED = ["done", "stopped", "early_stopped", "diverged", "error"];

/**
 * What a page keeps of a run: the per-step loss and lr, scalar evaluations, epochs, controls, the
 * latest full evaluation and how it ended. `apply` takes events in order; a `start` (e.g. after a
 * reconnect) begins again and `history` replaces everything so far.
 */
export class RunData {
  constructor() {
    this.reset();
  }

  reset() {
    this.start = null;
    this.step = [];
    this.loss = [];
    this.lr = [];
    this.evals = []; // scalar parts, one per step (the first evaluation of a step wins)
    this.epochs = [];
    this.controls = [];
    this.latest = null; // the latest full evaluation
    this.diagnostics = []; // [{step, epoch, layers}]: per-layer gradient norms and dead fractions
    this.status = "starting";
    this.earlyStop = null;
    this.diverged = null;
    this.error = null;
    this.summary = null;
    this.version = 0;
  }

  get ended() {
    return ENDED.includes(this.status);
  }

  get stepsDone() {
    return this.step.length ? this.step.at(-1) : 0;
  }

  apply(type, e) {
    this.version++;
    switch (type) {
      case "start":
        this.reset();
        this.start = e;
        this.status = "running";
        break;
      case "history":
        this.step = Array.from(e.step);
        this.loss = Array.from(e.loss);
        this.lr = Array.from(e.lr);
        this.evals = [];
        this.diagnostics = [];
        for (const ev of e.evals) {
          this.addEval(ev);
          this.addDiagnostics(ev); // the per-layer part is kept in the history
        }
        this.epochs = e.epochs;
        this.controls = e.controls;
        this.status = e.status;
        break;
      case "steps":
        for (let i = 0; i < e.step.length; i++) {
          this.step.push(e.step[i]);
          this.loss.push(e.loss[i]);
          this.lr.push(e.lr[i]);
        }
        break;
      case "eval":
        this.latest = e;
        this.addEval(e);
        this.addDiagnostics(e);
        break;
      case "epoch":
        if (this.epochs.at(-1)?.epoch !== e.epoch) this.epochs.push(e);
        break;
      case "control":
        this.controls.push(e);
        if (e.action === "pause") this.status = "paused";
        if (e.action === "resume") this.status = "running";
        break;
      case "early_stop":
        this.earlyStop = e;
        break;
      case "diverged":
        this.diverged = e;
        break;
      case "error":
        this.error = e;
        this.status = "error";
        break;
      case "summary":
        this.summary = e;
        this.status = e.status;
        break;
    }
  }

  addEval(e) {
    // A step evaluated twice is the catch-up copy of the latest evaluation, or the re-evaluation of
    // the best weights after early stopping: the curves keep the first.
    if (this.evals.at(-1)?.step === e.step) return;
    const { train_loss, train_accuracy, test_loss, test_accuracy, step, epoch } = e;
    this.evals.push({ step, epoch, train_loss, train_accuracy, test_loss, test_accuracy });
  }

  addDiagnostics(e) {
    if (e.diagnostics?.layers && this.diagnostics.at(-1)?.step !== e.step) {
      this.diagnostics.push({ step: e.step, epoch: e.epoch, layers: e.diagnostics.layers });
    }
  }

  /**
   * A run from the run log (GET /api/log/{id}): its batch-loss curve (binned means), its accuracy
   * curve (test accuracy, or training accuracy without a test set) and its live setting changes
   * where the log kept their step. `per` is its steps per epoch. Nothing else was kept.
   */
  static fromLog(entry, per) {
    const data = new RunData();
    const config = entry.config;
    data.start = { config, hyper: { ...config.hyper }, steps_per_epoch: per, total_steps: per * config.epochs, logged: entry.id };
    data.step = Array.from(entry.curves.loss?.step ?? []);
    data.loss = Array.from(entry.curves.loss?.value ?? []);
    const accuracy = entry.curves.accuracy ?? { step: [], value: [] };
    const test = entry.results?.test_accuracy !== undefined && entry.results?.test_accuracy !== null;
    data.evals = accuracy.step.map((step, i) => ({
      step,
      epoch: step / per,
      train_loss: null,
      test_loss: null,
      train_accuracy: test ? null : accuracy.value[i],
      test_accuracy: test ? accuracy.value[i] : null,
    }));
    const changed = entry.results?.changed_while_training ?? [];
    data.controls = changed.filter((c) => Number.isFinite(c?.step) && c.values).map((c) => ({ action: "set", step: c.step, values: c.values }));
    data.status = entry.status;
    data.summary = { ...entry.results, status: entry.status };
    if (entry.status === "diverged" && Number.isFinite(entry.results?.step)) data.diverged = { step: entry.results.step, message: entry.results.message };
    data.version++;
    return data;
  }

  /** Every live setting change so far, merged: {lr: ..., l2: ...}. */
  settings() {
    return Object.assign({}, ...this.controls.filter((c) => c.action === "set").map((c) => c.values));
  }
}

/** A short message for a failed request: FastAPI's detail, or the error's own text. */
/** The page's error banner (an element with id "banner"): show a message, or hide it. */
export function showBanner(text) {
  const banner = document.getElementById("banner");
  banner.textContent = text;
  banner.hidden = false;
}
export function hideBanner() {
  document.getElementById("banner").hidden = true;
}

export function messageOf(error) {
  if (error instanceof HttpError) {
    const where = (d) => (d.loc?.length > 1 ? `${d.loc.slice(1).join(".")}: ` : "");
    return error.detail.map((d) => `${where(d)}${d.msg}`).join("; ");
  }
  return error?.message ?? String(error);
}

/**
 * One run on the server, watched over Server-Sent Events (EventSource: it reconnects by itself and a
 * reconnect starts with the catch-up snapshot). onEvent(type, event) after RunData took it in.
 */
export class RunSession {
  constructor({ onEvent, onChange }) {
    this.id = null;
    this.logged = null; // the run-log id of a finished run shown from the log (no run on the server)
    this.loaded = null; // {trained_steps} when the run started from an uploaded model
    this.data = new RunData();
    this.source = null;
    this.onEvent = onEvent;
    this.onChange = onChange ?? (() => {});
    this.pending = false; // a create request is on its way
  }

  get status() {
    if (this.pending) return "starting";
    return this.id ? this.data.status : "idle";
  }

  /** Running or paused: controls and live settings reach it. */
  get live() {
    return Boolean(this.id) && !this.data.ended;
  }

  async create(body) {
    this.detach();
    this.pending = true;
    this.onChange();
    try {
      const out = await postJSON("/api/runs", body);
      this.attach(out.id);
      return out.id;
    } finally {
      this.pending = false;
      this.onChange();
    }
  }

  /** Upload a saved model (.npz bytes): a new run, paused after evaluating the loaded weights. */
  async upload(file) {
    const response = await fetch("/api/runs/upload", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: file,
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: the status line says enough
    }
    if (!response.ok) throw new HttpError(response.status, body?.detail ?? `${response.status} ${response.statusText}`);
    this.attach(body.id, body.loaded);
    return body.id;
  }

  /** Watch run `id`; `loaded` ({trained_steps}) when it started from a saved model (else asked for). */
  attach(id, loaded) {
    this.detach();
    this.id = id;
    this.data.reset();
    this.loaded = loaded ?? null;
    if (loaded === undefined) this.askLoaded(id);
    const source = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
    this.source = source;
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (message) => {
        if (this.source !== source) return;
        const event = JSON.parse(message.data);
        this.data.apply(type, event);
        if (type === "summary" || type === "error") this.closeStream();
        this.onEvent(type, event);
        this.onChange();
      });
    }
    source.addEventListener("error", () => {
      // CONNECTING: EventSource retries by itself (the run sends its snapshot again). CLOSED: gone.
      if (this.source === source && source.readyState === EventSource.CLOSED) {
        this.closeStream();
        if (!this.data.ended) {
          this.data.status = "error";
          this.data.error = { message: "the connection to the run was lost (runs live in server memory)" };
          this.onEvent("error", this.data.error);
        }
        this.onChange();
      }
    });
    this.onChange();
  }

  /** Whether the run started from a saved model (a reload or a link: the page does not know). */
  async askLoaded(id) {
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(id)}`);
      const body = response.ok ? await response.json() : null;
      if (this.id === id && body?.loaded) {
        this.loaded = body.loaded;
        this.onChange();
      }
    } catch {
      // the stream says what matters; this only labels a loaded model
    }
  }

  /** Show a finished run from the run log: its curves, no run on the server. */
  showLogged(entry, per) {
    this.detach();
    this.data = RunData.fromLog(entry, per);
    this.logged = entry.id;
    this.onChange();
  }

  closeStream() {
    this.source?.close();
    this.source = null;
  }

  /** Stop watching (the run itself goes on until it ends or nobody watches it). */
  detach() {
    this.closeStream();
    this.id = null;
    this.logged = null;
    this.loaded = null;
    this.data = new RunData();
  }

  /** pause | resume | step | stop; a run that has already ended is left alone. */
  async control(action) {
    if (!this.live) return;
    await postJSON(`/api/runs/${encodeURIComponent(this.id)}/${action}`, {});
  }

  /** New optimizer hyperparameters or l1 / l2 / max_norm, from the run's next step. */
  async setHyper(values) {
    if (!this.live) return;
    await postJSON(`/api/runs/${encodeURIComponent(this.id)}/hyper`, { values });
  }
}

// --- pacing ------------------------------------------------------------------------------------------

/** Call fn at most once per animation frame and at most every `ms` milliseconds. */
export function throttled(fn, ms = 0) {
  let queued = false;
  let last = -Infinity;
  let timer = null;
  const run = () => {
    queued = false;
    last = performance.now();
    fn();
  };
  const request = () => {
    if (queued) return;
    queued = true;
    const wait = last + ms - performance.now();
    if (wait > 0) timer = setTimeout(() => requestAnimationFrame(run), wait);
    else requestAnimationFrame(run);
  };
  request.cancel = () => {
    clearTimeout(timer);
    queued = false;
  };
  return request;
}

// --- series ------------------------------------------------------------------------------------------

/** At most ~max points of (x, y): every point if few, else each bucket's minimum and maximum (the envelope). */
export function envelope(x, y, max = 4000) {
  const n = x.length;
  if (n <= max) return { x, y };
  const buckets = Math.floor(max / 2);
  const size = n / buckets;
  const ox = [];
  const oy = [];
  for (let b = 0; b < buckets; b++) {
    const i0 = Math.floor(b * size);
    const i1 = Math.min(n, Math.floor((b + 1) * size));
    let lo = i0;
    let hi = i0;
    for (let i = i0; i < i1; i++) {
      if (y[i] < y[lo]) lo = i;
      if (y[i] > y[hi]) hi = i;
    }
    for (const i of lo <= hi ? [lo, hi] : [hi, lo]) {
      ox.push(x[i]);
      oy.push(y[i]);
    }
  }
  return { x: ox, y: oy };
}

/** Every k-th point so that at most ~max remain (the last one always kept). */
export function thin(x, y, max = 2000) {
  const n = x.length;
  if (n <= max) return { x, y };
  const k = Math.ceil(n / max);
  const ox = [];
  const oy = [];
  for (let i = 0; i < n; i += k) {
    ox.push(x[i]);
    oy.push(y[i]);
  }
  if ((n - 1) % k) {
    ox.push(x[n - 1]);
    oy.push(y[n - 1]);
  }
  return { x: ox, y: oy };
}

// --- figures -----------------------------------------------------------------------------------------

const sizer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const el = entry.target;
    if (el._fullLayout && entry.contentRect.width > 0 && entry.contentRect.height > 0) Plotly.Plots.resize(el);
  }
});

/** Redraw a plot at its box's size whenever the box changes (not only when the window does). */
export const keepSized = (el) => sizer.observe(el);

export const INK = "#1f2937";
export const MUTED = "#6b7280";
export const FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 11, color: INK };
export const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };
export const CLASS_COLORS = PALETTE;

/** Axis defaults: light grid, small ticks, a title. */
export const axis = (title, extra = {}) => ({
  title: { text: title, font: { size: 11, color: MUTED }, standoff: 4 },
  gridcolor: "#eef0f3",
  zerolinecolor: "#d1d5db",
  linecolor: "#d1d5db",
  tickfont: { size: 10 },
  automargin: true,
  ...extra,
});

/** A small plot's layout: a legend on top, tight margins. */
export function smallLayout(extra = {}) {
  return {
    font: FONT,
    margin: { l: 44, r: 10, t: 24, b: 34 },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 }, bgcolor: "rgba(0,0,0,0)" },
    hovermode: "x unified",
    hoverlabel: { font: { size: 11 } },
    ...extra,
  };
}

/** A vertical marker line with a label, as a layout shape and annotation. */
export function vline(x, label, color = MUTED, dash = "dot", y = 1, side = "left") {
  return {
    shape: { type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color, width: 1.5, dash } },
    annotation: { xref: "x", yref: "paper", x, y, yanchor: "top", xanchor: side, text: label, showarrow: false, font: { size: 10, color }, bgcolor: "rgba(255,255,255,0.85)" },
  };
}

/** Markers where a run stopped early (best and stopped epoch) or diverged, as {shapes, annotations}. */
export function endMarks(data, toX) {
  const marks = [];
  if (data.earlyStop) {
    const { best_epoch: best, stopped_epoch: stopped } = data.earlyStop;
    marks.push(vline(toX({ epoch: best }), `best: epoch ${best}`, "#007a5a", "dash", 1));
    marks.push(vline(toX({ epoch: stopped }), `stopped: epoch ${stopped}`, MUTED, "dot", 0.86, "right"));
  }
  if (data.diverged) marks.push(vline(toX({ step: data.diverged.step }), `diverged at step ${data.diverged.step}`, "#b91c1c", "dot", 1, "right"));
  return { shapes: marks.map((m) => m.shape), annotations: marks.map((m) => m.annotation) };
}

/** The x range of a run's curves: all planned epochs while it trains, what it ran once it ended early. */
export function epochRange(data, planned) {
  const per = data.start?.steps_per_epoch;
  const total = data.start?.config.epochs ?? planned;
  if (!data.ended || !per) return [0, Math.max(1, total)];
  const reached = Math.max(data.stepsDone, data.diverged?.step ?? 0) / per;
  return [0, Math.max(reached < total ? reached * 1.04 : total, 1e-3)];
}

/** Histogram {counts, edges} as a step line of the fraction of values per bin. */
export function histogramTrace(hist, name, color) {
  const total = hist.counts.reduce((a, b) => a + b, 0) || 1;
  const x = [];
  const y = [];
  for (let i = 0; i < hist.counts.length; i++) {
    x.push(hist.edges[i], hist.edges[i + 1]);
    y.push(hist.counts[i] / total, hist.counts[i] / total);
  }
  return { type: "scatter", mode: "lines", x, y, name, line: { color, width: 1.5, shape: "linear" }, fill: "tozeroy", fillcolor: `${color}22`, hovertemplate: `${name}: %{y:.1%}<extra></extra>` };
}

/** "12 %", "97.4 %" */
export const pct = (x, digits = 1) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(digits)} %`);

/** "1,234" */
export const count = (n) => Math.round(n).toLocaleString("en-US");

/** "45 s", "3 min 5 s" */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}

export { fmt };
