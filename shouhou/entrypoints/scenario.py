"""The scenario runner (../shared/SCENARIOS.md): sets up shops, buyers and orders, then plays
commands and checks on a virtual clock against a real database (in-memory SQLite by default).

`run_file` is the way in. The parts, in the order a run uses them:

    scenario_file.py      reading the YAML (with line numbers), times and offsets
    scenario_state.py     what a run knows (engine, clock, names, outcome) and reading its fields
    scenario_setup.py     shops, staff, buyers and orders
    scenario_commands.py  a step's command (`do:`), and `expect_error:`
    scenario_checks.py    a step's checks (`expect:`)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ..adapters.db import create_schema, make_engine
from .scenario_checks import verify
from .scenario_commands import play_command
from .scenario_file import Node, ScenarioFileError, load_yaml
from .scenario_setup import set_up
from .scenario_state import Outcome, Run, Unborn

STEP_KEYS = {"at", "as", "do", "args", "id", "expect", "expect_error", "note"}


def run_file(path: str | Path, engine_factory: Callable[[], Engine] | None = None,
             engine: Engine | None = None) -> Outcome:
    """Run one scenario file. Raises ScenarioFileError when the file itself is invalid.

    By default on a fresh in-memory SQLite database; `engine` runs it on a given database (with its
    schema in place and empty, as the test suite does on PostgreSQL), left open afterwards."""
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc, Node):
        raise ScenarioFileError(str(path), "(file)", None, "a scenario is a YAML mapping")
    for key in ("policy", "start"):
        if key not in doc:
            raise ScenarioFileError(str(path), key, doc.line, f"{key} is required")
    own = engine is None
    if engine is None:
        engine = engine_factory() if engine_factory else _memory_engine()
    try:
        run = Run(path, doc, engine)
        set_up(run)
        _play(run)
        return _finish(run)
    finally:
        if own:
            engine.dispose()


def _play(run: Run) -> None:
    """The steps in order: the clock moves to each step's time (firing what falls due on the way),
    then the step's command, then its checks."""
    steps = run.list_of("steps")
    at = run.start
    for n, step in enumerate(steps, 1):
        run.keys(step, STEP_KEYS, f"step {n}")
        if "at" in step:
            at = run.time(step, "at", at)
        if at < run.clock.now():
            raise run.bad(step, "at", f"step {n} goes back in time to {at.isoformat()}")
        run.app.tick(now=at, batch=1)
        run.clock.set(at)
        where = f"step {n} (line {step.line})"
        if "do" in step:
            play_command(run, step, where, at)
        elif "expect_error" in step:
            raise run.bad(step, "expect_error", "expect_error needs a command (do)")
        if "expect" in step:
            checks = step["expect"]
            for check in checks if isinstance(checks, list) else [checks]:
                try:
                    verify(run, check, step, where)
                except Unborn as e:
                    run.outcome.expectations += 1
                    run.outcome.failures.append(f"{where}: ticket {e.name} does not exist: its apply was refused")


def _finish(run: Run) -> Outcome:
    with run.app.uow(write=False) as uow:
        run.outcome.events = [run.event_line(e) for e in uow.all_events()]
    return run.outcome


def _memory_engine() -> Engine:
    engine = make_engine("sqlite://")
    create_schema(engine)
    return engine
