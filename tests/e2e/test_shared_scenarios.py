"""Every scenario in ../shared/scenarios runs in the suite and passes, and every check it declares
was made: a scenario whose checks were skipped would pass without showing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from shouhou.entrypoints.scenario import run_file

from ..conftest import SHARED

FILES = sorted((SHARED / "scenarios").glob("*.yaml"))
# The scenarios ../shared provides today (SCENARIOS.md describes the format); more may come.
KNOWN = {
    "dy_five_applications",  # DY-APPLY-1: five applications inside the period, the sixth refused
    "dy_open_entry_refusals",  # DY-OP-*: the conditions for re-opening the entry on Douyin
    "ks_open_entry",  # KS-OP-*: a Kuaishou owner re-opens the entry; KS-OP-7's window closes it
    "ks_return_buyer_never_ships",  # KS-RR-2: approved, the buyer never ships, auto-close
    "ks_return_silent_shop",  # KS-RR-1, KS-RR-3: a silent shop: auto-approve (overdue), auto-refund
}


def declared_checks(path: Path) -> int:
    """The checks a scenario file asks for, counted as the runner counts them: one per expected
    error, one per event or no_event check, and one per property of a ticket, order or shop check."""
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    total = 0
    for step in doc["steps"]:
        total += "expect_error" in step
        checks = step.get("expect", [])
        for check in checks if isinstance(checks, list) else [checks]:
            total += 1 if ("event" in check or "no_event" in check) else len(check) - 1
    return total


def test_the_shared_scenarios_are_there() -> None:
    assert KNOWN <= {p.stem for p in FILES}, f"missing from {SHARED / 'scenarios'}: {KNOWN - {p.stem for p in FILES}}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_shared_scenario_passes(path: Path, engine: Engine) -> None:
    outcome = run_file(path, engine=engine)  # the suite's database: SQLite, or PostgreSQL in its run
    assert outcome.passed, "\n".join(outcome.failures)
    assert outcome.expectations == declared_checks(path) > 0, (outcome.expectations, declared_checks(path))
