// The landscape page: optimizers racing on a 2D loss surface, streamed from /api/paths.
//
// One state object (landscape_page.js; its link: FIELDS in landscape_state.js), racers with their
// own controls (landscape_controls.js), streams per set of racers, a racer's hyperparameter
// re-streaming that racer alone (landscape_stream.js), a render loop that draws at most once per
// animation frame (landscape_render.js) over the map (landscape_map.js), and a playback cursor over
// the steps (landscape_playback.js). This module starts them.

import { $, page, saveUrl } from "./landscape_page.js";
import { addRacer, buildLandscapeControls, buildNoiseControls, buildScheduleControls, refreshRacerChrome, syncNoiseUi } from "./landscape_controls.js";
import { showView, syncStartUi } from "./landscape_map.js";
import { play } from "./landscape_playback.js";
import "./landscape_share.js";
import { fetchStability, fetchSurface, restream } from "./landscape_stream.js";

buildLandscapeControls();
buildNoiseControls();
buildScheduleControls();
syncNoiseUi();
syncStartUi();
for (const r of page.state.racers) addRacer(r.optimizer, r.hyper);
refreshRacerChrome();
$("speed").value = "500";
showView();
saveUrl();
fetchSurface();
fetchStability();
restream(page.racers.map((r) => r.id));
// interactive by default: the race plays as soon as the paths are in (unless motion is unwelcome)
if (!matchMedia("(prefers-reduced-motion: reduce)").matches) play();

// For tests and benchmarks: the page's own view of what it drew.
const { state, racers, cursor, draw } = page;
window.descent = { state, racers, cursor, timings: draw.timings, get surface() { return page.surface; }, get marks() { return draw.marks; } };
