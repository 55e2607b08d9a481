"""`shouhou dispatch`: the webhook dispatcher as a process of its own (several may share a PostgreSQL
database: they claim deliveries with SKIP LOCKED). `shouhou worker` and `serve --worker` dispatch too."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from ..adapters.webhook_sender import HttpSender
from .cli_common import DatabaseUrl, database_errors, load_settings, log_to_stderr, shouhou_at_head, shown
from .cli_worker import dispatch_round

log = logging.getLogger("shouhou.cli")


def dispatch_command(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due, print how many, and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.", min=0.001)] = 1.0,
    timeout: Annotated[float, typer.Option(help="Seconds an endpoint has to answer.", min=0.1, max=30)] = 10.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Deliver webhooks: place new events in the feed, post what is due, retry with backoff."""
    settings = load_settings(database_url)
    shouhou, engine = shouhou_at_head(settings)
    sender = HttpSender(timeout=timeout, allow_private=settings.webhook_allow_private)
    dispatcher = shouhou.dispatcher(sender)
    try:
        if once:
            with database_errors(settings.database_url):
                typer.echo(f"delivered {dispatcher.run_once()}")
            return
        log_to_stderr()
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        log.info("webhook dispatcher on %s: every %s s", shown(settings.database_url), interval)
        try:
            while not stop.is_set():
                sent = dispatch_round(dispatcher)
                if sent:
                    log.info("delivered %d", sent)
                stop.wait(interval)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        sender.close()
        engine.dispose()
