"""`descent data`: fetch and verify an image dataset, and say where it is."""

from __future__ import annotations

import sys

from app.cli.common import UsageError
from core.data.mnist import IMAGE_SETS, DataError, fetch, load


def _mirrors(urls: list[str]) -> list[str] | None:
    """The --mirror URLs, or None for the dataset's own mirrors."""
    for url in urls:
        if not url.strip():
            raise UsageError("--mirror takes a base URL such as https://example.org/mnist/, got ''")
    return urls or None


def cmd_data(args) -> None:
    spec = IMAGE_SETS[args.dataset]
    mirrors = _mirrors(args.mirror)
    try:
        # a download bar only on a terminal, so a redirected log stays clean
        folder = fetch(spec.name, mirrors=mirrors, progress=sys.stderr.isatty())
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


def register(sub) -> None:
    p = sub.add_parser("data", help="download an image dataset if needed, verify it, say where it is")
    p.add_argument("dataset", choices=list(IMAGE_SETS))
    p.add_argument("--mirror", action="append", default=[], metavar="URL", help="base URL to download from")
    p.set_defaults(func=cmd_data)
