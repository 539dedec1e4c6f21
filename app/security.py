"""What every request must be and every response carries. Pure ASGI middleware: streams pass through.

Descent listens on the user's own machine, next to a browser that visits other sites. Two things keep
those sites out:

- DNS rebinding: a page on evil.example re-points its name at 127.0.0.1 and then reads this app as its
  own origin. Its requests carry `Host: evil.example`, so only Host headers naming the address the
  client actually reached (an IP literal, which no rebinding page can be), localhost, or a name the
  user allowed are answered (as Jupyter and Vite do).
- Cross-site requests (CSRF): another page may still *send* requests here (a form, a no-cors fetch,
  sendBeacon) without reading the answer. A request that changes state must carry no Origin or this
  app's own, and a body only of a type such a page cannot send without CORS (JSON, octet-stream).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException
from fastapi.responses import JSONResponse

MAX_BODY = 2**20  # bytes of a JSON request; uploads have their own, larger limit
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Request bodies other pages cannot send without a CORS preflight (which this app never grants).
BODY_TYPES = ("application/json", "application/octet-stream")
SAME_SITE_FETCHES = ("same-origin", "none")  # Sec-Fetch-Site of the app's own pages, or a typed URL


def content_security_policy(script_hashes: list[str]) -> str:
    """Scripts only from this app (plus the given inline scripts, by hash); no framing."""
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "  # Plotly styles its SVG inline
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Pure ASGI middleware (streams pass straight through): CSP, nosniff, no framing."""

    def __init__(self, app, csp: str):
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for a request body over its path's limit, whether announced (Content-Length) or streamed."""

    def __init__(self, app, limits: dict[str, int], default: int = MAX_BODY):
        self.app, self.limits, self.default = app, limits, default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limits.get(scope["path"], self.default)
        too_large = HTTPException(413, f"the request body may have at most {limit:,} bytes")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            response = JSONResponse({"detail": too_large.detail}, status_code=413)
            return await response(scope, receive, send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        await self.app(scope, counted, send)


def _split_host(value: str) -> tuple[str, int | None] | None:
    """(lower-case name without brackets, port or None) of a Host header; None if it is malformed."""
    try:
        parts = urlsplit(f"//{value}")
        name, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not name or parts.username is not None or parts.password is not None or parts.path:
        return None
    return name, port


def _refuse(status: int, message: str):
    return JSONResponse({"detail": message}, status_code=status)


class SameOrigin:
    """Answer only this app's own pages (see the module docstring).

    - 400 for a Host that names neither the address served (the IP the connection arrived at),
      localhost, 127.0.0.1, [::1], nor one of `names`; or whose port is not the one served.
    - 403 for a POST, PUT, PATCH or DELETE whose Origin is another origin, or whose Sec-Fetch-Site is
      neither same-origin nor none. Clients that send neither (curl, scripts) are let through.
    - 415 for such a request with a body of any type but JSON or octet-stream.
    """

    def __init__(self, app, names: Iterable[str] = ()):
        self.app = app
        self.names = {n.strip().lower().strip("[]") for n in (*LOOPBACK_NAMES, *names) if n.strip()}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self._check_host(scope, headers.get("host", ""))
        if problem is None and scope["method"] not in SAFE_METHODS:
            problem = self._check_origin(headers) or self._check_body(headers)
        if problem is not None:
            return await _refuse(*problem)(scope, receive, send)
        await self.app(scope, receive, send)

    def _check_host(self, scope, host: str) -> tuple[int, str] | None:
        served = scope.get("server") or (None, None)
        address, port = (str(served[0]).lower(), served[1]) if served[0] is not None else (None, None)
        split = _split_host(host)
        if split is None:
            return 400, f"the Host header {host!r} is not a host name or address"
        name, given_port = split
        if name not in self.names and name != address:
            return 400, (
                f"this server does not answer to the name {name!r} (Host: {host}); it answers to"
                f" {', '.join(sorted(self.names))} and its own address. To serve another name, start it"
                " with `descent serve --allowed-host NAME` (or set DESCENT_ALLOWED_HOSTS)"
            )
        if given_port is not None and port is not None and given_port != port:
            return 400, f"the Host header names port {given_port}, but this server listens on {port}"
        return None

    def _check_origin(self, headers: dict[str, str]) -> tuple[int, str] | None:
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != headers["host"].lower():
                return 403, f"cross-origin request refused: Origin {origin!r} is not this app"
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in SAME_SITE_FETCHES:
            return 403, f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
        return None

    def _check_body(self, headers: dict[str, str]) -> tuple[int, str] | None:
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if has_body and media not in BODY_TYPES:
            return 415, (
                f"a request body must be {' or '.join(BODY_TYPES)} (a saved model:"
                f" application/octet-stream), got {media or 'no Content-Type'!r}"
            )
        return None
