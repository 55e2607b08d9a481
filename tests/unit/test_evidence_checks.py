"""Issue 11, §3, the pure parts: KS-PI-2's evidence checks in the domain (the type detected from the
bytes must be the declared one; a side's evidence on one case has a total count and size, pack
values), the type detection, and the blob store taking a file in chunks."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from shouhou.adapters.blobs import CHUNK, LocalBlobStore, MemoryBlobStore, detect_type
from shouhou.domain import disputes
from shouhou.domain.tickets import Ticket
from shouhou.errors import Refusal
from shouhou.policies import PolicyRegistry

from .test_aftersales import BUYER, STAFF, policy
from .test_disputes import CS, at, case_for, rejected

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def collecting() -> tuple[disputes.Intervention, Ticket]:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    disputes.request_evidence(case, ticket, CS, pv, at("2026-10-08T11:00"))
    return case, ticket


def test_both_packs_carry_the_per_case_limits_with_their_rule() -> None:
    reg = PolicyRegistry.default()
    for name in reg.names():
        for v in reg.get(name).versions:
            iv = v.intervention
            assert iv.evidence_case_max_items.rule == iv.evidence_case_max_bytes.rule == {
                "kuaishou": "KS-PI-2", "douyin": "GEN-PI-2"}[name]
            assert iv.evidence_case_max_items.value >= iv.evidence_max_items.value
            assert iv.evidence_case_max_bytes.value >= iv.evidence_max_bytes.value


def test_a_declared_type_that_is_not_the_detected_one_is_refused() -> None:
    case, ticket = collecting()
    pv = policy("kuaishou")
    with pytest.raises(Refusal) as e:
        disputes.evidence_side(case, ticket, BUYER, pv, at("2026-10-08T12:00"), [("a.jpg", "image/png", 10)],
                               declared=["image/jpeg"])
    assert e.value.code == "invalid_input" and e.value.rules == ["KS-PI-2"] and "image/png" in e.value.message_en
    assert disputes.evidence_side(case, ticket, BUYER, pv, at("2026-10-08T12:00"), [("a.png", "image/png", 10)],
                                  declared=["image/png"]) == "buyer"


@pytest.mark.parametrize("limit", ["items", "bytes"])
def test_KS_PI_2_a_sides_evidence_on_a_case_is_bounded_over_every_submission(limit: str) -> None:
    case, ticket = collecting()
    pv = policy("kuaishou")
    iv = pv.intervention
    before = ({"buyer": (iv.evidence_case_max_items.value, 10)} if limit == "items"
              else {"buyer": (1, iv.evidence_case_max_bytes.value - 5)})
    with pytest.raises(Refusal) as e:
        disputes.evidence_side(case, ticket, BUYER, pv, at("2026-10-08T12:00"), [("a.jpg", "image/jpeg", 10)],
                               before=before)
    assert e.value.code == "limit_reached" and e.value.rules == ["KS-PI-2"]
    # the other side's count is its own
    assert disputes.evidence_side(case, ticket, STAFF, pv, at("2026-10-08T12:00"), [("a.jpg", "image/jpeg", 10)],
                                  before=before) == "shop"


@pytest.mark.parametrize(("head", "kind"), [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (b"%PDF-1.7\n", "application/pdf"), (b"GIF89a" + b"\x00" * 16, "image/gif"),
    ("发霉了 mould\n".encode(), "text/plain"), (b"MZ\x90\x00" + b"\x00" * 64, "application/vnd.microsoft.portable-executable"),
    (b"<html><script>alert(1)</script></html>", "text/html"), (b"\x00\x01\x02", "application/octet-stream"),
    (b"", "application/octet-stream")])
def test_the_type_comes_from_the_bytes(head: bytes, kind: str) -> None:
    assert detect_type(head) == kind


class Trickle(io.RawIOBase):
    """A file that says how much was asked of it at once."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.largest = data, 0, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        assert n != -1, "read whole"
        self.largest = max(self.largest, n)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("store", ["local", "memory"])
def test_put_stream_reads_in_chunks_and_hashes_on_the_way(store: str, tmp_path: Path) -> None:
    data = bytes(range(256)) * 2000  # 512 000 bytes
    blobs: LocalBlobStore | MemoryBlobStore = LocalBlobStore(tmp_path) if store == "local" else MemoryBlobStore()
    source = Trickle(data)
    stored = blobs.put_stream(source)  # type: ignore[arg-type]
    assert source.largest == CHUNK
    assert (stored.size, stored.sha256, stored.key) == (len(data), hashlib.sha256(data).hexdigest(),
                                                       hashlib.sha256(data).hexdigest())
    assert blobs.get(stored.key) == data
    again = blobs.put_stream(io.BytesIO(data))  # the same content: the same blob, no leftover temporary file
    assert again == stored
    if store == "local":
        assert not list(tmp_path.glob("*.upload"))  # type: ignore[attr-defined]
