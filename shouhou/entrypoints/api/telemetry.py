"""What operators see live: Prometheus metrics (the prometheus-client library) and a request id on
every answer and every log line.

Counted as things happen (`Instruments`):

- `shouhou_actions_fired_total{rule,type}` and `shouhou_action_lateness_seconds` (a histogram of the
  clock when the action fired minus the time it was due, one observation per action), from the
  events the engine commits (Shouhou.observers): a batch whose every event is the system's is the
  worker's, and each of its events with a rule ID is counted, the records an action causes in the
  same transaction (an overdue record, a refund) under their own rule;
- `shouhou_payouts_total{outcome}`: paid, compensated (DY-OP-9), failed (retried), in_doubt;
- `shouhou_webhook_attempts_total{outcome}`: delivered, http_error, no_answer (CountingSender);
- `shouhou_http_request_duration_seconds{method,route,status}`: the route's template
  (`/v1/tickets/{ticket_id}`, never the raw path) and the status class (2xx…5xx).

Computed at each scrape from the due indexes (views.operations.gauges): `shouhou_deadlines_due`,
`shouhou_deadlines_overdue`, `shouhou_deadline_oldest_due_seconds` by kind (payouts and webhook
deliveries among them), `shouhou_parked_actions` by kind.

Several processes (`serve --workers N` and its background loop): prometheus-client's multiprocess
mode (PROMETHEUS_MULTIPROC_DIR, set by `serve`); any worker answers a scrape with everyone's counts.

/metrics needs a bearer token whose role may read_metrics (platform_operator, integration): the
counts are the whole platform's."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...adapters.webhook_sender import Sender, Sent
from ...domain.events import Event
from ...services.app import Shouhou
from ...services.views import operations as operations_views
from ..logs import REQUEST_ID
from .deps import ActorDep, NowDep, ShouhouDep, read
from .routing import include

log = logging.getLogger("shouhou.http")
PAYOUTS = {"refund_paid": "paid", "refund_payout_failed": "failed"}  # and advance_compensation: see below
LATENESS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Instruments:
    """The counters and histograms of one process. With a registry (one process, tests) they are
    exposed from it; in multiprocess mode they write to PROMETHEUS_MULTIPROC_DIR and the registry is
    None."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        self.fired = Counter("shouhou_actions_fired", "Events recorded by the deadline worker's automatic actions",
                             ["rule", "type"], registry=registry)
        self.lateness = Histogram("shouhou_action_lateness_seconds",
                                  "When an automatic action fired minus when it was due", buckets=LATENESS,
                                  registry=registry)
        self.payouts = Counter("shouhou_payouts", "Refund payouts by outcome", ["outcome"], registry=registry)
        self.webhooks = Counter("shouhou_webhook_attempts", "Webhook delivery attempts by outcome", ["outcome"],
                                registry=registry)
        self.http = Histogram("shouhou_http_request_duration_seconds", "HTTP requests by route template",
                              ["method", "route", "status"], buckets=LATENCY, registry=registry)

    @classmethod
    def for_process(cls) -> Instruments:
        """Multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set, else a registry of their own."""
        return cls(None if multiprocess_dir() else CollectorRegistry())

    def observe(self, events: Sequence[Event], now: datetime) -> None:
        """A committed batch of events (Shouhou.observers), at the clock's `now`."""
        by_worker = all(e.actor == "system" for e in events)
        actions: set[tuple[str | None, str | None, str | None, datetime]] = set()
        for e in events:
            outcome = PAYOUTS.get(e.type)
            if e.type == "advance_compensation" and "attempts" in e.payload:
                outcome = "compensated"  # DY-OP-9: the channel refused or the attempts ran out
            if outcome is not None:
                self.payouts.labels("in_doubt" if e.payload.get("in_doubt") else outcome).inc()
                continue
            if not by_worker or not e.rule:
                continue
            self.fired.labels(e.rule, e.type).inc()
            action = (e.ticket_id, e.order_id, e.shop_id, e.at)  # one action's records share these
            if action not in actions:
                actions.add(action)
                self.lateness.observe(max((now - e.at).total_seconds(), 0.0))

    def watch(self, shouhou: Shouhou) -> None:
        """Count what `shouhou` commits from now on (instead of any Instruments that counted before)."""
        shouhou.observers[:] = [o for o in shouhou.observers if not isinstance(o, Watcher)]
        shouhou.observers.append(Watcher(self, shouhou))

    def exposition(self) -> bytes:
        if self.registry is not None:
            return generate_latest(self.registry)
        everyone = CollectorRegistry()
        MultiProcessCollector(everyone)
        return generate_latest(everyone)


class Watcher:
    """The observer Instruments.watch gives an engine: its committed events, at its clock's time."""

    def __init__(self, instruments: Instruments, shouhou: Shouhou) -> None:
        self.instruments, self.shouhou = instruments, shouhou

    def __call__(self, events: list[Event]) -> None:
        self.instruments.observe(events, self.shouhou.clock.now())


class CountingSender:
    """A webhook Sender that counts each attempt's outcome."""

    def __init__(self, inner: Sender, instruments: Instruments) -> None:
        self.inner, self.instruments = inner, instruments

    def send(self, url: str, message_id: str, body: dict[str, Any], secrets: Sequence[str]) -> Sent:
        sent = self.inner.send(url, message_id, body, secrets)
        outcome = "delivered" if sent.ok else "http_error" if sent.status_code is not None else "no_answer"
        self.instruments.webhooks.labels(outcome).inc()
        return sent

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class Gauges:
    """The due-index gauges of one scrape (views.operations.gauges) as Prometheus metric families."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def collect(self) -> Iterable[Metric]:
        due = GaugeMetricFamily("shouhou_deadlines_due", "Automatic actions due now (parked ones included)",
                                labels=["kind"])
        overdue = GaugeMetricFamily("shouhou_deadlines_overdue",
                                    "Automatic actions still unfired a minute after they were due", labels=["kind"])
        oldest = GaugeMetricFamily("shouhou_deadline_oldest_due_seconds",
                                   "How long ago the oldest unfired due action was due", labels=["kind"])
        for kind, (n, late, age) in self.values["due"].items():
            due.add_metric([kind], n)
            overdue.add_metric([kind], late)
            oldest.add_metric([kind], age)
        parked = GaugeMetricFamily("shouhou_parked_actions", "Automatic actions parked after they raised",
                                   labels=["kind"])
        for kind, n in sorted(self.values["parked"].items()):
            parked.add_metric([kind], n)
        return [due, overdue, oldest, parked]


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> Response:
    """Prometheus text format: the counters of every process, then the due-index gauges."""
    values = read(sh, operations_views.gauges, actor, now)
    scrape = CollectorRegistry()
    scrape.register(Gauges(values))
    instruments: Instruments = request.app.state.instruments
    return Response(instruments.exposition() + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)


class Observe:
    """Outermost middleware: the request's id (X-Request-ID as sent, if it is 1–128 printable ASCII
    characters, else a new one) in REQUEST_ID for every log line and echoed on the answer; the
    request timed into the HTTP histogram by its route template; one access log line per request
    (path without its query, never a header)."""

    def __init__(self, app: ASGIApp, instruments: Instruments, access_log: bool = True) -> None:
        self.app, self.instruments, self.access_log = app, instruments, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = given_id(scope) or os.urandom(16).hex()
        token = REQUEST_ID.set(request_id)
        header = (b"x-request-id", request_id.encode())
        status = 500
        started = time.perf_counter()

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        failed = True
        try:
            await self.app(scope, receive, stamped)
            failed = False
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            raise
        finally:
            took = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.instruments.http.labels(scope["method"], template, f"{status // 100}xx").observe(took)
            if self.access_log:
                log.info("%s %s %d", scope["method"], scope["path"], status,
                         extra={"route": template, "status": status, "ms": round(took * 1000, 2)})
            if not failed:  # a 500 is answered outside this middleware (errors.unexpected), with the id
                REQUEST_ID.reset(token)


def given_id(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            if 1 <= len(value) <= 128 and all(0x21 <= b <= 0x7E for b in value):
                return str(value.decode("ascii"))
            return None
    return None


def install(app: FastAPI, shouhou: Shouhou, instruments: Instruments, access_log: bool = True) -> None:
    """Metrics and request ids on the app (added last: the outermost middleware)."""
    app.state.instruments = instruments
    instruments.watch(shouhou)
    include(app, router)
    app.add_middleware(Observe, instruments=instruments, access_log=access_log)
