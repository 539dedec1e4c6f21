"""Paths as CSV or JSON: the same columns for the command line and the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from core.landscape.paths import Steps

COLUMNS = ("step", "x", "y", "loss", "lr", "grad_norm", "gx", "gy")


def csv_table(
    paths: Sequence[Steps], labels: Sequence[Sequence[str]] = (), label_names: Sequence[str] = ()
) -> str:
    """Header `step,x,y,loss,lr,grad_norm,gx,gy` and each optimizer buffer's x and y.

    Several paths go in one long table, each row led by its path's `labels` (named `label_names`);
    a buffer one optimizer lacks is left empty.
    """
    buffers = list(dict.fromkeys(name for steps in paths for name in steps.state))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*label_names, *COLUMNS, *(f"{b}_{axis}" for b in buffers for axis in "xy")])
    for i, steps in enumerate(paths):
        lead = list(labels[i]) if labels else []
        columns = np.column_stack([getattr(steps, c) for c in COLUMNS])
        state = [steps.state.get(b) for b in buffers]
        for j, row in enumerate(columns):
            rest = [v for s in state for v in (("", "") if s is None else map(float, s[j]))]
            writer.writerow([*lead, int(row[0]), *map(float, row[1:]), *rest])
    return out.getvalue()
