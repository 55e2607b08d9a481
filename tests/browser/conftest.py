"""Browser tests: the pages in Debian's Chromium (/usr/bin/chromium), driven by Playwright for Python,
against a live server (uvicorn in a thread) over the test database with the demo loaded. Without a
Chromium they are skipped, except under CI=true, where that is a failure (.ci/run installs it).
Screenshots go to docs/screenshots when SHOUHOU_SCREENSHOTS=1, else to the test's tmp_path."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.demo import load_demo
from shouhou.services.app import Shouhou

ROOT = Path(__file__).resolve().parents[2]


def chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop
    running in this thread while it is open, and tests that call asyncio.run would fail after it."""
    path = chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no Chromium at /usr/bin/chromium under CI=true (.ci/run installs it with apt-get)")
        pytest.skip("no Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only where a browser exists

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def server(app: Shouhou) -> Iterator[str]:
    """The demo marketplace served on a free port; the test's app (and its virtual clock) behind it."""
    load_demo(app)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("SHOUHOU_SCREENSHOTS") == "1":
        out = ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path
