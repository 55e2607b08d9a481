"""KS-GOV-4 as a scenario file (../shared/SCENARIOS.md): a shop that lets 100 refund-only applications
of 101 run out is judged high-risk at its 100th overdue record; the checks `shop: refund_handling` and
`shop: measures` and the events `overdue_recorded` and `measure_applied` say so; the next application
is approved and refunded at once, citing KS-GOV-4. The file is written here (a hundred orders and
applications are better generated than typed) and played by the scenario runner."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from shouhou.entrypoints.scenario import run_file
from shouhou.policies import MEASURES

N = 100


def _scenario() -> str:
    orders = "\n".join(f'  - {{id: O{i}, shop: S1, buyer: B1, amount: "20.00"}}' for i in range(1, N + 3))
    applies = "\n".join(f"  - {{as: buyer:B1, do: apply, args: {{order: O{i}, type: refund_only, reason: other}}, "
                        f"id: T{i}}}" for i in range(1, N + 2))
    return f"""name: a hundred overdue records of 101 applications make the shop high-risk (KS-GOV-4)
policy: kuaishou
start: 2026-03-02T09:00:00+08:00
shops:
  - {{id: S1, wallet: "3000.00", deposit: "2000.00"}}
staff:
  - {{id: U1, shop: S1, role: owner}}
buyers: [B1]
orders:
{orders}
steps:
{applies}
  - {{as: staff:U1, do: approve, args: {{ticket: T{N + 1}}}}}
  - at: "+48h"
    expect:
      - {{event: {{type: overdue_recorded, ticket: T{N}, rule: KS-GOV-1}}}}
      - {{event: {{type: measure_applied, shop: S1, rule: KS-GOV-3}}}}
      - {{event: {{type: measure_applied, shop: S1, rule: KS-GOV-4, at: 2026-03-04T09:00:00+08:00}}}}
      - {{event: {{type: refund_handling_disabled, shop: S1, rule: KS-GOV-4}}}}
      - {{shop: S1, refund_handling: disabled, measures: [{", ".join(MEASURES)}]}}
      - {{shop: S1, wallet: "1000.00", deposit: "2000.00", debt: "0.00"}}
  - at: "+1h"
    as: buyer:B1
    do: apply
    args: {{order: O{N + 2}, type: refund_only, reason: other}}
    id: T{N + 2}
    expect:
      - {{ticket: T{N + 2}, status: refunded, refunded: "20.00", due: null}}
      - {{event: {{type: auto_approved, ticket: T{N + 2}, rule: KS-GOV-4}}}}
      - {{no_event: {{type: overdue_recorded, ticket: T{N + 2}}}}}
  - at: "+7d"
    expect:
      - {{shop: S1, refund_handling: disabled, measures: [forced_exam, point_deduction, freight_by_platform, liquidated_damages, high_risk]}}
"""


def test_a_scenario_reaches_the_high_risk_step_and_refunds_at_once(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "gov_ks_high_risk.yaml"
    path.write_text(_scenario(), encoding="utf-8")
    outcome = run_file(path, engine=engine)  # the suite's database: SQLite, or PostgreSQL in its run
    assert outcome.passed, "\n".join(outcome.failures)
    assert outcome.expectations == 16
    applied = [e for e in outcome.events if e["type"] == "measure_applied"]
    assert [e["payload"]["measure"] for e in applied] == list(MEASURES)
    assert {e["at"] for e in applied} == {"2026-03-04T09:00:00+08:00"}
