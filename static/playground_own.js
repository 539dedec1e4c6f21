// The playground's own data: points drawn on the data plot (click: a point of the chosen class,
// shift-click: the other class, drag: move, right-click: delete), a built-in set to start from, or a
// CSV of points (x1,x2,label; a numeric label is a regression target with loss MSE). The points are
// stored on the server (POST /api/data) a moment after the last edit, and before training, and named by
// their hash (`did` in the link): a link copied after drawing opens the drawing.

import { h, messageOf, PALETTE } from "./common.js";
import { OWN, dataInfo, dataPoints, dataSummary, isGone, ownTrainSize, storeData, uploadMessage } from "./data_upload.js";
import * as D from "./draw_points.js";

const HIT = 9; // pixels: a press this close to a point grabs it
const STORE_AFTER = 1000; // ms after the last edit: a drawing that could be trained on is stored
const $ = (id) => document.getElementById(id);

/**
 * The own-data panel (#own-data in the page) and the editor on a surface plot. `hooks`:
 * changed(resized) after the points or their status changed (the page redraws; `resized`: the number of
 * points may have changed the training set's size, not only by an edit), train() to train on them,
 * stored() once the drawn points are stored (state.data_id names them), datasetPoints(name) resolves to
 * a built-in set's points answer.
 */
export class OwnData {
  constructor(cat, state, hooks) {
    this.cat = cat;
    this.state = state;
    this.hooks = hooks;
    this.drawing = D.emptyDrawing();
    this.info = null; // DataOut of the stored data the points are (null: edited since, or never stored)
    this.targets = null; // a regression's points {x, y}: shown, not drawn
    this.drawMode = false;
    this.klass = 0;
    this.box = D.drawingBox(this.drawing);
    this.gone = null; // the message of a link's data that the server no longer holds
    this.pending = null; // {drawing, promise}: the drawing being stored
    this.storeTimer = null;
    this.plot = null;
    this.build();
    // no points yet: nothing to bound the batch size by but the schema
    cat.ownTrainSize = (data) => (this.counts().length ? Math.max(1, ownTrainSize(this.info, data.test_fraction, this.counts())) : cat.config.batch_size.high);
  }

  get active() {
    return this.state.dataset === OWN;
  }

  get regression() {
    return Boolean(this.targets);
  }

  counts() {
    if (this.targets) return [this.targets.y.length];
    return D.classCounts(this.drawing).filter((c) => c > 0);
  }

  // --- the panel ------------------------------------------------------------------------------------

  build() {
    const builtIn = this.cat.datasetList.filter((d) => d.kind === "points");
    this.startFrom = h("select", { id: "start-from", "aria-label": "Start from a built-in set" }, h("option", { value: "" }, "a built-in set…"), ...builtIn.map((d) => h("option", { value: d.name }, d.label)));
    $("own-data").replaceChildren(
      h("div.draw-bar", { role: "group", "aria-label": "Drawing" },
        h("button.small", { type: "button", id: "draw-mode", "aria-pressed": "false", title: "Click the plot to place points; shift-click: the other class; drag to move; right-click to delete" }, "Draw"),
        h("span.segmented.draw-class", { id: "draw-class", role: "radiogroup", "aria-label": "Class of new points" }),
        h("button.small", { type: "button", id: "erase", title: "Remove every point" }, "Erase all"),
      ),
      h("label.field", {}, h("span.field-label", {}, "start from"), this.startFrom),
      h("p.note", { id: "draw-count", role: "status" }),
      h("div.draw-train", {}, h("button.primary.small", { type: "button", id: "train-points" }, "Train on these points"), h("span.field-error", { id: "draw-reason", role: "status" })),
      h("div.upload", {},
        h("div.field", {}, h("span.field-label", {}, "or upload"), h("button.small", { type: "button", id: "points-upload", title: "A CSV with a header x1,x2,label" }, "CSV of points…")),
        h("input", { type: "file", id: "points-file", accept: ".csv,text/csv", hidden: true, "aria-label": "Upload a CSV of points: x1,x2,label" }),
        h("label.check", { title: "The label is a number to predict (loss MSE): the surface shows the prediction, the curves R²" }, h("input", { type: "checkbox", id: "regression" }), " label is a regression target"),
        h("p.note.upload-hint", {}, "A CSV with a header x1,x2,label; a row per point."),
        h("div.field-error.upload-error", { id: "upload-error", role: "alert" }),
      ),
      h("p.note.data-info", { id: "data-info" }),
    );
    $("draw-mode").addEventListener("click", () => this.setDrawMode(!this.drawMode));
    $("erase").addEventListener("click", () => this.edit(D.eraseAll(this.drawing)));
    this.startFrom.addEventListener("change", () => this.startFromSet(this.startFrom.value));
    $("train-points").addEventListener("click", () => this.hooks.train());
    $("points-upload").addEventListener("click", () => $("points-file").click());
    $("points-file").addEventListener("change", () => this.upload());
    $("regression").addEventListener("change", () => this.render());
  }

  setDrawMode(on) {
    this.drawMode = on && !this.regression;
    if (this.drawMode) this.box = D.drawingBox(this.drawing);
    this.render();
    this.hooks.changed(false);
  }

  /** The panel's state: class buttons, counts, why training is not possible yet. */
  render() {
    const panel = $("own-data");
    panel.hidden = !this.active;
    $("draw-mode").setAttribute("aria-pressed", String(this.drawMode));
    $("draw-mode").textContent = this.drawMode ? "Drawing: on" : "Draw";
    $("draw-mode").disabled = this.regression;
    $("draw-mode").title = this.regression ? "A regression's points carry numbers, not classes: upload a new file to change them" : "Click the plot to place points; shift-click: the other class; drag to move; right-click to delete";
    $("draw-class").replaceChildren(
      ...this.drawing.classes.map((name, k) => {
        const b = h("button.small", { type: "button", role: "radio", "aria-checked": String(k === this.klass), dataset: { klass: k }, disabled: this.regression }, h("span.dot", { style: `background:${PALETTE[k]}` }), name);
        b.addEventListener("click", () => {
          this.klass = k;
          this.render();
        });
        return b;
      }),
    );
    $("erase").disabled = this.regression || !this.drawing.points.length;
    const counts = D.classCounts(this.drawing);
    $("draw-count").textContent = this.regression
      ? `${this.targets.y.length} points with a numeric target`
      : `${this.drawing.points.length} point${this.drawing.points.length === 1 ? "" : "s"}: ${this.drawing.classes.map((c, k) => `${c} ${counts[k]}`).join(" · ")}`;
    const ready = this.readiness();
    $("train-points").disabled = !ready.ok;
    $("draw-reason").textContent = ready.reason;
    const mse = this.state.loss === "mse";
    $("regression").disabled = !mse;
    if (!mse) $("regression").checked = false;
    $("regression").parentElement.title = mse ? "The label is a number to predict: the surface shows the prediction, the curves R²" : "A regression target needs loss MSE: choose it under Network";
    const info = $("data-info");
    if (this.gone) info.replaceChildren(h("strong.gone", {}, this.gone));
    else if (this.info) info.replaceChildren(...dataSummary(this.info));
    else info.replaceChildren(this.drawing.points.length ? "Not stored yet: these points go to the server once they can be trained on." : "");
  }

  /** {ok, reason}: whether Train can train on the points now. */
  readiness() {
    if (this.regression) return this.state.loss === "mse" ? { ok: true, reason: "" } : { ok: false, reason: "A regression target needs loss MSE: choose it under Network." };
    return D.readiness(this.drawing);
  }

  /** A new drawing (an edit): stored a moment after the last edit, if it could be trained on. */
  edit(drawing) {
    if (drawing === this.drawing) return;
    this.drawing = drawing;
    this.info = null;
    this.gone = null;
    this.state.data_id = null;
    this.render();
    this.hooks.changed(false);
    clearTimeout(this.storeTimer);
    this.storeTimer = setTimeout(() => this.store().catch(() => {}), STORE_AFTER); // a failure shows at Train
  }

  async startFromSet(name) {
    if (!name) return;
    try {
      const answer = await this.hooks.datasetPoints(name);
      this.targets = null;
      this.klass = 0;
      this.edit(D.fromSplit(answer));
      this.box = D.drawingBox(this.drawing);
      this.hooks.changed(true);
    } catch (e) {
      $("draw-reason").textContent = `Could not load ${name}: ${messageOf(e)}`;
    }
    this.startFrom.value = "";
  }

  /** A CSV of points from the file input; a refused file leaves everything as it was. */
  async upload() {
    const input = $("points-file");
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    $("upload-error").textContent = "";
    const regression = $("regression").checked;
    try {
      const info = await storeData(file, { kind: "points", filename: file.name, regression });
      await this.show(info);
      this.hooks.changed(true);
    } catch (e) {
      $("upload-error").textContent = `${file.name}: ${uploadMessage(e)}`;
    }
  }

  /** Show stored data `info` (DataOut): its points, drawn (a classification) or coloured by target. */
  async show(info) {
    const answer = await dataPoints(info.id);
    this.gone = null;
    if (answer.regression) {
      this.targets = { x: answer.x, y: answer.y };
      this.drawing = D.emptyDrawing();
      this.drawMode = false;
    } else {
      this.targets = null;
      this.drawing = D.fromUploaded(answer);
      this.klass = 0;
    }
    this.info = info;
    this.state.data_id = info.id;
    this.box = this.regression ? boxOf(answer.x) : D.drawingBox(this.drawing);
    this.render();
  }

  /** Open the data a link names; a gone id says so where the data would be and leaves an empty drawing. */
  async restore(id) {
    try {
      await this.show(await dataInfo(id));
    } catch (e) {
      this.info = null;
      this.targets = null;
      this.state.data_id = null;
      this.gone = isGone(e) ? uploadMessage(e) : `Could not load the data of this link: ${uploadMessage(e)}`;
      this.render();
    }
    this.hooks.changed(true);
  }

  /** The stored data's id, storing the drawn points first when they changed; null (and why, shown) if it cannot. */
  async ensureStored() {
    const ready = this.readiness();
    if (!ready.ok) {
      $("draw-reason").textContent = ready.reason;
      return null;
    }
    clearTimeout(this.storeTimer);
    try {
      const info = await this.store();
      if (!info) $("draw-reason").textContent = "The points changed while they were being stored: train again.";
      return info?.id ?? null;
    } catch (e) {
      $("draw-reason").textContent = `Could not store the points: ${uploadMessage(e)}`;
      return null;
    }
  }

  /** Store the drawing (once: a second call while it is on its way waits for the same answer); its
   * DataOut, or null when it cannot be trained on or was edited on the way. Rejects as storeData does. */
  store() {
    if (this.info) return Promise.resolve(this.info);
    if (this.regression || !D.readiness(this.drawing).ok) return Promise.resolve(null);
    if (this.pending?.drawing !== this.drawing) {
      const drawn = this.drawing;
      const promise = storeData(D.toCsv(drawn), { kind: "points", filename: "drawn points.csv" })
        .then((info) => {
          if (this.drawing !== drawn) return null; // the next store sends the edit
          // the server orders classes by name: the same order here keeps each class's colour
          this.drawing = D.sortClasses(drawn);
          this.info = info;
          if (this.active) this.state.data_id = info.id; // else the data select sets it on the way back
          this.render();
          this.hooks.stored();
          return info;
        })
        .finally(() => {
          if (this.pending?.promise === promise) this.pending = null;
        });
      this.pending = { drawing: drawn, promise };
    }
    return this.pending.promise;
  }

  /** The points to draw ({x_train, y_train, x_test, y_test, classes, regression?}). */
  points() {
    if (this.targets) return { x_train: this.targets.x, y_train: this.targets.y, x_test: [], y_test: [], classes: [], regression: true };
    return D.asPoints(this.drawing);
  }

  // --- the editor on the plot ----------------------------------------------------------------------------

  /** Edit on `plot` (a Plotly div) while draw mode is on; Plotly's own zoom and pan are held off meanwhile. */
  attach(plot) {
    if (this.plot === plot) return;
    this.plot = plot;
    let dragging = -1;
    const at = (event) => {
      const area = plot.querySelector(".nsewdrag")?.getBoundingClientRect();
      const layout = plot._fullLayout;
      if (!area || !layout?.xaxis) return null;
      const px = event.clientX - area.left;
      const py = event.clientY - area.top;
      if (px < 0 || py < 0 || px > area.width || py > area.height) return null;
      const xa = layout.xaxis;
      const ya = layout.yaxis;
      const scale = [Math.abs(xa.l2p(1) - xa.l2p(0)), Math.abs(ya.l2p(1) - ya.l2p(0))];
      return { x: xa.p2l(px), y: ya.p2l(py), scale };
    };
    const editing = () => this.active && this.drawMode && this.plot === plot;
    plot.addEventListener(
      "mousedown",
      (event) => {
        if (!editing() || event.button !== 0) return;
        const p = at(event);
        if (!p) return;
        event.preventDefault();
        event.stopPropagation(); // not Plotly's: no zoom box
        const hit = D.nearest(this.drawing, p.x, p.y, p.scale, HIT);
        if (hit >= 0) dragging = hit;
        else {
          const k = event.shiftKey ? D.otherClass(this.drawing, this.klass) : this.klass;
          this.edit(D.addPoint(this.drawing, p.x, p.y, k));
          dragging = this.drawing.points.length - 1; // press and drag: place it where the button comes up
        }
      },
      true,
    );
    window.addEventListener("mousemove", (event) => {
      if (dragging < 0 || !editing()) return;
      const p = at(event);
      if (p) this.edit(D.movePoint(this.drawing, dragging, p.x, p.y));
    });
    window.addEventListener("mouseup", () => {
      dragging = -1;
    });
    plot.addEventListener(
      "contextmenu",
      (event) => {
        if (!editing()) return;
        event.preventDefault();
        event.stopPropagation();
        const p = at(event);
        const hit = p ? D.nearest(this.drawing, p.x, p.y, p.scale, HIT) : -1;
        if (hit >= 0) this.edit(D.deletePoint(this.drawing, hit));
      },
      true,
    );
  }
}

/** A padded box around 2D points [[x, y], ...]. */
function boxOf(xy) {
  return D.drawingBox({ points: xy.map(([x, y]) => [x, y, 0]), classes: [] }, 0);
}

export { OWN };
