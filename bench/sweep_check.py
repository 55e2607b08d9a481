"""The sweep benchmark's checks (see bench/sweep.py): what a database holds after a run, and the two
runs compared row for row."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from sqlalchemy import Table, func, select

from bench.sweep_data import NOW
from shouhou.adapters import counts_table as ct
from shouhou.adapters import tables as t
from shouhou.adapters.db import make_engine


def _rows(conn: Any, table: Table, order: tuple[str, ...], where: Any = None, drop: tuple[str, ...] = ()) -> list[Any]:
    cols = [c for c in table.columns if c.name not in drop]
    stmt = select(*cols).order_by(*(table.c[k] for k in order))
    if where is not None:
        stmt = stmt.where(where)
    # JSON values as sorted text: rows compare whole and their order does not depend on dict order
    return [tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for v in r)
            for r in conn.execute(stmt)]


def census(url: str, events_before: int = 0) -> dict[str, Any]:
    """Row counts of every table, tickets by status, and the rows a sweep writes: the tickets it moved
    on, the events after `events_before` (their ids apart), the overdue records, the shops, the
    measures and the governance counters."""
    engine = make_engine(url)
    with engine.connect() as conn:
        tk, ev = t.tickets.c, t.events.c
        out: dict[str, Any] = {
            "count": {x.name: conn.execute(select(func.count()).select_from(x)).scalar_one()
                      for x in t.metadata.sorted_tables},
            "status": Counter(dict(conn.execute(select(tk.status, func.count()).group_by(tk.status)).all())),
            "events": Counter(dict(conn.execute(select(ev.type, func.count()).where(ev.id > events_before)
                                                .group_by(ev.type)).all())),
            "max_event": conn.execute(select(func.coalesce(func.max(ev.id), 0))).scalar_one(),
            "still_due": conn.execute(select(func.count()).select_from(t.tickets).where(tk.due_at <= NOW)).scalar_one(),
        }
        out["rows"] = {
            "tickets moved on": _rows(conn, t.tickets, ("id",), tk.status != "pending_review"),
            "new events": _rows(conn, t.events, ("ticket_id", "type", "at"), ev.id > events_before, ("id",)),
            "overdue_records": _rows(conn, t.overdue_records, ("ticket_id", "type"), drop=("id",)),
            "shops": _rows(conn, t.shops, ("id",)),
            "measures": _rows(conn, t.measures, ("id",)),
            "gov_daily": _rows(conn, ct.gov_daily, ("shop_id", "day")),
            "gov_hourly": _rows(conn, ct.gov_hourly, ("shop_id", "hour")),
            "gov_handling": _rows(conn, ct.gov_handling, ("ticket_id",)),
            "gov_iv_repeats": _rows(conn, ct.gov_iv_repeats, ("ticket_id", "id")),
        }
    engine.dispose()
    return out


def added(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    return {k: n - before["count"][k] for k, n in after["count"].items() if n != before["count"][k]}


def check(name: str, fired: int, after: dict[str, Any], tickets: int, due: int) -> list[str]:
    problems = []
    if fired != due:
        problems.append(f"{name}: fired {fired}, expected {due}")
    if after["status"]["awaiting_return"] != due or after["status"]["pending_review"] != tickets - due:
        problems.append(f"{name}: tickets by status {dict(after['status'])}")
    if after["still_due"]:
        problems.append(f"{name}: {after['still_due']} tickets still due")
    return problems


def compare(ours: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """Where the two databases differ after their runs (nothing: an empty list)."""
    problems = []
    if ours["count"] != raw["count"]:
        problems.append(f"row counts: shouhou {ours['count']}, raw {raw['count']}")
    for key, mine in ours["rows"].items():
        theirs = raw["rows"][key]
        if mine != theirs:
            first = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
                         min(len(mine), len(theirs)))
            a, b = (rows[first] if first < len(rows) else "(none)" for rows in (mine, theirs))
            problems.append(f"{key}: {len(mine)} rows in shouhou's, {len(theirs)} in raw's; first difference:\n"
                            f"    shouhou {a}\n    raw     {b}")
    return problems


def verify(tickets: int, due: int, fired: tuple[int, int], ours: dict[str, Any], raw: dict[str, Any]) -> None:
    problems = check("shouhou", fired[0], ours, tickets, due) + check("raw", fired[1], raw, tickets, due)
    problems += compare(ours, raw)
    if problems:
        sys.exit("the two runs differ:\n  " + "\n  ".join(problems))
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in ours["rows"].items())
    print(f"  both: {due:,} fired, {tickets - due:,} still pending; the same rows, compared whole ({sizes})")
