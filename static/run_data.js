// What a network page keeps of a run: its events taken in order (the per-step loss, evaluations,
// epochs, live changes, how it ended), or a finished run rebuilt from the run log.

export const EVENT_TYPES = ["start", "history", "steps", "eval", "sharpness", "epoch", "control", "early_stop", "diverged", "error", "summary"];
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
    this.sharpness = []; // each probe: {step, sharpness, threshold, preconditioned?}
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
        this.sharpness = e.sharpness ?? [];
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
      case "sharpness":
        this.sharpness.push(e);
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
    const r2 = e.train_r2 !== undefined || e.test_r2 !== undefined ? { train_r2: e.train_r2 ?? null, test_r2: e.test_r2 ?? null } : {}; // a regression's
    this.evals.push({ step, epoch, train_loss, train_accuracy, test_loss, test_accuracy, ...r2 });
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
