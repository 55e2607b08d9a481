"""`shouhou governance report` (RULES §9): every shop's 30-day after-sales metrics, score, level and
measures in force, as a table, CSV or JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ..services.views import governance as governance_views
from .cli_common import (
    CLI_ACTOR,
    DatabaseUrl,
    console,
    fail,
    migrated_engine,
    parse_at,
)

governance_app = typer.Typer(help="Merchant governance (RULES §9): 30-day metrics, measures, score and level.",
                             no_args_is_help=True)

_PERCENT = ("overdue_rate", "intervention_rate", "fault_rate")
_TABLE_COLUMNS = {  # report column -> header (RO refund only, RR return & refund, h hours)
    "shop": "shop", "level": "level", "score": "score", "applications": "apps", "overdue": "overdue",
    "refund_only_overdue": "RO od", "return_refund_overdue": "RR od", "exchange_overdue": "EX od",
    "delayed_shipments": "delayed", "overdue_rate": "od rate",
    "refund_only_median_hours": "RO p50 h", "refund_only_p95_hours": "RO p95 h",
    "return_refund_median_hours": "RR p50 h", "return_refund_p95_hours": "RR p95 h",
    "intervention_rate": "interv.", "rulings_against": "against", "fault_rate": "fault", "over_period_openings": "reopen",
    "step": "step", "refund_handling": "refunds",
}


@governance_app.command("report")
def governance_report(
    sort: Annotated[str, typer.Option("--sort", help=f"Sort by this column: {', '.join(governance_views.REPORT_COLUMNS)}.")]
    = "overdue",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first (default: largest first).")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    at: Annotated[str | None, typer.Option("--at", help="Metrics over the 30 days up to this ISO time (default: now).")]
    = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many shops.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every shop's after-sales metrics over the assessment window (KS-GOV-2), its score and level, and
    the measures in force (KS-GOV-3, KS-GOV-4), computed in SQL."""
    if fmt not in ("table", "csv", "json"):
        fail(f"--format 须为 table、csv 或 json, not {fmt!r}", 2)
    when = parse_at(at)
    with migrated_engine(database_url, refusal_code=2) as shouhou, shouhou.uow(write=False) as uow:
        view = governance_views.report(uow, CLI_ACTOR, shouhou.policies, when, sort=sort, descending=not ascending,
                                       limit=limit)
    if fmt == "json":
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        typer.echo(governance_views.report_csv(view), nl=False)
    else:
        console().print(_governance_table(view))


def _governance_table(view: dict[str, Any]) -> Table:
    windows = ", ".join(f"{p}: {w['days']} d ({w['rule']})" for p, w in view["windows"].items())
    table = Table(title=f"售后治理 governance at {view['at']}; window {windows}",
                  caption=f"{len(view['rows'])} of {view['total']} shops, by {view['sort']} "
                          f"{'descending' if view['descending'] else 'ascending'}")
    for col, header in _TABLE_COLUMNS.items():
        table.add_column(header, no_wrap=True, justify="left" if col in ("shop", "level", "step", "refund_handling")
                         else "right")
    for row in view["rows"]:
        cells = []
        for col in _TABLE_COLUMNS:
            v = row[col]
            if v is None:
                cells.append("-")
            elif col in _PERCENT:
                cells.append(f"{v * 100:.1f}%")
            elif isinstance(v, float):
                cells.append(f"{v:.1f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    return table
