"""How `shouhou serve` runs the API: uvicorn with its fast event loop and HTTP parser (uvloop and
httptools, pinned in requirements.lock), one or several worker processes, and exactly one background
loop (the deadline worker and the webhook dispatcher) per serve, whatever the number of workers.

- `--workers 1` (the default): one process serves and runs the background loop in a thread.
- `--workers N`: uvicorn's supervisor (this process) starts N worker processes, each building its
  own engine from the environment (`app_from_environment`: `serve` puts its options there first);
  the background loop runs here, in the supervisor, so N workers still fire each deadline once and
  send each webhook once. Metrics use prometheus-client's multiprocess mode: a directory made for
  this serve (PROMETHEUS_MULTIPROC_DIR, unless already set) that every process writes to, read whole
  by whichever worker answers GET /metrics, removed when serve stops.

Logs are JSON lines (logs.py), uvicorn's own included; uvicorn's access log is off: the API logs
each request itself with its request id (api/telemetry.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

import uvicorn
from fastapi import FastAPI
from prometheus_client import values

from ..adapters import db
from ..config import Settings
from ..services.app import Shouhou
from .api import create_app
from .api.telemetry import Instruments
from .api.worker import Worker
from .cli_common import load_settings, make_shouhou, registry
from .logs import UVICORN_LOGGING

# The settings every API process runs with (bench/http.py serves its bare baseline with them too).
UVICORN: dict[str, Any] = {
    "loop": "asyncio" if sys.platform == "win32" else "uvloop",  # uvloop has no Windows build
    "http": "httptools",
    "access_log": False,  # the API's own access log line carries the request id
    "log_config": UVICORN_LOGGING,
    "timeout_keep_alive": 5,
}
FACTORY = "shouhou.entrypoints.serving:app_from_environment"


def app_from_environment() -> FastAPI:
    """The app of one `serve --workers N` worker process: settings, packs and engine from the
    environment, as the serve that started it left them."""
    settings = load_settings()
    engine = db.make_engine(settings.database_url, pool_size=settings.db_pool_size)
    shouhou = make_shouhou(settings, engine, registry(settings))
    return create_app(shouhou, settings=settings, access_log=settings.access_log, settle_heap=True)


def multiprocess_metrics() -> str | None:
    """Turn on prometheus-client's multiprocess mode for this serve; the directory it made (to
    remove at the end), or None when PROMETHEUS_MULTIPROC_DIR was given."""
    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made = tempfile.mkdtemp(prefix="shouhou-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    # prometheus-client reads the variable when it is imported: metrics made from now on in this
    # process write to the directory (the workers, started after, read it at import)
    values.ValueClass = values.get_value_class()
    return made


def run(shouhou: Shouhou, settings: Settings, *, host: str, port: int, workers: int, background: bool) -> None:
    """Serve until stopped (SIGINT, SIGTERM), with the background loop when `background`: with one
    worker, in this process from the app's startup to its shutdown; with several, in this process
    (uvicorn's supervisor) beside them."""
    if workers == 1:
        app = create_app(shouhou, worker=background, worker_interval=settings.worker_interval,
                         worker_batch=settings.worker_batch, settings=settings, access_log=settings.access_log,
                         settle_heap=True)
        uvicorn.run(app, host=host, port=port, **UVICORN)
        return
    saved = {k: os.environ.get(k) for k in ("PROMETHEUS_MULTIPROC_DIR", "SHOUHOU_DATABASE_URL", "SHOUHOU_ACCESS_LOG")}
    made = multiprocess_metrics()
    loop = None
    if background:
        loop = Worker(shouhou, settings.worker_interval, settings.worker_batch, Instruments.for_process()).start()
    os.environ["SHOUHOU_DATABASE_URL"] = settings.database_url  # what the workers' settings read
    os.environ["SHOUHOU_ACCESS_LOG"] = "true" if settings.access_log else "false"
    try:
        uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, **UVICORN)
    finally:
        if loop is not None:
            loop.close()
        for key, value in saved.items():  # this process as it was (serve may be called again: tests)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        values.ValueClass = values.get_value_class()
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
