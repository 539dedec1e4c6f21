// Tuning tools: a learning-rate range test, hyperparameter maps, start-point maps and seed bands, each
// a few measured runs from /api/tools/*. One picker (landscape, optimizer, start, steps, noise) serves
// all four; the page's state is its link (tools_state.js, in the landscape page's own terms where they
// overlap, so a link from there opens here). The first racer of that link is the one tuned; the others
// ride along, so a link back keeps the whole race. Every run drawn links to its replay on the landscape
// page, with the target the tool measured (`target`) and a link back to this very view (`back`).
//
// This module registers the tools and starts the page.

import { plotLayout } from "./common.js";
import { OPTIMIZERS, shortLabel } from "./landscape_state.js";
import { buildLandscape, buildNoise, buildOptimizer, syncNoise, syncStart } from "./tools_controls.js";
import { mapTool, startsTool } from "./tools_maps.js";
import { rangeTool } from "./tools_range.js";
import { TOOL, buildToolSettings, emptyPlot, showTool } from "./tools_run.js";
import { seedsTool } from "./tools_seeds.js";
import { $, TOOLS, landscapeUrl, page, state } from "./tools_state.js";

Object.assign(TOOL, { range: rangeTool, map: mapTool, starts: startsTool, seeds: seedsTool });

for (const option of $("optimizer").options) option.textContent = shortLabel(OPTIMIZERS[option.value]);
buildLandscape();
buildOptimizer();
buildNoise();
syncNoise();
syncStart();
buildToolSettings();
$("tol").value = state.tol === null ? "" : String(state.tol);
for (const id of ["range-plot", "map-plot", "starts-plot", "fan-plot", "band-plot", "tradeoff-plot"]) {
  emptyPlot(id, plotLayout({ xaxis: { visible: false }, yaxis: { visible: false }, margin: { l: 0, r: 0, t: 0, b: 0 } }));
}
for (const t of TOOLS) TOOL[t].hook();
for (const t of TOOLS) $(`tab-${t}`).addEventListener("click", () => showTool(t));
showTool(state.tool);

// For tests: the page's state and the last answer of each tool.
window.tools = { state, results: page.results, landscapeUrl };
