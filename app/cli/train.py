"""`descent train`: train a network on a 2D toy set or MNIST, with a progress bar and per-epoch metrics."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson
from tqdm import tqdm

from app.cli.common import UsageError, number, pairs, seed, shown
from core.data.datasets import DATASETS
from core.data.mnist import IMAGE_SETS, DataError
from core.nn.training import TrainConfig, load_data, network_for, train


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise UsageError(
            f"--hidden takes comma-separated widths such as 600 or 16,16, got {shown(text)}"
        ) from None
    return [] if widths == [0] else widths


def config_from(args) -> TrainConfig:
    widths = _widths(args.hidden)
    activations = args.activation.split(",")
    if len(activations) == 1:
        activations *= len(widths)
    if len(activations) != len(widths):
        raise UsageError(
            f"--activation takes one name or one per hidden layer ({len(widths)}), got {args.activation!r}"
        )
    hyper = pairs(args.param, "--param")
    if args.lr is not None:
        hyper["lr"] = args.lr
    try:
        return TrainConfig(
            dataset=args.dataset,
            data=pairs(args.data, "--data"),
            hidden=tuple(zip(widths, activations, strict=True)),
            output=args.output,
            loss=args.loss,
            init=args.init,
            output_init=args.output_init,
            norm=args.norm,
            dropout=args.dropout,
            optimizer=args.optimizer,
            hyper=hyper,
            schedule=args.schedule,
            schedule_params=pairs(args.schedule_param, "--schedule-param"),
            batch_size=args.batch_size,
            epochs=args.epochs,
            l1=args.l1,
            l2=args.l2,
            max_norm=args.max_norm,
            patience=args.patience,
            eval_every=args.eval_every,
            eval_train_size=args.eval_train_size,
            seed=args.seed,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None


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

    def __init__(self, args, config: TrainConfig):
        self.args, self.config = args, config
        self.per_epoch = 1
        self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._close_bar()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def show(self, event: dict) -> None:
        kind, human = event["type"], not self.args.json
        if self.args.json:
            sys.stdout.write(orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        if kind == "start":
            self.per_epoch = event["steps_per_epoch"]
            if human:
                sizes = f"{event['train_size']} training and {event['test_size']} test examples"
                shape = f"{event['parameters']:,} parameters, {self.per_epoch} steps per epoch"
                print(f"{self.config.dataset}: {sizes}, {shape}", flush=True)
        elif kind == "steps" and not self.args.quiet:
            self._advance(event["step"])
        elif kind == "epoch":
            self._close_bar()
            if human:
                print(_epoch_line(event, self.config.epochs), flush=True)
        elif kind in ("diverged", "early_stop") and human:
            message = event.get("message") or (
                f"early stop after epoch {event['stopped_epoch']}: "
                f"best test loss at epoch {event['best_epoch']}, weights restored"
            )
            print(message, flush=True)
        elif kind == "summary" and human:
            print(f"{event['status']}: {event['steps']} steps in {event['seconds']:.1f} s")

    def _advance(self, steps) -> None:
        if self.bar is None:
            epoch = (int(steps[0]) - 1) // self.per_epoch + 1
            desc = f"epoch {epoch}/{self.config.epochs}"
            # disable=None: no bar unless stderr is a terminal, so a redirected log stays clean
            self.bar = tqdm(total=self.per_epoch, desc=desc, unit="step", leave=False, disable=None)
        self.bar.update(len(steps))


def _epoch_line(event: dict, epochs: int) -> str:
    return (
        f"epoch {event['epoch']:>3}/{epochs}  "
        f"train loss {event['train_loss']:.4f} acc {_percent(event['train_accuracy'])}  "
        f"test loss {event['test_loss'] or 0:.4f} acc {_percent(event['test_accuracy'])}  "
        f"{event['seconds']:.2f} s"
    )


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network; defaults: the seed's MNIST recipe")
    p.add_argument("dataset", choices=[*DATASETS, *IMAGE_SETS])
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="dataset parameter: train_size, test_size (images); samples, noise, test_fraction, seed",
    )
    p.add_argument("--hidden", default="600", help="comma-separated hidden widths; 0: no hidden layer")
    p.add_argument("--activation", default="relu", help="one activation, or one per hidden layer")
    p.add_argument("--output", default="softmax")
    p.add_argument("--loss", default="cross_entropy")
    p.add_argument("--init", default="he", help="hidden layers' initialization")
    p.add_argument("--output-init", default="xavier")
    p.add_argument("--norm", choices=["batch", "layer"], default=None)
    p.add_argument("--dropout", type=lambda s: number(s, "--dropout"), default=0.0, help="drop probability")
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--lr", type=lambda s: number(s, "--lr"), default=0.02)
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="optimizer hyperparameter"
    )
    p.add_argument("--schedule", default="constant")
    p.add_argument("--schedule-param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--batch-size", type=lambda s: number(s, "--batch-size"), default=16)
    p.add_argument("--epochs", type=lambda s: number(s, "--epochs"), default=25)
    p.add_argument("--l1", type=lambda s: number(s, "--l1"), default=0.0)
    p.add_argument("--l2", type=lambda s: number(s, "--l2"), default=2e-4, help="adds 2λw to the gradient")
    p.add_argument("--max-norm", type=lambda s: number(s, "--max-norm"), default=0.0, help="0: off")
    p.add_argument(
        "--patience", type=lambda s: number(s, "--patience"), default=0, help="early stopping; 0: off"
    )
    p.add_argument(
        "--eval-every", type=lambda s: number(s, "--eval-every"), default=0, help="steps; 0: epochs"
    )
    p.add_argument(
        "--eval-train-size",
        type=lambda s: number(s, "--eval-train-size"),
        default=0,
        help="training examples scored per evaluation; 0: all",
    )
    p.add_argument("--seed", type=seed, default=0, help="in [0, 2**32 - 1]")
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--save", metavar="FILE.npz", help="save the trained model")
    p.set_defaults(func=cmd_train)
