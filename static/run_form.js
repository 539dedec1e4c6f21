// The settings form of the network pages, built from the registries: network, optimizer, training
// and regularization controls; changes either need a new run or reach a running one live.

import { debounce, h, messageOf, paramControl, select } from "./common.js";
import { settings, trainSize, trainingParam } from "./run_config.js";

/** A labelled row: "label [control]". */
export const field = (label, control, attrs = {}) => h("label.field", attrs, h("span.field-label", {}, label), control);

/**
 * The network, optimizer, training and regularization controls, built from the registries into the
 * given sections. Callbacks: onRestart() for a change that needs a new run, onLive(values) for
 * values a running job can take (optimizer hyperparameters and the schema's live settings).
 */
export class ConfigForm {
  constructor(cat, state, { onRestart, onLive, trainingParams = ["batch_size", "epochs", "patience", "seed"], inputs = null }) {
    this.cat = cat;
    this.state = state;
    this.onRestart = onRestart;
    this.onLive = onLive;
    this.trainingParams = trainingParams;
    this.controls = {};
    this.inputs = inputs; // () => what the network's input is ("784 pixels"), shown above the layers
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
    this.controls.dropout = paramControl(cat.config.dropout, state.dropout, restart("dropout"));
    this.networkSection.replaceChildren(
      h("h2", {}, "Network ", h("span.hint", {}, `${state.hidden.length} hidden layer${state.hidden.length === 1 ? "" : "s"}`)),
      ...(this.inputs ? [h("div.layer.input-layer", { id: "input-width" }, h("span.layer-name", {}, "input"), h("span", {}, this.inputs()))] : []),
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

  /**
   * The schema's live settings (L1, L2, max-norm, gradient clip-norm, …), changed while a run trains.
   * (Dropout sits with the network: changing it needs a new run.)
   */
  regularization(section) {
    const { cat, state } = this;
    const items = cat.live.map((name) => {
      const c = paramControl(cat.config[name], state[name], (v) => {
        state[name] = v;
        this.onLive({ [name]: v });
      });
      this.controls[name] = c;
      return c.el;
    });
    section.replaceChildren(h("h2", {}, "Regularization and clipping ", h("span.hint", { title: "these change while a run trains" }, "live")), ...items);
  }

  /** Show values a run reports (a reload, another tab's change, a loaded model) without a restart. */
  setLive(values) {
    for (const [name, v] of Object.entries(values)) {
      if (name in this.state.hyper) this.state.hyper[name] = v;
      else if (this.cat.live.includes(name)) this.state[name] = v;
      this.controls[name]?.set(v);
    }
  }

  /** Show an error next to the controls of these values (null clears). */
  setError(names, message) {
    for (const name of names) this.controls[name]?.setError(message);
  }
}

/**
 * Live settings for the running jobs `sessions()`: send(values) gathers changes for 120 ms, then
 * posts them together to every run; a refused value's message shows next to its control in `form`.
 */
export function liveSender(form, sessions) {
  const pending = {};
  const post = debounce(async () => {
    const values = { ...pending };
    for (const k of Object.keys(pending)) delete pending[k];
    const names = Object.keys(values);
    form.setError(names, "");
    try {
      await Promise.all(sessions().map((s) => s.setHyper(values)));
    } catch (e) {
      form.setError(names, messageOf(e));
    }
  }, 120);
  return (values) => {
    Object.assign(pending, values);
    post();
  };
}
