"""Issue 11, §3: evidence is a multipart upload, limited in size before it is read, streamed into the
blob store, its type detected from its bytes (and refused when the pack does not take it or the
sender named another), bounded per side per case (KS-PI-2), and downloaded as an attachment that no
browser sniffs into something else."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.config import Settings
from shouhou.entrypoints.api import create_app
from shouhou.services.app import Shouhou

from .edge_world import client, dispute_collecting_evidence, h, populate
from .test_edge_sizes import call, endless

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


@pytest.fixture
def cl(app: Shouhou, clock: VirtualClock) -> TestClient:
    populate(app, clock)
    return client(app)


def multipart(size: int, at_most: int) -> Iterator[bytes]:
    yield (b'--b0undary\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
           b"Content-Type: image/jpeg\r\n\r\n" + JPEG)
    for _ in range(at_most):
        yield b"\x00" * size


def upload(cl: TestClient, tid: str, token: str, *files: tuple[str, bytes, str]) -> Any:
    return cl.post(f"/v1/tickets/{tid}/intervention/evidence", files=[("files", f) for f in files], headers=h(token))


def test_a_126_megabyte_upload_is_refused_before_it_is_read(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    status, read, body = call(create_app(app, settings=Settings()), "/v1/tickets/T1/intervention/evidence",
                              [(b"content-length", b"126000000")], endless())
    assert (status, read) == (413, 0) and b"payload_too_large" in body


def test_an_upload_streaming_past_the_packs_limit_is_cut_off(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    status, read, _ = call(create_app(app, settings=Settings()), "/v1/tickets/T1/intervention/evidence", [],
                           multipart(size=1024 * 1024, at_most=200), b"multipart/form-data; boundary=b0undary")
    assert status == 413 and read <= 52  # the packs take at most 50 MiB a side per case, not 200 MiB


def test_evidence_is_uploaded_as_multipart_and_its_type_comes_from_its_bytes(cl: TestClient) -> None:
    tid = dispute_collecting_evidence(cl)
    r = upload(cl, tid, "b1", ("mould.png", PNG, "image/png"), ("note.txt", "发霉了".encode(), "text/plain; charset=utf-8"))
    assert r.status_code == 201, r.text
    items = r.json()["evidence_items"]
    assert [(x["name"], x["content_type"], x["size"]) for x in items] == [
        ("mould.png", "image/png", len(PNG)), ("note.txt", "text/plain", 9)]
    assert items[0]["sha256"] == hashlib.sha256(PNG).hexdigest()
    for files in ([("lies.jpg", PNG, "image/jpeg")],  # a PNG that says it is a JPEG
                  [("page.html", b"<html><script>alert(1)</script></html>", "text/html")],  # not a type the pack takes
                  [("page.txt", b"<html><script>alert(1)</script></html>", "text/plain")]):  # nor when it hides
        r = upload(cl, tid, "b1", *files)
        assert r.status_code == 422 and r.json()["code"] == "invalid_input" and r.json()["rules"] == ["KS-PI-2"], r.text
    assert cl.get(f"/v1/tickets/{tid}/intervention", headers=h("b1")).json()["evidence"]["buyer_items"] == 2


def test_a_download_is_an_attachment_of_the_detected_type_never_sniffed(cl: TestClient) -> None:
    tid = dispute_collecting_evidence(cl)
    item = upload(cl, tid, "own", ("霉斑 照片.jpg", JPEG, "image/jpeg")).json()["evidence_items"][0]
    got = cl.get(f"/v1/evidence/{item['id']}/content", headers=h("b1"))
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E9%9C%89%E6%96%91%20%E7%85%A7%E7%89%87.jpg" in got.headers["content-disposition"]


def test_KS_PI_2_a_side_has_a_total_per_case(cl: TestClient) -> None:
    """30 items a side per case on Kuaishou, over every submission (9 at most in each)."""
    tid = dispute_collecting_evidence(cl)
    for n in range(3):
        r = upload(cl, tid, "b1", *[(f"{n}-{i}.jpg", JPEG + bytes([n, i]), "image/jpeg") for i in range(9)])
        assert r.status_code == 201, r.text
    r = upload(cl, tid, "b1", *[(f"4-{i}.jpg", JPEG + bytes([4, i]), "image/jpeg") for i in range(4)])
    assert r.status_code == 422 and r.json()["code"] == "limit_reached" and r.json()["rules"] == ["KS-PI-2"], r.text
    assert upload(cl, tid, "b1", *[(f"4-{i}.jpg", JPEG + bytes([4, i]), "image/jpeg") for i in range(3)]).status_code == 201
    assert upload(cl, tid, "own", ("shop.jpg", JPEG, "image/jpeg")).status_code == 201  # the shop's count is its own


def test_a_bad_file_name_is_invalid_input(cl: TestClient) -> None:
    tid = dispute_collecting_evidence(cl)
    r = upload(cl, tid, "b1", ("n" * 256 + ".jpg", JPEG, "image/jpeg"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = cl.post(f"/v1/tickets/{tid}/intervention/evidence", json={"items": []}, headers=h("b1"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
