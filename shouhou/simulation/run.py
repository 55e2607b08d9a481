"""One simulation: the marketplace played under each pack, each on its own fresh database, then the
report. `simulate` is the way in (the CLI's `shouhou simulate` calls it)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from ..adapters import calendar, db
from ..adapters import tables as t
from ..adapters.blobs import MemoryBlobStore
from ..adapters.notifier import MemoryPusher
from ..adapters.payment import FakeChannel
from ..clock import VirtualClock
from ..domain.events import Event
from ..policies import PolicyRegistry
from ..policies.loading import load_pack
from ..services.app import Shouhou
from . import figures, report
from .marketplace import Marketplace
from .play import Player

Progress = Callable[[str, int, int], None]  # pack, steps done, steps in all


class SimulationError(Exception):
    """A run that cannot start: an unknown pack, a database that is not empty."""


class Counting:
    """The notifier of a simulation: events leave after each commit as in a deployment; nobody
    listens, so they are only counted (a run of millions would not fit in memory)."""

    def __init__(self) -> None:
        self.published = 0

    def publish(self, events: list[Event]) -> None:
        self.published += len(events)


@dataclass(frozen=True)
class Outcome:
    page: Path
    runs: list[tuple[figures.Figures, report.RunInfo]]


def pack_name(registry: PolicyRegistry, pack: str) -> str:
    """A built-in pack's name, or a pack file (added to the registry): the name it declares."""
    if pack in registry:
        return pack
    path = Path(pack)
    if path.suffix == ".toml" and path.exists():
        loaded = load_pack(path)
        registry.add(loaded)
        return loaded.name
    raise SimulationError(f"unknown policy pack {pack!r}: one of {registry.names()} or a pack file (.toml)")


def simulate(market: Marketplace, packs: list[str], out: Path, *, database_url: str | None = None,
             config_name: str = "built-in default marketplace", progress: Progress | None = None) -> Outcome:
    registry = PolicyRegistry.default()
    names = [pack_name(registry, p) for p in packs]
    if len(set(names)) != len(names):
        raise SimulationError(f"--compare names the same pack twice ({names[0]})")
    if database_url is not None and len(names) > 1 and "{pack}" not in database_url:
        raise SimulationError("with --compare, --database-url needs {pack} in it (one database per pack), "
                              "e.g. sqlite:///runs/{pack}.db")
    scratch = Path(tempfile.mkdtemp(prefix="shouhou-simulate-")) if database_url is None else None
    runs = []
    try:
        for name in names:
            url = (f"sqlite:///{scratch / (name + '.db')}" if scratch is not None
                   else str(database_url).replace("{pack}", name))
            runs.append(_play(market, registry, name, url, progress, temporary=scratch is not None))
        meta = {"start": market.run.start, "days": market.run.days, "orders_per_day": market.run.orders_per_day,
                "seed": market.run.seed, "config": config_name}
        page = report.write(out, runs, meta)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return Outcome(page, runs)


def _play(market: Marketplace, registry: PolicyRegistry, pack: str, url: str, progress: Progress | None,
          temporary: bool) -> tuple[figures.Figures, report.RunInfo]:
    db.migrate(url)
    engine = db.make_engine(url)
    try:
        _require_empty(engine, url)
        clock = VirtualClock(market.run.start)
        app = Shouhou(engine, clock, registry, notifier=Counting(), pusher=MemoryPusher(), channel=FakeChannel(),
                      blobs=MemoryBlobStore(), is_workday=calendar.is_workday)
        player = Player(app, market, pack)
        began = time.perf_counter()
        player.setup()
        player.play(None if progress is None else lambda done, total: progress(pack, done, total))
        seconds = time.perf_counter() - began
        figs = figures.read(app, pack, market.run.start, market.run.days, player.end)
        shown = "a temporary SQLite file, removed after the report" if temporary else url
        info = report.RunInfo(pack, seconds, market.run.days * market.run.orders_per_day, shown, dict(player.stats))
        return figs, info
    finally:
        engine.dispose()


def _require_empty(engine: Engine, url: str) -> None:
    with engine.connect() as conn:
        shops = conn.execute(select(func.count()).select_from(t.shops)).scalar_one()
    if shops:
        raise SimulationError(f"the database {url} holds {shops} shop(s): a simulation needs an empty database")
