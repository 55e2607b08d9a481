"""`shouhou simulate`: play a synthetic marketplace through the engine under a policy pack (and a
second one with --compare) and write DIR/report.html with its plots. See shouhou/simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..errors import Refusal
from ..simulation import marketplace
from .cli_common import console, fail, shown


def simulate_command(
    config_file: Annotated[Path | None, typer.Argument(
        metavar="[CONFIG.toml]", help="The marketplace to play [default: the built-in one, "
        "shouhou/simulation/default.toml]", show_default=False)] = None,
    pack: Annotated[str, typer.Option("--pack", help="The policy pack: kuaishou, douyin or a pack file.")] = "kuaishou",
    compare: Annotated[str | None, typer.Option(
        "--compare", help="A second pack played on the same marketplace (same seed, same draws).")] = None,
    days: Annotated[int | None, typer.Option("--days", min=1, max=366, help="Days to play [default: the file's]",
                                             show_default=False)] = None,
    orders_per_day: Annotated[int | None, typer.Option("--orders-per-day", min=1, show_default=False,
                                                       help="Orders a day [default: the file's]")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed [default: the file's]",
                                             show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", help="Where report.html and its plots go.")] = Path("simulation"),
    database_url: Annotated[str | None, typer.Option(
        "--database-url", show_default=False,
        help="Play on this (empty) database instead of a temporary SQLite file; with --compare it needs "
             "{pack} in it, e.g. sqlite:///runs/{pack}.db")] = None,
) -> None:
    """Play a month of a marketplace through the engine and report what a pack's rules did to it.

    Shops, buyers and couriers behave as the TOML file draws them (seeded); orders are imported,
    shipped, signed, confirmed and taken to after-sales through the engine's own commands, and the
    deadline worker fires what people leave undone, on a virtual clock. The report (HTML with PNG
    plots) shows tickets by state, deadline actions per day by rule, overdue records and measures by
    shop, refunds, clawbacks and debt, and both packs side by side with --compare."""
    try:
        from ..simulation.run import SimulationError, simulate
    except ImportError as e:  # matplotlib is an optional extra
        fail(f"shouhou simulate needs matplotlib: pip install 'shouhou[simulate]' ({e})", 2)
    try:
        market = marketplace.load(config_file).overridden(days=days, orders_per_day=orders_per_day, seed=seed)
    except marketplace.SimulationConfigError as e:
        fail(f"模拟配置无效 invalid simulation file: {e}", 2)
    packs = [pack] + ([compare] if compare else [])
    out_console = console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=out_console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"{name:<10}", total=total)
            bar.update(tasks[name], completed=done)

        try:
            outcome = simulate(market, packs, out, database_url=database_url, progress=progress,
                               config_name=str(config_file) if config_file else "the built-in default marketplace")
        except SimulationError as e:
            fail(f"无法模拟 cannot simulate: {e}", 2)
        except Refusal as e:  # the marketplace itself (shops, buyers) was refused: a bad file
            fail(f"模拟配置被拒绝 the engine refused the marketplace: {e.code}: {e.message_en}", 2)
    for figs, info in outcome.runs:
        out_console.print(f"{figs.pack}: {info.orders:,} orders in {info.seconds:,.1f} s "
                          f"({info.orders / info.seconds:,.0f} orders/s); {figs.totals['tickets']:,} tickets, "
                          f"{figs.totals['auto_approved']:,} auto-approved, {figs.totals['overdue_records']:,} overdue "
                          f"records, {figs.totals['measures_applied']:,} measures", highlight=False)
    if database_url:
        for figs, _ in outcome.runs:
            out_console.print(f"{figs.pack} database: {shown(database_url.replace('{pack}', figs.pack))}",
                              highlight=False)
    out_console.print(f"report: {outcome.page}", highlight=False)
