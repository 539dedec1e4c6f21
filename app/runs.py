"""Training runs as server-side jobs, independent of any one connection. In memory only.

A `Run` trains in a process of its own (one BLAS thread each; see app/run_process.py) watched by a
worker thread here, with a stop command. The thread keeps
what a late subscriber needs (the start, every evaluation and epoch summary without their bulky
parts, the whole per-step loss curve, the latest full evaluation) and fans events out to any number
of subscribers. A subscriber that falls too far behind is dropped rather than allowed to hold
memory or slow the run; it can reconnect and catch up from the snapshot. A process that sends
something unreadable is ended, and its run with an error.

A finished run keeps only that history in memory: its final weights go to a file in a temporary
folder (read back for predictions and downloads), and its data are loaded again when asked for.

The `RunManager` caps concurrent runs (counting those still starting), stops runs nobody has watched
for a while, and forgets finished runs after a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import multiprocessing
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app import log_entries, run_process, runlog, settings
from app.streaming import next_or_ping
from core.data.mnist import data_dir
from core.data.own import Data
from core.nn import events
from core.nn.network import Network
from core.nn.training import TrainConfig, load_data, network_for

log = logging.getLogger("descent.runs")
# Runs start from a fork server: a clean, single-threaded process with the modules already loaded.
_PROCESSES = multiprocessing.get_context("forkserver")
_PROCESSES.set_forkserver_preload(["app.run_process"])

BULKY = ("surface", "diagnostics", "confusion", "misclassified")  # kept for the latest evaluation only
SUBSCRIBER_QUEUE = 512  # events a subscriber may fall behind before it is dropped
START_SECONDS = 60.0  # how long creating a run waits for its process's first event


@dataclass(frozen=True)
class Limits:
    max_active: int = settings.MAX_RUNS.default  # runs training at once; past this a new run gets 429
    idle_seconds: float = settings.IDLE_SECONDS.default  # a run nobody watches for this long is stopped
    keep_seconds: float = settings.KEEP_SECONDS.default  # a finished run is forgotten this long after
    max_kept: int = settings.MAX_KEPT.default  # finished runs kept at most; the oldest go first

    @classmethod
    def from_env(cls) -> Limits:
        """Every field from its DESCENT_* variable (see app.settings), else its default."""
        return cls(**{name: setting.read() for name, setting in ENV.items()})


ENV: dict[str, settings.Setting[Any]] = {  # Limits field -> its setting
    "max_active": settings.MAX_RUNS,
    "idle_seconds": settings.IDLE_SECONDS,
    "keep_seconds": settings.KEEP_SECONDS,
    "max_kept": settings.MAX_KEPT,
}


class Busy(Exception):
    """Too many runs are active."""


class _Dropped:
    """Sent to a subscriber that fell behind: its stream ends."""


class Run:
    """A training run in a process of its own (see app/run_process.py), and what the server keeps."""

    def __init__(
        self,
        config: TrainConfig,
        split: Data,
        folder: Path,
        weights: dict | None = None,
        trained_steps: int | None = None,
        log: runlog.ServerLog | None = None,
        on_snapshot: Callable[[int, np.ndarray], None] | None = None,
    ):
        self.id = secrets.token_urlsafe(16)
        self._on_snapshot = on_snapshot  # a race's: takes each weight snapshot (step, float32 weights)
        self._log = log  # where the run is logged once it ends; None: nowhere
        self.loaded = weights is not None  # it started from a saved model
        self.trained_steps = trained_steps  # steps that model had trained, if its file said
        self.config = config
        self.inputs, self.class_names = split.x_train.shape[1], split.class_names
        self._split: Data | None = split  # while it trains; loaded again on demand once it has ended
        self._final = folder / f"{self.id}.npz"  # the weights the process ended with, once it has
        self.controls = _Commands(self)
        self.status = "paused" if weights is not None else "running"
        self.error: str | None = None
        self.created = time.monotonic()
        self.ended: float | None = None
        self.watched = math.inf  # last time it had a subscriber; never idle before it has started
        self._lock = threading.Lock()  # guards the snapshot and the subscriber set
        self._subscribers: dict[asyncio.Queue, asyncio.AbstractEventLoop] = {}
        self._history = _History()
        self._first = threading.Event()  # the first event has been recorded (or the process ended)
        self._serving: Network | None = None  # answers predictions while it trains; never trains
        self._serving_lock = threading.Lock()
        self._events, child_events = _PROCESSES.Pipe(duplex=False)
        self._pipe, child_commands = _PROCESSES.Pipe()
        self._pipe_lock = threading.Lock()
        name = f"descent-run-{self.id[:6]}"
        args = (config, str(data_dir()), weights, child_events, child_commands, on_snapshot is not None)
        self._process = _PROCESSES.Process(target=run_process.main, args=args, name=name, daemon=True)
        self._child_ends = (child_events, child_commands)
        self._listener = threading.Thread(target=self._listen, name=name, daemon=True)

    # --- the process -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the process and wait for its start event, so every subscriber sees it first."""
        self._process.start()
        for end in self._child_ends:
            end.close()
        self._listener.start()
        self._first.wait(START_SECONDS)
        self.watched = time.monotonic()  # the idle clock starts when there is something to watch

    def _receive(self) -> bool:
        """Record and fan out the next message from the process; False once it has ended. Raises
        ValueError for a message that is not an event."""
        try:
            data = self._events.recv_bytes()
        except (EOFError, OSError):
            return False
        if data.startswith(run_process.WEIGHTS):
            partial = self._final.with_suffix(".part")  # readers see the whole file or none
            partial.write_bytes(data[len(run_process.WEIGHTS) :])
            partial.replace(self._final)
            return True
        if data.startswith(run_process.SNAPSHOT) and self._on_snapshot is not None:
            self._on_snapshot(*run_process.decode_snapshot(data))
            return True
        event = orjson.loads(data)
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError(f"not an event: {data[:80]!r}")
        self._deliver(event, data.decode())
        return True

    def _listen(self) -> None:
        try:
            while self._receive():
                pass
        except Exception as e:  # the process cannot be trusted to go on: end it and the run
            log.exception("run %s: its process sent what could not be read", self.id)
            self._process.kill()
            self._fail(f"the training process sent what could not be read ({type(e).__name__}: {e})")
        self._process.join(timeout=5)
        if not self.finished:
            self._fail(f"the training process ended unexpectedly (exit code {self._process.exitcode})")
        with self._serving_lock:
            self._split = self._serving = None  # a finished run keeps its history, not its data
        self._first.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the run has ended and its process has been reaped."""
        self._listener.join(timeout)

    @property
    def history(self) -> _History:
        """What the run has sent, as the run log reads it."""
        return self._history

    def _fail(self, message: str) -> None:
        event = events.error(message)
        self._deliver(event, orjson.dumps(event).decode())

    def end(self, wait: float) -> None:
        """Wait up to `wait` seconds for the process to finish, then terminate it."""
        self._process.join(wait)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(1)

    def command(self, action: str, argument=None):
        """Send a command to the process; "weights" waits for its answer. A gone process: None."""
        with self._pipe_lock:
            try:
                self._pipe.send((action, argument))
                if action == "weights":
                    return self._pipe.recv() if self._pipe.poll(10) else None
            except (EOFError, OSError):
                return None
        return None

    def _deliver(self, event: Mapping, text: str) -> None:
        """Record the event and hand it to every subscriber, atomically with respect to `subscribe`."""
        with self._lock:
            self._record(event, text)
            subscribers = list(self._subscribers.items())
        self._first.set()
        for queue, loop in subscribers:
            loop.call_soon_threadsafe(_offer, queue, (event["type"], text))

    def _record(self, event: Mapping, text: str) -> None:
        """Keep what the event changes: the run's status, its history, and at its end the run log."""
        kind = event["type"]
        if kind == "control" and event["action"] in ("pause", "resume"):
            self.status = "paused" if event["action"] == "pause" else "running"
        elif kind == "summary":
            self.status, self.ended = event["status"], time.monotonic()
        elif kind == "error":
            self.status, self.error, self.ended = "error", event["message"], time.monotonic()
        self._history.add(event, text)
        if kind in events.LAST and self._log is not None:
            log_entries.training_ended(self.config, self._history, event, self._log)  # never raises

    # --- what others see -------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """It has sent its summary (or failed): no more steps, though its process may still be exiting."""
        return self.ended is not None

    async def subscribe(self) -> AsyncIterator[list[tuple[str, str]]]:
        """Lists of (event type, JSON) pairs: the snapshot, then live events as they come, until the
        run ends (or this subscriber falls behind); [] when none came for PING_SECONDS."""
        queue: asyncio.Queue = asyncio.Queue(SUBSCRIBER_QUEUE)
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
            backlog = self._history.events(self.status)
        try:
            yield backlog
            if any(kind in events.LAST for kind, _ in backlog):
                return
            while True:
                item = await next_or_ping(queue)
                batch = [] if item == [] else [item]  # [] after a quiet spell: a keep-alive
                while not queue.empty():
                    batch.append(queue.get_nowait())
                if _Dropped in batch:
                    yield batch[: batch.index(_Dropped)]
                    return
                yield batch
                if any(kind in events.LAST for kind, _ in batch):
                    return
        finally:
            with self._lock:
                self._subscribers.pop(queue, None)
            self.watched = time.monotonic()

    @property
    def steps_done(self) -> int:
        """Steps its weights have trained: those of a loaded model (when known) and this run's."""
        return (self.trained_steps or 0) + self._history.last_step

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @property
    def split(self) -> Data:
        """The run's data: kept while it trains, loaded again (the same, by its seed) once it has ended."""
        split = self._split
        return split if split is not None else load_data(self.config, download=False)

    def weights(self) -> dict[str, np.ndarray] | None:
        """Named copies of the current (or final) parameters, running statistics and network spec;
        None if the process ended without them (it crashed)."""
        if not self._final.exists():
            current = self.command("weights") if self._process.is_alive() else None
            if current is not None:
                return current
            self._listener.join(timeout=10)  # it has just ended: its final weights are on their way
        if not self._final.exists():
            return None
        return run_process.decode_weights(self._final.read_bytes())

    def predict(self, x: np.ndarray) -> np.ndarray | None:
        """Class probabilities from a copy of the current weights (training is never disturbed). While
        it trains one network answers; after, each answer builds its own from the saved weights."""
        weights = self.weights()
        if weights is None:
            return None
        with self._serving_lock:
            net = self._serving or Network.from_state_dict(weights)
            if not self.finished:
                self._serving = net
            net.load_state_dict(weights)
            with np.errstate(all="ignore"):  # an overflow is the caller's to report
                return net.predict_proba(x)

    def discard(self) -> None:
        """Forget its saved weights (the run is being forgotten)."""
        self._final.unlink(missing_ok=True)


class _History:
    """What a late subscriber needs, kept as JSON text so that catching up costs a join, not an encode:
    the start, every step's loss and lr, every evaluation (without its bulky parts, but with its
    per-layer diagnostics), epoch summary, control and sharpness probe, the latest full evaluation,
    and the ending events. The run log reads it through `curve`, `evaluations` and `changes`.

    Events arrive as the process sent them, decoded from JSON (core/nn/events.py types them; numpy
    arrays arrive as lists)."""

    def __init__(self) -> None:
        self.start: str | None = None
        self.latest_eval: str | None = None
        self.ending: list[tuple[str, str]] = []
        self.columns: dict[str, list[str]] = {"step": [], "loss": [], "lr": []}  # "1,2,3" fragments
        self.records: dict[str, list[str]] = {"evals": [], "epochs": [], "controls": [], "sharpness": []}
        self.last_step = 0  # the last step trained

    def add(self, event: Mapping, text: str) -> None:
        kind = event["type"]
        if kind == "start":
            self.start = text
        elif kind == "steps":
            for name, fragments in self.columns.items():
                fragments.append(orjson.dumps(event[name]).decode()[1:-1])
            self.last_step = event["step"][-1] if event["step"] else self.last_step
        elif kind == "eval":
            self.latest_eval = text
            kept = {k: v for k, v in event.items() if k not in BULKY}
            if "diagnostics" in event:  # per-layer gradient norms and dead fractions: a few numbers
                kept["diagnostics"] = {"layers": event["diagnostics"]["layers"]}
            self.records["evals"].append(orjson.dumps(kept).decode())
        elif kind in ("epoch", "control"):
            self.records[f"{kind}s"].append(text)
        elif kind == "sharpness":
            self.records["sharpness"].append(text)
        elif kind in events.ENDINGS:
            self.ending.append((kind, text))

    def curve(self) -> tuple[list[int], list[float]]:
        """Every step sent so far, and its batch loss."""
        return _column(self.columns["step"]), _column(self.columns["loss"])

    def evaluations(self) -> list[Mapping]:
        """Every evaluation so far, without its bulky parts."""
        return [orjson.loads(text) for text in self.records["evals"]]

    def features(self) -> int | None:
        """The network's input width, from the start event (None before it)."""
        return orjson.loads(self.start)["features"] if self.start else None

    def last(self) -> Mapping | None:
        """The run's last event (summary or error), once sent."""
        return next((orjson.loads(text) for kind, text in self.ending if kind in events.LAST), None)

    def changes(self) -> list[dict]:
        """Each live change so far (a "set" control): the step it took effect at and the new values."""
        controls = [orjson.loads(text) for text in self.records["controls"]]
        return [{"step": c["step"], "values": c["values"]} for c in controls if c["action"] == "set"]

    def events(self, status: str) -> list[tuple[str, str]]:
        """(type, JSON) of the start, one `history` event, the latest evaluation and the ending."""
        parts = [f'"type":"history","status":{orjson.dumps(status).decode()}']
        parts += [
            f'"{name}":[{",".join(f for f in fragments if f)}]' for name, fragments in self.columns.items()
        ]
        parts += [f'"{name}":[{",".join(texts)}]' for name, texts in self.records.items()]
        events = [("start", self.start)] if self.start else []
        events.append(("history", "{" + ",".join(parts) + "}"))
        if self.latest_eval:
            events.append(("eval", self.latest_eval))
        return events + self.ending


class _Commands:
    """The run's controls, as the routers use them, sent to its process."""

    def __init__(self, run: Run):
        self._run = run

    def pause(self) -> None:
        self._run.command("pause")

    def resume(self) -> None:
        self._run.command("resume")

    def step(self, n: int = 1) -> None:
        self._run.command("step", n)

    def stop(self) -> None:
        self._run.command("stop")

    def set(self, **values: float) -> None:
        self._run.command("set", values)


def _column(fragments: list[str]) -> list:
    return orjson.loads("[" + ",".join(f for f in fragments if f) + "]")


def _offer(queue: asyncio.Queue, event) -> None:
    """Queue an event for a subscriber; one that is full gets dropped instead (memory stays bounded)."""
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_Dropped)
    else:
        queue.put_nowait(event)


class RunManager:
    def __init__(self, limits: Limits | None = None, log: runlog.ServerLog | None = None):
        self.limits = limits or Limits()
        self.log = log  # where finished runs are logged; None: nowhere
        self._runs: dict[str, Run] = {}
        self._starting = 0  # runs being created: they count against the cap already
        self._lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="descent-runs-"))  # final weights, removed with it
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)

    def create(
        self, config: TrainConfig, weights: dict | None = None, trained_steps: int | None = None
    ) -> Run:
        """Start a run; Busy past the cap (which holds however many ask at once). Loading data may
        raise (ValueError, DataError).

        With `weights` (named arrays of a saved model) the network starts from them, and the run
        starts paused: it evaluates the loaded model, then waits to be resumed.
        """
        with self._reserve(1):
            split = load_data(config, download=False)
            if weights is not None:
                network_for(config, split).load_state_dict(weights)  # refuse weights that do not fit
            run = Run(config, split, self._folder, weights, trained_steps, self.log)
            run.start()
            self._add(run)
        return run

    def create_race(
        self, configs: Sequence[TrainConfig], on_snapshot: Callable[[int, int, np.ndarray], None]
    ) -> list[Run]:
        """Start a race's runs, all or none (Busy if they do not all fit under the cap). They share the
        data (the configs differ only in the optimizer), are not logged one by one (the race logs them
        together), and send `on_snapshot(racer, step, weights)` after each evaluation."""
        runs: list[Run] = []
        with self._reserve(len(configs)):
            split = load_data(configs[0], download=False)
            try:
                for k, config in enumerate(configs):
                    snapshot = functools.partial(on_snapshot, k)
                    runs.append(Run(config, split, self._folder, on_snapshot=snapshot))
                    runs[-1].start()
            except BaseException:
                for run in runs:
                    run.controls.stop()
                raise
            for run in runs:
                self._add(run)
        return runs

    @contextlib.contextmanager
    def _reserve(self, n: int) -> Iterator[None]:
        """Hold n places under the cap while runs start; Busy if there are not n free."""
        self.sweep()
        with self._lock:
            free = self.limits.max_active - self._active() - self._starting
            if n > free:
                raise Busy(
                    f"{self.limits.max_active} runs may train at once and {self.limits.max_active - free}"
                    f" are training or starting; {n} more do not fit: stop one or wait"
                    if n > 1
                    else f"{self.limits.max_active} runs are already training; stop one or wait"
                )
            self._starting += n
        try:
            yield
        finally:
            with self._lock:
                self._starting -= n

    def _add(self, run: Run) -> None:
        with self._lock:
            self._runs[run.id] = run

    def get(self, run_id: str) -> Run | None:
        self.sweep()
        with self._lock:
            return self._runs.get(run_id)

    def active(self) -> int:
        """Runs training (or paused) now."""
        with self._lock:
            return self._active()

    def _active(self) -> int:
        return sum(not run.finished for run in self._runs.values())

    def sweep(self) -> None:
        """Stop runs nobody watches; forget runs that ended long ago, and the oldest past the cap."""
        now = time.monotonic()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if not run.finished and run.subscribers == 0 and now - run.watched > self.limits.idle_seconds:
                run.controls.stop()
        ended = sorted(((r.ended, r) for r in runs if r.ended is not None), key=lambda e: e[0], reverse=True)
        forget = [
            r
            for i, (at, r) in enumerate(ended)
            if i >= self.limits.max_kept or now - at > self.limits.keep_seconds
        ]
        with self._lock:
            for run in forget:
                self._runs.pop(run.id, None)
        for run in forget:
            run.discard()

    def stop_all(self, wait: float = 2.0) -> None:
        """Stop every run; give their processes `wait` seconds to finish, then end them."""
        with self._lock:
            runs = [run for run in self._runs.values() if not run.finished]
        for run in runs:
            run.controls.stop()
        deadline = time.monotonic() + wait
        for run in runs:
            run.end(max(0.0, deadline - time.monotonic()))
