"""The deadline worker inside the API process (`shouhou serve --worker`), started and stopped by the
app's lifespan."""

import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from ...services.app import Shouhou

log = logging.getLogger("shouhou.api")


class Worker:
    """The deadline worker inside the API process: sweeps every `interval` seconds until stopped."""

    def __init__(self, shouhou: Shouhou, interval: float, batch: int) -> None:
        self.shouhou, self.interval, self.batch = shouhou, interval, batch
        self.name = f"{socket.gethostname()}:{os.getpid()}:serve"
        self.dispatcher = shouhou.dispatcher()  # webhooks and pushes go out beside
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="shouhou-worker", daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                fired = self.shouhou.tick(batch=self.batch, worker=self.name, stop=self.stop.is_set)
                if fired:
                    log.info("worker fired %d due actions", fired)
            except Exception:  # noqa: BLE001 - keep the worker alive; the batch rolled back
                log.exception("deadline sweep failed; retrying")
            try:
                self.dispatcher.run_once()
            except Exception:  # noqa: BLE001 - the claims expire; the next round sends them
                log.exception("webhook dispatch failed; retrying")
            self.stop.wait(self.interval)


def lifespan(shouhou: Shouhou, *, worker: bool, interval: float,
             batch: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: with `worker`, a Worker sweeps from startup until shutdown."""

    @asynccontextmanager
    async def span(_: FastAPI) -> AsyncIterator[None]:
        w = Worker(shouhou, interval, batch) if worker else None
        if w:
            w.thread.start()
        try:
            yield
        finally:
            if w:
                w.stop.set()
                w.thread.join(timeout=10)

    return span
