"""`shouhou serve --workers N` (issue 15): uvicorn with uvloop and httptools, N worker processes that
build their app from the environment, and exactly one background loop (deadline worker and webhook
dispatcher) per serve. uvicorn.run is replaced: no port is opened, no process started."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shouhou.adapters.db import migrate
from shouhou.entrypoints import cli, serving

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'serve.db'}"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each uvicorn.run call, with the environment the workers would have been started with."""
    calls: list[dict[str, Any]] = []

    def fake(app: Any, **kw: Any) -> None:
        calls.append({"app": app, **kw, "env": {k: os.environ.get(k) for k in (
            "PROMETHEUS_MULTIPROC_DIR", "SHOUHOU_DATABASE_URL", "SHOUHOU_ACCESS_LOG")}})
        multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        calls[-1]["dir_existed"] = bool(multiproc) and Path(multiproc or "").is_dir()

    monkeypatch.setattr(serving.uvicorn, "run", fake)
    return calls


class FakeLoop:
    made: list[FakeLoop] = []

    def __init__(self, *args: Any) -> None:
        self.started = self.closed = False
        FakeLoop.made.append(self)

    def start(self) -> FakeLoop:
        self.started = True
        return self

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("bad", ["0", "65", "two"])
def test_workers_must_be_a_number_from_1_to_64(bad: str, url: str, served: list[dict[str, Any]]) -> None:
    result = runner.invoke(cli.app, ["serve", "--workers", bad, "--database-url", url])
    assert result.exit_code == 2 and "--workers" in result.output
    assert served == []


def test_one_worker_serves_the_app_in_this_process_on_the_fast_loop_and_parser(
    url: str, served: list[dict[str, Any]],
) -> None:
    result = runner.invoke(cli.app, ["serve", "--database-url", url, "--port", "8124"])
    assert result.exit_code == 0, result.output
    (call,) = served
    assert isinstance(call["app"], FastAPI) and "workers" not in call
    assert (call["loop"], call["http"], call["access_log"]) == ("uvloop", "httptools", False)
    assert call["env"]["PROMETHEUS_MULTIPROC_DIR"] is None  # one process: no multiprocess metrics


def test_several_workers_build_their_app_and_one_background_loop_runs_beside_them(
    url: str, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeLoop.made = []
    monkeypatch.setattr(serving, "Worker", FakeLoop)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("SHOUHOU_DATABASE_URL", raising=False)
    result = runner.invoke(cli.app, ["serve", "--workers", "3", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "3 worker process(es)" in result.stdout
    (call,) = served
    assert (call["app"], call["factory"], call["workers"]) == (serving.FACTORY, True, 3)
    assert (call["loop"], call["http"]) == ("uvloop", "httptools")
    assert call["env"]["SHOUHOU_DATABASE_URL"] == url and call["dir_existed"]
    assert [(x.started, x.closed) for x in FakeLoop.made] == [(True, True)]  # one loop, stopped with serve
    # this process as it was, the metrics directory gone
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None and os.environ.get("SHOUHOU_DATABASE_URL") is None
    assert not Path(call["env"]["PROMETHEUS_MULTIPROC_DIR"]).exists()


def test_no_worker_means_no_background_loop(url: str, served: list[dict[str, Any]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    FakeLoop.made = []
    monkeypatch.setattr(serving, "Worker", FakeLoop)
    assert runner.invoke(cli.app, ["serve", "--workers", "2", "--no-worker", "--database-url", url]).exit_code == 0
    assert FakeLoop.made == [] and len(served) == 1


def test_a_worker_process_builds_its_app_from_the_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(url)
    monkeypatch.setenv("SHOUHOU_DATABASE_URL", url)
    app = serving.app_from_environment()
    with TestClient(app) as client:
        r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.headers["x-request-id"]


def test_a_served_app_keeps_the_pool_of_shouhou_db_pool_size(url: str, served: list[dict[str, Any]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool keeps SHOUHOU_DB_POOL_SIZE connections open (16 by default) and opens as many again at a
    peak, in `serve`'s own process and in each worker process it starts."""
    result = runner.invoke(cli.app, ["serve", "--database-url", url, "--port", "8125"])
    assert result.exit_code == 0, result.output
    pool = served[0]["app"].state.shouhou.engine.pool
    assert (pool.size(), pool._max_overflow) == (16, 16)  # noqa: SLF001 - QueuePool has no public getter
    monkeypatch.setenv("SHOUHOU_DATABASE_URL", url)
    monkeypatch.setenv("SHOUHOU_DB_POOL_SIZE", "3")
    pool = serving.app_from_environment().state.shouhou.engine.pool
    assert (pool.size(), pool._max_overflow) == (3, 3)  # noqa: SLF001


def test_a_served_app_freezes_what_its_startup_made_and_a_test_app_does_not(
    url: str, served: list[dict[str, Any]],
) -> None:
    """`serve` builds its app with settle_heap: at startup the objects made so far leave the garbage
    collector's generations (gc.freeze), so full collections stop walking them. An app made without
    it (the tests' own) leaves the collector alone."""
    gc.unfreeze()
    try:
        result = runner.invoke(cli.app, ["serve", "--database-url", url, "--port", "8126", "--no-worker"])
        assert result.exit_code == 0, result.output
        (call,) = served
        assert gc.get_freeze_count() == 0  # built, not started
        with TestClient(call["app"]) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 50_000
        gc.unfreeze()
        with TestClient(serving.create_app(call["app"].state.shouhou)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
