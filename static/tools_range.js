// The learning-rate range test: one run per rate over a range, the rate that reaches the target
// soonest suggested, and every rate's run a link to its replay on the landscape page.

import { fmt, h } from "./common.js";
import { shortLabel } from "./landscape_state.js";
import { field, pair, setHyper, setTool } from "./tools_controls.js";
import { rangeFigure } from "./tools_figures.js";
import { plot, run } from "./tools_run.js";
import { $, LIMITS, fStar, landscapeUrl, requestBase, spec, state, stepsFor } from "./tools_state.js";

function runRange() {
  const body = { ...requestBase(), start: state.start, lr_min: state.rLo, lr_max: state.rHi, points: state.rN, steps: stepsFor(state.rN) };
  return run("range", "/api/tools/lr-range", body, drawRange);
}

async function drawRange(d, body, result) {
  await plot("range-plot", rangeFigure(d, { fStar: fStar(), steps: body.steps }));
  rangeInfo(d, body, result);
}

/** Why the run of rate i failed, in a few words. */
function failure(d, i) {
  if (d.diverged_at[i] > 0 && !(d.escaped_at[i] >= 0 && d.escaped_at[i] < d.diverged_at[i])) return `diverges at step ${d.diverged_at[i]}`;
  if (d.escaped_at[i] >= 0) return `leaves the domain at step ${d.escaped_at[i]} (f falls below f*)`;
  return "ends above its start";
}

function rangeInfo(d, body, result) {
  const replay = (i) => landscapeUrl({ hyper: { lr: d.lr[i] }, steps: body.steps }, d.target, result);
  const link = (i, text) => h("a", { href: replay(i), title: "Replay this run on the Landscapes page" }, text);
  const verdict = $("range-verdict");
  if (d.suggested < 0) {
    verdict.replaceChildren(h("p.bad", {}, `Even the smallest rate ${failure(d, 0)}: lower the range.`));
  } else {
    const i = d.suggested;
    const tuned = [{ optimizer: body.optimizer, hyper: { ...body.hyper, lr: d.suggested_lr } }, ...state.others];
    const where = tuned.length > 1 ? `, with the other ${tuned.length - 1} racer${tuned.length > 2 ? "s" : ""}` : "";
    const use = h("a.button.primary", { id: "use-rate", href: landscapeUrl({ racers: tuned, steps: state.steps }, d.target, result), title: `Race ${shortLabel(spec())} with this η on the Landscapes page${where}` }, "Use this rate on the Landscapes page →");
    const here = h("button.small", { id: "set-rate", type: "button", title: "Set the optimizer's η on this page (the maps and bands follow)" }, "Set η here");
    here.addEventListener("click", () => setHyper("lr", d.suggested_lr));
    const next = i + 1 === d.divergence ? ` The next rate tried, η = ${fmt(d.lr[d.divergence], 3)}, ${failure(d, d.divergence)}: a small change of start or noise may tip this one over too.` : "";
    const why = d.reaches
      ? `reaches the target in ${d.steps_to_target[i]} steps, the fastest of the ${d.lr.length} rates tried.${next}`
      : `No rate tried reaches the target within ${body.steps} steps; this one ends closest to it, at f − f* = ${fmt(d.loss[i] - fStar(), 3)}.`;
    verdict.replaceChildren(
      h("p.label", {}, d.reaches ? "Suggested learning rate" : "Closest to the target"),
      h("p.big", {}, link(i, `η = ${fmt(d.suggested_lr, 3)}`)),
      h("p.note", { id: "range-why" }, why),
      h("div.buttons", {}, use, here),
    );
  }
  const items = [
    [d.steepest, "steepest fall"],
    [d.best, "lowest loss"],
    [d.divergence, "fails from"],
  ].filter(([i]) => i >= 0);
  $("range-marks").replaceChildren(
    ...items.map(([i, label]) => h("li", {}, h("span", {}, label), link(i, `η = ${fmt(d.lr[i], 3)} ↗`))),
    ...(d.divergence < 0 ? [h("li", {}, h("span", {}, "fails"), h("span.muted", {}, "not within this range"))] : []),
  );
}

function rangeSettings() {
  const lr = spec().params[0];
  $("range-settings").replaceChildren(
    ...pair("η", state.rLo, state.rHi, { low: lr.low, high: lr.high }, (rLo, rHi) => setTool({ rLo, rHi })),
    field("rates", state.rN, { low: 2, high: LIMITS.max_grid, integer: true }, (rN) => setTool({ rN })),
  );
}

export const rangeTool = { run: runRange, settings: rangeSettings, hook() {} };
