"""What operators see live (issue 15): /metrics in the Prometheus text format for the platform's
operators and systems only, counts of the worker's actions, lateness, payouts and webhook attempts,
the due-index gauges, HTTP latency by route template; and the request id on every answer and log line,
with secrets masked. The clock is a VirtualClock moved by the test."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from shouhou.adapters.webhook_sender import Sent
from shouhou.clock import VirtualClock
from shouhou.domain.events import Event
from shouhou.entrypoints import logs
from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.api.telemetry import CountingSender, Instruments
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START

TOKENS = {"ops": ("platform", "ops", "platform_operator"), "erp": ("platform", "erp", "integration"),
          "cs": ("platform", "cs", "platform_cs"), "own": ("staff", "OWN", None), "b1": ("buyer", "B1", None)}


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Shouhou, clock: VirtualClock) -> Iterator[TestClient]:
    app.handle(c.CreateShop("S1", "S1", "kuaishou", return_address="S1 仓库"), PLATFORM)
    app.handle(c.AddStaff("OWN", "S1", "owner"), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, (kind, ident, role) in TOKENS.items():
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    now = clock.now()
    for oid in ("O1", "O2"):
        app.handle(c.ImportOrder("S1", "B1", 9900, id=oid, created_at=now - timedelta(days=5),
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
    with TestClient(create_app(app, access_log=True)) as test_client:
        yield test_client


def scrape(client: TestClient, token: str = "ops") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers=h(token))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def apply(client: TestClient, order: str) -> str:
    r = client.post(f"/v1/orders/{order}/tickets", json={"type": "return_refund", "reason": "quality", "evidence": ["crack.jpg"]},
                    headers=h("b1"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# -- who may read ------------------------------------------------------------------------------------

def test_metrics_are_for_the_platforms_operators_and_systems_only(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=h("nobody")).status_code == 401
    for who in ("cs", "own", "b1"):
        r = client.get("/metrics", headers=h(who))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", who
    for who in ("ops", "erp"):
        assert "shouhou_deadlines_due" in client.get("/metrics", headers=h(who)).text


# -- what they say -------------------------------------------------------------------------------------

def test_due_and_overdue_come_from_the_due_indexes_and_fired_actions_from_the_worker(
    client: TestClient, app: Shouhou, clock: VirtualClock,
) -> None:
    apply(client, "O1")
    assert scrape(client)[("shouhou_deadlines_due", (("kind", "ticket"),))] == 0
    clock.advance(timedelta(hours=48, minutes=2))  # KS-RR-1's review ran out two minutes ago
    seen = scrape(client)
    assert seen[("shouhou_deadlines_due", (("kind", "ticket"),))] == 1
    assert seen[("shouhou_deadlines_overdue", (("kind", "ticket"),))] == 1
    assert seen[("shouhou_deadline_oldest_due_seconds", (("kind", "ticket"),))] == 120
    assert app.tick() == 1
    after = scrape(client)
    assert after[("shouhou_deadlines_due", (("kind", "ticket"),))] == 0
    assert after[("shouhou_actions_fired_total", (("rule", "KS-RR-1"), ("type", "auto_approved")))] == 1
    assert after[("shouhou_action_lateness_seconds_count", ())] == 1  # one action, whatever it recorded
    assert after[("shouhou_action_lateness_seconds_sum", ())] == 120
    assert after[("shouhou_action_lateness_seconds_bucket", (("le", "60.0"),))] == 0
    assert after[("shouhou_action_lateness_seconds_bucket", (("le", "300.0"),))] == 1


def test_a_shops_own_actions_are_not_counted_as_the_workers(client: TestClient) -> None:
    ticket = apply(client, "O1")
    r = client.post(f"/v1/tickets/{ticket}/approve", json={}, headers=h("own"))
    assert r.status_code == 200, r.text
    assert not [k for k in scrape(client) if k[0] == "shouhou_actions_fired_total"]


def test_payouts_are_counted_by_outcome(client: TestClient, app: Shouhou) -> None:
    ticket = apply(client, "O1")
    for path, token, body in (("approve", "own", {}), ("waybill", "b1", {"carrier": "SF", "waybill": "SF1"}),
                              ("confirm-return", "own", None)):
        r = client.post(f"/v1/tickets/{ticket}/{path}", json=body, headers=h(token))
        assert r.status_code == 200, r.text
    app.tick()
    assert scrape(client)[("shouhou_payouts_total", (("outcome", "paid"),))] == 1


def test_parked_actions_are_counted_by_kind(client: TestClient, app: Shouhou, clock: VirtualClock) -> None:
    with app.uow() as uow:
        uow.park("ticket", "T-bad", "KeyError: 'gone'", clock.now(), lambda n: timedelta(minutes=n))
        uow.commit()
    assert scrape(client)[("shouhou_parked_actions", (("kind", "ticket"),))] == 1


def test_http_latency_is_labelled_by_route_template_never_the_raw_path(client: TestClient) -> None:
    ticket = apply(client, "O1")
    assert client.get(f"/v1/tickets/{ticket}", headers=h("own")).status_code == 200
    assert client.get("/v1/tickets/T-none", headers=h("own")).status_code == 404
    seen = scrape(client)
    counts = {labels: v for (name, labels), v in seen.items() if name == "shouhou_http_request_duration_seconds_count"}
    assert counts[(("method", "GET"), ("route", "/v1/tickets/{ticket_id}"), ("status", "2xx"))] == 1
    assert counts[(("method", "GET"), ("route", "/v1/tickets/{ticket_id}"), ("status", "4xx"))] == 1
    assert not [labels for labels in counts if ticket in str(labels)]


def test_webhook_attempts_are_counted_by_outcome() -> None:
    instruments = Instruments(CollectorRegistry())

    class Answers:
        def __init__(self) -> None:
            self.left = [Sent(204, 3, None), Sent(500, 3, "HTTP 500"), Sent(None, 10_000, "timed out")]

        def send(self, *args: Any) -> Sent:
            return self.left.pop(0)

    sender = CountingSender(Answers(), instruments)
    for _ in range(3):
        sender.send("http://x", "msg_1", {}, ["whsec_x"])
    assert {o: instruments.webhooks.labels(o)._value.get() for o in ("delivered", "http_error", "no_answer")} == {
        "delivered": 1, "http_error": 1, "no_answer": 1}


def test_several_processes_are_counted_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Multiprocess mode (serve --workers N): what another process counted is in this one's scrape."""
    code = ("from shouhou.entrypoints.api.telemetry import Instruments; "
            "Instruments.for_process().payouts.labels('paid').inc(3)")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = Instruments(None).exposition().decode()
    assert 'shouhou_payouts_total{outcome="paid"} 6.0' in text


def test_only_the_workers_batches_count_as_fired_actions() -> None:
    instruments = Instruments(CollectorRegistry())
    clock = VirtualClock(START)
    due = clock.now() - timedelta(seconds=3)
    mixed = [Event("approved", clock.now(), "staff:OWN", ticket_id="T1", rule="KS-RR-1"),
             Event("refunded", clock.now(), "system", ticket_id="T1", rule="KS-RR-5")]
    instruments.observe(mixed, clock.now())
    worker = [Event("auto_approved", due, "system", ticket_id="T2", rule="KS-RR-1"),
              Event("overdue_recorded", due, "system", ticket_id="T2", rule="KS-GOV-1")]
    instruments.observe(worker, clock.now())
    assert instruments.fired.labels("KS-RR-5", "refunded")._value.get() == 0
    assert instruments.fired.labels("KS-RR-1", "auto_approved")._value.get() == 1
    assert instruments.fired.labels("KS-GOV-1", "overdue_recorded")._value.get() == 1
    assert instruments.lateness._sum.get() == 3  # one action, observed once


# -- request ids and logs ----------------------------------------------------------------------------

@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logs.handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_answer_carries_a_request_id_honoured_when_sent(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz").headers["x-request-id"] != made
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a"}).headers["x-request-id"] == "lb-7f3a"
    for bad in ("x" * 129, "two words"):
        assert client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"] != bad
    assert client.get("/v1/me").headers["x-request-id"]  # refusals too
    assert client.get("/no/such/path").headers["x-request-id"]


def test_every_log_line_of_a_request_has_its_id_and_no_secret(client: TestClient, log_lines: io.StringIO) -> None:
    app = client.app

    @app.get("/test-logs")  # type: ignore[attr-defined,untyped-decorator]
    def in_a_thread() -> dict[str, str]:
        logging.getLogger("shouhou.test").info("working with Bearer %s", "sh_secret-token-1")
        return {}

    r = client.get("/test-logs?token=sh_secret-token-2", headers={"X-Request-ID": "req-42", **h("ops")})
    assert r.status_code == 200
    lines = [json.loads(x) for x in log_lines.getvalue().splitlines()]
    mine = [x for x in lines if x.get("request_id") == "req-42"]
    assert {x["logger"] for x in mine} == {"shouhou.test", "shouhou.http"}  # the route's line and the access line
    access = next(x for x in mine if x["logger"] == "shouhou.http")
    assert access["route"] == "/test-logs" and access["status"] == 200 and access["message"] == "GET /test-logs 200"
    assert "secret-token" not in log_lines.getvalue() and "ops" not in json.dumps(access)
    assert all("request_id" not in x for x in lines if x not in mine)


def test_secrets_are_masked_whoever_logs_them() -> None:
    assert logs.redact("Authorization: Bearer sh_abc.DEF-1") == "Authorization: Bearer ***"
    assert logs.redact("postgresql+psycopg://shouhou:hunter2@db:5432/x") == "postgresql+psycopg://shouhou:***@db:5432/x"
    assert logs.redact("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw rotated") == "secret whsec_*** rotated"
    assert logs.redact("token sh_Zx9-abc issued") == "token sh_*** issued"
    assert logs.redact("ticket T0001 approved by staff:OWN") == "ticket T0001 approved by staff:OWN"
