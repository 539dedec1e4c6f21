"""`descent train`: train a network on a 2D toy set or MNIST, with a progress bar and per-epoch metrics.

Its flags are generated from the training configuration's declaration (core/nn/config.py `OPTIONS`):
each number and registry name is a flag (`--batch-size`, `--clip-norm`, `--optimizer`, ...) with the
option's label and help, its defaults the seed's MNIST recipe (core/nn/recipes.py). The structured
fields have flags of their own: the dataset, `--data`, `--hidden` and `--activation`, `--lr` and
`--param`, `--schedule-param`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
from tqdm import tqdm

from app.cli.common import UsageError, number, pairs, seed, shown, store_file
from core.data import own
from core.data.mnist import DataError
from core.nn.config import OPTIONS, Option, TrainConfig
from core.nn.events import Event
from core.nn.recipes import RECIPES
from core.nn.training import load_data, network_for, train

DEFAULTS = RECIPES["seed_mnist"].config()  # the seed's MNIST recipe, its dataset aside
LIVE_DISPLAY = ("surface", "throttle")  # knobs of a page that draws as it trains: no flags
PARSERS: dict[str, Callable[[str], object]] = {"seed": seed}  # a number's own parser, where it has one


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise UsageError(
            f"--hidden takes comma-separated widths such as 600 or 16,16, got {shown(text)}"
        ) from None
    return [] if widths == [0] else widths


def config_from(args, hyper: dict[str, float] | None = None) -> TrainConfig:
    """The TrainConfig of the parsed flags; `hyper` (and the default optimizer) for a parser without
    --optimizer, --lr and --param (a race's)."""
    fields = {
        name: getattr(args, name)
        for name, o in OPTIONS.items()
        if _flagged(o) and name not in STRUCTURED and hasattr(args, name)
    }
    widths = _widths(args.hidden)
    activations = args.activation.split(",")
    if len(activations) == 1:
        activations *= len(widths)
    if len(activations) != len(widths):
        raise UsageError(
            f"--activation takes one name or one per hidden layer ({len(widths)}), got {args.activation!r}"
        )
    if hyper is None:
        hyper = pairs(args.param, "--param")
        if args.lr is not None:
            hyper["lr"] = args.lr
    dataset, data_id, data = _data(args)
    try:
        return TrainConfig(
            dataset=dataset,
            data=data,
            data_id=data_id,
            hidden=tuple(zip(widths, activations, strict=True)),
            hyper=hyper,
            schedule_params=pairs(args.schedule_param, "--schedule-param"),
            **fields,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None


def _data(args) -> tuple[str, str | None, dict[str, float]]:
    """(dataset, data_id, its parameters) of the flags: a named dataset, or --data-file's (kept in the
    data folder's store, as an upload is)."""
    data = pairs(args.data, "--data")
    split = {"test_fraction": args.test_fraction, "standardize": args.standardize}
    given = {name: value for name, value in split.items() if value is not None}
    if args.data_file is None:
        extra = [f"--{name.replace('_', '-')}" for name in given]
        extra += ["--label-column"] * (args.label_column is not None) + ["--regression"] * args.regression
        if extra:
            raise UsageError(f"{extra[0]} goes with --data-file FILE")
        if args.dataset is None:
            raise UsageError("name a dataset (moons, mnist, ...) or give --data-file FILE")
        return args.dataset, None, data
    if args.dataset is not None:
        raise UsageError(f"--data-file trains on the file: leave out the dataset ({args.dataset!r})")
    data_id = store_file(args.data_file, args.label_column or own.LABEL_COLUMN, args.regression)
    return own.NAME, data_id, {**data, **{k: float(v) for k, v in given.items()}}


def save_target(text: str | None) -> Path | None:
    """Where --save will write (numpy adds .npz to other names), checked before any training."""
    if text is None:
        return None
    if not text.strip():
        raise UsageError("--save takes a file name such as model.npz, got ''")
    target = Path(text if text.endswith(".npz") else text + ".npz")
    if text.endswith(("/", os.sep)) or Path(text).is_dir() or target.is_dir():
        raise UsageError(f"--save takes a file name such as model.npz, got the folder {text!r}")
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"--save: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--save: the folder {str(folder)!r} is not writable")
    return target


def _percent(value) -> str:
    return "   -  " if value is None else f"{100 * value:6.2f}%"


def _r2(value) -> str:
    return "   -  " if value is None else f"{value:7.4f}"


def cmd_train(args) -> int:
    config = config_from(args)
    target = save_target(args.save)
    try:
        try:
            split = load_data(config)
            net = network_for(config, split)
        except (ValueError, DataError) as e:
            raise UsageError(str(e)) from None
        with Report(args, config) as report:
            for event in train(config, split=split, net=net):
                report.show(event)
    except MemoryError as e:
        raise UsageError(f"out of memory ({e}); try smaller --hidden widths or --batch-size") from None
    if target is not None:
        _save(net, target)
        if not args.json:
            print(f"saved the model to {target}")
    return 0


def _save(net, target: Path) -> None:
    """Write beside `target`, then rename: Ctrl-C or a full disk never leaves half a model there."""
    partial = target.with_name(f".{target.name}.part.npz")
    try:
        net.save(partial)
        os.replace(partial, target)
    except OSError as e:
        raise UsageError(f"--save: cannot write {str(target)!r}: {e.strerror or e}") from None
    finally:
        partial.unlink(missing_ok=True)


class Report:
    """Prints training events: JSON lines, or a line per epoch and, on a terminal, a progress bar."""

    def __init__(self, args, config: TrainConfig, prefix: str = "", bar: bool = True):
        self.args, self.config, self.prefix, self.with_bar = args, config, prefix, bar
        self.per_epoch = 1
        self.bar: tqdm | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._close_bar()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def show(self, event: Event) -> None:
        if self.args.json:
            sys.stdout.write(orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        if event["type"] == "start":
            self.per_epoch = event["steps_per_epoch"]
        elif event["type"] == "steps" and self.with_bar and not self.args.quiet:
            self._advance(event["step"])
        elif event["type"] == "epoch":
            self._close_bar()
        if not self.args.json and (line := _line(event, self.config)) is not None:
            print(self.prefix + line, flush=True)

    def _advance(self, steps) -> None:
        if self.bar is None:
            epoch = (int(steps[0]) - 1) // self.per_epoch + 1
            desc = f"epoch {epoch}/{self.config.epochs}"
            # disable=None: no bar unless stderr is a terminal, so a redirected log stays clean
            self.bar = tqdm(total=self.per_epoch, desc=desc, unit="step", leave=False, disable=None)
        self.bar.update(len(steps))


def _line(event: Event, config: TrainConfig) -> str | None:
    """What a person reads of an event, if anything."""
    if event["type"] == "start":
        sizes = f"{event['train_size']} training and {event['test_size']} test examples"
        shape = f"{event['parameters']:,} parameters, {event['steps_per_epoch']} steps per epoch"
        name = f"data {config.data_id[:12]}" if config.data_id else config.dataset
        return f"{name}{' (regression)' if event['regression'] else ''}: {sizes}, {shape}"
    if event["type"] == "epoch":
        if "train_r2" in event:  # a regression
            train, test = f"R² {_r2(event.get('train_r2'))}", f"R² {_r2(event.get('test_r2'))}"
        else:
            train = f"acc {_percent(event['train_accuracy'])}"
            test = f"acc {_percent(event['test_accuracy'])}"
        return (
            f"epoch {event['epoch']:>3}/{config.epochs}  "
            f"train loss {event['train_loss'] or 0:.4f} {train}  "
            f"test loss {event['test_loss'] or 0:.4f} {test}  "
            f"{event['seconds']:.2f} s"
        )
    if event["type"] == "sharpness":
        return _sharpness_line(event)
    if event["type"] == "diverged":
        return event["message"]
    if event["type"] == "early_stop":
        return (
            f"early stop after epoch {event['stopped_epoch']}: "
            f"best test loss at epoch {event['best_epoch']}, weights restored"
        )
    if event["type"] == "summary":
        return f"{event['status']}: {event['steps']} steps in {event['seconds']:.1f} s"
    return None


def _sharpness_line(event) -> str:
    """The probe's λmax, and what its threshold applies to (λmax of P⁻¹H for Adam and RMSprop)."""
    measured = "preconditioned" if "preconditioned" in event else "sharpness"
    value, threshold = event[measured], event["threshold"]
    name = "λmax(P⁻¹H)" if measured == "preconditioned" else "λmax"
    shown = "-" if value is None else f"{value:.4g}"
    against = "" if threshold is None else f"  threshold {threshold:.4g}"
    if value is not None and threshold is not None:
        against += f" ({value / threshold:.1%})"
    return f"step {event['step']:>6}  {name} {shown}{against}"


def _flagged(option: Option) -> bool:
    return not option.internal and option.name not in LIVE_DISPLAY


def _help(option: Option) -> str:
    text = f"{option.label}; {option.help}" if option.help else option.label
    return text.replace("%", "%%") + " (default: %(default)s)"


def _option(p: argparse.ArgumentParser, option: Option) -> None:
    """A generated flag: a number, or a name the core checks against its registry."""
    flag = "--" + option.name.replace("_", "-")
    default = getattr(DEFAULTS, option.name)
    if option.kind == "choice":
        names = ", ".join(option.choices)
        p.add_argument(flag, default=default, metavar="NAME", help=f"one of {names}; {_help(option)}")
        return
    parse = PARSERS.get(option.name, lambda text: number(text, flag))
    p.add_argument(flag, type=parse, default=default, help=_help(option))


def _dataset(p: argparse.ArgumentParser, option: Option) -> None:
    names = [name for name in option.choices if name != own.NAME]  # --data-file names that one
    p.add_argument("dataset", nargs="?", choices=names, help="a built-in dataset; or give --data-file")


def _data_file(p: argparse.ArgumentParser, option: Option) -> None:
    p.add_argument(
        "--data-file",
        metavar="FILE",
        help="train on a .csv or .npz: numeric feature columns and a label column; kept, as an upload is, "
        "in `uploads` in the data folder",
    )
    p.add_argument(
        "--label-column", metavar="NAME", help=f"the file's label column (default: {own.LABEL_COLUMN})"
    )
    p.add_argument("--regression", action="store_true", help="the label is a numeric target (use --loss mse)")
    p.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="scale each feature by the training part's mean and std (default: on)",
    )
    p.add_argument(
        "--test-fraction",
        type=lambda s: number(s, "--test-fraction"),
        help="share of the file's rows held out for testing (default: 0.2)",
    )


def _data_flag(p: argparse.ArgumentParser, option: Option) -> None:
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="dataset parameter: train_size, test_size (images); samples, noise, test_fraction, seed; "
        "with --data-file: seed (the split's)",
    )


def _hidden(p: argparse.ArgumentParser, option: Option) -> None:
    layers = DEFAULTS.hidden
    widths = ",".join(str(w) for w, _ in layers) or "0"
    p.add_argument("--hidden", default=widths, help="comma-separated hidden widths; 0: no hidden layer")
    activations = ",".join(dict.fromkeys(a for _, a in layers))  # one name when all share it
    p.add_argument("--activation", default=activations, help="one activation, or one per hidden layer")


def _hyper(p: argparse.ArgumentParser, option: Option) -> None:
    lr = DEFAULTS.hyper["lr"]
    p.add_argument(
        "--lr", type=lambda s: number(s, "--lr"), default=lr, help=f"learning rate (default: {lr})"
    )
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="optimizer hyperparameter"
    )


def _schedule_params(p: argparse.ArgumentParser, option: Option) -> None:
    p.add_argument("--schedule-param", action="append", default=[], metavar="NAME=VALUE")


# Fields whose flags are not one value each: config_from reads them itself.
STRUCTURED = {
    "dataset": _dataset,
    "data": _data_flag,
    "data_id": _data_file,
    "hidden": _hidden,
    "hyper": _hyper,
    "schedule_params": _schedule_params,
}


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network; defaults: the seed's MNIST recipe")
    for option in OPTIONS.values():
        if _flagged(option):
            STRUCTURED.get(option.name, _option)(p, option)
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--save", metavar="FILE.npz", help="save the trained model")
    p.set_defaults(func=cmd_train)
