// The network lab's settings column: presets, the data, network and training every racer shares
// (the network pages' own form), and the loss surface's plane, resolution and recomputation.

import { count, h, paramControl, select } from "./common.js";
import { settings, trainingParam } from "./run_config.js";
import { dataName, OWN } from "./data_upload.js";
import { OwnTable } from "./mnist_own.js";
import { ConfigForm, field } from "./run_form.js";
import { cat, dataDefaults, PRESETS, presetOf, RACES } from "./lab_state.js";
import { SURFACE_KINDS } from "./lab_url.js";

const $ = (id) => document.getElementById(id);

/** The grid sizes offered: odd (the initial weights are the grid's centre point), within the server's range. */
function resolutions(current) {
  const { low, high } = RACES.resolution;
  const sizes = [low, 11, 15, 21, 25, 31, 41, 51, high, current].filter((n) => n % 2 === 1 && n >= low && n <= high);
  return [...new Set(sizes)].sort((a, b) => a - b);
}
const TRAINING = ["batch_size", "epochs", "seed", "eval_every", "eval_train_size", "patience"];
const DATA_LABELS = { train_size: "training images", test_size: "test images" };

/**
 * The settings column. onChange() after any change of the race's configuration; onLive(values) after
 * a change of a setting a racing run takes live (regularization, clipping); onPreset(name) when a
 * preset is chosen.
 */
export class LabForm {
  constructor(state, { onChange, onLive, onPreset }) {
    this.state = state;
    this.onChange = onChange;
    this.onPreset = onPreset;
    const live = (values) => {
      this.showPreset();
      onLive(values);
    };
    this.config = new ConfigForm(cat, state, { onRestart: () => this.changed(), onLive: live, trainingParams: TRAINING });
    // a table of the user's own (#own-table): its features set the network's input, its rows the batch size
    this.own = new OwnTable(cat, state, () => {
      this.buildData();
      this.buildNetwork();
      this.buildTraining();
      state.batch_size = this.config.controls.batch_size.value;
      this.changed();
    });
    this.buildPresets();
    this.buildDatasetChoice();
  }

  build() {
    this.buildData();
    this.buildNetwork();
    this.buildTraining();
    this.config.regularization($("regularization-group"));
    $("regularization-group").querySelector(".hint").textContent = "live, every racer";
    this.buildSurface();
    this.showPreset();
  }

  // --- presets -----------------------------------------------------------------------------------

  buildPresets() {
    $("presets").replaceChildren(
      ...Object.entries(PRESETS).map(([name, p]) => {
        const ds = cat.datasets[p.request.training.dataset];
        const title = ds?.available === false ? `${ds.label} is not on this server: ${ds.remedy.replaceAll("`", "")}` : p.description;
        const b = h("button", { type: "button", title, disabled: ds?.available === false, dataset: { preset: name }, "aria-pressed": "false" }, p.label);
        b.addEventListener("click", () => this.onPreset(name));
        return b;
      }),
    );
  }

  /** Mark the preset the settings are (if any) and say what it shows. */
  showPreset() {
    const name = presetOf(this.state);
    for (const b of $("presets").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.preset === name));
    $("preset-note").textContent = name ? PRESETS[name].description : "Your own race: its link keeps every setting.";
  }

  // --- data --------------------------------------------------------------------------------------

  buildDatasetChoice() {
    const group = (kind, label) =>
      h(
        "optgroup",
        { label },
        cat.datasetList.filter((d) => d.kind === kind).map((d) => h("option", { value: d.name }, d.available ? d.label : `${d.label} (not on this server)`)),
      );
    const own = cat.datasets[OWN] ? [h("optgroup", { label: "Uploaded" }, h("option", { value: OWN }, cat.datasets[OWN].label))] : [];
    $("dataset").replaceChildren(group("points", "2D points"), group("images", "Images"), ...own);
    $("dataset").addEventListener("change", () => {
      const s = this.state;
      s.dataset = $("dataset").value;
      s.data = dataDefaults(s.dataset);
      s.data_id = s.dataset === OWN ? (this.own.info?.id ?? null) : null;
      this.buildData();
      this.buildNetwork();
      this.buildTraining();
      s.batch_size = this.config.controls.batch_size.value;
      this.changed();
    });
  }

  buildData() {
    const s = this.state;
    const ds = cat.datasets[s.dataset];
    $("dataset").value = ds.name;
    const own = ds.name === OWN;
    // a link (or a race) names a table this page has not read yet: ask the server for it
    if (own && s.data_id && s.data_id !== this.own.info?.id && s.data_id !== this.restoring) {
      this.restoring = s.data_id;
      this.own.restore(s.data_id).finally(() => (this.restoring = null));
    }
    const info = own ? this.own.info : null;
    const classes = info ? (info.regression ? "a regression target" : `${info.classes} classes`) : `${ds.classes.length} classes`;
    $("dataset-note").textContent = own ? "A table of your own (CSV or .npz), stored on this server by its hash" : `${ds.description}; ${classes}`;
    this.own.render();
    const missing = $("data-missing");
    missing.hidden = ds.available;
    if (!ds.available) {
      // the remedy names commands in `backticks`: show them as code
      const parts = ds.remedy.split("`").map((text, i) => (i % 2 ? h("code", {}, text) : text));
      missing.replaceChildren(h("strong", {}, `${ds.label} is not on this server.`), " ", ...parts);
    }
    this.dataControls = {};
    $("data-params").replaceChildren(
      ...ds.params.map((p) => {
        if (own && p.name === "standardize") return this.standardizeBox();
        const seedLabel = own ? "split seed" : "data seed";
        const param = { ...p, label: DATA_LABELS[p.name] ?? (p.name === "seed" ? seedLabel : p.label), ...(p.name === "seed" ? { high: 1e6 } : {}) };
        const c = paramControl(param, s.data[p.name], (v) => {
          s.data[p.name] = v;
          if (["samples", "test_fraction", "train_size"].includes(p.name)) {
            this.buildTraining(); // the batch size may not exceed the training set
            s.batch_size = this.config.controls.batch_size.value;
          }
          this.changed();
        });
        this.dataControls[p.name] = c;
        return c.el;
      }),
    );
  }

  /** A table's standardization: a checkbox (the schema's 0/1). */
  standardizeBox() {
    const s = this.state;
    const box = h("input", { type: "checkbox", id: "standardize", checked: Boolean(s.data.standardize) });
    box.addEventListener("change", () => {
      s.data.standardize = box.checked ? 1 : 0;
      this.changed();
    });
    return h("label.check", { title: "each feature scaled to mean 0, standard deviation 1 on the training part" }, box, " standardize the features");
  }

  /** Why the chosen data cannot race now ("" when it can): not on this server, or no table (yet). */
  get problem() {
    const ds = cat.datasets[this.state.dataset];
    if (ds.name === OWN) return this.own.problem;
    return ds.available ? "" : `${ds.label} is not on this server (see the note on the left)`;
  }

  /** The problem in a few words, for the run bar (the whole of it is where the data would be). */
  get problemShort() {
    const ds = cat.datasets[this.state.dataset];
    if (ds.name === OWN && this.own.gone) return "The table is gone (see Data on the left).";
    return ds.available ? this.problem : `${ds.label} is not on this server`;
  }

  /** Whether the chosen data is there to race on. */
  get available() {
    return !this.problem;
  }

  /** The network; on a table of one's own its input is as wide as the table has features. */
  buildNetwork() {
    const info = this.state.dataset === OWN ? this.own.info : null;
    this.config.inputs = this.state.dataset !== OWN ? null : () => (info ? `${count(info.features)} features (${dataName(info)})` : "as many as the file's features");
    this.config.network($("network-group"));
  }

  // --- training ----------------------------------------------------------------------------------

  buildTraining() {
    const s = this.state;
    const section = $("training-group");
    this.config.training(section);
    const sharp = trainingParam(cat, "sharpness_every", { label: "sharpness every (steps)", high: 1000, help: "λmax of the loss's Hessian, against each racer's stability threshold; 0: off" });
    this.sharpness = paramControl(sharp, s.sharpness_every, (v) => {
      s.sharpness_every = v;
      this.changed();
    });
    const schedule = cat.schedules[s.schedule];
    const chooseSchedule = select(cat.scheduleList, s.schedule, (name) => {
      s.schedule = name;
      s.schedule_params = settings(cat.schedules[name].params);
      this.buildTraining();
      this.changed();
    }, { id: "schedule", "aria-label": "Learning-rate schedule", title: "scales every racer's η over the race" });
    const scheduleParams = schedule.params.map((p) =>
      paramControl(p, s.schedule_params[p.name], (v) => {
        s.schedule_params[p.name] = v;
        this.changed();
      }).el,
    );
    section.append(this.sharpness.el, field("η schedule", chooseSchedule), ...scheduleParams);
  }

  // --- the loss surface --------------------------------------------------------------------------

  buildSurface() {
    const s = this.state;
    $("plane").replaceChildren(
      ...SURFACE_KINDS.map((k) => {
        const input = h("input", { type: "radio", name: "plane", value: k.name, checked: k.name === s.plane });
        input.addEventListener("change", () => {
          s.plane = k.name;
          this.showPlane();
          this.changed();
        });
        return h("label", { title: k.title }, input, ` ${k.label}`);
      }),
    );
    this.showPlane();
    const every = { name: "surface_every", label: "recompute every (epochs)", integer: true, log: false, help: "0: only when asked (Recompute now)", ...RACES.surface_every };
    const grids = resolutions(s.resolution).map((n) => ({ name: String(n), label: `${n} × ${n} points` }));
    this.resolution = select(grids, String(s.resolution), (v) => {
      s.resolution = Number(v);
      this.changed();
    }, { id: "resolution", title: "the grid the loss is computed on (odd: the initial weights are a grid point)" });
    this.every = paramControl(every, s.surfaceEvery, (v) => {
      s.surfaceEvery = v;
      this.changed();
    });
    $("surface-params").replaceChildren(field("resolution", this.resolution), this.every.el);
  }

  showPlane() {
    const kind = SURFACE_KINDS.find((k) => k.name === this.state.plane);
    $("plane-note").textContent = `${kind.title[0].toUpperCase()}${kind.title.slice(1)}.`;
  }

  // --- state -------------------------------------------------------------------------------------

  changed() {
    this.own.render(); // a regression target needs loss MSE
    this.showPreset();
    this.onChange();
  }

  /**
   * While a race runs its settings are its own: the shared settings and the recomputation interval
   * are locked (the plane and resolution stay: Recompute now takes them).
   */
  setLocked(locked) {
    $("race-settings").disabled = locked;
    $("locked-note").hidden = !locked;
    for (const el of this.every.el.querySelectorAll("input")) el.disabled = locked;
    this.every.el.title = locked ? "set when a race starts" : "";
  }
}
