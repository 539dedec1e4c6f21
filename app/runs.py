"""Training runs as server-side jobs, independent of any one connection. In memory only.

A `Run` owns a worker thread that iterates core.training.train (one BLAS thread per run), keeps
what a late subscriber needs (the start, every evaluation and epoch summary without their bulky
parts, the whole per-step loss curve, the latest full evaluation) and fans events out to any number
of subscribers. A subscriber that falls too far behind is dropped rather than allowed to hold
memory or slow the run; it can reconnect and catch up from the snapshot.

The `RunManager` caps concurrent runs, stops runs nobody has watched for a while, and forgets
finished runs after a while.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from core.datasets import Split
from core.network import Network
from core.training import Controls, TrainConfig, load_data, network_for, train

BULKY = ("surface", "diagnostics", "confusion", "misclassified")  # kept for the latest evaluation only
SUBSCRIBER_QUEUE = 512  # events a subscriber may fall behind before it is dropped


@dataclass(frozen=True)
class Limits:
    max_active: int = 4  # runs training at once; past this a new run gets 429
    idle_seconds: float = 60.0  # a run nobody watches for this long is stopped
    keep_seconds: float = 600.0  # a finished run is forgotten this long after it ended
    max_kept: int = 32  # finished runs kept at most; the oldest are forgotten first

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by DESCENT_MAX_RUNS, _IDLE_SECONDS, _KEEP_SECONDS and _MAX_KEPT."""
        env = os.environ
        return cls(
            int(env.get("DESCENT_MAX_RUNS", cls.max_active)),
            float(env.get("DESCENT_IDLE_SECONDS", cls.idle_seconds)),
            float(env.get("DESCENT_KEEP_SECONDS", cls.keep_seconds)),
            int(env.get("DESCENT_MAX_KEPT", cls.max_kept)),
        )


class Busy(Exception):
    """Too many runs are active."""


class _Dropped:
    """Sent to a subscriber that fell behind: its stream ends."""


class Run:
    def __init__(self, config: TrainConfig, split: Split, net: Network, manager: RunManager):
        self.id = secrets.token_urlsafe(16)
        self.config, self.split, self.net = config, split, net
        self.controls = Controls()
        self.manager = manager
        self.status = "running"
        self.error: str | None = None
        self.created = time.monotonic()
        self.ended: float | None = None
        self.watched = time.monotonic()  # last time it had a subscriber
        self._lock = threading.Lock()  # guards the snapshot and the subscriber set
        self._subscribers: dict[asyncio.Queue, asyncio.AbstractEventLoop] = {}
        self._start: dict | None = None
        self._evals: list[dict] = []
        self._epochs: list[dict] = []
        self._controls: list[dict] = []
        self._latest_eval: dict | None = None
        self._ending: list[dict] = []  # early_stop / diverged / summary
        self._steps, self._losses, self._rates = [], [], []
        self._serving = network_for(config, split)  # a copy for predictions: never the training net
        self._serving_lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=f"descent-run-{self.id[:6]}", daemon=True)

    # --- the worker ------------------------------------------------------------------------------

    def start(self) -> None:
        """Record the start event here, so that every subscriber sees it first; then train in the thread."""
        self._events = train(self.config, self.controls, self.split, self.net)
        self._deliver(next(self._events))
        self._thread.start()

    def _work(self) -> None:
        try:
            for event in self._events:
                self._deliver(event)
        except Exception as e:  # the run reports it; the server and other runs go on
            self.error = f"{type(e).__name__}: {e}"
            self._deliver({"type": "error", "message": self.error})
        finally:
            self.ended = time.monotonic()
            if self.status in ("running", "paused"):
                self.status = "error" if self.error else "stopped"

    def _deliver(self, event: dict) -> None:
        """Record the event and hand it to every subscriber, atomically with respect to `subscribe`."""
        with self._lock:
            self._record(event)
            subscribers = list(self._subscribers.items())
        for queue, loop in subscribers:
            loop.call_soon_threadsafe(_offer, queue, event)

    def _record(self, event: dict) -> None:
        kind = event["type"]
        if kind == "start":
            self._start = event
        elif kind == "steps":
            self._steps.append(event["step"])
            self._losses.append(event["loss"])
            self._rates.append(event["lr"])
        elif kind == "eval":
            self._latest_eval = event
            self._evals.append({k: v for k, v in event.items() if k not in BULKY})
        elif kind == "epoch":
            self._epochs.append(event)
        elif kind == "control":
            self._controls.append(event)
            if event["action"] in ("pause", "resume"):
                self.status = "paused" if event["action"] == "pause" else "running"
        elif kind == "summary":
            self.status = event["status"]
            self._ending.append(event)
        elif kind in ("early_stop", "diverged", "error"):
            self._ending.append(event)

    # --- what others see -------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.ended is not None

    def _snapshot(self) -> list[dict]:
        """Events that bring a new subscriber up to date: one `history` event, then the latest."""
        history = {
            "type": "history",
            "status": self.status,
            "step": np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64),
            "loss": np.concatenate(self._losses) if self._losses else np.zeros(0),
            "lr": np.concatenate(self._rates) if self._rates else np.zeros(0),
            "evals": list(self._evals),
            "epochs": list(self._epochs),
            "controls": list(self._controls),
        }
        latest = [self._latest_eval] if self._latest_eval is not None else []
        return [*([self._start] if self._start else []), history, *latest, *self._ending]

    async def subscribe(self) -> AsyncIterator[dict]:
        """The snapshot, then live events until the run ends (or this subscriber falls behind)."""
        queue: asyncio.Queue = asyncio.Queue(SUBSCRIBER_QUEUE)
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
            backlog = self._snapshot()
        try:
            for event in backlog:
                yield event
            if any(e["type"] in ("summary", "error") for e in backlog):
                return
            while (event := await queue.get()) is not _Dropped:
                yield event
                if event["type"] in ("summary", "error"):
                    return
        finally:
            with self._lock:
                self._subscribers.pop(queue, None)
            self.watched = time.monotonic()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def weights(self) -> dict[str, np.ndarray]:
        """Named copies of the current parameters, running statistics and network spec."""
        return self.net.state_dict()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities from a copy of the current weights (training is never disturbed)."""
        with self._serving_lock:
            self._serving.load_state_dict(self.weights())
            return self._serving.predict_proba(x)


def _offer(queue: asyncio.Queue, event) -> None:
    """Queue an event for a subscriber; one that is full gets dropped instead (memory stays bounded)."""
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_Dropped)
    else:
        queue.put_nowait(event)


class RunManager:
    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def create(self, config: TrainConfig, weights: dict | None = None) -> Run:
        """Start a run; Busy past the cap. Loading data may raise (ValueError, DataError).

        With `weights` (named arrays of a saved model) the network starts from them, and the run
        starts paused: it evaluates the loaded model, then waits to be resumed.
        """
        self.sweep()
        if self.active() >= self.limits.max_active:
            raise Busy(f"{self.limits.max_active} runs are already training; stop one or wait")
        split = load_data(config, download=False)
        net = network_for(config, split)
        if weights is not None:
            net.load_state_dict(weights)
        run = Run(config, split, net, self)
        if weights is not None:
            run.controls.pause()
            run.status = "paused"
        with self._lock:
            self._runs[run.id] = run
        run.start()
        return run

    def get(self, run_id: str) -> Run | None:
        self.sweep()
        with self._lock:
            return self._runs.get(run_id)

    def active(self) -> int:
        with self._lock:
            return sum(not run.finished for run in self._runs.values())

    def sweep(self) -> None:
        """Stop runs nobody watches; forget runs that ended long ago, and the oldest past the cap."""
        now = time.monotonic()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if not run.finished and run.subscribers == 0 and now - run.watched > self.limits.idle_seconds:
                run.controls.stop()
        ended = sorted((r for r in runs if r.finished), key=lambda r: r.ended, reverse=True)
        forget = [
            r
            for i, r in enumerate(ended)
            if i >= self.limits.max_kept or now - r.ended > self.limits.keep_seconds
        ]
        with self._lock:
            for run in forget:
                self._runs.pop(run.id, None)

    def stop_all(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.controls.stop()
