"""Every scenario in ../shared/scenarios runs in the suite and passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shouhou.entrypoints.scenario import run_file

from ..conftest import SHARED

FILES = sorted((SHARED / "scenarios").glob("*.yaml"))


def test_the_shared_scenarios_are_there() -> None:
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_shared_scenario_passes(path: Path) -> None:
    outcome = run_file(path)
    assert outcome.passed, "\n".join(outcome.failures)
