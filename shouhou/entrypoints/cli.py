"""The `shouhou` command line: serve the API, run the deadline worker, migrate the database, run
scenario files, show policy packs and issue tokens. Entry points hold no rules: every command here
goes through the engine (`Shouhou.handle`, `Shouhou.tick`) or the read side.

Exit codes: 0 done; 1 a scenario expectation failed, a command was refused or the database is
unreachable; 2 bad input (an invalid scenario or policy file, a bad option, a database that needs
`shouhou db upgrade`).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
import uvicorn
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..adapters import calendar, db
from ..adapters.blobs import LocalBlobStore
from ..adapters.notifier import LogNotifier, LogPusher
from ..adapters.payment import FakeChannel
from ..adapters.tables import metadata
from ..clock import SHANGHAI, SystemClock
from ..config import Settings
from ..domain.actors import PLATFORM_ROLES, Actor
from ..errors import Refusal
from ..policies import PolicyPack, PolicyPackError, PolicyRegistry, PolicyVersion, load_pack
from ..services import commands as c
from ..services.app import Shouhou
from ..services.views import governance as gs
from .api import create_app
from .demo import load_demo
from .scenario import run_file
from .scenario_file import ScenarioFileError

log = logging.getLogger("shouhou.cli")

app = typer.Typer(
    name="shouhou",
    help="shouhou 售后: an after-sales engine for marketplaces (Kuaishou 快手小店, Douyin 抖店 policy packs).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
scenario_app = typer.Typer(help="Scenario files (../shared/SCENARIOS.md).", no_args_is_help=True)
policy_app = typer.Typer(help="Policy packs: every rule's number, with its rule ID and source.",
                         no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the HTTP API.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(scenario_app, name="scenario")
app.add_typer(policy_app, name="policy")
app.add_typer(token_app, name="token")

CLI_ACTOR = Actor("platform", "cli", role="platform_operator")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL [default: $SHOUHOU_DATABASE_URL or sqlite:///shouhou.db]",
                 show_default=False),
]


def main() -> None:
    app()


# -- helpers --------------------------------------------------------------------------------------

def _fail(message: str, code: int) -> NoReturn:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _settings(database_url: str | None = None) -> Settings:
    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValidationError as e:
        problems = "; ".join(f"SHOUHOU_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                             for err in e.errors())
        _fail(f"配置有误 configuration error: {problems}", 2)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _registry(settings: Settings) -> PolicyRegistry:
    try:
        return PolicyRegistry.default(settings.policy_paths)
    except PolicyPackError as e:
        _fail(f"规则包无效 invalid policy pack (SHOUHOU_POLICY_PATHS): {e}", 2)


@contextmanager
def _database(url: str) -> Iterator[None]:
    """Turns an unreachable database into one readable line and exit code 1."""
    try:
        yield
    except OperationalError as e:
        _fail(f"数据库无法连接 cannot use the database {_shown(url)}: {str(e.orig).strip() or e}", 1)


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).resolve().parent.parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates %
    return cfg


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(_alembic_config(url)).get_current_head()


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _engine_at_head(url: str) -> Engine:
    """An engine on a database whose schema is at the newest revision; otherwise exit 2 with the fix."""
    engine = db.make_engine(url)
    with _database(url):
        current = _current(engine)
    head = _head(url)
    if current != head:
        engine.dispose()
        _fail(f"数据库结构不是最新版本 the database {_shown(url)} is at revision {current or '(empty)'}, "
              f"not {head}: run `shouhou db upgrade` first", 2)
    return engine


def _shouhou(settings: Settings, engine: Engine, policies: PolicyRegistry) -> Shouhou:
    """The engine as the processes run it: wall clock, log notifier, the (fake) payment channel, the
    evidence folder."""
    channel = FakeChannel(fail_buyers=set(settings.fake_channel_fail_buyers))
    days = calendar.DEFAULT
    if settings.calendar_file:
        try:
            days = calendar.OfficialCalendar(calendar.load_calendar_file(settings.calendar_file))
        except calendar.CalendarFileError as e:
            _fail(str(e), 2)
    return Shouhou(engine, SystemClock(), policies, notifier=LogNotifier(), pusher=LogPusher(), channel=channel,
                   blobs=LocalBlobStore(settings.blob_dir),
                   is_workday=days.is_workday)


def _engine(settings: Settings) -> tuple[Shouhou, Engine]:
    policies = _registry(settings)
    engine = _engine_at_head(settings.database_url)
    return _shouhou(settings, engine, policies), engine


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# -- serve ----------------------------------------------------------------------------------------

@app.command()
def serve(
    demo: Annotated[bool, typer.Option("--demo", help="Fill demo shops, orders and tickets (once) and print tokens.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    worker: Annotated[bool, typer.Option("--worker/--no-worker",
                                         help="Run the deadline worker inside the server.")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Migrate the database, then serve the HTTP API (docs at /docs) with the deadline worker."""
    settings = _settings(database_url)
    policies = _registry(settings)
    with _database(settings.database_url):
        db.migrate(settings.database_url)
    engine = db.make_engine(settings.database_url)
    shouhou = _shouhou(settings, engine, policies)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
    typer.echo(f"shouhou 售后: database {_shown(settings.database_url)} at revision {_head(settings.database_url)}")
    if demo:
        with _database(settings.database_url):
            info = load_demo(shouhou)
        _print_demo(info, base)
    api = create_app(shouhou, worker=worker, worker_interval=settings.worker_interval,
                     worker_batch=settings.worker_batch)
    typer.echo(f"serving on {base} (API docs: {base}/docs); "
               f"deadline worker {'on, every ' + str(settings.worker_interval) + ' s' if worker else 'off'}")
    _log_to_stderr()
    try:
        uvicorn.run(api, host=host, port=port, log_level="info")
    finally:
        engine.dispose()


def _print_demo(info: dict[str, Any], base: str) -> None:
    typer.echo("demo data: " + ("loaded" if info["created"] else "already there (kept as it is)"))
    typer.echo("demo tokens (Authorization: Bearer <token>):")
    for token, who in info["tokens"].items():
        typer.echo(f"  {token:<18} {who}")
    soon = [t for t in info["tickets"] if t["due"]][:6]
    if soon:
        typer.echo("tickets whose automatic action comes next (the worker fires them on time):")
        for t in soon:
            typer.echo(f"  {t['id']}  {t['shop']:<8} order {t['order']:<8} {t['status']:<16} "
                       f"{t['due_action']} at {t['due']} ({t['due_rule']})")
    typer.echo("try:")
    typer.echo(f"  curl -s -H 'Authorization: Bearer demo-ks-owner' '{base}/v1/tickets?status=pending_review'")


# -- worker ---------------------------------------------------------------------------------------

@app.command("worker")
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Sweep once, print how many actions fired, and exit.")] = False,
    interval: Annotated[float | None, typer.Option(help="Seconds between sweeps [default: $SHOUHOU_WORKER_INTERVAL or 1].",
                                                   min=0.001, show_default=False)] = None,
    batch: Annotated[int | None, typer.Option(help="Actions per transaction [default: $SHOUHOU_WORKER_BATCH or 200].",
                                              min=1, max=10_000, show_default=False)] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the deadline worker alone (several may share a PostgreSQL database).

    It fires every automatic action (auto-approve, auto-close, auto-refund, auto-confirm, completion)
    when it falls due."""
    settings = _settings(database_url)
    every = interval if interval is not None else settings.worker_interval
    size = batch if batch is not None else settings.worker_batch
    shouhou, engine = _engine(settings)
    try:
        if once:
            with _database(settings.database_url):
                fired = shouhou.tick(batch=size)
            typer.echo(f"fired {fired}")
            return
        _log_to_stderr()
        _run_worker(shouhou, every, size, settings.database_url)
    finally:
        engine.dispose()


def _run_worker(shouhou: Shouhou, interval: float, batch: int, url: str) -> None:
    """Sweep, sleep, repeat. The first SIGTERM or Ctrl-C lets the sweep in progress finish and stops;
    a second one stops at once (the batch in progress rolls back and fires again on the next start)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("%s: stopping after the sweep in progress", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("deadline worker on %s: every %s s, batches of %d", _shown(url), interval, batch)
    try:
        while not stop.is_set():
            try:
                fired = shouhou.tick(batch=batch)
            except SQLAlchemyError as e:  # the batch rolled back; try again on the next sweep
                log.warning("sweep failed, retrying in %s s: %s", interval, e)
                fired = 0
            if fired:
                log.info("fired %d", fired)
            stop.wait(interval)
    except KeyboardInterrupt:
        log.info("stopped at once; the batch in progress rolled back")
        raise typer.Exit(130) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("deadline worker stopped")


# -- db -------------------------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Bring the database to the newest revision (creates it on a fresh database)."""
    settings = _settings(database_url)
    url = settings.database_url
    with _database(url):
        db.migrate(url)
    typer.echo(f"{_shown(url)}: at revision {_head(url)} (head)")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes, e.g. 'add payouts'.")],
) -> None:
    """Write a new migration for what changed in shouhou/adapters/tables.py (autogenerate).

    The schema is compared with a scratch SQLite database migrated to head; review the file before
    committing it (renames come out as drop + add)."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        cfg = _alembic_config(url)
        command.upgrade(cfg, "head")
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                changes = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        finally:
            engine.dispose()
        if not changes:
            typer.echo("no schema change since the last revision: nothing to write")
            return
        head = ScriptDirectory.from_config(cfg).get_current_head()
        rev_id = f"{int(head) + 1:04d}" if head and head.isdigit() else ("0001" if head is None else None)
        script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    for written in script if isinstance(script, list) else [script]:
        if written is not None:
            typer.echo(f"wrote {written.path}: review it, then run `shouhou db upgrade`")


@db_app.command("current")
def db_current(
    database_url: DatabaseUrl = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 unless the database is at the newest revision.")] = False,
) -> None:
    """Print the database's revision and whether it is the newest."""
    settings = _settings(database_url)
    url = settings.database_url
    engine = db.make_engine(url)
    try:
        with _database(url):
            current = _current(engine)
    finally:
        engine.dispose()
    head = _head(url)
    if current == head:
        typer.echo(f"{current} (head)")
        return
    typer.echo(f"{current or '(empty database)'} (head is {head}: run `shouhou db upgrade`)")
    if check:
        raise typer.Exit(1)


# -- scenario -------------------------------------------------------------------------------------

@scenario_app.command("run")
def scenario_run(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event, then a summary line.")] = False,
) -> None:
    """Run scenario files on a virtual clock.

    Exit 0: every expectation held; 1: one failed; 2: a file is invalid (the message names the field
    and the line)."""
    code = 0
    for path in files:
        try:
            outcome = run_file(path)
        except ScenarioFileError as e:
            typer.secho(f"INVALID {e}", err=True, fg=typer.colors.RED)
            code = 2
            continue
        except Exception:  # noqa: BLE001 - an engine error: report it and go on with the next file
            typer.secho(f"ERROR {path}: the engine failed while running it\n{traceback.format_exc()}", err=True,
                        fg=typer.colors.RED)
            if as_json:
                typer.echo(json.dumps({"result": "fail", "expectations": 0, "failed": 1, "error": True}))
            code = max(code, 1)
            continue
        failed = len(outcome.failures)
        if not outcome.passed:
            code = max(code, 1)
        if as_json:
            for event in outcome.events:
                typer.echo(json.dumps(event, ensure_ascii=False, default=str))
            typer.echo(json.dumps({"result": "pass" if outcome.passed else "fail",
                                   "expectations": outcome.expectations, "failed": failed}))
            if failed:
                for failure in outcome.failures:
                    typer.echo(f"FAIL {path}: {failure}", err=True)
            continue
        if outcome.passed:
            typer.secho(f"PASS {path} ({outcome.name}): {outcome.expectations} expectations held",
                        fg=typer.colors.GREEN)
        else:
            typer.secho(f"FAIL {path} ({outcome.name}): {failed} of {outcome.expectations} expectations failed",
                        fg=typer.colors.RED)
            for failure in outcome.failures:
                typer.echo(f"  - {failure}")
    raise typer.Exit(code)


# -- policy ---------------------------------------------------------------------------------------

def _console() -> Console:
    """Rich output; when not on a terminal (piped, tests) wide enough that rows are not folded."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _parse_at(at: str | None) -> datetime:
    if at is None:
        return SystemClock().now()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        _fail(f"--at 须为 ISO 时间 must be an ISO time such as 2026-03-02T09:00:00+08:00, not {at!r}", 2)
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _pack(name: str, policies: PolicyRegistry) -> PolicyPack:
    if name in policies:
        return policies.get(name)
    if Path(name).is_file():
        try:
            return load_pack(name)
        except PolicyPackError as e:
            _fail(str(e), 2)
    _fail(f"未知的规则包 unknown policy pack {name!r}; known: {', '.join(policies.names())} (or a path to a pack file)", 2)


@policy_app.command("show")
def policy_show(
    name: Annotated[str, typer.Argument(help="Pack name (kuaishou, douyin, …) or a pack file.")],
    version: Annotated[str | None, typer.Option("--version", help="A version of the pack [default: the one in force].")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Show the version in force at this ISO time [default: now].")] = None,
) -> None:
    """A pack's rules: setting, value, rule ID, source and note."""
    pack = _pack(name, _registry(_settings()))
    if version is not None:
        try:
            pv = pack.version(version)
        except KeyError:
            _fail(f"规则包 {pack.name} 没有版本 {version}; versions: {', '.join(v.version for v in pack.versions)}", 2)
    else:
        pv = pack.at(_parse_at(at))
    _console().print(_rules_table(pack, pv))


def _rules_table(pack: PolicyPack, pv: PolicyVersion) -> Table:
    title = f"{pack.title} ({pack.name}) version {pv.version}, effective from {pv.effective_from.isoformat()}"
    rows = pv.rows()
    table = Table(title=title, caption=pv.summary)
    # Setting and rule ID are what one looks up: never cut; long values and notes wrap instead.
    table.add_column("setting", no_wrap=True, min_width=max(len(r[0]) for r in rows))
    table.add_column("value", max_width=48)
    table.add_column("rule", no_wrap=True, style="bold", min_width=max(len(r[2]) for r in rows))
    table.add_column("source", max_width=24)
    table.add_column("note")
    for setting, value, rule, source, note in rows:
        table.add_row(setting, value, rule, source, note or "")
    return table


@policy_app.command("list")
def policy_list() -> None:
    """The packs this engine knows (built in, plus SHOUHOU_POLICY_PATHS) and their versions."""
    policies = _registry(_settings())
    now = SystemClock().now()
    table = Table(title="policy packs")
    for col in ("name", "title", "versions (effective from)", "in force now", "source"):
        table.add_column(col)
    for name in policies.names():
        pack = policies.get(name)
        versions = ", ".join(f"{v.version} ({v.effective_from.date().isoformat()})" for v in pack.versions)
        table.add_row(pack.name, pack.title, versions, pack.at(now).version, pack.source)
    _console().print(table)


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="A custom policy pack (TOML).")]) -> None:
    """Validate a custom pack file.

    Exit 0 if it loads; 2, naming the field and the reason, if not."""
    try:
        pack = load_pack(file)
    except PolicyPackError as e:
        _fail(f"INVALID {e}", 2)
    typer.secho(f"OK {file}: pack {pack.name} ({pack.title}), {len(pack.versions)} version(s): "
                + ", ".join(f"{v.version} from {v.effective_from.isoformat()}" for v in pack.versions),
                fg=typer.colors.GREEN)


# -- token ----------------------------------------------------------------------------------------

@token_app.command("create")
def token_create(
    buyer: Annotated[str | None, typer.Option("--buyer", help="A token for this buyer.")] = None,
    staff: Annotated[str | None, typer.Option("--staff", help="A token for this shop staff member.")] = None,
    platform: Annotated[str | None, typer.Option(
        "--platform", help=f"A platform token with this role: {', '.join(PLATFORM_ROLES)} (integration: the "
                           "platform's systems, which report facts but may not rule, decide appeals or lift measures).",
    )] = None,
    platform_id: Annotated[str | None, typer.Option("--id", help="The platform staff member's id [default: the role].")] = None,
    label: Annotated[str | None, typer.Option(help="A note kept with the token.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a new bearer token (only its hash is stored)."""
    given = [(k, v) for k, v in (("buyer", buyer), ("staff", staff), ("platform", platform)) if v]
    if len(given) != 1:
        _fail("请指定且只指定一个 give exactly one of --buyer ID, --staff ID, --platform ROLE", 2)
    kind, value = given[0]
    if platform_id and kind != "platform":
        _fail("--id 只用于平台令牌 --id goes with --platform only", 2)
    if kind == "platform":
        cmd = c.IssueToken(kind="platform", actor_id=platform_id or value, role=value, label=label)
    else:
        cmd = c.IssueToken(kind=kind, actor_id=value, label=label)
    settings = _settings(database_url)
    shouhou, engine = _engine(settings)
    try:
        with _database(settings.database_url):
            token = shouhou.handle(cmd, CLI_ACTOR)
    except Refusal as e:
        _fail(f"{e.code}: {e.message_zh} / {e.message_en}", 1)
    finally:
        engine.dispose()
    typer.echo(token)
    typer.echo(f"(a {kind} token for {cmd.actor_id}; keep it: it is not shown again)", err=True)


# -- governance (RULES §9) ------------------------------------------------------------------------

governance_app = typer.Typer(help="Merchant governance (RULES §9): 30-day metrics, measures, score and level.",
                             no_args_is_help=True)
app.add_typer(governance_app, name="governance")

_PERCENT = ("overdue_rate", "intervention_rate", "fault_rate")
_TABLE_COLUMNS = {  # report column -> header (RO refund only, RR return & refund, h hours)
    "shop": "shop", "level": "level", "score": "score", "applications": "apps", "overdue": "overdue",
    "refund_only_overdue": "RO od", "return_refund_overdue": "RR od", "exchange_overdue": "EX od", "overdue_rate": "od rate",
    "refund_only_median_hours": "RO p50 h", "refund_only_p95_hours": "RO p95 h",
    "return_refund_median_hours": "RR p50 h", "return_refund_p95_hours": "RR p95 h",
    "intervention_rate": "interv.", "rulings_against": "against", "fault_rate": "fault", "over_period_openings": "reopen",
    "step": "step", "refund_handling": "refunds",
}


@governance_app.command("report")
def governance_report(
    sort: Annotated[str, typer.Option("--sort", help=f"Sort by this column: {', '.join(gs.REPORT_COLUMNS)}.")]
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
        _fail(f"--format 须为 table、csv 或 json, not {fmt!r}", 2)
    when = _parse_at(at)
    settings = _settings(database_url)
    shouhou, engine = _engine(settings)
    try:
        with _database(settings.database_url), shouhou.uow(write=False) as uow:
            view = gs.report(uow, CLI_ACTOR, shouhou.policies, when, sort=sort, descending=not ascending, limit=limit)
    except Refusal as e:
        _fail(f"{e.code}: {e.message_zh} / {e.message_en}", 2)
    finally:
        engine.dispose()
    if fmt == "json":
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        typer.echo(gs.report_csv(view), nl=False)
    else:
        _console().print(_governance_table(view))


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


if __name__ == "__main__":  # pragma: no cover
    main()
