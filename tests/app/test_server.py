"""The server under connections that hold descriptors without asking for anything: half-sent request
heads are closed after a deadline, idle keep-alive connections after a timeout, and connections past
the cap at once; the server answers throughout."""

import socket
import time

import httpx
import pytest

from app import server
from app.main import create_app
from tests.conftest import serve


class Quick(server.TimedHTTP):
    header_seconds = 0.5
    max_connections = 20


def closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.fixture(scope="module")
def url():
    with serve(create_app(), http=Quick) as url:
        yield url


def address(url):
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def test_a_request_head_that_never_ends_is_closed_after_the_deadline(url):
    socks = [socket.create_connection(address(url)) for _ in range(10)]
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert all(closed(s, within=5) for s in socks)
    for s in socks:
        s.close()
    assert httpx.get(f"{url}/api/registry").status_code == 200


def test_a_whole_request_is_answered_and_its_idle_connection_closed_later(url):
    host, port = address(url)
    with socket.create_connection((host, port)) as s:
        s.sendall(f"GET /api/registry HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        s.settimeout(3 * server.KEEP_ALIVE_SECONDS)
        assert s.recv(64).startswith(b"HTTP/1.1 200")
        while s.recv(65536):  # the rest of the answer; then the keep-alive timeout closes it
            pass


def test_connections_past_the_cap_are_closed_at_once_and_the_server_recovers(url):
    held = [socket.create_connection(address(url)) for _ in range(Quick.max_connections)]
    time.sleep(0.1)  # the server has taken them all
    extra = socket.create_connection(address(url))
    assert closed(extra, within=0.4), "closed before any deadline"
    extra.close()
    for s in held:
        s.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            assert httpx.get(f"{url}/api/registry").status_code == 200
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
