"""What every `shouhou` command shares: reading the settings, reaching the database (and refusing one
that needs `shouhou db upgrade`), building the engine as the processes run it, and leaving with a
readable message and the right exit code (see cli.py)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError

from ..adapters import calendar, db
from ..adapters.blobs import LocalBlobStore
from ..adapters.notifier import LogNotifier, LogPusher
from ..adapters.payment import FakeChannel
from ..clock import SHANGHAI, SystemClock
from ..config import Settings
from ..domain.actors import Actor
from ..errors import Refusal
from ..policies import PolicyPackError, PolicyRegistry
from ..services.app import Shouhou
from ..services.views import operations as operations_views

# Who the command line acts as when it goes through the engine (tokens, governance report).
CLI_ACTOR = Actor("platform", "cli", role="platform_operator")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL [default: $SHOUHOU_DATABASE_URL or sqlite:///shouhou.db]",
                 show_default=False),
]


def fail(message: str, code: int) -> NoReturn:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def refused(e: Refusal, code: int) -> NoReturn:
    fail(f"{e.code}: {e.message_zh} / {e.message_en}", code)


def load_settings(database_url: str | None = None) -> Settings:
    """The settings, or one line naming each bad variable and exit 2 (never a traceback, never the
    value itself: a database URL may hold a password)."""
    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except SettingsError as e:  # pydantic-settings could not even decode it (a list that is not JSON)
        found = re.search(r'field "(\w+)"', str(e))
        name = f"SHOUHOU_{found.group(1).upper()}" if found else "a SHOUHOU_ variable"
        fail(f"配置有误 configuration error: {name}: 须为 JSON 列表 must be a JSON list, "
             """e.g. '["a", "b"]'""", 2)
    except ValidationError as e:
        problems = "; ".join(f"{_setting(err['loc'], database_url)}: {' '.join(err['msg'].split())}"
                             for err in e.errors())
        fail(f"配置有误 configuration error: {problems}", 2)


def _setting(loc: tuple[int | str, ...], database_url: str | None) -> str:
    """The variable (or option) a validation error is about, and the item of a list."""
    if not loc:
        return "SHOUHOU_*"
    field, *rest = loc
    name = "--database-url" if field == "database_url" and database_url else f"SHOUHOU_{str(field).upper()}"
    return name + "".join(f" (item {p})" for p in rest)


def shown(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def registry(settings: Settings) -> PolicyRegistry:
    try:
        return PolicyRegistry.default(settings.policy_paths)
    except PolicyPackError as e:
        fail(f"规则包无效 invalid policy pack (SHOUHOU_POLICY_PATHS): {e}", 2)


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turns an unreachable database into one readable line and exit code 1."""
    try:
        yield
    except OperationalError as e:
        fail(f"数据库无法连接 cannot use the database {shown(url)}: {str(e.orig).strip() or e}", 1)


# -- schema revisions -----------------------------------------------------------------------------

def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).resolve().parent.parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates %
    return cfg


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (connecting would create it, empty)."""
    u = make_url(url)
    path = u.database
    if u.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    return None if Path(path).exists() else path


def require_database_file(url: str, then: str = "") -> None:
    """Exit 2 before a command that only reads or uses the database would create an empty SQLite file."""
    path = missing_sqlite_file(url)
    if path is not None:
        fail(f"数据库不存在 no database at {path}{then}", 2)


def engine_at_head(url: str) -> Engine:
    """An engine on a database whose schema is at the newest revision; otherwise exit 2 with the fix."""
    require_database_file(url, ": run `shouhou db upgrade` first")
    engine = db.make_engine(url)
    with database_errors(url):
        current = current_revision(engine)
    head = head_revision(url)
    if current != head:
        engine.dispose()
        fail(f"数据库结构不是最新版本 the database {shown(url)} is at revision {current or '(empty)'}, "
             f"not {head}: run `shouhou db upgrade` first", 2)
    return engine


# -- the engine -----------------------------------------------------------------------------------

def make_shouhou(settings: Settings, engine: Engine, policies: PolicyRegistry) -> Shouhou:
    """The engine as the processes run it: wall clock, log notifier, the (fake) payment channel, the
    evidence folder."""
    clock = SystemClock()
    # the fake channel keeps its idempotency keys in the database: every worker and restart shares them
    channel = FakeChannel(fail_buyers=set(settings.fake_channel_fail_buyers), engine=engine, clock=clock)
    days = calendar.DEFAULT
    if settings.calendar_file:
        try:
            days = calendar.OfficialCalendar(calendar.load_calendar_file(settings.calendar_file))
        except calendar.CalendarFileError as e:
            fail(str(e), 2)
    shouhou = Shouhou(engine, clock, policies, notifier=LogNotifier(), pusher=LogPusher(), channel=channel,
                      blobs=LocalBlobStore(settings.blob_dir), is_workday=days.is_workday,
                      token_ttl=timedelta(seconds=settings.token_cache_seconds))
    shouhou.allow_private_webhooks = settings.webhook_allow_private
    require_packs(shouhou, settings.database_url)
    return shouhou


def require_packs(shouhou: Shouhou, url: str) -> None:
    """Refuse to start (exit 2) when shops, open tickets or open orders depend on a policy pack that
    is not loaded: the worker could not act on them (a custom pack dropped from SHOUHOU_POLICY_PATHS)."""
    with database_errors(url), shouhou.uow(write=False) as uow:
        missing = sorted(operations_views.packs_in_use(uow) - set(shouhou.policies.names()))
    if missing:
        fail(f"规则包未加载 the policy pack(s) {', '.join(missing)} are used by shops or open tickets in "
             f"{shown(url)} but are not loaded: add their files to SHOUHOU_POLICY_PATHS "
             f"(loaded: {', '.join(shouhou.policies.names())})", 2)


def shouhou_at_head(settings: Settings) -> tuple[Shouhou, Engine]:
    """The engine on the configured database, which must be migrated; the caller disposes of the
    SQLAlchemy engine."""
    policies = registry(settings)
    engine = engine_at_head(settings.database_url)
    return make_shouhou(settings, engine, policies), engine


# -- output ---------------------------------------------------------------------------------------

@contextmanager
def migrated_engine(database_url: str | None, refusal_code: int = 1) -> Iterator[Shouhou]:
    """The engine on the configured database (at the newest revision, its packs loaded) for one
    command: a database error is a message (exit 1), a refusal exits with `refusal_code`, and the
    connections are closed whatever happens."""
    settings = load_settings(database_url)
    shouhou, engine = shouhou_at_head(settings)
    try:
        with database_errors(settings.database_url):
            yield shouhou
    except Refusal as e:
        refused(e, refusal_code)
    finally:
        engine.dispose()


def log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def console() -> Console:
    """Rich output; when not on a terminal (piped, tests) wide enough that rows are not folded."""
    out = Console()
    return out if out.is_terminal else Console(width=200)


def parse_at(at: str | None) -> datetime:
    """An --at option: an ISO time (Beijing time when it has no offset), or now."""
    if at is None:
        return SystemClock().now()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        fail(f"--at 须为 ISO 时间 must be an ISO time such as 2026-03-02T09:00:00+08:00, not {at!r}", 2)
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)
