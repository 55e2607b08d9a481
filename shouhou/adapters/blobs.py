"""Where evidence files live: a pluggable blob store, content-addressed by SHA-256 (a local folder by
default). A file written by a transaction that then rolls back stays as an unreferenced blob;
content addressing makes a retry reuse it. `put_stream` takes a file in chunks, hashing as it writes
to a temporary file that is then renamed: an upload is never whole in memory. `detect_type` tells a
file's type from its first bytes (puremagic), not from what the sender says it is."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import puremagic

CHUNK = 64 * 1024
HEAD = 8192  # what detect_type needs to see of a file
UNKNOWN = "application/octet-stream"


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...

    def put_stream(self, stream: BinaryIO) -> Stored: ...

    def get(self, key: str) -> bytes: ...


def _is_text(head: bytes) -> bool:
    """UTF-8 without control characters; a sample as long as HEAD may end inside a character."""
    for cut in range(4 if len(head) >= HEAD else 1):
        try:
            decoded = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return all(c >= " " or c in "\t\n\r\f" for c in decoded)
    return False


def detect_type(head: bytes) -> str:
    """The media type of a file from its first bytes (the first HEAD of them, or all of a shorter
    file): a known signature, else text/plain for UTF-8 text without control characters, else
    application/octet-stream."""
    if not head:
        return UNKNOWN
    try:
        found = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return found
    return "text/plain" if _is_text(head) else UNKNOWN


class LocalBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise KeyError(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return key

    def put_stream(self, stream: BinaryIO) -> Stored:
        """The file read in chunks into a temporary file beside the store, hashed on the way, then
        renamed to its key (or dropped when the store already has it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, suffix=".upload")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            key = digest.hexdigest()
            path = self._path(key)
            if path.exists():
                tmp.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Stored(key, size, key)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()


class MemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        self.blobs[key] = data
        return key

    def put_stream(self, stream: BinaryIO) -> Stored:
        parts = []
        while chunk := stream.read(CHUNK):
            parts.append(chunk)
        data = b"".join(parts)
        return Stored(self.put(data), len(data), hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> bytes:
        return self.blobs[key]
