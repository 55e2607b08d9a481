"""`shouhou governance report` (RULES §9): every shop's 30-day after-sales metrics, score, level and
measures in force, as a table, CSV or JSON; `shouhou governance check`: the counters the metrics are
read from against a scan of the rows, and their rebuild."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ..adapters import counts_sql, metrics_scan
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


@governance_app.command("check")
def governance_check(
    at: Annotated[str | None, typer.Option("--at", help="Compare the metrics at this ISO time (default: now).")]
    = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="First recompute every counter from the rows.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Compare every shop's metrics read from the governance counters with the same metrics counted by
    scanning the tickets, records, interventions and events (slow on a big database). Exit 1 when any
    differs. --rebuild recomputes the counters from the rows first, in one transaction (writers to the
    counted tables wait meanwhile on PostgreSQL)."""
    when = parse_at(at)
    with migrated_engine(database_url) as shouhou:
        if rebuild:
            with shouhou.engine.begin() as conn:
                counts_sql.rebuild(conn)
            typer.echo("counters rebuilt from the rows")
        with shouhou.engine.connect() as conn:
            diff = metrics_scan.differences(
                conn, lambda name: shouhou.policies.in_force(name, when).governance.window.delta, when)
    for shop, fields in diff.items():
        typer.echo(f"{shop}: {', '.join(fields)}")
    if diff:
        fail(f"{len(diff)} shop(s) differ: run `shouhou governance check --rebuild`", 1)
    typer.echo(f"counters agree with the rows at {when.isoformat()}")


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
