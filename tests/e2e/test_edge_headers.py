"""Issue 11, §6: security headers on every answer (errors and 413s included), a CSP that lets the JSON
API load nothing and the docs and pages load only from this server (issue 13: the docs' assets are
local), and CORS only when origins are configured (SHOUHOU_CORS_ORIGINS)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.services.app import Shouhou

from .edge_world import client, h, populate

PREFLIGHT = {"Origin": "https://console.example.com", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


@pytest.fixture
def cl(app: Shouhou, clock: VirtualClock) -> TestClient:
    populate(app, clock)
    return client(app, max_body_bytes=1000)


def secure(r: Any, csp: bool = True) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    if csp:
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_every_answer_carries_the_security_headers(cl: TestClient) -> None:
    for r in (cl.get("/v1/me", headers=h("b1")), cl.get("/v1/me"), cl.get("/v1/nothing-here"),
              cl.delete("/v1/tickets", headers=h("b1")), cl.get("/openapi.json"),
              cl.post("/v1/orders/O1/tickets", json={"note": "x" * 2000}, headers=h("b1")),  # 413
              cl.post("/v1/orders/O1/tickets", json={}, headers=h("b1"))):  # 422
        secure(r)
        assert r.headers.get_list("x-content-type-options") == ["nosniff"]  # once


def test_the_docs_load_everything_from_this_server(cl: TestClient) -> None:
    """/docs and /redoc name only local scripts and styles, and their CSP allows nothing else."""
    for path in ("/docs", "/redoc"):
        r = cl.get(path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        secure(r, csp=False)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
        assert "cdn" not in r.text.lower() and "https://" not in r.text
        for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"
                      ) if path == "/docs" else ("/static/docs/redoc.standalone.js",):
            assert asset in r.text
            got = cl.get(asset)
            assert got.status_code == 200 and len(got.content) > 100_000


def test_the_pages_load_only_from_this_server(cl: TestClient) -> None:
    r = cl.get("/login")
    secure(r, csp=False)
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "form-action 'self'" in csp and "unsafe-inline" not in csp


def test_cors_is_off_unless_configured(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    off = client(app)
    r = off.options("/v1/me", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in off.get("/v1/me", headers={**h("b1"), "Origin": PREFLIGHT["Origin"]}).headers
    on = client(app, cors_origins=["https://console.example.com"])
    r = on.options("/v1/me", headers=PREFLIGHT)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://console.example.com"
    got = on.get("/v1/me", headers={**h("b1"), "Origin": "https://console.example.com"})
    assert got.headers["access-control-allow-origin"] == "https://console.example.com"
    other = on.options("/v1/me", headers={**PREFLIGHT, "Origin": "https://evil.example.com"})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example.com"
