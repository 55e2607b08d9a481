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
from shouhou.services.dispatch import BESIDE_SWEEPS


class FakeShouhou:
    """Sweeps that fire 5 each; the signal arrives during the `signal_on`-th sweep."""

    def __init__(self, signal_on: int) -> None:
        self.signal_on, self.sweeps, self.rounds, self.calls = signal_on, 0, 0, []

    def dispatcher(self) -> FakeShouhou:
        return self

    def run_once(self, place_rounds: int) -> int:
        assert place_rounds == BESIDE_SWEEPS  # a backlog of events is placed over several rounds
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


def test_a_dispatch_round_beside_the_sweeps_places_a_bounded_part_of_a_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    """An outbox with a million unplaced events (a bulk import) is placed over many rounds, so the
    sweeps between them keep firing deadlines on time; `shouhou dispatch` alone places all at once."""
    from shouhou.services.dispatch import Dispatcher

    placed: list[int] = []
    d: Any = Dispatcher.__new__(Dispatcher)
    monkeypatch.setattr(d, "place", lambda: placed.append(500) or 500, raising=False)  # always more waiting
    monkeypatch.setattr(d, "deliver_due", lambda: 0, raising=False)
    monkeypatch.setattr(d, "push_due", lambda: 0, raising=False)
    monkeypatch.setattr(d, "housekept", None, raising=False)
    monkeypatch.setattr(d, "housekeep", lambda now: (0, 0), raising=False)
    monkeypatch.setattr(d, "clock", type("C", (), {"now": staticmethod(lambda: None)})(), raising=False)
    d.run_once(BESIDE_SWEEPS)
    assert len(placed) == BESIDE_SWEEPS
    placed.clear()
    d.run_once()
    assert len(placed) == 10_000
