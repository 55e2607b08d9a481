"""The report: DIR/report.html with its PNG plots beside it. One pack, or two side by side (the same
figure with both packs on one plot, or paired panels). The page needs nothing but the PNGs next to
it: no script, no font or style from elsewhere."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

from .figures import Figures  # noqa: E402

COLOURS = ("#1f77b4", "#d62728")  # the first pack, the second
ORDER_ACTIONS = ("order_confirmed", "order_completed")
STATUS_ORDER = ("pending_review", "awaiting_return", "awaiting_receipt", "awaiting_replacement",
                "replacement_shipped", "in_intervention", "rejected", "refunded", "completed", "closed", "cancelled")
HEADLINES = (
    ("orders", "orders imported"), ("orders_completed", "orders completed (settled)"),
    ("orders_closed", "orders closed (fully refunded)"), ("tickets", "tickets (售后单)"),
    ("deadline_actions", "deadline actions fired"), ("auto_approved", "auto-approved (shop too late)"),
    ("auto_refunded", "auto-refunded (return not confirmed)"), ("auto_closed", "auto-closed (never sent back)"),
    ("overdue_records", "overdue records (KS-GOV-1 / KS-GOV-5)"), ("measures_applied", "measures applied"),
    ("shops_with_measures", "shops with a measure"), ("interventions", "interventions asked"),
    ("rulings", "rulings"), ("refunds", "refunds"), ("refunded_yuan", "refunded (¥)"),
    ("paid_out_yuan", "paid out to buyers (¥)"), ("clawbacks", "clawbacks"), ("clawback_yuan", "clawed back (¥)"),
    ("debt_yuan_at_end", "shop debt at the end (¥)"),
)


@dataclass(frozen=True)
class RunInfo:
    """What the page says about how the run was made."""

    pack: str
    seconds: float
    orders: int
    database: str
    stats: dict[str, int]


def write(out: Path, runs: list[tuple[Figures, RunInfo]], meta: dict[str, Any]) -> Path:
    """Draw the plots into `out` and write out/report.html; returns the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    figs = [f for f, _ in runs]
    start: datetime = meta["start"]
    dates = [(start + timedelta(days=i)).strftime("%m-%d") for i in range(figs[0].days)]
    plots = [
        ("tickets_by_state.png", "Tickets by state at the end of each day", _tickets_by_state(figs, dates)),
        ("deadline_actions.png", "Deadline actions fired per day, by rule", _actions(figs, dates)),
        ("overdue_by_shop.png", "Overdue records and measures by shop", _by_shop(figs)),
        ("money.png", "Refunds, clawbacks and shop debt", _money(figs, dates)),
        ("compare.png", "The packs side by side: applications, auto-approvals, overdue records, measures",
         _compare(figs, dates)),
    ]
    for name, _title, fig in plots:
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    page = out / "report.html"
    page.write_text(_html(runs, meta, [(n, title) for n, title, _ in plots]), encoding="utf-8")
    return page


def _panels(n: int, height: float = 4.2) -> tuple[Any, list[Any]]:
    fig, axes = plt.subplots(1, n, figsize=(7.5 * n, height), sharey=True, squeeze=False)
    return fig, list(axes[0])


def _tickets_by_state(figs: list[Figures], dates: list[str]) -> Any:
    fig, axes = _panels(len(figs))
    statuses = [s for s in STATUS_ORDER if any(s in f.tickets_by_state for f in figs)]
    cmap = plt.get_cmap("tab20")
    for ax, f in zip(axes, figs, strict=True):
        series = [f.tickets_by_state.get(s, [0] * len(dates)) for s in statuses]
        ax.stackplot(range(len(dates)), series, labels=statuses, colors=[cmap(i) for i in range(len(statuses))])
        ax.set_title(f"{f.pack}: tickets by state")
        _days_axis(ax, dates)
    axes[0].set_ylabel("tickets")
    _legend(axes[-1])
    return fig


def _actions(figs: list[Figures], dates: list[str], top: int = 7) -> Any:
    """Per pack, stacked bars of the actions fired each day by rule: the orders' (confirmation and
    completion, GEN-ORD-*: most of the volume) above, the tickets' and the rest below. Each panel
    names its own largest series (a rule keeps its colour across the packs); the rest is `other`."""
    fig, grid = plt.subplots(2, len(figs), figsize=(7.5 * len(figs), 8.4), sharey="row", squeeze=False)
    for row, orders in enumerate((True, False)):
        keys = {k for f in figs for k in f.actions if (k.split(" ", 1)[1] in ORDER_ACTIONS) == orders}
        ranked = sorted(keys, key=lambda k: (-sum(sum(f.actions.get(k, ())) for f in figs), k))
        colour = {k: plt.get_cmap("tab20")(i % 20) for i, k in enumerate(ranked)}
        for ax, f in zip(grid[row], figs, strict=True):
            mine = sorted((k for k in keys if sum(f.actions.get(k, ()))), key=lambda k: -sum(f.actions[k]))
            shown, rest = mine[:top], mine[top:]
            bottom = [0] * len(dates)
            series: list[tuple[str, list[int], Any]] = [(k, f.actions[k], colour[k]) for k in shown]
            if rest:
                series.append(("other", [sum(f.actions[k][d] for k in rest) for d in range(len(dates))], "#999999"))
            for k, v, c in series:
                ax.bar(range(len(dates)), v, bottom=bottom, label=k, color=c, width=0.85)
                bottom = [a + b for a, b in zip(bottom, v, strict=True)]
            part = "orders (receipt confirmed, completed)" if orders else "tickets and the rest"
            ax.set_title(f"{f.pack}: deadline actions per day: {part}", fontsize=10)
            _days_axis(ax, dates)
            if series:
                ax.legend(loc="upper left", fontsize=7)
        grid[row][0].set_ylabel("actions fired by the worker")
    fig.tight_layout()
    return fig


def _by_shop(figs: list[Figures]) -> Any:
    overdue = [{r["shop"]: r["overdue"] or 0 for r in f.shops} for f in figs]
    measures = [{shop: sum(c.values()) for shop, c in f.measures.items()} for f in figs]
    shops = sorted({s for d in overdue for s, n in d.items() if n} | {s for d in measures for s in d},
                   key=lambda s: -max(d.get(s, 0) for d in overdue))[:25]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, max(3.0, 0.32 * len(shops) + 1.5)), sharey=True)
    width = 0.8 / len(figs)
    ys = list(range(len(shops)))
    for i, f in enumerate(figs):
        pos = [y + (i - (len(figs) - 1) / 2) * width for y in ys]
        ax1.barh(pos, [overdue[i].get(s, 0) for s in shops], height=width, color=COLOURS[i], label=f.pack)
        ax2.barh(pos, [measures[i].get(s, 0) for s in shops], height=width, color=COLOURS[i], label=f.pack)
    ax1.set_yticks(ys, shops, fontsize=7)
    ax1.invert_yaxis()
    ax1.set_title("overdue records in the last 30 days (governance report)")
    ax2.set_title("measures applied (KS-GOV-3 ladder, KS-GOV-4)")
    for ax in (ax1, ax2):
        ax.legend(fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    if not shops:
        ax1.text(0.5, 0.5, "no overdue record and no measure", ha="center", transform=ax1.transAxes)
    return fig


def _money(figs: list[Figures], dates: list[str]) -> Any:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    x = range(len(dates))
    for i, f in enumerate(figs):
        axes[0].plot(x, [v / 100 for v in f.refunded_fen], color=COLOURS[i], label=f.pack)
        axes[1].plot(x, [v / 100 for v in f.clawback_fen], color=COLOURS[i], label=f.pack)
        axes[2].plot(x, [v / 100 for v in f.debt_fen], color=COLOURS[i], label=f.pack)
    for ax, title in zip(axes, ("refunded per day (¥)", "clawed back per day (¥, KS-FEE-1, KS-OP-8)",
                                "shop debt at the end of each day (¥, DY-OP-9)"), strict=True):
        ax.set_title(title)
        ax.legend(fontsize=8)
        _days_axis(ax, dates)
    return fig


def _compare(figs: list[Figures], dates: list[str]) -> Any:
    kinds = (("applied", "applications"), ("auto_approved", "auto-approvals"),
             ("overdue_recorded", "overdue records"), ("measure_applied", "measures applied"))
    fig, axes = plt.subplots(1, len(kinds), figsize=(18, 3.8))
    for ax, (typ, title) in zip(axes, kinds, strict=True):
        for i, f in enumerate(figs):
            ax.plot(range(len(dates)), f.daily.get(typ, [0] * len(dates)), color=COLOURS[i], label=f.pack)
        ax.set_title(f"{title} per day")
        ax.legend(fontsize=8)
        _days_axis(ax, dates)
    return fig


def _legend(ax: Any) -> None:
    """The legend beside the last panel (when it has anything to name)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7, bbox_to_anchor=(1.01, 1))


def _days_axis(ax: Any, dates: list[str]) -> None:
    step = max(1, len(dates) // 10)
    ax.set_xticks(range(0, len(dates), step), dates[::step], rotation=45, fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def _html(runs: list[tuple[Figures, RunInfo]], meta: dict[str, Any], plots: list[tuple[str, str]]) -> str:
    e = html.escape
    packs = [f.pack for f, _ in runs]
    head = "".join(f"<th>{e(p)}</th>" for p in packs)
    rows = []
    for key, label in HEADLINES:
        cells = "".join(f"<td>{_num(f.totals.get(key, 0))}</td>" for f, _ in runs)
        rows.append(f"<tr><th scope=row>{e(label)}</th>{cells}</tr>")
    speed = "".join(f"<td>{info.seconds:,.1f} s ({info.orders / info.seconds:,.0f} orders/s)</td>"
                    if info.seconds else "<td>-</td>" for _, info in runs)
    rows.append(f"<tr><th scope=row>time to play (wall clock)</th>{speed}</tr>")
    stat_keys = sorted({k for _, info in runs for k in info.stats if k.startswith(("refused", "orders_lost",
                                                                                      "intervention_too"))})
    for k in stat_keys:
        cells = "".join(f"<td>{_num(info.stats.get(k, 0))}</td>" for _, info in runs)
        rows.append(f"<tr><th scope=row>{e(k)}</th>{cells}</tr>")
    shop_rows = []
    for f, _ in runs:
        for r in sorted(f.shops, key=lambda r: -(r["overdue"] or 0))[:10]:
            if not r["overdue"] and not f.measures.get(r["shop"]):
                continue
            measures = ", ".join(f"{m}×{n}" for m, n in sorted(f.measures.get(r["shop"], {}).items()))
            shop_rows.append(f"<tr><td>{e(f.pack)}</td><td>{e(r['shop'])}</td><td>{_num(r['overdue'] or 0)}</td>"
                             f"<td>{_num(r['applications'] or 0)}</td><td>{e(str(r['overdue_rate']))}</td>"
                             f"<td>{e(str(r['score']))}</td><td>{e(str(r['level']))}</td><td>{e(measures)}</td></tr>")
    images = "".join(f"<figure><img src=\"{e(name)}\" alt=\"{e(title)}\"><figcaption>{e(title)}</figcaption></figure>"
                     for name, title in plots)
    title = "shouhou simulate: " + " vs ".join(packs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; color: #222; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: .25em .6em; text-align: right; }}
th[scope=row], td:first-child {{ text-align: left; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; border: 1px solid #eee; }}
figcaption {{ color: #555; font-size: 13px; }} code {{ background: #f4f4f4; padding: 0 .2em; }}
</style></head><body>
<h1>{e(title)}</h1>
<p>The same marketplace ({_num(meta["orders_per_day"])} orders a day for {meta["days"]} days from
{e(meta["start"].isoformat())}, seed {meta["seed"]}, {e(meta["config"])}) played through the engine under
each pack: the same commands, the same worker, the same draws. Every figure is read back from the
run's database (events, journal, governance report).</p>
<h2>Headline figures</h2>
<table><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<h2>Shops with the most overdue records</h2>
<table><thead><tr><th>pack</th><th>shop</th><th>overdue</th><th>applications</th><th>overdue rate</th>
<th>score</th><th>level</th><th>measures applied</th></tr></thead><tbody>{"".join(shop_rows)}</tbody></table>
{images}
<p>Databases: {"; ".join(f"{e(f.pack)}: <code>{e(info.database)}</code>" for f, info in runs)}</p>
</body></html>
"""


def _num(v: int | float) -> str:
    return f"{v:,.2f}" if isinstance(v, float) else f"{v:,}"
