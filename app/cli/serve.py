"""`descent serve`: the web app under uvicorn."""

from __future__ import annotations

import sys


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
        access_log=args.access_log,
        timeout_graceful_shutdown=2,  # open streams must not hold up Ctrl-C
    )


def register(sub) -> None:
    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    p.add_argument("--access-log", action="store_true", help="print a line for every request")
    p.set_defaults(func=cmd_serve)
