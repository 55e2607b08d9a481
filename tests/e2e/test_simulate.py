"""`shouhou simulate`: a small marketplace (3 days, 200 orders a day) played under Kuaishou and Douyin
through the CLI; the report is written, its figures are the database's, the same seed plays the
same month, and the packs' different review windows show in what the worker did."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from shouhou.adapters import tables as t
from shouhou.clock import VirtualClock
from shouhou.entrypoints.cli import app
from shouhou.policies import PolicyRegistry
from shouhou.services.app import Shouhou
from shouhou.simulation import figures, marketplace
from shouhou.simulation.play import Player
from shouhou.simulation.run import SimulationError, pack_name, simulate

pytest.importorskip("matplotlib")

PNGS = ("tickets_by_state.png", "deadline_actions.png", "overdue_by_shop.png", "money.png", "compare.png")


def small_marketplace(tmp: Path) -> Path:
    """The built-in marketplace, smaller (fewer shops and buyers, 30-minute steps), with more sloppy
    shops and more refund requests before shipment, so that three days show the worker acting."""
    text = marketplace.DEFAULT.read_text(encoding="utf-8")
    for old, new in (("count = 20000", "count = 400"), ("step_minutes = 10", "step_minutes = 30"),
                     ("count = 30\n", "count = 4\n"), ("count = 15\n", "count = 3\n"),
                     ("orders_share = 10\n", "orders_share = 40\n"), ("rate = 0.04\n", "rate = 0.25\n")):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / "small.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("simulate")
    config = small_marketplace(tmp)
    out = tmp / "report"
    result = CliRunner().invoke(app, [
        "simulate", str(config), "--pack", "kuaishou", "--compare", "douyin", "--days", "3",
        "--orders-per-day", "200", "--seed", "7", "--out", str(out),
        "--database-url", f"sqlite:///{tmp}/run-{{pack}}.db"])
    assert result.exit_code == 0, result.output
    market = marketplace.load(config).overridden(days=3, orders_per_day=200, seed=7)
    again = simulate(market, ["kuaishou", "douyin"], tmp / "again",
                     database_url=f"sqlite:///{tmp}/again-{{pack}}.db")
    return {"tmp": tmp, "out": out, "output": result.output, "again": again}


def figures_of(played: dict[str, object], pack: str) -> tuple[figures.Figures, Path]:
    tmp = played["tmp"]
    assert isinstance(tmp, Path)
    market = marketplace.load(tmp / "small.toml").overridden(days=3, orders_per_day=200, seed=7)
    db = tmp / f"run-{pack}.db"
    engine = create_engine(f"sqlite:///{db}")
    try:
        sh = Shouhou.with_fakes(engine, VirtualClock(market.run.start), PolicyRegistry.default())
        end = Player(sh, market, pack).end
        return figures.read(sh, pack, market.run.start, 3, end), db
    finally:
        engine.dispose()


def test_the_report_is_a_page_with_its_plots_beside_it(played: dict[str, object]) -> None:
    out = played["out"]
    assert isinstance(out, Path)
    page = (out / "report.html").read_text(encoding="utf-8")
    for name in PNGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{name}"' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page loads nothing from elsewhere"
    assert "kuaishou" in page and "douyin" in page and "Headline figures" in page
    assert "report:" in str(played["output"]) and "orders/s" in str(played["output"])


def test_the_figures_are_the_databases(played: dict[str, object]) -> None:
    for pack in ("kuaishou", "douyin"):
        figs, db = figures_of(played, pack)
        engine = create_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            e = t.events.c
            auto = conn.execute(select(func.count()).where(e.type == "auto_approved")).scalar_one()
            fired = conn.execute(select(func.count()).where(e.actor == "system",
                                                            e.type.in_(figures.DEADLINE_TYPES))).scalar_one()
            overdue = conn.execute(select(func.count()).select_from(t.overdue_records)).scalar_one()
            states = Counter(dict(conn.execute(select(t.tickets.c.status, func.count()).group_by(t.tickets.c.status)).all()))
            orders = conn.execute(select(func.count()).select_from(t.orders)).scalar_one()
        engine.dispose()
        assert figs.totals["auto_approved"] == auto > 0
        assert figs.totals["deadline_actions"] == fired == sum(sum(v) for v in figs.actions.values())
        assert figs.totals["overdue_records"] == overdue
        # tickets by state, rebuilt from the events' status changes, end where the tickets table is
        assert {s: v[-1] for s, v in figs.tickets_by_state.items() if v[-1]} == dict(states)
        assert figs.totals["orders"] == orders == sum(figs.daily["order_created"]) <= 600


def test_the_same_seed_plays_the_same_month(played: dict[str, object]) -> None:
    again = played["again"]
    for pack in ("kuaishou", "douyin"):
        first, _ = figures_of(played, pack)
        second = next(f for f, _ in again.runs if f.pack == pack)  # type: ignore[attr-defined]
        assert first.totals == second.totals
        assert first.actions == second.actions and first.tickets_by_state == second.tickets_by_state
        assert first.daily == second.daily and first.refunded_fen == second.refunded_fen


def test_kuaishou_s_24_hour_review_before_shipment_auto_approves_what_douyin_s_48_hours_leave_to_the_shop(
        played: dict[str, object]) -> None:
    ks, _ = figures_of(played, "kuaishou")
    dy, _ = figures_of(played, "douyin")
    ks_ro = sum(sum(v) for k, v in ks.actions.items() if k == "KS-RO-1 auto_approved")
    dy_ro = sum(sum(v) for k, v in dy.actions.items() if k == "DY-RO-1 auto_approved")
    assert ks_ro > dy_ro
    assert ks.totals["overdue_records"] > dy.totals["overdue_records"]
    assert not any(k.startswith("DY-") for k in ks.actions) and not any(k.startswith("KS-") for k in dy.actions)


def test_a_pack_file_plays_under_the_name_it_declares(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "shouhou" / "policies" / "kuaishou.toml"
    pack = tmp_path / "faster.toml"
    pack.write_text(source.read_text(encoding="utf-8").replace('name = "kuaishou"', 'name = "kuaishou-faster"', 1),
                    encoding="utf-8")
    registry = PolicyRegistry.default()
    assert pack_name(registry, str(pack)) == "kuaishou-faster" and "kuaishou-faster" in registry
    assert pack_name(registry, "douyin") == "douyin"
    with pytest.raises(SimulationError):
        pack_name(registry, "no-such-pack")


def test_a_marketplace_file_with_an_unknown_key_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(marketplace.DEFAULT.read_text(encoding="utf-8").replace("seed = 1", "seed = 1\nsede = 2"),
                   encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "run.sede" in result.output and not (tmp_path / "out").exists()
