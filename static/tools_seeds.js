// Seed bands: the same run over many noise seeds (a fan of paths and a band of f − f*, each path a
// link to its replay), and the trade-off of η against the batch size over seeds.

import { curveControls } from "./charts.js";
import { PALETTE, fmt, h } from "./common.js";
import { field, pair, setHyper, setNoise, setTool } from "./tools_controls.js";
import { BATCH, LEFT_COLOR, ORANGE, RED, bandFigure, fanFigure, seedOutcome, tradeoffFigure } from "./tools_figures.js";
import { fetchSurface, plot, run, settle, showErrors } from "./tools_run.js";
import { $, LIMITS, fStar, landscape, landscapeUrl, nearest, page, requestBase, spec, state, stepsFor } from "./tools_state.js";

function runSeeds() {
  $("seeds-off").hidden = state.noise;
  $("seeds-body").hidden = !state.noise;
  if (!state.noise) {
    $("tool-seeds").dataset.status = "ready";
    page.errors.seeds = page.errors.tradeoff = "";
    showErrors("seeds");
    settle();
    return null;
  }
  const band = { ...requestBase(), start: state.start, seeds: state.bN, steps: stepsFor(state.bN) };
  const nx = 6;
  const ny = 6;
  const trade = { ...requestBase(), start: state.start, lr_min: state.tLo, lr_max: state.tHi, nx, batch_min: 1, batch_max: state.dataset_size, ny, seeds: state.tN, steps: stepsFor(nx * ny * state.tN, ny) };
  return Promise.all([
    fetchSurface().catch(() => null).then(() => run("seeds", "/api/tools/seed-band", band, drawSeeds)),
    run("tradeoff", "/api/tools/batch-tradeoff", trade, drawTradeoff, "seeds"),
  ]);
}

// the band's curves: the mean smoothed on request, log or linear f − f*
const bandView = curveControls({
  smoothing: 0,
  log: true,
  label: "Seed band",
  onChange: (v) => page.band && plot("band-plot", bandFigure(page.band[0], { fStar: fStar(), steps: page.band[1].steps, ...v })),
});
$("band-plot").before(bandView);

async function drawSeeds(d, body) {
  await plot("fan-plot", fanFigure(d, { landscape: landscape(), start: body.start, surface: page.surface }));
  page.band = [d, body];
  await plot("band-plot", bandFigure(d, { fStar: fStar(), steps: body.steps, ...bandView.value }));
  const outcomes = d.seeds.map((_, j) => seedOutcome(d, j));
  const hits = d.steps_to_target.filter((_, j) => outcomes[j] === "reached");
  const gone = outcomes.filter((o) => o === "diverged").length;
  const left = outcomes.filter((o) => o === "left").length;
  const mean = hits.length ? hits.reduce((a, b) => a + b, 0) / hits.length : null;
  const key = (color, text) => h("span.outcome-key", { style: `color:${color}` }, text);
  const n = d.seeds.length;
  $("seeds-stats").replaceChildren(
    h("p.big", {}, `${Math.round(100 * d.success)}%`),
    h("p", {}, `of ${n} seeds reach the target${mean === null ? "" : `, in ${fmt(mean, 3)} steps on average`}`, gone ? `; ${gone} diverged` : ""),
    ...(left ? [h("p.warn", { id: "seeds-left" }, `${left} of ${n} seeds left the domain (f fell below f*; outside the domain it has no lower bound). The mean and band count them out from that step, like diverged runs.`)] : []),
    h(
      "p.note",
      {},
      `η = ${fmt(body.hyper.lr, 3)}, batch b = ${body.noise.batch_size} of N = ${body.noise.dataset_size}, seeds ${d.seeds[0]}–${d.seeds.at(-1)}. Paths: `,
      key(PALETTE[0], "reached"),
      " · ",
      key(ORANGE, "not within the steps"),
      " · ",
      ...(left ? [key(LEFT_COLOR, "left the domain"), " · "] : []),
      key(RED, "diverged"),
      ". Click one to replay it.",
    ),
  );
}

async function drawTradeoff(d, body) {
  await plot("tradeoff-plot", tradeoffFigure(d, { steps: body.steps, current: { lr: state.hyper.lr, batch: state.batch_size } }));
}

function hookSeedClicks() {
  $("fan-plot").on("plotly_click", (ev) => {
    const seed = ev.points?.[0]?.data.meta;
    const r = page.results.seeds;
    if (seed === undefined || !r) return;
    location.assign(landscapeUrl({ seed }, r.data.target, r));
  });
  $("tradeoff-plot").on("plotly_click", (ev) => {
    const pt = ev.points?.[0];
    const r = page.results.tradeoff;
    if (!pt || !r || pt.data.type !== "heatmap") return;
    const j = nearest(r.data.lr.map(Math.log10), pt.x);
    const i = nearest(r.data.batch_size.map(Math.log10), pt.y);
    setHyper("lr", r.data.lr[j]);
    setNoise(BATCH, r.data.batch_size[i]);
  });
}

function seedsSettings() {
  const lr = spec().params[0];
  $("seeds-settings").replaceChildren(
    field("seeds", state.bN, { low: 1, high: LIMITS.max_seeds, integer: true }, (bN) => setTool({ bN })),
    h("span.sep"),
    h("span.muted", {}, "trade-off:"),
    ...pair("η", state.tLo, state.tHi, { low: lr.low, high: lr.high }, (tLo, tHi) => setTool({ tLo, tHi })),
    field("seeds per cell", state.tN, { low: 1, high: LIMITS.max_tradeoff_seeds, integer: true }, (tN) => setTool({ tN })),
  );
}

export const seedsTool = { run: runSeeds, settings: seedsSettings, hook: hookSeedClicks };
