"""Every scenario in ../shared/scenarios runs in the suite and passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from shouhou.entrypoints.scenario import run_file

from ..conftest import SHARED

FILES = sorted((SHARED / "scenarios").glob("*.yaml"))


def test_the_shared_scenarios_are_there() -> None:
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_shared_scenario_passes(path: Path, engine: Engine) -> None:
    outcome = run_file(path, engine=engine)  # the suite's database: SQLite, or PostgreSQL in its run
    assert outcome.passed, "\n".join(outcome.failures)
