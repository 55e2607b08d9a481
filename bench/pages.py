"""Benchmark: the shop's queue page against the same query's JSON endpoint, in the same run.

Builds a SQLite database with one shop holding `--tickets` open tickets (pending review, applied
through the domain as the sweep benchmark does) plus a staff token, then times, through HTTP
(FastAPI's TestClient, in process, so no network in the figures):

- page: GET /shop/tickets (signed in by the session cookie): the queue's first 200 rows, soonest
  deadline first, with the counts of its six tabs, rendered by Jinja in Chinese;
- baseline: GET /v1/tickets?status=pending_review&limit=200 (bearer token): the same rows as JSON.

Both answers are checked to hold the same tickets. Prints each median and p95 in milliseconds, the
ratio page / baseline, and, last, one JSON line with the figures.

    python -m bench.pages                 # 1,000 tickets, 50 requests each
    python -m bench.pages --quick         # 200 tickets, 10 requests each
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from shouhou.adapters.db import create_schema, make_engine
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain import aftersales
from shouhou.domain.actors import Actor
from shouhou.domain.orders import Order
from shouhou.domain.shops import Buyer, Shop, Staff
from shouhou.entrypoints.api import create_app
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=SHANGHAI)
PACK = "kuaishou"
PLATFORM = Actor("platform", "bench", role="platform_operator")


def build(path: Path, tickets: int) -> Shouhou:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    policies = PolicyRegistry.default()
    pv = policies.get(PACK).at(NOW)
    clock = VirtualClock(NOW)
    with SqlUnitOfWork(engine, clock) as uow:
        uow.shops.add(Shop(id="S1", name="店铺", policy=PACK, status="normal", wallet_fen=10**7, deposit_fen=10**6,
                           wallet_opened_at=NOW - timedelta(days=400), created_at=NOW - timedelta(days=400),
                           return_address="杭州 1 号仓"))
        uow.staff.add(Staff(id="U1", shop_id="S1", role="cs_agent", name="客服"))
        for b in range(50):
            uow.buyers.add(Buyer(id=f"B{b:03d}", name=f"买家 {b}"))
        for i in range(tickets):
            applied = NOW - timedelta(minutes=1 + (i * 37) % 2800)
            signed = applied - timedelta(hours=1)
            buyer = f"B{i % 50:03d}"
            order = Order(id=f"KS-{i:05d}", shop_id="S1", buyer_id=buyer, policy=PACK, policy_version=pv.version,
                          amount_fen=1_000 + i, freight_fen=0, payment="online", kind="normal", marketing=False,
                          goods="physical", category="general", no_reason_return=True, commission={},
                          created_at=signed - timedelta(days=2), status="signed",
                          shipped_at=signed - timedelta(days=1), signed_at=signed)
            order.schedule(pv)
            ticket = aftersales.apply(f"T{i:06d}", order, Actor("buyer", buyer), pv, applied, "return_refund",
                                      "not_as_described", None, [], None)
            uow.orders.add(order)
            uow.tickets.add(ticket)
        uow.commit()
    app = Shouhou.with_fakes(engine, clock, policies)
    app.handle(c.IssueToken("staff", "U1", None, token="bench-agent"), PLATFORM)
    return app


def timed(fn: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(int(len(xs) * 0.95) - 1, 0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="200 tickets, 10 requests")
    args = ap.parse_args()
    tickets, n = (200, 10) if args.quick else (args.tickets, args.requests)
    with tempfile.TemporaryDirectory() as d:
        app = build(Path(d) / "pages.db", tickets)
        client = TestClient(create_app(app), headers={"Accept-Language": "zh-CN"})
        api = {"Authorization": "Bearer bench-agent"}
        client.cookies.set("shouhou_session", "bench-agent")
        page = client.get("/shop/tickets")
        data = client.get("/v1/tickets?status=pending_review&limit=200", headers=api)
        assert page.status_code == 200 and data.status_code == 200, (page.status_code, data.status_code)
        on_page = re.findall(r'name="ticket" value="(T\d+)"', page.text)
        in_json = [x["id"] for x in data.json()["items"]]
        assert on_page == in_json and len(on_page) == min(200, tickets), (len(on_page), len(in_json))
        page_ms = timed(lambda: client.get("/shop/tickets"), n)
        json_ms = timed(lambda: client.get("/v1/tickets?status=pending_review&limit=200", headers=api), n)
    result = {"bench": "pages", "tickets": tickets, "rows": len(on_page), "requests": n,
              "page_median_ms": round(statistics.median(page_ms), 1), "page_p95_ms": round(p95(page_ms), 1),
              "json_median_ms": round(statistics.median(json_ms), 1), "json_p95_ms": round(p95(json_ms), 1)}
    result["ratio"] = round(result["page_median_ms"] / result["json_median_ms"], 2)
    print(f"queue page  : median {result['page_median_ms']} ms, p95 {result['page_p95_ms']} ms "
          f"({tickets} open tickets, {len(on_page)} rows, 6 tab counts)")
    print(f"JSON (same) : median {result['json_median_ms']} ms, p95 {result['json_p95_ms']} ms")
    print(f"ratio page / JSON: {result['ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
