"""`descent landscapes|optimizers|schedules|path`: the registries, and one path as CSV, JSON or a table."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import orjson

from app.cli.common import UsageError, number, pairs, point, seed, shown
from app.formats import csv_table
from core.landscape.custom import CUSTOM, DEFAULT_DOMAIN, resolve
from core.landscape.landscapes import LANDSCAPES
from core.landscape.noise import GradientNoise
from core.landscape.paths import Steps, path
from core.optimizers import OPTIMIZERS, get_optimizer
from core.params import Param
from core.schedules import SCHEDULES, get_schedule

STEPS = Param("steps", "steps", 1000, 1, 1_000_000, integer=True)


def _describe(params: Sequence[Param]) -> str:
    return ", ".join(f"{p.name}={p.default:g} [{p.low:g}, {p.high:g}]" for p in params) or "-"


def cmd_landscapes(args) -> None:
    for ls in LANDSCAPES.values():
        (x0, x1), (y0, y1) = ls.domain
        best = ls.global_minima[0]
        print(f"{ls.name:16} {ls.label}")
        print(f"{'':16} f = {ls.formula}")
        n = len(ls.minima)
        known = "many local minima" if ls.many_minima else f"{n} known minim{'um' if n == 1 else 'a'}"
        print(
            f"{'':16} domain x∈[{x0:g}, {x1:g}] y∈[{y0:g}, {y1:g}]; {known},"
            f" global f({best.x:.5f}, {best.y:.5f}) = {best.value:.5f}; start {ls.start}"
        )
        if ls.params:
            print(f"{'':16} parameters: {_describe(ls.params)}")
    (x0, x1), (y0, y1) = DEFAULT_DOMAIN
    print(f"{CUSTOM:16} Your own function: --landscape {CUSTOM} --expr 'x**2 + 3*y**2'")
    default = f"{x0:g},{x1:g},{y0:g},{y1:g}"
    print(f"{'':16} --domain=XMIN,XMAX,YMIN,YMAX (default {default}); minima found numerically")


def cmd_optimizers(args) -> None:
    for spec in OPTIMIZERS.values():
        print(f"{spec.name:10} {spec.label}: {spec.rule}")
        print(f"{'':10} {_describe(spec.params)}")


def cmd_schedules(args) -> None:
    for spec in SCHEDULES.values():
        print(f"{spec.name:12} {spec.label}: {spec.formula}; {_describe(spec.params)}")


def _noise(text: str, dataset_size: float, batch_size: float) -> GradientNoise | None:
    """--noise SX,SY, or None for 0; the sampling flags are checked either way."""
    off = text.strip() == "0"
    sigma = (0.0, 0.0) if off else point(text, "--noise")
    noise = GradientNoise(*sigma, dataset_size, batch_size)  # type: ignore[arg-type]  # __post_init__ makes a whole float an int
    return None if off else noise


def _domain(text: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise UsageError(f"--domain takes XMIN,XMAX,YMIN,YMAX, got {shown(text)}")
    return [number(part, "--domain") for part in parts]


def _run(args):
    """Validate every flag, then return the path's events (a generator)."""
    try:
        domain = None if args.domain is None else _domain(args.domain)
        params = pairs(args.landscape_param, "--landscape-param")
        landscape = resolve(args.landscape, params, args.expr, domain)
        spec = get_optimizer(args.optimizer)
        given = pairs(args.param, "--param")
        if args.lr is not None:
            given["lr"] = args.lr
        given.setdefault("lr", landscape.lr[spec.family])
        hyper = spec.hyperparameters(**given)
        steps = STEPS.check(args.steps if args.steps is not None else landscape.steps)
        start = landscape.start if args.start is None else point(args.start, "--start")
        if landscape.far_outside(*start):
            raise UsageError(f"--start {start} lies ten domain widths outside {landscape.domain}")
        noise = _noise(args.noise, args.dataset_size, args.batch_size)
        schedule = get_schedule(args.schedule, steps, **pairs(args.schedule_param, "--schedule-param"))
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


def register(sub) -> None:
    sub.add_parser("landscapes", help="list the loss landscapes").set_defaults(func=cmd_landscapes)
    sub.add_parser("optimizers", help="list the optimizers").set_defaults(func=cmd_optimizers)
    sub.add_parser("schedules", help="list the learning-rate schedules").set_defaults(func=cmd_schedules)

    p = sub.add_parser("path", help="run one optimizer on one landscape and print the path")
    p.add_argument(
        "--landscape", default="mccormick", help="registry name (see `descent landscapes`), or custom"
    )
    p.add_argument("--landscape-param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--expr", metavar="TEXT", help="with --landscape custom: f(x, y), e.g. 'x**2 + 3*y**2'")
    p.add_argument(
        "--domain", metavar="XMIN,XMAX,YMIN,YMAX", help="with --landscape custom; default -3,3,-3,3"
    )
    p.add_argument("--optimizer", default="adam", help="registry name (see `descent optimizers`)")
    p.add_argument("--lr", type=lambda s: number(s, "--lr"), help="default: the landscape's suggestion")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="hyperparameter")
    p.add_argument("--steps", type=lambda s: number(s, "--steps"), help="default: the landscape's")
    p.add_argument("--start", metavar="X,Y", help="default: the landscape's suggested start")
    p.add_argument("--noise", default="0", metavar="SX,SY", help="per-axis σ of simulated noise; 0: exact")
    p.add_argument("--dataset-size", type=lambda s: number(s, "--dataset-size"), default=2000)
    p.add_argument("--batch-size", type=lambda s: number(s, "--batch-size"), default=4)
    p.add_argument("--schedule", default="constant", help="registry name (see `descent schedules`)")
    p.add_argument("--schedule-param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--seed", type=seed, default=0, help="noise seed, in [0, 2**32 - 1]")
    p.add_argument("--format", choices=["csv", "json", "table"], default="csv")
    p.set_defaults(func=cmd_path)
