"""The process a training run lives in: it trains, streams its events, and obeys the server.

A run gets a process of its own so that its numpy work never competes with the server's event
loop for the interpreter lock (with runs in threads, five busy runs delayed every response by
seconds), and so that two runs can use two cores. The server talks to it over two pipes:

- events (child → server): each event as orjson bytes; for a race's racer, after each evaluation, a
  weight snapshot as b"S" + the step (8 bytes, little-endian) + the float32 parameters; last, the
  final weights as b"W" + an .npz.
- commands (server → child): ("pause" | "resume" | "stop", None), ("step", n), ("set", values),
  and ("weights", None), which the child answers on the same pipe with a dict of named arrays.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
from multiprocessing.connection import Connection

import numpy as np
import orjson
from threadpoolctl import threadpool_limits

from core.nn.config import TrainConfig
from core.nn.events import error
from core.nn.network import Network
from core.nn.training import Controls, load_data, network_for, train

log = logging.getLogger("descent.runs")
WEIGHTS = b"W"  # marks the final-weights message on the events pipe (events start with "{")
SNAPSHOT = b"S"  # marks a weight snapshot


def encode_snapshot(step: int, params: np.ndarray) -> bytes:
    return SNAPSHOT + struct.pack("<q", step) + params.astype(np.float32).tobytes()


def decode_snapshot(data: bytes) -> tuple[int, np.ndarray]:
    (step,) = struct.unpack_from("<q", data, len(SNAPSHOT))
    return step, np.frombuffer(data, np.float32, offset=len(SNAPSHOT) + 8)


def encode_weights(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def decode_weights(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def main(
    config: TrainConfig,
    root: str,
    weights: dict | None,
    events: Connection,
    commands: Connection,
    snapshots: bool = False,
) -> None:
    """Train `config` (from `weights`, paused, if given) and send every event until the summary; with
    `snapshots`, the weights after each evaluation too."""
    threadpool_limits(1)
    os.nice(10)  # the server answers first; training takes whatever CPU is left
    controls = Controls()
    net: Network | None = None
    try:
        split = load_data(config, download=False, root=root)
        net = network_for(config, split)
        if weights is not None:
            net.load_state_dict(weights)
            controls.pause()
        threading.Thread(target=_obey, args=(commands, controls, net), daemon=True).start()
        for event in train(config, controls, split, net):
            events.send_bytes(orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY))
            if snapshots and event["type"] == "eval":
                events.send_bytes(encode_snapshot(event["step"], net.params))
        events.send_bytes(WEIGHTS + encode_weights(net.state_dict()))
    except Exception as e:  # the run's error for its pages; the traceback for the server's log (stderr)
        log.exception("training run failed")
        events.send_bytes(orjson.dumps(error(f"{type(e).__name__}: {e}")))
    finally:
        events.close()


def _obey(commands: Connection, controls: Controls, net: Network) -> None:
    actions = {
        "pause": lambda _: controls.pause(),
        "resume": lambda _: controls.resume(),
        "stop": lambda _: controls.stop(),
        "step": lambda n: controls.step(n),
        "set": lambda values: controls.set(**values),
        "weights": lambda _: commands.send(net.state_dict()),
    }
    while True:
        try:
            action, argument = commands.recv()
        except (EOFError, OSError):  # the server has gone: stop training
            controls.stop()
            return
        actions[action](argument)
