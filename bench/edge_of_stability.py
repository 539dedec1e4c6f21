"""The edge of stability (Cohen et al., ICLR 2021): under full-batch gradient descent the sharpness
λmax rises (progressive sharpening) until it reaches 2/η, then hovers there while the training loss
keeps falling, non-monotonically, over the long run. Reproduced for three step sizes with the paper's
conditions: MSE on a linear output, tanh hidden layers, a small subset of an image set (MNIST here).

Each η trains in its own process through core.nn.training.train with `sharpness_every`, exactly as the
network lab's race runs it. Per η the bench prints the training loss and λmax at checkpoints, the first
probe at which λ reached 0.9·2/η and, from there to the end, the share of probes within ±10 % of 2/η,
the least and greatest λ/(2/η), the median over the run's last third, and whether the loss fell from
then to the end (and at how many steps it rose on the way: the edge's non-monotone descent). The
verdict: the edge of stability, when λ started below 0.9·2/η, came within 3 % of 2/η, stayed within
±10 % at 90 % of the probes or more after reaching 0.9·2/η, and the loss fell.

    OPENBLAS_NUM_THREADS=1 DESCENT_DATA_DIR=... python bench/edge_of_stability.py [--steps 10000]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from multiprocessing import Pool

import numpy as np

from core.nn.race import EDGE_OF_STABILITY, EDGE_OF_STABILITY_RATES
from core.nn.training import TrainConfig, train

# The lab's "Edge of stability" preset: 784-200-200-200-10, tanh, Xavier, linear output and MSE, on 500
# MNIST images, full batch. Three tanh layers sharpen much further than two (λmax rises from about 22 to
# above 35 here, where 784-200-200-10 levels off near 30 as the loss vanishes), and 500 images are fitted
# fast enough for the edge to come within a few thousand steps.
STEPS = int(EDGE_OF_STABILITY["epochs"])  # a full-batch epoch is one step
RATES = EDGE_OF_STABILITY_RATES  # 2/η = 25, 28.6, 33.3; λmax starts near 22
CHECKPOINTS = (0, 500, 1000, 2000, 3000, 4000, 6000, 8000, 10_000)


def race(lr: float, steps: int) -> dict:
    """One racer: the per-step losses and the sharpness probes of a run at step size `lr`."""
    settings = {**EDGE_OF_STABILITY, "epochs": steps}
    config = TrainConfig(**settings, optimizer="sgd", hyper={"lr": lr}, throttle=1.0)
    losses: list[float] = []
    probes: list[tuple[int, float | None, float | None]] = []
    status, start = "", time.perf_counter()
    for event in train(config):
        if event["type"] == "steps":
            losses.extend(event["loss"].tolist())
        elif event["type"] == "sharpness":
            probes.append((event["step"], event["sharpness"], event["threshold"]))
        elif event["type"] == "summary":
            status = event["status"]
    return {
        "lr": lr,
        "losses": losses,
        "probes": probes,
        "status": status,
        "seconds": time.perf_counter() - start,
    }


def analyse(run: dict) -> dict:
    """The numbers of the table and the verdict, from one racer's losses and probes."""
    threshold = 2 / run["lr"]
    steps = np.array([step for step, _, _ in run["probes"]])
    ratio = np.array([np.nan if lam is None else lam / threshold for _, lam, _ in run["probes"]])
    losses = np.array(run["losses"])
    reached = np.flatnonzero(ratio >= 0.9)
    out = {"threshold": threshold, "steps": steps, "ratio": ratio, "losses": losses, "reach": None}
    if len(reached) == 0 or len(losses) == 0:
        out["verdict"] = "no edge: λ never reached 0.9·2/η"
        return out
    first = reached[0]
    rest = ratio[first:]
    reach_step = int(steps[first])
    loss_then = losses[max(reach_step - 1, 0)]
    tail = ratio[len(ratio) * 2 // 3 :]
    out.update(
        reach=reach_step,
        within=float(np.mean(np.abs(rest - 1) <= 0.1)),
        low=float(np.nanmin(rest)),
        high=float(np.nanmax(rest)),
        tail=float(np.nanmedian(tail)),
        loss_then=float(loss_then),
        loss_end=float(losses[-1]),
        rose=float(np.mean(np.diff(losses[max(reach_step - 1, 0) :]) > 0)),
    )
    checks = {
        "λ started below 0.9·2/η": ratio[0] < 0.9,
        "λ came within 3 % of 2/η": out["high"] >= 0.97,
        "λ stayed within ±10 % of 2/η": out["within"] >= 0.9,
        "the loss fell": out["loss_end"] < loss_then,
        "no divergence": run["status"] == "done",
    }
    failed = [name for name, ok in checks.items() if not ok]
    out["verdict"] = (
        "edge of stability" if not failed else "not shown: " + "; ".join(f"not {f}" for f in failed)
    )
    return out


def report(run: dict, result: dict) -> None:
    lr, threshold = run["lr"], result["threshold"]
    print(f"\nη = {lr:g}   2/η = {threshold:.2f}   ({len(result['losses'])} steps, {run['seconds']:.0f} s)")
    print(f"  {'step':>6} {'train loss':>11} {'λmax':>8} {'λ/(2/η)':>8}")
    by_step = dict(zip(result["steps"].tolist(), result["ratio"].tolist(), strict=True))
    for step in CHECKPOINTS:
        if step > len(result["losses"]):
            break
        loss = result["losses"][step - 1] if step else float("nan")
        ratio = by_step.get(step, float("nan"))
        loss_text = f"{loss:11.5f}" if step else f"{'':>11}"
        print(f"  {step:>6} {loss_text} {ratio * threshold:8.2f} {ratio:8.3f}")
    if result["reach"] is not None:
        print(f"  λ first reached 0.9·2/η at step {result['reach']}; from there to the end:")
        print(
            f"    probes within ±10 % of 2/η: {result['within']:.0%}   λ/(2/η) min {result['low']:.3f}"
            f" max {result['high']:.3f}   median over the last third {result['tail']:.3f}"
        )
        fell = "fell" if result["loss_end"] < result["loss_then"] else "did not fall"
        print(
            f"    train loss {result['loss_then']:.5f} -> {result['loss_end']:.5f} ({fell}; it rose at"
            f" {result['rose']:.0%} of the steps: not the monotone descent of steps below 2/η)"
        )
    print(f"  verdict: {result['verdict']}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    print(
        "Edge of stability: full-batch GD, 784-200-200-200-10 tanh, Xavier, linear output, MSE,"
        " 500 MNIST images, λmax every 100 steps"
    )
    start = time.perf_counter()
    with Pool(len(RATES)) as pool:
        runs = pool.starmap(race, [(lr, args.steps) for lr in RATES])
    results = [analyse(run) for run in runs]
    for run, result in zip(runs, results, strict=True):
        report(run, result)
    shown = sum(result["verdict"] == "edge of stability" for result in results)
    seconds = time.perf_counter() - start
    print(f"\nedge of stability shown for {shown} of {len(RATES)} step sizes ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
