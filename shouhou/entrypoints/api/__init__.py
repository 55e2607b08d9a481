"""The HTTP API (FastAPI). Routes only translate: HTTP in, a command or query, JSON out. Rules live
in the domain; who may see what lives in the services (others' objects answer 404).

deps.py holds what routes depend on (the app, the caller, the clock's now), errors.py how refusals
become responses, routes/ one module per area with its router, schemas/ the bodies, actions.py the
factory of the POST .../{id}/<action> routes, worker.py the in-process deadline worker, telemetry.py
/metrics and the request ids."""

from fastapi import FastAPI

from ...config import Settings
from ...services.app import Shouhou
from .. import web
from . import edge, event_docs, hot_reads, idempotency, telemetry
from .errors import ERRORS
from .errors import install as install_error_handling
from .responses import SafeJSONResponse
from .routes import ROUTERS
from .routing import include
from .worker import lifespan


def create_app(shouhou: Shouhou, *, worker: bool = False, worker_interval: float = 1.0,
               worker_batch: int = 200, settings: Settings | None = None,
               instruments: telemetry.Instruments | None = None, access_log: bool = False,
               hot_lanes: bool = True, settle_heap: bool = False) -> FastAPI:
    """The API over `shouhou`; with `worker`, a deadline worker sweeps every `worker_interval`
    seconds, `worker_batch` due actions at a time, while the app runs. The edge's settings (body
    limit, rate limits, CORS) come from `settings`, or from the environment (SHOUHOU_*) without it.
    Metrics go to `instruments` (the process's own unless given); `access_log`: a log line per request.
    `hot_lanes`: the two hot reads skip FastAPI's parameter solving when they can (hot_reads.py).
    `settle_heap`: at startup, freeze what was made so far out of the garbage collector's reach
    (`serve` does; see api/worker.lifespan)."""
    settings = settings or Settings()
    instruments = instruments or telemetry.Instruments.for_process()
    app = FastAPI(
        title="shouhou 售后",
        version="0.1.0",
        description="After-sales engine: tickets whose deadlines act by themselves, policy packs for "
                    "Kuaishou (快手小店) and Douyin (抖店). Errors: `{code, message_zh, message_en, rules}`.",
        lifespan=lifespan(shouhou, worker=worker, interval=worker_interval, batch=worker_batch,
                          instruments=instruments, settle=settle_heap),
        responses=ERRORS,
        default_response_class=SafeJSONResponse,
        docs_url=None, redoc_url=None,  # served by the web package from local assets
    )
    app.state.shouhou = shouhou
    install_error_handling(app)
    idempotency.install(app, shouhou)  # inside the edge: added first, runs after it
    edge.install(app, settings, shouhou.policies)
    telemetry.install(app, shouhou, instruments, access_log)  # outermost: every answer has its id
    for router in ROUTERS:
        include(app, router)
    if hot_lanes:
        hot_reads.install(app)
    web.install(app)
    event_docs.install(app)
    return app
