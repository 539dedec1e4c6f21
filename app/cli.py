"""The `descent` command line: list the registries, run a path, print it as CSV, JSON or a table."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence

import orjson

from app.formats import csv_table
from core.landscapes import LANDSCAPES, get_landscape
from core.mnist import IMAGE_SETS, DataError, fetch, load
from core.noise import GradientNoise
from core.optimizers import OPTIMIZERS, get_optimizer
from core.params import Param
from core.paths import Steps, path
from core.schedules import SCHEDULES, get_schedule

STEPS = Param("steps", "steps", 1000, 1, 1_000_000, integer=True)


class UsageError(Exception):
    """A bad flag or value: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "-1.5,2.5" is a value (a start point), not an option
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message):
        raise UsageError(message)


def _pairs(values: Sequence[str], flag: str) -> dict[str, float]:
    """NAME=VALUE strings as a dict of floats."""
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{flag} takes NAME=VALUE, got {item!r}")
        out[name.strip()] = _number(value, f"{flag} {name}")
    return out


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{what} must be finite, got {text!r}")
    return value


def _point(text: str, what: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"{what} takes X,Y, got {text!r}")
    return _number(parts[0], what), _number(parts[1], what)


def _describe(params: Sequence[Param]) -> str:
    return ", ".join(f"{p.name}={p.default:g} [{p.low:g}, {p.high:g}]" for p in params) or "-"


def cmd_landscapes(args) -> None:
    for ls in LANDSCAPES.values():
        (x0, x1), (y0, y1) = ls.domain
        best = ls.global_minima[0]
        print(f"{ls.name:16} {ls.label}")
        print(f"{'':16} f = {ls.formula}")
        print(
            f"{'':16} domain x∈[{x0:g}, {x1:g}] y∈[{y0:g}, {y1:g}]; {len(ls.minima)} known minima,"
            f" global f({best.x:.5f}, {best.y:.5f}) = {best.value:.5f}; start {ls.start}"
        )
        if ls.params:
            print(f"{'':16} parameters: {_describe(ls.params)}")


def cmd_optimizers(args) -> None:
    for spec in OPTIMIZERS.values():
        print(f"{spec.name:10} {spec.label}: {spec.rule}")
        print(f"{'':10} {_describe(spec.params)}")


def cmd_schedules(args) -> None:
    for spec in SCHEDULES.values():
        print(f"{spec.name:12} {spec.label}: {spec.formula}; {_describe(spec.params)}")


def _run(args):
    """Validate every flag, then return the path's events (a generator)."""
    try:
        landscape = get_landscape(args.landscape, **_pairs(args.landscape_param, "--landscape-param"))
        spec = get_optimizer(args.optimizer)
        given = _pairs(args.param, "--param")
        if args.lr is not None:
            given["lr"] = args.lr
        given.setdefault("lr", landscape.lr[spec.family])
        hyper = spec.hyperparameters(**given)
        steps = STEPS.check(args.steps if args.steps is not None else landscape.steps)
        start = _point(args.start, "--start") if args.start else landscape.start
        if landscape.far_outside(*start):
            raise UsageError(f"--start {start} lies ten domain widths outside {landscape.domain}")
        noise = None
        if args.noise != "0":
            sx, sy = _point(args.noise, "--noise")
            noise = GradientNoise(sx, sy, args.dataset_size, args.batch_size)
        schedule = get_schedule(args.schedule, steps, **_pairs(args.schedule_param, "--schedule-param"))
    except ValueError as e:
        raise UsageError(str(e)) from None
    return path(landscape, spec, hyper, start, steps, noise, schedule, args.seed)


def cmd_path(args) -> None:
    *chunks, outcome = _run(args)
    steps = Steps.join(chunks)
    if args.format == "json":
        doc = {"steps": steps, "outcome": outcome}
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
    elif args.format == "csv":
        sys.stdout.write(csv_table([steps]))
        print(outcome.message, file=sys.stderr)
    else:
        every = max(1, len(steps) // 20)
        print(f"{'step':>7} {'x':>11} {'y':>11} {'loss':>12} {'|g|':>10} {'lr':>9}")
        for i in [*range(0, len(steps) - 1, every), len(steps) - 1]:
            print(
                f"{steps.step[i]:>7} {steps.x[i]:>11.5f} {steps.y[i]:>11.5f} {steps.loss[i]:>12.6g}"
                f" {steps.grad_norm[i]:>10.4g} {steps.lr[i]:>9.3g}"
            )
        print(f"{outcome.message}; distance to the nearest known minimum {outcome.distance:.3g}")


def cmd_serve(args) -> None:
    import uvicorn

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"descent: serving on {args.host}: anyone who can reach this machine can use the app",
            file=sys.stderr,
        )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        timeout_graceful_shutdown=2,  # open streams must not hold up Ctrl-C
    )


def cmd_data(args) -> None:
    spec = IMAGE_SETS[args.dataset]
    try:
        folder = fetch(spec.name, mirrors=args.mirror or None)
        data = load(spec.name, download=False)
    except (ValueError, DataError) as e:
        raise UsageError(str(e)) from None
    rows, cols = spec.shape
    counts = [len(data.y_train)] * 2 + [len(data.y_test)] * 2
    print(f"{spec.label}: {spec.description}")
    print(f"folder: {folder}")
    for file, count, what in zip(spec.files, counts, [f"images {rows}×{cols}", "labels"] * 2, strict=True):
        print(f"  {file.name:28} {count:>6} {what}")
    print("verified: each file's uncompressed bytes have the published MD5")
    print(f"classes: {', '.join(spec.class_names)}")


def build_parser() -> Parser:
    parser = Parser(prog="descent", description="See and tune gradient-based optimizers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("landscapes", help="list the loss landscapes").set_defaults(func=cmd_landscapes)
    sub.add_parser("optimizers", help="list the optimizers").set_defaults(func=cmd_optimizers)
    sub.add_parser("schedules", help="list the learning-rate schedules").set_defaults(func=cmd_schedules)

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("path", help="run one optimizer on one landscape and print the path")
    p.add_argument("--landscape", default="mccormick", help="registry name (see `descent landscapes`)")
    p.add_argument("--landscape-param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--optimizer", default="adam", help="registry name (see `descent optimizers`)")
    p.add_argument("--lr", type=lambda s: _number(s, "--lr"), help="default: the landscape's suggestion")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="hyperparameter")
    p.add_argument("--steps", type=lambda s: _number(s, "--steps"), help="default: the landscape's")
    p.add_argument("--start", metavar="X,Y", help="default: the landscape's suggested start")
    p.add_argument("--noise", default="0", metavar="SX,SY", help="per-axis σ of simulated noise; 0: exact")
    p.add_argument("--dataset-size", type=lambda s: _number(s, "--dataset-size"), default=2000)
    p.add_argument("--batch-size", type=lambda s: _number(s, "--batch-size"), default=4)
    p.add_argument("--schedule", default="constant", help="registry name (see `descent schedules`)")
    p.add_argument("--schedule-param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--format", choices=["csv", "json", "table"], default="csv")
    p.set_defaults(func=cmd_path)

    p = sub.add_parser("data", help="download an image dataset if needed, verify it, say where it is")
    p.add_argument("dataset", choices=list(IMAGE_SETS))
    p.add_argument("--mirror", action="append", default=[], metavar="URL", help="base URL to download from")
    p.set_defaults(func=cmd_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.func(args)
    except UsageError as e:
        print(f"descent: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `descent path | head`
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
