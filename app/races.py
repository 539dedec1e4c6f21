"""Races of optimizers on one network (the network lab), as server-side jobs. In memory only.

A race is one training run per racer (app/runs.py: each in a process of its own), started together
from configs that differ only in the optimizer, so every racer has the same initial weights and
batches (core/nn/race.py). Each racer's process also sends a weight snapshot after each evaluation;
the race keeps them as trajectories (thinned, at most core.nn.race.MAX_SNAPSHOTS each) for the loss
surface, which it computes in the background: every few epochs, on demand, and once more at the end.
Between surfaces each new snapshot is projected onto the latest plane, so the paths extend live.

A subscriber gets one stream: the `race` event, every racer's own events tagged with `"racer": k`,
and the race's `surface_progress`, `surface`, `surface_error` and `point` events; `race_end` last.
When every racer has ended the race is logged as one entry (its racers linked by a race id).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import orjson

from app import log_entries, runlog
from app.runs import Run, RunManager, _Dropped, _offer
from app.streaming import next_or_ping
from core.nn.config import TrainConfig
from core.nn.events import LAST
from core.nn.race import Racer, Trajectory, race_surface, racer_configs, surface_examples
from core.nn.surface import Plane
from core.nn.training import network_for

log = logging.getLogger("descent.races")
SUBSCRIBER_QUEUE = 512  # batches a subscriber may fall behind before it is dropped
SURFACES = threading.Semaphore(1)  # surfaces computed at once, server-wide: each is numpy work for seconds
MAX_RACES_KEPT = 4  # finished races kept, with their trajectories (their runs may be forgotten sooner)


@dataclass(frozen=True)
class SurfaceSettings:
    kind: str = "pca"
    resolution: int = 21
    every: int = 5  # epochs between background recomputations; 0: on demand only


class Race:
    """A race's runs, their trajectories and its loss surface."""

    def __init__(
        self,
        base: TrainConfig,
        racers: list[Racer],
        surface: SurfaceSettings,
        runs: RunManager,
        log: runlog.ServerLog | None = None,
    ):
        self.id = secrets.token_urlsafe(12)
        self.base, self.racers, self.settings = base, racers, surface
        self.configs = racer_configs(base, racers)
        self._log = log
        self._lock = threading.Lock()  # guards trajectories, the surface state and the subscriber set
        self.trajectories = [Trajectory() for _ in racers]
        self.surface: dict[str, Any] = {"state": "idle", "done": 0, "total": 0, "error": None}
        self._result: str | None = None  # the latest surface event, as JSON
        self._plane: Plane | None = None
        self._points: list[str] = []  # points projected onto the latest plane since it was computed
        self._subscribers: dict[asyncio.Queue, asyncio.AbstractEventLoop] = {}
        self._due = math.inf  # the step all racers must reach for the next background surface
        self.ended: float | None = None
        self.runs: list[Run] = []
        self.runs = runs.create_race(self.configs, self._snapshot)
        self._per_epoch = -(-len(self.runs[0].split.y_train) // base.batch_size)
        if surface.every:
            self._due = surface.every * self._per_epoch
        threading.Thread(target=self._watch, name=f"descent-race-{self.id[:6]}", daemon=True).start()

    # --- what the runs send ---------------------------------------------------------------------

    def _snapshot(self, k: int, step: int, weights: np.ndarray) -> None:
        """A racer's weights after an evaluation (from its run's listener thread)."""
        with self._lock:
            kept = self.trajectories[k].offer(step, weights)
            plane = self._plane
        if kept and plane is not None:
            a, b = plane.project(weights[None, :])[0]
            point = {"type": "point", "racer": k, "step": step, "a": float(a), "b": float(b)}
            text = orjson.dumps(point).decode()
            with self._lock:
                if self._plane is plane:
                    self._points.append(text)
            self._publish("point", text)
        runs = self.runs  # empty while they start
        if runs and all(r.finished or r.steps_done >= self._due for r in runs):
            self._due += self.settings.every * self._per_epoch
            self.recompute(self.settings.kind, self.settings.resolution)

    def _watch(self) -> None:
        """Once every racer has ended: the last surface, the run log, then `race_end`."""
        for run in self.runs:
            run.join()
        if any(len(t) for t in self.trajectories):
            self._compute(self.settings.kind, self.settings.resolution)
        self._record()
        self.ended = time.monotonic()
        self._publish("race_end", '{"type":"race_end"}')

    def _record(self) -> None:
        if self._log is None:
            return
        entries = []
        for config, run in zip(self.configs, self.runs, strict=True):
            history = run.history
            step, loss = history.curve()
            ending = history.last() or {"type": "error", "message": "the racer sent no last event"}
            evals = history.evaluations()
            entries.append(
                log_entries.training_entry(asdict(config), step, loss, evals, ending, history.features())
            )
        racers = [{"optimizer": r.optimizer, "hyper": dict(r.hyper)} for r in self.racers]
        surface = asdict(self.settings)
        self._log.safely("a network race", log_entries.record_network_race, entries, racers, surface)

    # --- the loss surface -----------------------------------------------------------------------

    def recompute(self, kind: str, resolution: int) -> bool:
        """Start computing the surface in the background; False if one is being computed already."""
        with self._lock:
            if self.surface["state"] == "computing":
                return False
            self.surface.update(state="computing", done=0, total=resolution, error=None)
        self._progress(0, resolution)  # at once: a page learns that a surface is on its way
        threading.Thread(target=self._compute, args=(kind, resolution), daemon=True).start()
        return True

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self.surface.update(done=done, total=total)
        progress = {"type": "surface_progress", "done": done, "total": total}
        self._publish("surface_progress", orjson.dumps(progress).decode())

    def _compute(self, kind: str, resolution: int) -> None:
        with self._lock:
            self.surface.update(state="computing", done=0, total=resolution, error=None)
            trajectories = [(list(t.steps), t.points()) for t in self.trajectories]
        try:
            with SURFACES:
                event, plane = self._surface(kind, resolution, trajectories)
        except Exception as e:  # a surface that cannot be drawn is reported; the race goes on
            log.exception("race %s: its surface failed", self.id)
            message = f"the surface could not be computed ({type(e).__name__}: {e})"
            with self._lock:
                self.surface.update(state="idle", error=message)
            self._publish(
                "surface_error", orjson.dumps({"type": "surface_error", "message": message}).decode()
            )
            return
        text = orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        with self._lock:
            self._result, self._plane, self._points = text, plane, []
            self.surface.update(state="idle", done=resolution)
        self._publish("surface", text)

    def _surface(self, kind: str, resolution: int, trajectories) -> tuple[dict, Plane]:
        split = self.runs[0].split
        net = network_for(self.base, split)  # the racers' shared initial weights, by the seed
        x, y = surface_examples(split)

        return race_surface(
            net, x, y, net.params, trajectories, kind, resolution, self.base.seed, self._progress
        )

    def surface_out(self) -> dict:
        with self._lock:
            result = orjson.loads(self._result) if self._result else None
            return {**self.surface, "result": result}

    # --- controls and subscribers ---------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def status(self) -> str:
        if self.finished:
            return "ended"
        statuses = {run.status for run in self.runs if not run.finished}
        return "paused" if statuses == {"paused"} else "running"

    def each(self, action: str, *args) -> None:
        """Pause, resume, step or stop every racer still training."""
        for run in self.runs:
            if not run.finished:
                getattr(run.controls, action)(*args)

    def _publish(self, kind: str, text: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers.items())
        for queue, loop in subscribers:
            loop.call_soon_threadsafe(_offer, queue, [(kind, text)])

    def start_event(self) -> dict:
        return {
            "type": "race",
            "id": self.id,
            "config": asdict(self.base),
            "racers": [
                {"run": run.id, "optimizer": r.optimizer, "hyper": dict(r.hyper), "status": run.status}
                for r, run in zip(self.racers, self.runs, strict=True)
            ],
            "surface": asdict(self.settings),
        }

    async def subscribe(self) -> AsyncIterator[list[tuple[str, str]]]:
        """Batches of (event type, JSON): the race, every racer's stream (tagged with its index) and the
        race's own events, until `race_end` (or this subscriber falls behind)."""
        queue: asyncio.Queue = asyncio.Queue(SUBSCRIBER_QUEUE)
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
            backlog = [("race", orjson.dumps(self.start_event()).decode())]
            if self.surface["state"] == "computing":
                progress = {
                    "type": "surface_progress",
                    "done": self.surface["done"],
                    "total": self.surface["total"],
                }
                backlog.append(("surface_progress", orjson.dumps(progress).decode()))
            if self._result:
                backlog.append(("surface", self._result))
            backlog += [("point", text) for text in self._points]
            ended = self.ended is not None
        pumps = [asyncio.create_task(_pump(k, run, queue)) for k, run in enumerate(self.runs)]
        try:
            yield backlog
            open_racers, race_ended = len(pumps), ended
            while open_racers or not race_ended:
                item = await next_or_ping(queue)
                if item is _Dropped:
                    return
                batch = []
                for entry in [item] if item else []:
                    for kind, text in entry:
                        if kind == "racer_done":
                            open_racers -= 1
                        elif kind == "racer_dropped":
                            return
                        elif kind == "race_end":
                            race_ended = True
                        else:
                            batch.append((kind, text))
                yield batch
            yield [("race_end", '{"type":"race_end"}')]
        finally:
            for pump in pumps:
                pump.cancel()
            with self._lock:
                self._subscribers.pop(queue, None)


async def _pump(k: int, run: Run, queue: asyncio.Queue) -> None:
    """Racer k's stream into the race's queue, each event tagged with its index."""
    prefix = f'{{"racer":{k},'
    async for batch in run.subscribe():
        tagged = [(kind, prefix + text[1:]) for kind, text in batch]
        ended = any(kind in LAST for kind, _ in batch)
        if tagged:
            _offer(queue, tagged)
        if ended:
            _offer(queue, [("racer_done", "")])
            return
    _offer(queue, [("racer_dropped", "")])


class RaceManager:
    """The races of a server; each counts its racers against the run manager's cap."""

    def __init__(self, runs: RunManager, log: runlog.ServerLog | None = None):
        self.run_manager, self.log = runs, log
        self._races: dict[str, Race] = {}
        self._lock = threading.Lock()

    def create(self, base: TrainConfig, racers: list[Racer], surface: SurfaceSettings) -> Race:
        race = Race(base, racers, surface, self.run_manager, self.log)
        with self._lock:
            self._races[race.id] = race
        self.sweep()
        return race

    def get(self, race_id: str) -> Race | None:
        with self._lock:
            return self._races.get(race_id)

    def sweep(self) -> None:
        """Forget races that ended long ago, and the oldest ended ones past MAX_RACES_KEPT."""
        now, keep = time.monotonic(), self.run_manager.limits.keep_seconds
        with self._lock:
            ended = sorted(
                (r for r in self._races.values() if r.ended is not None), key=lambda r: -(r.ended or 0)
            )
            for i, race in enumerate(ended):
                if i >= MAX_RACES_KEPT or now - (race.ended or now) > keep:
                    del self._races[race.id]
