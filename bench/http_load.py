"""The HTTP benchmark's load generator (bench/http.py): plain asyncio (uvloop when installed) over
keep-alive HTTP/1.1 connections, each request prebuilt as bytes and each answer read by its
Content-Length, so that the client costs little of the machine the servers share with it (an httpx
client tops out below the bare baseline on this machine and would measure itself).

- `closed_loop`: `concurrency` connections, each sending its next request as soon as the previous
  answer is in, for `seconds`: the throughput the server reaches;
- `open_loop`: requests started at a fixed `rate` whatever the server does, each timed from the
  moment it was *scheduled* (so a server that falls behind shows its queueing, no coordinated
  omission), on as many connections as are needed at once.

Every answer must be 200 (or `expect`); anything else is counted as an error and reported."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MakeRequest = Callable[[int], bytes]  # the i-th request, as bytes


def get(path: str, token: str, host: str = "127.0.0.1") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Accept: application/json\r\n\r\n").encode()


def post(path: str, token: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, host: str = "127.0.0.1") -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """One request, its status and body."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, of the answers that were right
    errors: int = 0
    elapsed: float = 0.0
    first_error: str = ""

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        """The q-th percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[int(q * 10) - 1] * 1000

    def summary(self) -> dict[str, float | int]:
        return {"rps": round(self.rps, 1), "p50_ms": round(self.pct(50), 2), "p99_ms": round(self.pct(99), 2),
                "requests": len(self.latencies), "errors": self.errors}

    def note(self, status: int, body: bytes, expect: int) -> bool:
        if status == expect:
            return True
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{status}: {body[:300]!r}"
        return False


async def closed_loop(port: int, make: MakeRequest, concurrency: int, seconds: float,
                      expect: int = 200) -> Result:
    conns = [await Connection.open(port) for _ in range(concurrency)]
    result = Result()
    counter = iter(range(10**12))
    deadline = time.perf_counter() + seconds

    async def client(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            raw = make(next(counter))
            t0 = time.perf_counter()
            status, body = await conn.send(raw)
            if result.note(status, body, expect):
                result.latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    result.elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return result


async def open_loop(port: int, make: MakeRequest, rate: float, seconds: float, expect: int = 200,
                    max_connections: int = 256) -> Result:
    result = Result()
    idle: list[Connection] = [await Connection.open(port) for _ in range(8)]
    opened = len(idle)
    freed = asyncio.Condition()
    n = int(rate * seconds)

    async def one(i: int, scheduled: float) -> None:
        nonlocal opened
        async with freed:
            while not idle and opened >= max_connections:
                await freed.wait()
            conn = idle.pop() if idle else None
            if conn is None:
                opened += 1
        if conn is None:
            conn = await Connection.open(port)
        try:
            status, body = await conn.send(make(i))
        except (asyncio.IncompleteReadError, ConnectionError):  # the server closed it after its keep-alive
            conn.close()
            conn = await Connection.open(port)
            status, body = await conn.send(make(i))
        if result.note(status, body, expect):
            result.latencies.append(time.perf_counter() - scheduled)
        async with freed:
            idle.append(conn)
            freed.notify()

    tasks = []
    started = time.perf_counter()
    for i in range(n):
        scheduled = started + i / rate
        wait = scheduled - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - started
    for c in idle:
        c.close()
    return result


def run(coro: object) -> Result:
    """Run a load on uvloop when it is installed."""
    try:
        import uvloop
        return uvloop.run(coro)  # type: ignore[arg-type,no-any-return]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type,no-any-return]
