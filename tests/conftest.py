"""Shared fixtures. The integration tier runs on the database named by SHOUHOU_TEST_DATABASE_URL
(default: a SQLite file in a temporary folder); .ci/run runs the whole suite on SQLite, then the tests
that use the database on PostgreSQL (pytest_collection_modifyitems below). Under CI=true an
unreachable PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from shouhou.adapters.db import create_schema, drop_schema, make_engine
from shouhou.adapters.notifier import MemoryNotifier
from shouhou.adapters.tables import metadata
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.adapters.webhooks import message_of
from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain.actors import Actor
from shouhou.domain.events import Event
from shouhou.event_types import catalogue, message_schema
from shouhou.policies import PolicyRegistry
from shouhou.services.app import Shouhou

SHARED = Path(__file__).resolve().parents[2] / "shared"
PLATFORM = Actor("platform", "ops", role="platform_operator")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def database_url(tmp_dir: Path) -> str:
    """This test process's database: SHOUHOU_TEST_DATABASE_URL, or a SQLite file of its own. Under
    pytest-xdist each worker process (gw0, gw1, ...) gets a PostgreSQL database of its own, named after
    the given one (shouhou_ci -> shouhou_ci_gw0), since every test empties the tables it runs on."""
    url = os.environ.get("SHOUHOU_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_dir / 'test.db'}"
    return worker_database(url)


def worker_name(name: str) -> str:
    """`name` with this xdist worker's suffix (shouhou_ci -> shouhou_ci_gw0); unchanged outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_{worker}" if worker else name


def worker_database(url: str) -> str:
    """`url` with this xdist worker's suffix on its database name (unchanged for SQLite)."""
    if not url.startswith("postgres"):
        return url
    parsed = make_url(url)
    return parsed.set(database=worker_name(parsed.database or "")).render_as_string(hide_password=False)


def is_postgres() -> bool:
    return (os.environ.get("SHOUHOU_TEST_DATABASE_URL") or "").startswith("postgres")


def _create_database(url: str) -> None:
    """CREATE DATABASE for `url` on its server when it is missing (an xdist worker's own database)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": parsed.database}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = database_url(tmp_path_factory.mktemp("db"))
    if url != os.environ.get("SHOUHOU_TEST_DATABASE_URL", url):  # an xdist worker's own PostgreSQL database
        try:
            _create_database(url)
        except Exception as e:  # noqa: BLE001 - any connection failure
            if os.environ.get("CI") == "true":
                pytest.fail(f"database {url} could not be created under CI=true: {e}")
            pytest.skip(f"database {url} could not be created: {e}")
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, only the tests that use the database run: .ci/run runs the whole suite on SQLite
    first, and a test that never touches the test database (a pure domain test, a page rendered from
    fixed data, a CLI run on its own SQLite file) would only run again, unchanged. A test uses the
    database when it asks for `db_url` (directly or through `engine`, `app`, ...) or is marked
    `postgres`. The ones left out are reported as deselected."""
    if not is_postgres():
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        uses = "db_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker("postgres")
        (keep if uses else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def _schema_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any connection failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"database {db_url} is unreachable under CI=true: {e}")
        pytest.skip(f"database {db_url} is unreachable: {e}")
    drop_schema(engine)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_schema_engine: Engine) -> Iterator[Engine]:
    """A clean database for each test (tables emptied, schema kept)."""
    _empty(_schema_engine)
    yield _schema_engine


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        names = [t.name for t in reversed(metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@functools.cache
def _validator(event_type: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(message_schema(event_type),
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_problems(e: Event) -> list[str]:
    """Why the message of event `e` (as webhooks and the feed send it) breaks its published schema."""
    if e.type not in catalogue():
        return [f"{e.type}: not in shouhou/event_types.toml"]
    try:
        payload = json.loads(json.dumps(e.payload))
    except (TypeError, ValueError) as exc:
        return [f"{e.type}: payload is not JSON: {exc}"]
    body = message_of({"id": 1, "type": e.type, "at": e.at, "shop_id": e.shop_id, "order_id": e.order_id,
                       "ticket_id": e.ticket_id, "rule": e.rule, "actor": e.actor, "from_status": e.from_status,
                       "to_status": e.to_status, "payload": payload})
    return [f"{e.type}: {'/'.join(map(str, err.absolute_path))}: {err.message}"
            for err in _validator(e.type).iter_errors(body)]


@pytest.fixture(autouse=True)
def every_event_matches_its_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Issue 14's contract test, over the whole suite: every event any test makes is checked against
    the JSON Schema published for its type (GET /v1/event-types, the OpenAPI webhooks section). A
    problem fails the test that made the event, after it ran (an exception inside the unit of work
    could be swallowed by the code under test, e.g. the worker parking a row)."""
    problems: list[str] = []
    store = SqlUnitOfWork.store_events

    def checked(self: SqlUnitOfWork, events: list[Event]) -> None:
        for e in events:
            problems.extend(schema_problems(e))
        store(self, events)

    monkeypatch.setattr(SqlUnitOfWork, "store_events", checked)
    yield
    assert not problems, "events that break their published schema:\n" + "\n".join(sorted(set(problems))[:20])


@pytest.fixture
def policies() -> PolicyRegistry:
    return PolicyRegistry.default()


@pytest.fixture
def notifier() -> MemoryNotifier:
    return MemoryNotifier()


@pytest.fixture
def app(engine: Engine, clock: VirtualClock, policies: PolicyRegistry, notifier: MemoryNotifier) -> Shouhou:
    return Shouhou.with_fakes(engine, clock, policies, notifier)


def run_threads(targets: list[Callable[[], None]]) -> list[BaseException]:
    """Run the targets together (released by one barrier); return what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def wrap(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                barrier.wait()
                target()
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(x)) for x in targets]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors
