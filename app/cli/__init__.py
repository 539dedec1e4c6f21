"""The `descent` command line. Each subcommand module registers its own parser."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from app.cli import data, paths, serve, train
from app.cli.common import Parser, UsageError


def build_parser() -> Parser:
    parser = Parser(prog="descent", description="See and tune gradient-based optimizers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (paths, serve, data, train):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args) or 0
    except UsageError as e:
        print(f"descent: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `descent path | head`
        sys.stderr.close()
        return 0
