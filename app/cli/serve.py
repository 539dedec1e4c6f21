"""`descent serve`: the web app under uvicorn."""

from __future__ import annotations

import ipaddress
import os
import sys

from app import settings
from app.cli.common import UsageError, whole

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::")


def _names(args) -> list[str]:
    """Host names the server answers to besides loopback and its own address: --host when it is a
    name (not an address), every --allowed-host, and $DESCENT_ALLOWED_HOSTS."""
    names = [*settings.allowed_hosts(), *args.allowed_host]
    try:
        ipaddress.ip_address(args.host)
    except ValueError:
        names.append(args.host)
    return list(dict.fromkeys(n.lower() for n in names if n.lower() not in LOOPBACK))


def cmd_serve(args) -> None:
    import uvicorn

    from app import server

    if not args.host.strip():
        raise UsageError("--host takes an interface address or name, e.g. 127.0.0.1 or 0.0.0.0; got ''")
    try:
        settings.check()
        # read by create_app (also on reload)
        os.environ[settings.ALLOWED_HOSTS.name] = ",".join(_names(args))
        settings.allowed_hosts()
    except settings.SettingsError as e:
        raise UsageError(str(e)) from None
    if args.host not in LOOPBACK:
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
        access_log=args.access_log,
        **server.options(),
    )


def register(sub) -> None:
    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: this machine only)")
    p.add_argument("--port", type=lambda s: whole(s, "--port", 1, 65535), default=8000)
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the app answers to besides localhost and its address, e.g. behind a proxy",
    )
    p.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    p.add_argument("--access-log", action="store_true", help="print a line for every request")
    p.set_defaults(func=cmd_serve)
