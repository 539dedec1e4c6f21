"""The `descent` command line. Each subcommand module registers its own parser."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from app.cli import data, paths, race, serve, train
from app.cli.common import Parser, UsageError

INTERRUPTED = 128 + 2  # the shell's status for a command ended by SIGINT (Ctrl-C)


class VersionAction(argparse.Action):
    """--version: the installed distribution's version, looked up only when asked for."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            number = version("descent")
        except PackageNotFoundError:
            number = "(unknown: the package is not installed)"
        print(f"descent {number}")
        parser.exit()


def build_parser() -> Parser:
    parser = Parser(prog="descent", description="See and tune gradient-based optimizers.")
    parser.add_argument("--version", action=VersionAction, help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", title="commands", parser_class=Parser)
    for module in (paths, serve, data, train, race):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:  # bare `descent`: what it can do, and a failing status for scripts
            sys.stderr.write(parser.format_help())
            print("descent: error: name a command; `descent COMMAND --help` lists its flags", file=sys.stderr)
            return 2
        return args.func(args) or 0
    except UsageError as e:
        print(f"descent: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("descent: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `descent path | head`
        sys.stderr.close()
        return 0
