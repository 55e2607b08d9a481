"""Issue 11, §5: rate limits per token (SHOUHOU_RATE_LIMIT) and on failed authentication per client
address (SHOUHOU_AUTH_RATE_LIMIT): a clear 429 in the envelope with Retry-After. Nothing here waits:
the windows are a minute long and the tests stay inside one."""

from __future__ import annotations

from typing import Any

from shouhou.clock import VirtualClock
from shouhou.services.app import Shouhou

from .edge_world import client, h, populate


def limited(r: Any) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "rate_limited" and set(r.json()) == {"code", "message_zh", "message_en", "rules"}
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_each_token_has_its_own_rate(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    cl = client(app, rate_limit="3/minute")
    for _ in range(3):
        assert cl.get("/v1/me", headers=h("b1")).status_code == 200
    limited(cl.get("/v1/me", headers=h("b1")))
    limited(cl.get("/v1/tickets", headers=h("b1")))
    assert cl.get("/v1/me", headers=h("b2")).status_code == 200  # another token, its own count


def test_five_hundred_wrong_tokens_end_in_429s(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    cl = client(app)  # the defaults: 30 failures a minute per address
    statuses = [cl.get("/v1/me", headers=h(f"guess-{i}")).status_code for i in range(500)]
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    limited(cl.get("/v1/me", headers=h("guess-501")))
    limited(cl.get("/v1/me", headers=h("b1")))  # the address is held back, whatever token it now tries


def test_good_tokens_do_not_count_as_failures(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    cl = client(app, auth_rate_limit="2/minute")
    for _ in range(10):
        assert cl.get("/v1/me", headers=h("b1")).status_code == 200
    assert cl.get("/v1/me").status_code == 401  # a missing token is a failure
    assert cl.get("/v1/me", headers=h("nobody")).status_code == 401
    limited(cl.get("/v1/me", headers=h("nobody")))
