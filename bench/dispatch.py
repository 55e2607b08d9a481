"""Benchmark: webhooks delivered per second by the dispatcher against a raw baseline, in the same run.

Builds a SQLite database with `--events` stored events and one platform-wide endpoint, starts a real
HTTP receiver on 127.0.0.1 (http.server, answering 204), then times:

- dispatch: Dispatcher.run_once() — place every event in the feed with its delivery (the outbox),
  claim, sign (standardwebhooks), post and record each attempt — with 1 thread and with `--threads`;
- baseline: the same message bodies posted by a plain loop with one httpx.Client (no database, no
  signing).

Checks the receiver got every message. Prints messages per second, the ratios dispatch / baseline,
and, last, one JSON line with the figures.

    python -m bench.dispatch                 # 2,000 events
    python -m bench.dispatch --quick         # 300 events
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from shouhou.adapters import webhooks as wh
from shouhou.adapters.db import create_schema, make_engine
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.adapters.webhook_sender import HttpSender, encode
from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain.events import Event
from shouhou.services.dispatch import Dispatcher

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=SHANGHAI)


class Receiver(BaseHTTPRequestHandler):
    ids: set[str] = set()
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with Receiver.lock:
            Receiver.count += 1
            Receiver.ids.add(self.headers.get("webhook-id", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def build(path: Path, events: int, url: str, clock: VirtualClock) -> SqlUnitOfWork:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with SqlUnitOfWork(engine, clock) as uow:
        wh.add_endpoint(uow.conn, {"id": "we_bench", "shop_id": None, "url": url, "events": None, "description": None,
                                   "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "old_secret": None,
                                   "old_secret_expires_at": None, "enabled": True, "disabled_reason": None,
                                   "failing_since": None, "after_event": 0, "created_at": NOW, "created_by": "bench",
                                   "updated_at": NOW})
        uow.store_events([Event("refunded", NOW, "system", shop_id="S1", order_id=f"O{i}", ticket_id=f"T{i}",
                                from_status="approved", to_status="refunded", rule="KS-RR-1",
                                payload={"amount": "99.00"}) for i in range(events)])
        uow.commit()
    return SqlUnitOfWork(engine, clock)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 300 if args.quick else args.events
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    figures: dict[str, object] = {"events": n, "threads": args.threads}
    clock = VirtualClock(NOW)
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, args.threads):
            proto = build(Path(tmp) / f"bench{threads}.db", n, url, clock)
            sender = HttpSender(allow_private=True)  # the receiver is on 127.0.0.1
            d = Dispatcher(lambda p=proto: SqlUnitOfWork(p.engine, clock), clock, sender, threads=threads)
            Receiver.ids, Receiver.count = set(), 0
            t0 = time.perf_counter()
            delivered = d.run_once()
            took = time.perf_counter() - t0
            sender.close()
            if delivered != n or len(Receiver.ids) != n:
                raise SystemExit(f"delivered {delivered}, received {len(Receiver.ids)} of {n}")
            figures[f"dispatch_{threads}_per_s"] = round(n / took, 1)
            print(f"dispatch, {threads} thread(s): {n / took:8.1f} messages/s ({took:.2f} s)")
        bodies = [encode({"id": f"msg_{i}", "type": "refunded", "timestamp": NOW.isoformat(), "data": {}})
                  for i in range(n)]
        Receiver.count = 0
        with httpx.Client() as client:
            t0 = time.perf_counter()
            for i, b in enumerate(bodies):
                client.post(url, content=b, headers={"content-type": "application/json", "webhook-id": f"msg_{i}"})
            took = time.perf_counter() - t0
        figures["baseline_per_s"] = round(n / took, 1)
        print(f"baseline (plain httpx loop): {n / took:8.1f} messages/s ({took:.2f} s)")
    server.shutdown()
    base = float(figures["baseline_per_s"])  # type: ignore[arg-type]
    for threads in (1, args.threads):
        ratio = float(figures[f"dispatch_{threads}_per_s"]) / base  # type: ignore[arg-type]
        figures[f"ratio_{threads}"] = round(ratio, 3)
        print(f"ratio dispatch ({threads} thread(s)) / baseline: {ratio:.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
