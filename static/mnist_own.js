// The MNIST page's own data: a table (CSV or .npz) with numeric feature columns and a named label
// column, stored on the server (POST /api/data?kind=table) and trained on by its hash (`did` in the
// link). The network's input is as wide as the table has features.

import { h } from "./common.js";
import { OWN, dataInfo, dataSummary, isGone, ownTrainSize, storeData, uploadMessage } from "./data_upload.js";

const $ = (id) => document.getElementById(id);

/** The panel #own-table; `changed()` after the data (or the message about it) changed. */
export class OwnTable {
  constructor(cat, state, changed) {
    this.cat = cat;
    this.state = state;
    this.changed = changed;
    this.info = null; // DataOut of the table trained on
    this.gone = null;
    cat.ownTrainSize = (data) => (this.info ? ownTrainSize(this.info, data.test_fraction) : cat.config.batch_size.high);
    $("table-upload").addEventListener("click", () => $("table-file").click());
    $("table-file").addEventListener("change", () => this.upload());
    $("table-regression").addEventListener("change", () => this.render());
  }

  get active() {
    return this.state.dataset === OWN;
  }

  /** Why Start cannot train on the table now, or "". */
  get problem() {
    if (!this.info) return this.gone ?? "Upload a table first (see Data on the left).";
    if (this.info.regression && this.state.loss !== "mse") return "A regression target needs loss MSE: choose it under Network.";
    return "";
  }

  render() {
    $("own-table").hidden = !this.active;
    const mse = this.state.loss === "mse";
    $("table-regression").disabled = !mse;
    if (!mse) $("table-regression").checked = false;
    $("table-regression-label").title = mse ? "The label is a number to predict: accuracy becomes R²" : "A regression target needs loss MSE: choose it under Network";
    const info = $("table-info");
    if (this.gone) info.replaceChildren(h("strong.gone", {}, this.gone));
    else if (this.info) info.replaceChildren(...dataSummary(this.info), h("span", {}, `features: ${this.info.feature_names.slice(0, 8).join(", ")}${this.info.features > 8 ? ", …" : ""}`));
    else info.replaceChildren();
  }

  async upload() {
    const input = $("table-file");
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    $("table-error").textContent = "";
    const label = $("label-column").value.trim();
    if (!label) {
      $("table-error").textContent = "Name the label column first.";
      return;
    }
    try {
      this.use(await storeData(file, { kind: "table", filename: file.name, label, regression: $("table-regression").checked }));
    } catch (e) {
      $("table-error").textContent = `${file.name}: ${uploadMessage(e)}`;
    }
  }

  use(info) {
    this.info = info;
    this.gone = null;
    this.state.data_id = info.id;
    $("label-column").value = info.label;
    $("table-regression").checked = info.regression;
    this.render();
    this.changed();
  }

  /** The table a link names; a gone id says so where the table would be. */
  async restore(id) {
    try {
      this.use(await dataInfo(id));
    } catch (e) {
      this.info = null;
      this.state.data_id = null;
      this.gone = isGone(e) ? uploadMessage(e) : `Could not load the data of this link: ${uploadMessage(e)}`;
      this.render();
      this.changed();
    }
  }
}
