// The network lab's racer cards: each racer's optimizer and hyperparameters (its η on a log slider
// that reaches a racing optimizer live), its colour, where it stands, and the η at which its current
// sharpness would meet its stability threshold, marked on that slider.

import { fmt, h, paramControl, pct, select } from "./common.js";
import { cat, racer, RACES, shortLabel } from "./lab_state.js";
import { racerColor } from "./lab_figures.js";

const $ = (id) => document.getElementById(id);

/** A parameter's symbol: "γ (momentum)" → "γ", "weight decay λ" → "λ". */
const symbol = (p) => (p.label.includes("(") ? p.label.split(" ")[0] : p.label.split(" ").at(-1));

const STATUS = { starting: "starting…", running: "racing", paused: "paused", done: "done", stopped: "stopped", early_stopped: "stopped early", diverged: "diverged", error: "error" };

/**
 * The cards of `state.racers`. onConfig() after a change of the racers (added, removed, another
 * optimizer); onHyper(k, values) after a hyperparameter of racer k changed (live while racing).
 */
export class RacerCards {
  constructor(state, { onConfig, onHyper }) {
    this.state = state;
    this.onConfig = onConfig;
    this.onHyper = onHyper;
    this.cards = [];
    this.locked = false;
    $("add-racer").addEventListener("click", () => this.add());
  }

  render() {
    this.cards = this.state.racers.map((r, k) => this.card(r, k));
    $("racers").replaceChildren(...this.cards.map((c) => c.el));
    this.setLocked(this.locked);
  }

  card(r, k) {
    const spec = cat.optimizers[r.optimizer];
    const controls = {};
    for (const p of spec.params) {
      controls[p.name] = paramControl(p, r.hyper[p.name], (v) => {
        r.hyper[p.name] = v;
        controls[p.name].setError("");
        this.onHyper(k, { [p.name]: v });
      });
    }
    const [first, ...rest] = spec.params;
    const choose = select(
      cat.optimizerList.map((o) => ({ name: o.name, label: shortLabel(o.name) })),
      r.optimizer,
      (name) => {
        this.state.racers[k] = racer(name);
        this.render();
        this.onConfig();
      },
      { "aria-label": `Racer ${k + 1} optimizer`, title: spec.label },
    );
    const remove = h("button.icon", { type: "button", title: "Remove this racer", "aria-label": `Remove racer ${k + 1}` }, "✕");
    remove.addEventListener("click", () => {
      this.state.racers.splice(k, 1);
      this.render();
      this.onConfig();
    });
    const card = {
      k,
      controls,
      choose,
      remove,
      stability: h("p.stability-note", { hidden: true }),
      status: h("p.racer-status", { role: "status" }),
      sharpness: h("p.racer-sharpness", { hidden: true }),
      error: h("div.field-error", { role: "status" }),
    };
    const more = rest.length ? h("details.more", {}, h("summary", {}, rest.map(symbol).join(", ")), rest.map((p) => controls[p.name].el)) : null;
    card.el = h(
      "article.racer",
      { dataset: { racer: k, optimizer: r.optimizer } },
      h("div.racer-head", {}, h("span.swatch"), h("span.racer-index", {}, `#${k + 1}`), choose, remove),
      h("p.rule", { title: `${spec.rule}\n${spec.reference}` }, spec.rule),
      controls[first.name].el,
      card.stability,
      more,
      card.status,
      card.sharpness,
      card.error,
    );
    card.el.style.setProperty("--racer", racerColor(k));
    return card;
  }

  add() {
    const racers = this.state.racers;
    if (racers.length >= RACES.max_racers) return;
    const used = new Set(racers.map((r) => r.optimizer));
    const name = cat.optimizerList.find((o) => !used.has(o.name))?.name ?? "adam";
    racers.push(racer(name));
    this.render();
    this.onConfig();
    this.cards.at(-1).el.scrollIntoView({ block: "nearest" });
  }

  /** While a race runs its racers are set: no other optimizer, none added or removed. */
  setLocked(locked) {
    this.locked = locked;
    const n = this.state.racers.length;
    $("racer-count").textContent = `${n} of ${RACES.max_racers}`;
    $("add-racer").disabled = locked || n >= RACES.max_racers;
    $("add-racer").title = locked ? "Stop the race to add a racer" : n >= RACES.max_racers ? `At most ${RACES.max_racers} racers` : "Add a racer";
    $("racers-note").textContent = locked
      ? "Sliders reach a racing optimizer from its next step. ▲ on η: where its sharpness would meet its threshold."
      : `${RACES.min_racers}–${RACES.max_racers} racers, each from the same initial weights through the same batches.`;
    for (const c of this.cards) {
      c.choose.disabled = locked;
      c.remove.disabled = locked || n <= RACES.min_racers;
      c.remove.title = locked ? "Stop the race to remove a racer" : n <= RACES.min_racers ? `A race has at least ${RACES.min_racers} racers` : "Remove this racer";
    }
  }

  /** Show a refused value (the server's message) on racer k's card. */
  setError(k, names, message) {
    const c = this.cards[k];
    if (!c) return;
    const shown = names.filter((n) => c.controls[n]);
    for (const n of shown) c.controls[n].setError(message);
    c.error.textContent = shown.length ? "" : message;
  }

  /** Where each racer stands in `session` (null: no race): status, sharpness, the η* mark. */
  update(session) {
    this.cards.forEach((c, k) => {
      const r = session?.racers[k] ?? null;
      const hyper = this.state.racers[k]?.hyper;
      if (r && hyper) {
        // another tab's change, or the race's own values on a reload
        for (const [name, v] of Object.entries(r.hyper)) {
          if (c.controls[name] && hyper[name] !== v && document.activeElement !== c.controls[name].text) {
            hyper[name] = v;
            c.controls[name].set(v);
          }
        }
      }
      this.showStatus(c, r);
      this.showStability(c, r, hyper);
    });
  }

  showStatus(c, r) {
    const data = r?.data;
    c.el.dataset.outcome = data?.status ?? "";
    if (!data || !data.start) {
      c.status.textContent = r ? "starting…" : "";
      return;
    }
    const per = data.start.steps_per_epoch;
    const epochs = data.start.config.epochs;
    const epoch = data.stepsDone / per;
    const last = data.evals.at(-1);
    const parts = [`epoch ${epoch >= 10 || Number.isInteger(epoch) ? Math.floor(epoch) : epoch.toFixed(1)}/${epochs}`];
    const score = data.start.regression ? `test R² ${last?.test_r2 === null || last?.test_r2 === undefined ? "–" : last.test_r2.toFixed(3)}` : `test ${pct(last?.test_accuracy)}`;
    if (last) parts.push(`loss ${fmt(last.train_loss, 3)}`, score);
    let text = parts.join(" · ");
    if (data.diverged) text = data.diverged.message;
    else if (data.earlyStop) text = `stopped early at epoch ${data.earlyStop.stopped_epoch} · ${text}`;
    else if (data.error) text = data.error.message;
    else if (data.ended || data.status === "paused") text = `${STATUS[data.status] ?? data.status} · ${text}`;
    c.status.textContent = text.replace(/ %/g, "\u00a0%"); // "90.0 %" stays on one line
    c.status.title = text;
  }

  /** The latest probe against the threshold, and η* = η · threshold / sharpness on the η slider. */
  showStability(c, r, hyper) {
    const probe = r?.probe;
    const lr = c.controls.lr;
    if (!probe || probe.value === null) {
      c.sharpness.hidden = true;
      c.stability.hidden = true;
      lr?.setMarker(null);
      return;
    }
    const what = r.preconditioned ? "λmax(P⁻¹H)" : "λmax";
    const over = probe.threshold !== null && probe.value > probe.threshold;
    c.sharpness.hidden = false;
    c.sharpness.classList.toggle("over", over);
    c.sharpness.textContent = `${what} ${fmt(probe.value, 3)}` + (probe.threshold === null ? " · no threshold for this rule" : ` · threshold ${fmt(probe.threshold, 3)}${over ? " · above it" : ""}`);
    c.sharpness.title = `at step ${probe.step}` + (r.preconditioned ? `; λmax of the Hessian itself: ${fmt(probe.sharpness, 4)}` : "");
    const star = probe.threshold !== null && probe.value > 0 && probe.lr ? (probe.lr * probe.threshold) / probe.value : null;
    if (!lr || star === null) {
      lr?.setMarker(null);
      c.stability.hidden = true;
      return;
    }
    lr.setMarker(star, `η* = ${fmt(star, 3)}: here ${what} ${fmt(probe.value, 3)} would meet the threshold`);
    const above = hyper && hyper.lr > star;
    c.stability.hidden = false;
    c.stability.classList.toggle("over", above);
    c.stability.textContent = `▲ η* = ${fmt(star, 3)}: at this η its ${what} meets the threshold.${above ? " η is above it." : ""}`;
  }
}
