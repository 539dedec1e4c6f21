// The tools page's requests and their figures: which tool runs when, one request per figure (the
// newest wins), each panel's status and errors, and drawing at the figure's own size.

import { HttpError, debounce, h, plotConfig, postJSON } from "./common.js";
import { landscapeBody, landscapeKey } from "./landscape_state.js";
import { $, TOOLS, app, page, saveUrl, state, toolsQuery } from "./tools_state.js";

const CONFIG = plotConfig({ showTips: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] });

/** Each tool by name: {run(), settings(), hook()}, registered by tools.js. */
export const TOOL = {};

/** The settings bar of every tool, as the state stands. */
export function buildToolSettings() {
  for (const t of TOOLS) TOOL[t].settings();
}

/** Something changed: every tool is out of date; the one on screen runs again soon. */
const refresh = debounce(() => {
  const tool = state.tool;
  if (!page.stale.has(tool)) return;
  page.stale.delete(tool);
  TOOL[tool].run();
}, 250);

export function changed() {
  for (const t of TOOLS) page.stale.add(t);
  app.dataset.status = "loading"; // until the tool on screen has run again
  saveUrl();
  refresh();
}

export function showTool(tool) {
  state.tool = tool;
  for (const t of TOOLS) {
    $(`tab-${t}`).setAttribute("aria-selected", String(t === tool));
    $(`tab-${t}`).tabIndex = t === tool ? 0 : -1;
    $(`tool-${t}`).hidden = t !== tool;
  }
  saveUrl();
  if (page.stale.has(tool)) {
    page.stale.delete(tool);
    TOOL[tool].run();
  }
  settle();
}

/**
 * POST for one of a tool's figures (`name`: the tool, or "tradeoff" within the seed tab); the newest
 * request wins. The tool's panel is "loading" while any of its requests runs; errors show in its toolbar.
 */
export async function run(name, url, body, draw, tool = name) {
  const { jobs, results, errors } = page;
  jobs[name]?.controller.abort();
  const job = (jobs[name] = { controller: new AbortController(), tool });
  const query = toolsQuery(tool); // the link that asks for this very request again
  settle();
  try {
    const data = await postJSON(url, body, { signal: job.controller.signal });
    if (job.controller.signal.aborted) return;
    results[name] = { body, data, query };
    errors[name] = "";
    await draw(data, body, results[name]);
  } catch (err) {
    if (err.name === "AbortError") return;
    errors[name] = err instanceof HttpError ? err.detail.map((d) => `${d.loc.length ? `${d.loc.at(-1)}: ` : ""}${d.msg.replace("Value error, ", "")}`).join("; ") : String(err);
  } finally {
    if (jobs[name] === job) delete jobs[name];
    showErrors(tool);
    settle();
  }
}

/** Each panel: "loading" while one of its requests runs, else "error" or "ready"; the page: its tab's. */
export function settle() {
  for (const t of TOOLS) {
    const busy = Object.values(page.jobs).some((j) => j.tool === t);
    const failed = Object.entries(page.errors).some(([name, msg]) => msg && (name === t || (t === "seeds" && name === "tradeoff")));
    if (busy) $(`tool-${t}`).dataset.status = "loading";
    else if ($(`tool-${t}`).dataset.status !== "idle" || failed) $(`tool-${t}`).dataset.status = failed ? "error" : "ready";
  }
  app.dataset.status = $(`tool-${state.tool}`).dataset.status === "loading" ? "loading" : "ready";
}

export function setError(tool, msg) {
  page.errors[tool] = msg;
  showErrors(tool);
  settle();
}

export function showErrors(tool) {
  const bar = $(`${tool}-settings`);
  let el = bar.querySelector(".field-error");
  if (!el) el = bar.appendChild(h("div.field-error", { role: "alert" }));
  el.textContent = [page.errors[tool], tool === "seeds" ? page.errors.tradeoff : ""].filter(Boolean).join("; ");
}

/** f on a grid of the landscape as it stands (asked for once per landscape and its parameters). */
export async function fetchSurface() {
  const key = landscapeKey(state);
  if (page.surface?.key === key) return page.surface;
  const s = await postJSON("/api/surface", { ...landscapeBody(state), resolution: 90, arrows: 0 });
  page.surface = { ...s, key };
  return page.surface;
}

/** Draw into the figure `id` at its container's size (a figure made in a hidden tab has none). */
export async function plot(id, { data, layout }) {
  const gd = $(id);
  await Plotly.react(gd, data, { ...layout, width: gd.clientWidth || undefined, height: gd.clientHeight || undefined }, CONFIG);
}

const resized = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    if (target.clientWidth && target.clientHeight && target._fullLayout) {
      Plotly.relayout(target, { width: target.clientWidth, height: target.clientHeight });
    }
  }
});

/** An empty figure in `id`, resized with its box from now on. */
export function emptyPlot(id, layout) {
  Plotly.newPlot($(id), [], layout, CONFIG);
  resized.observe($(id));
}
