"""`shouhou worker`: the deadline worker as a process of its own, sweeping until told to stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from ..services.app import Shouhou
from ..services.dispatch import BESIDE_SWEEPS, Dispatcher
from .cli_common import DatabaseUrl, database_errors, load_settings, log_to_stderr, shouhou_at_head, shown

log = logging.getLogger("shouhou.cli")


def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Sweep once, print how many actions fired, and exit.")] = False,
    interval: Annotated[float | None, typer.Option(help="Seconds between sweeps [default: $SHOUHOU_WORKER_INTERVAL or 1].",
                                                   min=0.001, show_default=False)] = None,
    batch: Annotated[int | None, typer.Option(help="Actions per transaction [default: $SHOUHOU_WORKER_BATCH or 200].",
                                              min=1, max=10_000, show_default=False)] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the deadline worker alone (several may share a PostgreSQL database).

    It fires every automatic action (auto-approve, auto-close, auto-refund, auto-confirm, completion)
    when it falls due."""
    settings = load_settings(database_url)
    every = interval if interval is not None else settings.worker_interval
    size = batch if batch is not None else settings.worker_batch
    shouhou, engine = shouhou_at_head(settings)
    try:
        if once:
            with database_errors(settings.database_url):
                fired = shouhou.tick(batch=size, worker=worker_name())
                sent = shouhou.dispatcher().run_once()
            typer.echo(f"fired {fired}")
            if sent:
                typer.echo(f"delivered {sent} webhooks")
            return
        log_to_stderr()
        run_worker(shouhou, every, size, settings.database_url)
    finally:
        engine.dispose()


def worker_name() -> str:
    """How this process appears in the heartbeats (/healthz): host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dispatch_round(dispatcher: Dispatcher, place_rounds: int = 10_000) -> int:
    """One round of the webhook dispatcher; a database away is retried on the next round."""
    try:
        return dispatcher.run_once(place_rounds)
    except SQLAlchemyError as e:
        log.warning("dispatch failed, retrying: %s", e)
        return 0


def run_worker(shouhou: Shouhou, interval: float, batch: int, url: str) -> None:
    """Sweep until nothing is due, sleep `interval`, repeat: a worker with a backlog never sleeps. The
    first SIGTERM or Ctrl-C lets the batch in progress finish and stops; a second one stops at once
    (the batch in progress rolls back and fires again on the next start)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("%s: stopping after the batch in progress", signal.Signals(signum).name)
        stop.set()

    name = worker_name()
    dispatcher = shouhou.dispatcher()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("deadline worker on %s: every %s s, batches of %d", shown(url), interval, batch)
    try:
        while not stop.is_set():
            try:
                fired = shouhou.tick(batch=batch, worker=name, stop=stop.is_set)
            except SQLAlchemyError as e:  # the batch rolled back; try again on the next sweep
                log.warning("sweep failed, retrying in %s s: %s", interval, e)
                fired = 0
            if fired:
                log.info("fired %d", fired)
            if not stop.is_set():  # (told to stop: the outbox waits for the next start, or another worker)
                dispatch_round(dispatcher, BESIDE_SWEEPS)  # (a backlog of events: placed over several rounds)
                stop.wait(interval)
    except KeyboardInterrupt:
        log.info("stopped at once; the batch in progress rolled back")
        raise typer.Exit(130) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("deadline worker stopped")
