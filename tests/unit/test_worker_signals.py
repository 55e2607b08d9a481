"""`shouhou worker`'s loop (entrypoints.cli_worker.run_worker) and SIGTERM: the batch in progress
finishes, then the process stops, with nothing else started after the signal (not the webhook round,
which can be long with a full outbox, nor another sweep)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

from shouhou.entrypoints import cli_worker


class FakeShouhou:
    """Sweeps that fire 5 each; the signal arrives during the `signal_on`-th sweep."""

    def __init__(self, signal_on: int) -> None:
        self.signal_on, self.sweeps, self.rounds, self.calls = signal_on, 0, 0, []

    def dispatcher(self) -> FakeShouhou:
        return self

    def run_once(self) -> int:
        self.calls.append("dispatch")
        return 0

    def tick(self, batch: int, worker: str, stop: Callable[[], bool]) -> int:
        self.sweeps += 1
        self.calls.append("sweep")
        if self.sweeps == self.signal_on:
            os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (the main) thread at once
            assert stop()  # the sweep is told between its batches
        return 5


@pytest.mark.parametrize("signal_on", [1, 3])
def test_sigterm_stops_after_the_sweep_in_progress_and_starts_nothing_else(signal_on: int) -> None:
    fake: Any = FakeShouhou(signal_on)
    before = signal.getsignal(signal.SIGTERM)
    cli_worker.run_worker(fake, 0.001, 10, "sqlite:///x.db")
    assert fake.calls == ["sweep", "dispatch"] * (signal_on - 1) + ["sweep"]
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back
