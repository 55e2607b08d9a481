"""Webhooks and the event feed (issue 14): a receiver written with the `standardwebhooks` library
verifies every delivery; a dispatcher stopped between its steps loses nothing and re-sends under the
same webhook-id; retries, backoff, disabling, redelivery and rotation on the virtual clock; tenancy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shouhou.adapters import webhooks as wh
from shouhou.adapters import webhooks_table as wt
from shouhou.adapters.webhook_sender import HttpSender
from shouhou.event_types import message_schema
from shouhou.services import commands as c
from shouhou.services.dispatch import DISABLE_AFTER, KEEP, LEASE, SCHEDULE, Dispatcher

from ..conftest import PLATFORM, run_threads
from .test_api import apply, h, world  # noqa: F401  (the fixture)


class Receiver:
    """An integrator's endpoint: verifies each message with the library, answers 204 or 401 (or what
    `answer` says for a url)."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[str]] = {}
        self.answer: dict[str, int] = {}
        self.got: list[tuple[str, str, dict[str, Any]]] = []  # (url, webhook-id, body) verified
        self.rejected: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        try:
            body = self.verify(url, request.content, dict(request.headers))
        except WebhookVerificationError as e:
            self.rejected.append(str(e))
            return httpx.Response(401)
        status = self.answer.get(url, 204)
        if status < 300:
            self.got.append((url, request.headers["webhook-id"], body))
        return httpx.Response(status)

    def verify(self, url: str, content: bytes, headers: dict[str, str]) -> Any:
        last: WebhookVerificationError | None = None
        for s in self.secrets.get(url, []):
            try:
                return Webhook(s).verify(content, headers)
            except WebhookVerificationError as e:
                last = e
        raise last or WebhookVerificationError("no secret")

    def ids(self, url: str | None = None) -> list[str]:
        return [i for u, i, _ in self.got if url is None or u == url]


@pytest.fixture
def hooks(world: Any) -> Any:  # noqa: F811
    client, app, clock = world
    rx = Receiver()
    sender = HttpSender(transport=httpx.MockTransport(rx))
    return client, app, clock, rx, Dispatcher(app.uow, clock, sender, threads=1)


def register(client: Any, rx: Receiver, token: str, url: str, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/webhook-endpoints", json={"url": url, **body}, headers=h(token))
    assert r.status_code == 201, r.text
    ep: dict[str, Any] = r.json()
    assert ep["secret"].startswith("whsec_")
    rx.secrets[url] = [ep["secret"]]
    return ep


def event_ids(app: Any, shop: str, after: int = 0) -> list[str]:
    with app.uow(write=False) as uow:
        return [f"msg_{e['id']}" for e in uow.events_for(shop_id=shop) if e["id"] > after]


def last_event(app: Any) -> int:
    with app.uow(write=False) as uow:
        return max((e["id"] for e in uow.all_events()), default=0)


def test_a_dispatcher_killed_between_its_steps_loses_nothing_and_keeps_the_webhook_id(hooks: Any,
                                                                                      monkeypatch: Any) -> None:
    client, app, clock, rx, d = hooks
    url = "https://s1.example/hooks"
    register(client, rx, "own1", url)
    before = last_event(app)
    ticket = apply(client)  # events of shop S1, committed with the ticket
    # killed while placing: the transaction rolls back, the events stay unplaced
    with monkeypatch.context() as m:
        m.setattr(wh, "add_deliveries", lambda *a: (_ for _ in ()).throw(RuntimeError("killed")))
        with pytest.raises(RuntimeError):
            d.place()
    # killed between the claim's commit and the delivery: nothing sent; after the lease it goes out
    assert d.place() > 0
    claimed = d.claim()
    assert claimed and rx.got == []
    assert d.run_once() == 0  # still claimed by the dead dispatcher
    clock.set(clock.now() + LEASE + timedelta(seconds=1))
    assert d.run_once() == len(claimed)
    first = rx.ids(url)
    expected = event_ids(app, "S1", before)
    assert sorted(first) == sorted(expected) and len(set(first)) == len(first)
    # killed between delivery and recording: sent again after the lease, under the same ids
    r = client.post(f"/v1/tickets/{ticket['id']}/cancel", headers=h("b1"))
    assert r.status_code == 200, r.text
    d.place()
    claimed = d.claim()
    d.send(claimed)  # the receiver has them; the dispatcher dies before it records
    once = rx.ids(url)[len(first):]
    assert once and d.run_once() == 0
    clock.set(clock.now() + LEASE + timedelta(seconds=1))
    assert d.run_once() == len(claimed)
    assert rx.ids(url)[len(first) + len(once):] == once  # at least once, the same webhook-id
    assert sorted(set(rx.ids(url))) == sorted(event_ids(app, "S1", before))
    assert rx.rejected == []
    log = client.get(f"/v1/webhook-endpoints/{claimed[0]['endpoint_id']}/deliveries", headers=h("own1")).json()
    assert all(x["status"] == "delivered" for x in log["items"])
    body = rx.got[0][2]
    assert set(body) == {"id", "type", "version", "timestamp", "data"} and body["data"]["shop"] == "S1"
    for _url, _id, sent in rx.got:  # what arrived is what the published schema of its type says
        jsonschema.validate(sent, message_schema(sent["type"]), format_checker=jsonschema.FormatChecker())
    assert {"ticket", "order", "rule", "actor", "from_status", "to_status", "payload"} <= set(body["data"])


def test_the_library_rejects_a_wrong_secret_and_a_replayed_old_timestamp(hooks: Any) -> None:
    client, app, clock, rx, _ = hooks
    url = "https://s1.example/hooks"
    ep = register(client, rx, "own1", url)
    apply(client)
    stale = HttpSender(transport=httpx.MockTransport(rx),
                       stamp=lambda: datetime.now(UTC) - timedelta(minutes=6))
    d = Dispatcher(app.uow, clock, stale, threads=1)
    assert d.run_once() == 0 and rx.got == [] and rx.rejected
    assert all("too old" in e for e in rx.rejected)
    log = client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries", headers=h("own1")).json()["items"]
    assert log and all(x["attempt_log"][0]["status_code"] == 401 and x["status"] == "pending" for x in log)
    rx.secrets[url] = ["whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"]  # not its secret
    rx.rejected.clear()
    clock.set(clock.now() + SCHEDULE[0])
    good = Dispatcher(app.uow, clock, HttpSender(transport=httpx.MockTransport(rx)), threads=1)
    assert good.run_once() == 0 and rx.rejected and all("No matching signature" in e for e in rx.rejected)
    rx.secrets[url] = [ep["secret"]]
    clock.set(clock.now() + SCHEDULE[1])
    assert good.run_once() == len(log) and len(rx.got) == len(log)


def test_retries_back_off_for_three_days_then_the_endpoint_is_disabled_and_its_owner_told(hooks: Any) -> None:
    client, app, clock, rx, d = hooks
    bad, good = "https://s1.example/down", "https://s1.example/up"
    ep = register(client, rx, "own1", bad, events=["applied"])
    other = register(client, rx, "own1", good, events=["webhook_endpoint_disabled"])
    rx.answer[bad] = 500
    apply(client)
    start = clock.now()
    d.run_once()
    waits = []
    for i in range(len(SCHEDULE)):
        row = client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries", headers=h("own1")).json()["items"][0]
        assert row["attempts"] == i + 1 and row["status"] == "pending"
        due = datetime.fromisoformat(row["next_try_at"])
        waits.append(due - clock.now())
        clock.set(due - timedelta(seconds=1))
        assert d.run_once() == 0
        assert len(client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries",
                              headers=h("own1")).json()["items"][0]["attempt_log"]) == i + 1  # not before its time
        clock.set(due)
        d.run_once()
    assert tuple(waits) == SCHEDULE and clock.now() - start >= DISABLE_AFTER
    row = client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries", headers=h("own1")).json()["items"][0]
    assert row["status"] == "failed" and row["attempts"] == len(SCHEDULE) + 1
    assert all(a["status_code"] == 500 and a["latency_ms"] >= 0 for a in row["attempt_log"])
    got = client.get(f"/v1/webhook-endpoints/{ep['id']}", headers=h("own1")).json()
    assert got["enabled"] is False and "failed" in got["disabled_reason"]
    d.run_once()
    told = [b for u, _, b in rx.got if u == good]
    assert [b["type"] for b in told] == ["webhook_endpoint_disabled"] and told[0]["data"]["payload"]["endpoint"] == ep["id"]
    feed = client.get("/v1/events?limit=500", headers=h("own1")).json()["items"]
    assert "webhook_endpoint_disabled" in [x["type"] for x in feed]
    # enabled again and redelivered: the failed message goes out under its first id
    rx.answer[bad] = 204
    assert client.patch(f"/v1/webhook-endpoints/{ep['id']}", json={"enabled": True},
                        headers=h("own1")).json()["enabled"] is True
    r = client.post(f"/v1/webhook-deliveries/{row['id']}/redeliver", headers=h("own1"))
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert d.run_once() == 1 and rx.ids(bad) == [row["message_id"]]
    assert other["id"] != ep["id"]


def test_redeliver_everything_since_a_time_and_a_ping(hooks: Any) -> None:
    client, app, clock, rx, d = hooks
    url = "https://s1.example/hooks"
    ep = register(client, rx, "own1", url)
    apply(client)
    d.run_once()
    first = rx.ids(url)
    clock.set(clock.now() + timedelta(hours=1))
    r = client.post(f"/v1/webhook-endpoints/{ep['id']}/redeliver", json={"since": "2026-03-01T00:00:00+08:00"},
                    headers=h("own1"))
    assert r.status_code == 202 and r.json()["redelivering"] == len(first)
    d.run_once()
    assert rx.ids(url) == first + first
    r = client.post(f"/v1/webhook-endpoints/{ep['id']}/test", headers=h("own1"))
    assert r.status_code == 202
    d.run_once()
    assert rx.got[-1][1] == r.json()["message_id"] and rx.got[-1][2]["type"] == "ping"
    assert client.post(f"/v1/webhook-endpoints/{ep['id']}/redeliver", json={"since": "yesterday"},
                       headers=h("own1")).json()["code"] == "invalid_input"


def test_housekeeping_forgets_settled_deliveries_after_30_days_and_expired_idempotency_keys(hooks: Any) -> None:
    """The outbox does not grow for ever: what was delivered (or failed for good) is kept KEEP (30 days)
    with its attempts, then removed; a pending delivery is never removed; idempotency keys go after
    their 24 hours."""
    client, app, clock, rx, d = hooks
    url = "https://s1.example/hooks"
    ep = register(client, rx, "own1", url)
    apply(client)
    r = client.post("/v1/shops/S1/top-up", json={"account": "wallet", "amount": "1.00"},
                    headers={**h("own1"), "Idempotency-Key": "k-1"})
    assert r.status_code == 200, r.text
    d.run_once()
    delivered = len(rx.ids(url))
    rx.answer[url] = 500
    client.post(f"/v1/webhook-endpoints/{ep['id']}/test", headers=h("own1"))
    d.run_once()  # the ping fails: pending, with a retry due
    deliveries = client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries", headers=h("own1")).json()
    assert deliveries["total"] == delivered + 1
    clock.set(clock.now() + KEEP - timedelta(minutes=1))
    assert d.housekeep(clock.now()) == (0, 1)  # the key is past its 24 h; every delivery younger than 30 days
    clock.set(clock.now() + timedelta(minutes=2))
    assert d.housekeep(clock.now()) == (delivered, 0)
    left = client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries", headers=h("own1")).json()["items"]
    assert [x["type"] for x in left] == ["ping"] and left[0]["status"] == "pending"
    with app.uow(write=False) as uow:
        attempts = uow.conn.execute(select(func.count()).select_from(wt.webhook_attempts)).scalar_one()
    assert attempts == left[0]["attempts"] == 1


def test_a_rotated_secret_keeps_signing_beside_the_new_one_for_a_day(hooks: Any) -> None:
    client, app, clock, rx, d = hooks
    url = "https://s1.example/hooks"
    ep = register(client, rx, "own1", url)
    old = ep["secret"]
    r = client.post(f"/v1/webhook-endpoints/{ep['id']}/rotate-secret", headers=h("own1"))
    new = r.json()["secret"]
    assert r.status_code == 200 and new.startswith("whsec_") and new != old and r.json()["previous_secret_until"]
    for secret in (old, new):  # a receiver still on the old secret, and one already on the new
        rx.secrets[url] = [secret]
        client.post(f"/v1/webhook-endpoints/{ep['id']}/test", headers=h("own1"))
        d.run_once()
        assert len(rx.got) == (1 if secret == old else 2)
    clock.set(clock.now() + timedelta(hours=24, seconds=1))
    rx.secrets[url] = [old]
    client.post(f"/v1/webhook-endpoints/{ep['id']}/test", headers=h("own1"))
    d.run_once()
    assert len(rx.got) == 2 and rx.rejected  # the overlap is over
    assert "secret" not in client.get(f"/v1/webhook-endpoints/{ep['id']}", headers=h("own1")).json() or \
        client.get(f"/v1/webhook-endpoints/{ep['id']}", headers=h("own1")).json()["secret"] is None


def test_endpoints_and_the_feed_keep_to_the_callers_tenancy(hooks: Any) -> None:
    client, app, clock, rx, d = hooks
    s1, s2, plat = "https://s1.example/h", "https://s2.example/h", "https://platform.example/h"
    e1 = register(client, rx, "own1", s1)
    register(client, rx, "own2", s2)
    register(client, rx, "plat", plat)
    assert client.post("/v1/webhook-endpoints", json={"url": s1}, headers=h("ag1")).status_code == 403
    assert client.post("/v1/webhook-endpoints", json={"url": s1}, headers=h("b1")).status_code == 403
    assert client.post("/v1/webhook-endpoints", json={"url": s1, "shop": "S2"}, headers=h("own1")).status_code == 404
    client.post(f"/v1/webhook-endpoints/{e1['id']}/test", headers=h("own1"))
    d.run_once()
    delivery = client.get(f"/v1/webhook-endpoints/{e1['id']}/deliveries", headers=h("own1")).json()["items"][0]["id"]
    routes = [("get", "/v1/webhook-endpoints/{e}", None), ("patch", "/v1/webhook-endpoints/{e}", {"enabled": False}),
              ("delete", "/v1/webhook-endpoints/{e}", None), ("post", "/v1/webhook-endpoints/{e}/test", None),
              ("post", "/v1/webhook-endpoints/{e}/rotate-secret", None),
              ("get", "/v1/webhook-endpoints/{e}/deliveries", None),
              ("post", "/v1/webhook-endpoints/{e}/redeliver", {"since": "2026-03-01T00:00:00+08:00"}),
              ("post", "/v1/webhook-deliveries/{d}/redeliver", None)]
    for token, status in (("own2", 404), ("b2", None), ("ag1", 403)):
        for method, path, body in routes:  # another shop's endpoint answers as a missing one does
            kw = {"json": body} if body is not None else {}
            real = client.request(method, path.format(e=e1["id"], d=delivery), headers=h(token), **kw)
            ghost = client.request(method, path.format(e="we_nope", d=987654), headers=h(token), **kw)
            assert real.status_code == ghost.status_code, (token, method, path, real.text)
            assert real.status_code == status or (status is None and real.status_code in (403, 404)), real.text
    assert client.get(f"/v1/webhook-endpoints/{e1['id']}", headers=h("own1")).json()["enabled"] is True
    rx.got.clear()
    assert [x["id"] for x in client.get("/v1/webhook-endpoints", headers=h("own1")).json()["items"]] == [e1["id"]]
    assert client.get("/v1/webhook-endpoints", headers=h("plat")).json()["total"] == 3
    before = last_event(app)
    apply(client, "O1", "b1")
    apply(client, "O2", "b2")
    d.run_once()
    assert {b["data"]["shop"] for u, _, b in rx.got if u == s1} == {"S1"}
    assert {b["data"]["shop"] for u, _, b in rx.got if u == s2} == {"S2"}
    assert {b["data"]["shop"] for u, _, b in rx.got if u == plat} >= {"S1", "S2"}

    def pull(token: str, limit: int = 3) -> list[dict[str, Any]]:
        out, cursor = [], None
        for _ in range(100):
            q = f"/v1/events?limit={limit}" + (f"&after={cursor}" if cursor else "")
            page = client.get(q, headers=h(token)).json()
            out += page["items"]
            if not page["items"]:
                assert page["next"] == cursor or cursor is None
                return out
            cursor = page["next"]
        raise AssertionError("the feed never ended")

    everything = pull("plat")
    assert [x["id"] for x in everything] == [x["id"] for x in pull("plat", 500)]  # stable pages
    assert {x["data"]["shop"] for x in pull("own1")} == {"S1"}
    assert {x["data"]["order"] for x in pull("b1")} == {"O1"}
    assert len(everything) == last_event(app)  # the whole history, once
    # the feed and the webhooks agree on what came after the endpoint
    assert set(rx.ids(plat)) == {x["id"] for x in everything if int(x["id"][4:]) > before} != set()
    assert client.get("/v1/events?after=nonsense", headers=h("own1")).json()["code"] == "invalid_input"
    assert client.get("/v1/events?limit=0", headers=h("own1")).status_code == 422


def test_several_dispatchers_share_the_outbox_and_deliver_each_message_once(hooks: Any) -> None:
    """`shouhou dispatch` several times over one database: the feed places are given one dispatcher at
    a time (PostgreSQL's advisory lock, SQLite's write lock) and deliveries are claimed with SKIP LOCKED,
    so with no crash every message reaches every endpoint exactly once, in no dispatcher twice."""
    client, app, clock, rx, _ = hooks
    shop_url, plat_url = "https://s1.example/many", "https://platform.example/many"
    register(client, rx, "own1", shop_url)
    register(client, rx, "plat", plat_url)
    before = last_event(app)
    for i in range(60):
        app.handle(c.TopUp("S1" if i % 2 else "S2", "wallet", 100 + i), PLATFORM)
    sender = HttpSender(transport=httpx.MockTransport(rx))
    dispatchers = [Dispatcher(app.uow, clock, sender, batch=7) for _ in range(4)]
    sent: list[int] = []
    errors = run_threads([lambda d=d: sent.append(d.run_once()) for d in dispatchers])  # type: ignore[misc]
    assert errors == []
    with app.uow(write=False) as uow:
        seqs = [e["feed_seq"] for e in uow.all_events() if e["id"] > before]
    assert len(seqs) == 60 and None not in seqs and len(set(seqs)) == 60  # placed once each
    s1 = event_ids(app, "S1", before)
    assert sorted(rx.ids(shop_url)) == sorted(s1)  # the shop's endpoint: its 30 messages, once each
    assert len(rx.ids(plat_url)) == len(set(rx.ids(plat_url))) == 60  # the platform's: all 60, once each
    assert sum(sent) == 90 and rx.rejected == []


@pytest.mark.parametrize("url", ["ftp://x.example/h", "javascript:alert(1)", "https://", "http://x/" + "a" * 2100,
                                 "https://x.example/ h", "not a url"])
def test_a_bad_url_is_refused_in_the_envelope(world: Any, url: str) -> None:  # noqa: F811
    client, *_ = world
    r = client.post("/v1/webhook-endpoints", json={"url": url}, headers=h("own1"))
    assert r.status_code == 422 and set(r.json()) == {"code", "message_zh", "message_en", "rules"}
    r = client.post("/v1/webhook-endpoints", json={"url": "https://x.example", "events": ["Bad Type"]},
                    headers=h("own1"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert json.loads(r.text)["message_en"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/h", "http://10.1.2.3/h", "http://[::1]/h", "http://localhost/h",
                                 "http://169.254.169.254/latest/meta-data", "https://192.168.0.9/h",
                                 "http://api.localhost/h"])
def test_an_endpoint_on_a_private_address_is_refused_unless_allowed(world: Any, url: str) -> None:  # noqa: F811
    """Server-side request forgery: a shop may not aim shouhou's posts at the platform's own network."""
    client, app, _ = world
    r = client.post("/v1/webhook-endpoints", json={"url": url}, headers=h("own1"))
    assert r.status_code == 422 and "private" in r.json()["message_en"]
    app.allow_private_webhooks = True  # SHOUHOU_WEBHOOK_ALLOW_PRIVATE=true: receivers on your own network
    assert client.post("/v1/webhook-endpoints", json={"url": url}, headers=h("own1")).status_code == 201


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254", "::1"])
def test_the_sender_refuses_to_post_to_a_private_address_before_connecting(host: str) -> None:
    """A name may resolve to a private address after it was registered: the default transport checks
    every post, and the refusal is an attempt's error in the delivery log, not a crash."""
    sender = HttpSender(timeout=1)
    url = f"http://[{host}]/h" if ":" in host else f"http://{host}/h"
    sent = sender.send(url, "msg_1", {"id": "msg_1"}, ["whsec_" + "A" * 32])
    assert sent.status_code is None and sent.error is not None and "not a public address" in sent.error
    sender.close()
