"""Every scenario in tests/scenarios (the project's own, beyond the shared ones) runs in the suite and
passes: each is an acceptance test of a rule, played on a virtual clock against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from shouhou.entrypoints.scenario import run_file

FILES = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def test_the_project_scenarios_are_there() -> None:
    names = {p.name for p in FILES}
    assert {"ks_refund_only_before_shipment_24h.yaml", "dy_return_7_days.yaml", "dy_reprocess_rejection.yaml",
            "dy_intervention_window.yaml", "ks_rejection_needs_reason.yaml", "order_completion_waits_for_ticket.yaml",
            "auto_confirm_waits_for_ticket.yaml", "ks_no_reason_window.yaml", "full_refund_closes_order.yaml",
            } <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_project_scenario_passes(path: Path, engine: Engine) -> None:
    outcome = run_file(path, engine=engine)  # the suite's database: SQLite, or PostgreSQL in its run
    assert outcome.expectations > 0, f"{path.name} checks nothing"
    assert outcome.passed, "\n".join(outcome.failures)
