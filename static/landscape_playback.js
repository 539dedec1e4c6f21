// The landscape page's playback: a cursor over the steps, played at a chosen speed, stepped by the
// buttons, the scrubber or the keyboard.

import { clamp } from "./common.js";
import { $, lastStep, page } from "./landscape_page.js";
import { invalidate, syncScrubber } from "./landscape_render.js";

const { cursor } = page;

function seek(k) {
  cursor.k = clamp(Math.round(k), 0, page.state.steps);
  cursor.exact = cursor.k;
  cursor.follow = false;
  invalidate("fg", "cursor", "table", "d3");
}

export function play() {
  if (cursor.playing) return;
  if (cursor.follow || cursor.k >= lastStep()) seek(0);
  cursor.playing = true;
  cursor.last = performance.now();
  requestAnimationFrame(tick);
  syncScrubber();
}

function pause() {
  cursor.playing = false;
  syncScrubber();
}

function tick(now) {
  if (!cursor.playing) return;
  const dt = Math.min(100, now - cursor.last);
  cursor.last = now;
  cursor.exact += (Number($("speed").value) * dt) / 1000;
  const end = lastStep();
  if (cursor.exact >= end && !page.streams.jobs.size) {
    cursor.playing = false;
    cursor.follow = true;
    cursor.k = end;
  } else {
    cursor.k = Math.min(Math.floor(cursor.exact), end);
    cursor.exact = Math.min(cursor.exact, Math.max(end, cursor.k));
  }
  invalidate("fg", "cursor", "table", "d3");
  if (cursor.playing) requestAnimationFrame(tick);
  else syncScrubber();
}

$("play").addEventListener("click", () => (cursor.playing ? pause() : play()));
$("reset").addEventListener("click", () => {
  pause();
  seek(0);
});
$("back").addEventListener("click", () => stepBy(-1));
$("forward").addEventListener("click", () => stepBy(1));
$("to-end").addEventListener("click", () => {
  pause();
  cursor.follow = true;
  invalidate("fg", "cursor", "table", "d3");
});
$("scrubber").addEventListener("input", () => {
  pause();
  seek(Number($("scrubber").value));
});

function stepBy(n) {
  pause();
  seek((cursor.follow ? lastStep() : cursor.k) + n);
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  const typing = t.matches?.("input:not([type=radio]):not([type=checkbox]), select, textarea, [contenteditable]");
  if (typing) return;
  if (e.key === " ") {
    e.preventDefault();
    cursor.playing ? pause() : play();
  } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
    e.preventDefault();
    stepBy((e.key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1));
  }
});
