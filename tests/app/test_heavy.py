"""Long computations cannot starve the pages: past the heavy-work gate they get 429 at once, and pages,
registry answers and run controls are answered while the gate is full."""

import threading

import anyio
import httpx
import pytest
from fastapi import HTTPException

from app.heavy import Gate
from app.main import create_app
from app.routers import paths, tools
from tests.conftest import serve

BAND = {"landscape": "rosenbrock", "optimizer": "sgd", "noise": {"sigma_x": 16, "sigma_y": 4}, "seeds": 4}
EXPORT = {"landscape": "booth", "steps": 10, "racers": [{"optimizer": "sgd"}]}


def test_the_gate_admits_threads_plus_queue_and_refuses_the_rest():
    gate, release = Gate(threads=1, queue=1), threading.Event()
    outcomes = []

    async def ask():
        try:
            outcomes.append(await gate.run(release.wait, 10))
        except HTTPException as e:
            outcomes.append(e.status_code)

    async def main():
        async with anyio.create_task_group() as tasks:
            for _ in range(2):
                tasks.start_soon(ask)
            await anyio.sleep(0.1)
            await ask()  # the third: refused at once, while the first two are in
            assert outcomes == [429] and gate.admitted == 2
            release.set()
        assert outcomes == [429, True, True] and gate.admitted == 0
        assert await gate.run(lambda: "again") == "again"

    anyio.run(main)


@pytest.fixture
def full_gate(monkeypatch):
    """A gate of one thread and no queue, its thread held by a blocked seed band."""
    gate, release = Gate(threads=1, queue=0), threading.Event()
    monkeypatch.setattr(tools, "HEAVY", gate)
    monkeypatch.setattr(paths, "HEAVY", gate)
    real = tools._seed_band
    monkeypatch.setattr(tools, "_seed_band", lambda req: release.wait(30) and real(req))
    yield release
    release.set()


def test_heavy_requests_past_the_gate_get_429_and_pages_are_answered(full_gate):
    with serve(create_app()) as url, httpx.Client(base_url=url, timeout=30) as http:
        held = []
        first = threading.Thread(target=lambda: held.append(http.post("/api/tools/seed-band", json=BAND)))
        first.start()
        while not held and tools.HEAVY.admitted == 0:
            threading.Event().wait(0.01)
        r = http.post("/api/tools/seed-band", json=BAND)
        assert r.status_code == 429 and "try again" in r.json()["detail"]
        assert http.post("/api/paths/export", json=EXPORT).status_code == 429
        for page in ("/", "/tools", "/api/registry", "/api/log"):
            assert http.get(page).status_code == 200, page
        run = http.post("/api/runs", json={"dataset": "xor", "epochs": 500}).json()["id"]
        assert http.post(f"/api/runs/{run}/stop").status_code == 200
        full_gate.set()
        first.join(30)
        assert held[0].status_code == 200 and len(held[0].json()["seeds"]) == 4
        assert http.post("/api/paths/export", json=EXPORT).status_code == 200
