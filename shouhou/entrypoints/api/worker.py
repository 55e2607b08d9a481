"""The deadline worker beside the API (`shouhou serve --worker`): one background loop per serve, in the
serving process (serving.run starts it; create_app(worker=True) runs it from the app's lifespan)."""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from ...adapters.webhook_sender import HttpSender
from ...services.app import Shouhou
from ...services.dispatch import BESIDE_SWEEPS
from .telemetry import CountingSender, Instruments

log = logging.getLogger("shouhou.api")


class Worker:
    """The deadline worker inside the API process: sweeps every `interval` seconds until stopped."""

    def __init__(self, shouhou: Shouhou, interval: float, batch: int, instruments: Instruments) -> None:
        self.shouhou, self.interval, self.batch = shouhou, interval, batch
        self.name = f"{socket.gethostname()}:{os.getpid()}:serve"
        instruments.watch(shouhou)  # the actions it fires and the payouts it sends, counted
        # webhooks (each attempt counted) and DY-OP-10's pushes go out beside
        self.dispatcher = shouhou.dispatcher(CountingSender(HttpSender(allow_private=shouhou.allow_private_webhooks),
                                                            instruments))
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
                self.dispatcher.run_once(BESIDE_SWEEPS)  # a backlog of events never holds the deadlines back
            except Exception:  # noqa: BLE001 - the claims expire; the next round sends them
                log.exception("webhook dispatch failed; retrying")
            self.stop.wait(self.interval)


    def start(self) -> Worker:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def lifespan(shouhou: Shouhou, *, worker: bool, interval: float, batch: int, instruments: Instruments,
             settle: bool = False) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: with `worker`, a Worker sweeps from startup until shutdown. With `settle`
    (a served process), what startup made is moved out of the garbage collector's reach (gc.freeze):
    the framework's objects, the app's, its OpenAPI document, about 200,000 that live as long as the
    process, which every full collection walked, a pause of 40 to 80 ms in the middle of requests."""

    @asynccontextmanager
    async def span(app: FastAPI) -> AsyncIterator[None]:
        w = Worker(shouhou, interval, batch, instruments).start() if worker else None
        if settle:
            app.openapi()
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if w:
                w.close()

    return span
