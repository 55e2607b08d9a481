"""Issue 14: idempotency keys on every POST (Stripe's semantics), and order import as an upsert.
The same key with the same request acts once and answers the same bytes; another request under the
key is 422; a key whose request still runs is 409; keys belong to their token and last 24 hours on
the app's clock; 5xx, 429 and 401 are not kept. The concurrency test sends 20 requests with one key
at once (on PostgreSQL when SHOUHOU_TEST_DATABASE_URL names one)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from shouhou.adapters import tables as t
from shouhou.adapters.idempotency_table import KEPT, idempotency_keys, purge
from shouhou.clock import VirtualClock
from shouhou.config import Settings
from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.api.idempotency import fingerprint
from shouhou.services import commands as c
from shouhou.services.access import hash_token
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, run_threads

TOP_UP = "/v1/shops/S1/top-up"
BODY = {"account": "wallet", "amount": "10.00"}
ENVELOPE = {"code", "message_zh", "message_en", "rules"}


def h(token: str, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key is not None else {})}


def top_ups(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal_entries)
                                .where(t.journal_entries.c.kind == "top_up")).scalar_one())


def keys(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one())


def wallet(client: TestClient) -> str:
    return str(client.get("/v1/shops/S1/balances", headers=h("own")).json()["wallet"])


def setup(app: Shouhou) -> None:
    app.handle(c.CreateShop("S1", "S1", "douyin", wallet_fen=3000), PLATFORM)
    for mid, role in (("OWN", "owner"), ("AG", "cs_agent")):
        app.handle(c.AddStaff(mid, "S1", role), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, kind, ident in (("own", "staff", "OWN"), ("own-laptop", "staff", "OWN"), ("ag", "staff", "AG"),
                               ("b1", "buyer", "B1")):
        app.handle(c.IssueToken(kind, ident, token=token), PLATFORM)
    app.handle(c.IssueToken("platform", "ops", "platform_operator", token="plat"), PLATFORM)


@pytest.fixture
def client(app: Shouhou) -> Iterator[TestClient]:
    setup(app)
    with TestClient(create_app(app, settings=Settings(max_body_bytes=4 * 1024 * 1024)),
                    raise_server_exceptions=False) as cl:
        yield cl


def test_twenty_retries_with_one_key_top_up_once_and_answer_the_same_bytes(client: TestClient, engine: Engine) -> None:
    answers = [client.post(TOP_UP, json=BODY, headers=h("own", "topup-1")) for _ in range(20)]
    assert [r.status_code for r in answers] == [200] * 20
    assert answers[0].json()["wallet"] == "40.00" and wallet(client) == "40.00"  # +10.00 once, not +200.00
    assert top_ups(engine) == 1  # one journal entry
    assert {r.content for r in answers} == {answers[0].content}
    assert {r.headers["content-type"] for r in answers} == {"application/json"}
    assert "idempotent-replayed" not in answers[0].headers
    assert all(r.headers["idempotent-replayed"] == "true" for r in answers[1:])
    # without a key, each POST acts: keys are opt-in
    client.post(TOP_UP, json=BODY, headers=h("own"))
    assert top_ups(engine) == 2 and wallet(client) == "50.00"


def test_the_same_key_on_another_request_is_422_and_changes_nothing(client: TestClient, engine: Engine) -> None:
    assert client.post(TOP_UP, json=BODY, headers=h("own", "k")).status_code == 200
    for path, body in ((TOP_UP, {"account": "wallet", "amount": "11.00"}),  # another body
                       (TOP_UP + "?x=1", BODY),  # another query
                       ("/v1/shops/S2/top-up", BODY)):  # another path
        r = client.post(path, json=body, headers=h("own", "k"))
        assert r.status_code == 422, r.text
        assert set(r.json()) == ENVELOPE and r.json()["code"] == "invalid_input"
        assert "Idempotency-Key" in r.json()["message_en"] and "Idempotency-Key" in r.json()["message_zh"]
    assert top_ups(engine) == 1 and wallet(client) == "40.00"


def test_a_key_whose_request_still_runs_is_409_until_its_claim_goes_stale(client: TestClient, app: Shouhou,
                                                                            engine: Engine, clock: VirtualClock) -> None:
    body = b'{"account": "wallet", "amount": "10.00"}'
    now = clock.now()
    with engine.begin() as conn:  # what a request in flight leaves: the claim, no answer yet
        conn.execute(idempotency_keys.insert().values(
            token_hash=hash_token("own"), key="k", fingerprint=fingerprint("POST", TOP_UP, b"", body),
            claim="other", claimed_at=now, expires_at=now + KEPT))
    headers = {**h("own", "k"), "Content-Type": "application/json"}
    r = client.post(TOP_UP, content=body, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and set(r.json()) == ENVELOPE
    assert r.headers["retry-after"] == "1"
    assert top_ups(engine) == 0
    clock.advance(timedelta(minutes=4))
    assert client.post(TOP_UP, content=body, headers=headers).status_code == 409
    clock.advance(timedelta(minutes=2))  # the claimant died 6 minutes ago: the key is taken over
    first = client.post(TOP_UP, content=body, headers=headers)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    again = client.post(TOP_UP, content=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert top_ups(engine) == 1


def test_keys_belong_to_their_token(client: TestClient, engine: Engine) -> None:
    first = client.post(TOP_UP, json=BODY, headers=h("own", "k"))
    other = client.post(TOP_UP, json=BODY, headers=h("own-laptop", "k"))  # the same owner, another token
    assert (first.status_code, other.status_code) == (200, 200)
    assert "idempotent-replayed" not in other.headers and other.json()["wallet"] == "50.00"
    assert top_ups(engine) == 2
    with engine.connect() as conn:
        stored = set(conn.execute(select(idempotency_keys.c.token_hash)).scalars())
    assert stored == {hash_token("own"), hash_token("own-laptop")}  # hashes, never the tokens


def test_keys_last_24_hours_on_the_apps_clock(client: TestClient, engine: Engine, clock: VirtualClock) -> None:
    assert client.post(TOP_UP, json=BODY, headers=h("own", "k")).status_code == 200
    clock.advance(timedelta(hours=23, minutes=59))
    assert client.post(TOP_UP, json=BODY, headers=h("own", "k")).headers["idempotent-replayed"] == "true"
    assert top_ups(engine) == 1
    clock.advance(timedelta(minutes=1))  # 24 hours: the key is forgotten, the same request acts again
    r = client.post(TOP_UP, json=BODY, headers=h("own", "k"))
    assert r.status_code == 200 and "idempotent-replayed" not in r.headers
    assert top_ups(engine) == 2 and wallet(client) == "50.00"
    # the sweep forgets expired keys of every token
    client.post(TOP_UP, json=BODY, headers=h("own-laptop", "other"))
    assert keys(engine) == 2
    assert purge(engine, clock.now() + KEPT) == 2 and keys(engine) == 0


def test_refusals_are_replayed_but_server_errors_and_401_are_not_kept(client: TestClient, app: Shouhou,
                                                                         engine: Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    denied = client.post(TOP_UP, json=BODY, headers=h("ag", "k"))  # a CS agent may not top up: 403, kept
    again = client.post(TOP_UP, json=BODY, headers=h("ag", "k"))
    assert (denied.status_code, again.status_code) == (403, 403) and again.content == denied.content
    assert again.headers["idempotent-replayed"] == "true"
    assert keys(engine) == 1
    unknown = client.post(TOP_UP, json=BODY, headers=h("nobody", "k"))
    assert unknown.status_code == 401 and keys(engine) == 1  # no row for a token nobody issued

    real = app.handle
    calls = Counter[str]()

    def broken_once(*args: Any, **kw: Any) -> Any:
        calls["handle"] += 1
        if calls["handle"] == 1:
            raise RuntimeError("the database went away")
        return real(*args, **kw)

    monkeypatch.setattr(app, "handle", broken_once)
    failed = client.post(TOP_UP, json=BODY, headers=h("own", "k"))
    assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
    assert keys(engine) == 1  # released: only the 403's key is kept
    retried = client.post(TOP_UP, json=BODY, headers=h("own", "k"))
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert top_ups(engine) == 1


def test_a_rate_limited_request_does_not_keep_its_key(app: Shouhou, engine: Engine) -> None:
    setup(app)
    cl = TestClient(create_app(app, settings=Settings(rate_limit="2/minute")))
    assert cl.post(TOP_UP, json=BODY, headers=h("own", "a")).status_code == 200
    assert cl.post(TOP_UP, json=BODY, headers=h("own", "b")).status_code == 200
    assert cl.post(TOP_UP, json=BODY, headers=h("own", "c")).status_code == 429
    with engine.connect() as conn:
        assert set(conn.execute(select(idempotency_keys.c.key)).scalars()) == {"a", "b"}


@pytest.mark.parametrize("key", [b"", b"x" * 256, b"caf\xc3\xa9", b"tab\there"])
def test_a_bad_key_is_400_in_the_envelope_and_changes_nothing(client: TestClient, engine: Engine, key: bytes) -> None:
    r = client.post(TOP_UP, json=BODY, headers=[(b"authorization", b"Bearer own"), (b"idempotency-key", key)])
    assert r.status_code == 400 and set(r.json()) == ENVELOPE and r.json()["code"] == "bad_request"
    assert top_ups(engine) == 0 and keys(engine) == 0
    longest = client.post(TOP_UP, json=BODY, headers=h("own", "~" * 255))
    assert longest.status_code == 200


def test_a_large_body_is_hashed_as_it_streams(client: TestClient, engine: Engine) -> None:
    """Above 1 MiB the body is spooled to a file while hashed; one byte differs, the key refuses it."""
    padded = b'{"account": "wallet", "amount": "10.00"' + b" " * (2 * 1024 * 1024) + b"}"
    headers = {**h("own", "big"), "Content-Type": "application/json"}
    first = client.post(TOP_UP, content=padded, headers=headers)
    assert first.status_code == 200, first.text
    assert client.post(TOP_UP, content=padded, headers=headers).headers["idempotent-replayed"] == "true"
    assert client.post(TOP_UP, content=padded[:-2] + b"}", headers=headers).status_code == 422
    assert top_ups(engine) == 1


def test_twenty_requests_with_one_key_at_once_act_once(client: TestClient, engine: Engine) -> None:
    """On PostgreSQL the 20 claims race for the row; on SQLite BEGIN IMMEDIATE serialises them."""
    answers: list[httpx.Response] = []

    def send() -> None:
        answers.append(client.post(TOP_UP, json=BODY, headers=h("own", "race")))

    assert run_threads([send] * 20) == []
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1, statuses
    ran = [r for r in answers if r.status_code == 200 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1
    assert {r.content for r in answers if r.status_code == 200} == {ran[0].content}
    assert all(r.json()["code"] == "conflict" for r in answers if r.status_code == 409)
    assert top_ups(engine) == 1 and wallet(client) == "40.00"


ORDER = {"id": "EXT-1", "shop": "S1", "buyer": "B1", "amount": "99.00", "commission": {"tech_fee": "0.05"}}


def test_order_import_is_an_upsert(client: TestClient, engine: Engine) -> None:
    first = client.post("/v1/orders", json=ORDER, headers=h("plat"))
    assert first.status_code == 201, first.text
    again = client.post("/v1/orders", json=ORDER, headers=h("plat"))  # the order system retries, no key
    assert again.status_code == 201 and again.content == first.content
    with engine.connect() as conn:
        created = conn.execute(select(func.count()).select_from(t.events).where(
            t.events.c.order_id == "EXT-1", t.events.c.type == "order_created")).scalar_one()
    assert created == 1
    other = client.post("/v1/orders", json={**ORDER, "amount": "98.00", "buyer": "B2"}, headers=h("plat"))
    assert other.status_code == 409 and other.json()["code"] == "invalid_state"
    assert "amount" in other.json()["message_en"] and "buyer" in other.json()["message_en"]
    assert client.get("/v1/orders/EXT-1", headers=h("plat")).json()["amount"] == "99.00"
    # once shipped, the original import re-sent still answers (with the order as it stands); a time
    # it gives must be the one stored
    assert client.post("/v1/orders/EXT-1/ship", json={}, headers=h("own")).status_code == 200
    assert client.post("/v1/orders", json=ORDER, headers=h("plat")).json()["status"] == "shipped"
    late = client.post("/v1/orders", json={**ORDER, "created_at": "2020-01-01T00:00:00+08:00"}, headers=h("plat"))
    assert late.status_code == 409 and "created_at" in late.json()["message_en"]
