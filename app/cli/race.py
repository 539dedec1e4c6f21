"""`descent race`: race optimizers on one network, from the same weights and batches.

    descent race moons --optimizers sgd,momentum,adam --param adam.lr=0.001 --epochs 20 --surface 21 --json

The network and training flags are `descent train`'s (generated from core/nn/config.py), but for the
optimizer's: each racer is named in --optimizers, and --param sets a hyperparameter of every racer of
an optimizer (`adam.lr=0.001`) or of one racer by its place (`2.lr=0.001`). With --json every event
is a JSON line naming its racer (`"racer": k`), after a first `race` line; with --surface N a last
`surface` event gives the loss over an N×N grid on the plane of the racers' paths (core/nn/race.py).
"""

from __future__ import annotations

import sys

import orjson

from app.cli.common import UsageError, pairs, shown, whole
from app.cli.train import STRUCTURED, Report, _flagged, _option, config_from
from core.data.mnist import DataError
from core.nn.config import OPTIONS
from core.nn.race import MAX_RACERS, MIN_RACERS, Race, Racer, race_surface, surface_examples
from core.nn.surface import DIRECTIONS, RESOLUTION
from core.optimizers import OPTIMIZERS


def racers_from(args) -> list[Racer]:
    names = [n.strip() for n in args.optimizers.split(",")]
    if not MIN_RACERS <= len(names) <= MAX_RACERS:
        raise UsageError(f"--optimizers takes {MIN_RACERS} to {MAX_RACERS} names, got {len(names)}")
    for name in names:
        if name not in OPTIMIZERS:
            raise UsageError(f"--optimizers: unknown optimizer {shown(name)}; valid: {', '.join(OPTIMIZERS)}")
    hyper: list[dict[str, float]] = [{} for _ in names]
    for key, value in pairs(args.param, "--param").items():
        who, dot, name = key.partition(".")
        if not dot or not name:
            raise UsageError(f"--param takes OPTIMIZER.NAME=VALUE or INDEX.NAME=VALUE, got {shown(key)}")
        chosen = [k for k, n in enumerate(names) if n == who or str(k) == who]
        if not chosen:
            raise UsageError(f"--param {key}: {shown(who)} is neither a racer's optimizer nor its index")
        for k in chosen:
            hyper[k][name] = value
    try:
        return [Racer(name, h) for name, h in zip(names, hyper, strict=True)]
    except ValueError as e:
        raise UsageError(f"--param: {e}") from None


def _resolution(text: str) -> int:
    n = whole(text, "--surface", 0, int(RESOLUTION.high))
    if n and (n < RESOLUTION.low or n % 2 == 0):
        low, high = int(RESOLUTION.low), int(RESOLUTION.high)
        raise UsageError(f"--surface takes 0 (none) or an odd number in [{low}, {high}], got {n}")
    return n


def cmd_race(args) -> int:
    racers = racers_from(args)
    base = config_from(args, hyper={})
    try:
        race = Race(base, racers)
    except (ValueError, DataError) as e:
        raise UsageError(str(e)) from None
    out = sys.stdout
    if args.json:
        first = {
            "type": "race",
            "racers": [{"optimizer": r.optimizer, "hyper": dict(r.hyper)} for r in racers],
        }
        out.write(orjson.dumps(first).decode() + "\n")
    reports = [  # no progress bars: the racers' steps interleave
        Report(args, config, prefix=f"[{k} {r.optimizer}] ", bar=False)
        for k, (config, r) in enumerate(zip(race.configs, racers, strict=True))
    ]
    for k, event in race.events():
        if args.json:
            out.write(orjson.dumps({"racer": k, **event}, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        else:
            reports[k].show(event)
    if args.surface:
        split = race.split
        x, y = surface_examples(split)
        trajectories = [(t.steps, t.points()) for t in race.trajectories]
        surface, _ = race_surface(
            race.nets[0], x, y, race.initial, trajectories, args.surface_kind, args.surface, base.seed
        )
        if args.json:
            out.write(orjson.dumps(surface, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        else:
            explained = surface["explained"]
            share = f", {100 * sum(explained):.1f} % of the paths' variance in the plane" if explained else ""
            print(f"surface: {args.surface}×{args.surface} {args.surface_kind} grid{share}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("race", help="race optimizers on one network: the same weights and batches for each")
    for option in OPTIONS.values():
        if _flagged(option) and option.name not in ("optimizer", "hyper"):
            STRUCTURED.get(option.name, _option)(p, option)
    p.add_argument(
        "--optimizers",
        default="sgd,momentum,adam",
        help=f"{MIN_RACERS} to {MAX_RACERS} comma-separated optimizers, one per racer (default: %(default)s)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="WHO.NAME=VALUE",
        help="a hyperparameter of every racer of an optimizer (adam.lr=0.001) or of one racer (2.lr=0.001)",
    )
    p.add_argument(
        "--surface",
        type=_resolution,
        default=0,
        metavar="N",
        help="N odd: end with the loss over an N×N grid on the plane of the paths (default: none)",
    )
    p.add_argument("--surface-kind", choices=tuple(DIRECTIONS), default="pca", help="the plane's directions")
    p.add_argument("--json", action="store_true", help="one JSON event per line, each naming its racer")
    p.set_defaults(func=cmd_race)
